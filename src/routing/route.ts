import { asyncScheduler, Subject, type Subscription } from 'rxjs';
import { createActor, fromPromise, waitFor, type Actor } from 'xstate';
import type { Core } from '../core/core.ts';
import type { Origin } from '../core/reserved.ts';
import { JunctionError } from '../errors.ts';
import { policyOf, RouteCompiler } from './compile.ts';
import type { RouteDefinition } from './definition.ts';
import { RouteEndpoints } from './endpoints/endpoints.ts';
import { ROUTE_ORIGIN } from './endpoints/core-endpoint.ts';
import { checkEndpoint, redactUri } from './endpoints/endpoint-uri.ts';
import type { Source } from './endpoints/source.ts';
import { copyMessage, createExchange } from './exchange.ts';
import type { Expressions } from './expression.ts';
import { routeMachine, type RouteState } from './route-machine.ts';
import type { Log } from '../core/ports/log.ts';
import type { StepStats } from './route-telemetry.ts';
import { StepProbe } from './step-probe.ts';
import type { ErrorHandlerDef, ErrorHandling, Exchange, IdempotentRepository, Outcome, Step } from './types.ts';

/** Per-route counters, as the management API shows them. */
export interface RouteStats {
  /** Source messages fully processed and acknowledged. */
  completed: number;
  /** Source messages returned to their broker as failed (nacked). */
  failed: number;
  /** Source messages handed back unprocessed (route stopped with them in an aggregate). */
  released: number;
  inFlight: number;
  /** Exchanges sent to the dead-letter channel. */
  deadLettered: number;
  /** Redelivery attempts made by steps. */
  redeliveries: number;
  /** Processing time of completed source messages, ms (receipt to acknowledgement). */
  meanMs: number;
  maxMs: number;
}

export interface RouteServices {
  core: Core;
  /** Who the route acts as on the broker: the subject of its `runAs` user when security is on (default: the route origin, no subject). */
  identity?: Origin;
  expressions: Expressions;
  log: Log;
  repository(routeId: string, step: string, window: number, persisted: boolean): IdempotentRepository;
}

/** Failure headers on a dead-lettered message. */
export const DLQ_HEADERS = {
  route: 'junctionRouteId',
  step: 'junctionRouteStep',
  error: 'junctionRouteError',
  attempts: 'junctionRouteAttempts',
  from: 'junctionRouteFrom',
  cause: 'dlqDeliveryFailureCause',
} as const;

/**
 * One deployed version of a route: its compiled pipeline, source and endpoints, counters, and
 * its lifecycle actor. `start` subscribes the pipeline and opens the source; `stop` closes the
 * source's credit, completes the stream (aggregates release what they hold), waits for in-flight
 * exchanges up to `drainTimeout`, then disconnects (anything still unsettled goes back to the broker).
 */
export class Route {
  readonly definition: RouteDefinition;
  readonly version: number;
  readonly origin: string;
  readonly actor: Actor<typeof routeMachine>;
  /** Who this version acts as on the broker (kept to restart it as the same user). */
  readonly identity: Origin;
  private readonly services: RouteServices;
  private readonly log: Log;
  private readonly endpoints: RouteEndpoints;
  private readonly pipeline: Step;
  private readonly source: Source;
  private input: Subject<Exchange> | undefined;
  private sub: Subscription | undefined;
  private readonly counters = { completed: 0, failed: 0, released: 0, inFlight: 0, deadLettered: 0, redeliveries: 0, totalMs: 0, maxMs: 0 };
  /** Counters of each step (node id -> probe, definition order) and of the source (`from`). */
  private readonly probes: ReadonlyMap<string, StepProbe>;
  private readonly fromProbe = new StepProbe('from');
  /** How long stop and suspend wait for in-flight exchanges (ms): the definition's, or the one `stop` was given. */
  private drainTimeout: number;
  private drainWaiters: Array<() => void> = [];
  /** The pipeline ended with an error: its in-flight exchanges will never settle. */
  private broken = false;
  /** Between start and stop: a source may still deliver after its pause (AMQP credit drains). */
  private accepting = false;

  /** Compiles the definition (throws on anything invalid); does not start. */
  constructor(definition: RouteDefinition, version: number, origin: string, services: RouteServices) {
    this.definition = definition;
    this.version = version;
    this.origin = origin;
    this.services = services;
    this.identity = services.identity ?? ROUTE_ORIGIN;
    this.log = services.log;
    this.drainTimeout = definition.drainTimeout;
    this.endpoints = new RouteEndpoints(services.core, definition.id, services.log, undefined, definition.sendTimeout, this.identity);
    try {
      const compiler = new RouteCompiler({
        routeId: definition.id,
        expressions: services.expressions,
        log: services.log,
        scheduler: asyncScheduler,
        producer: (uri) => this.endpoints.producer(uri),
        newExchange: (message, onSettled, properties) => createExchange({ routeId: definition.id, message, onSettled, ...(properties ? { properties } : {}) }),
        repository: (step, window, persisted) => services.repository(definition.id, step, window, persisted),
        errorHandling: (h) => this.errorHandling(h),
      });
      this.pipeline = compiler.compile(definition);
      this.probes = compiler.probes;
      this.source = this.endpoints.source(definition.from, definition.maxInflight);
      this.endpoints.seal();
    } catch (err) {
      void this.endpoints.close();
      throw err;
    }
    this.actor = createActor(
      routeMachine.provide({
        actors: {
          start: fromPromise(() => this.doStart()),
          suspend: fromPromise(() => this.doSuspend()),
          stop: fromPromise(() => this.doStop()),
        },
        actions: { resume: () => this.source.resume() },
      }),
    );
    this.actor.start();
  }

  /** Compiles a definition without creating endpoints or an actor (`junction route validate`). */
  static check(definition: RouteDefinition, services: Pick<RouteServices, 'expressions' | 'log'>): void {
    const noop = () => Promise.resolve();
    new RouteCompiler({
      routeId: definition.id,
      expressions: services.expressions,
      log: services.log,
      scheduler: asyncScheduler,
      producer: (uri) => {
        checkEndpoint(uri, 'to');
        return { uri, send: noop };
      },
      newExchange: (message, onSettled) => createExchange({ routeId: definition.id, message, onSettled }),
      repository: () => ({ has: () => false, add: noop, remove: noop }),
      errorHandling: (h) => ({ policy: policyOf(h), fail: () => {} }),
    }).compile(definition);
  }

  get id(): string {
    return this.definition.id;
  }

  get state(): RouteState {
    return this.actor.getSnapshot().value as RouteState;
  }

  get error(): string | undefined {
    return this.actor.getSnapshot().context.error;
  }

  stats(): RouteStats {
    const c = this.counters;
    return {
      completed: c.completed,
      failed: c.failed,
      released: c.released,
      inFlight: c.inFlight,
      deadLettered: c.deadLettered,
      redeliveries: c.redeliveries,
      meanMs: c.completed > 0 ? c.totalMs / c.completed : 0,
      maxMs: c.maxMs,
    };
  }

  /**
   * Per-node counters since this version started: the source (`from`: exchanges received, completed
   * and failed end to end, with their processing time) then each step, in definition order.
   */
  stepStats(): StepStats[] {
    const c = this.counters;
    const from = this.fromProbe.stats();
    const out: StepStats[] = [{ ...from, completed: c.completed, failed: c.failed, inFlight: c.inFlight }];
    for (const p of this.probes.values()) out.push(p.stats());
    return out;
  }

  /** Starts the route; `suspended`: with the source paused from the start, then suspended (no message consumed). */
  async start(suspended = false): Promise<void> {
    if (suspended) this.source.pause();
    await this.transition({ type: 'START' }, ['started', 'failed']);
    if (this.state === 'failed') throw new JunctionError('ERR_ROUTE_STATE', `Route ${this.id} failed to start: ${this.error}`);
    if (suspended) await this.suspend();
  }

  async suspend(): Promise<void> {
    if (this.state !== 'started') throw new JunctionError('ERR_ROUTE_STATE', `Route ${this.id} is ${this.state}, not started`);
    await this.transition({ type: 'SUSPEND' }, ['suspended', 'failed']);
  }

  async resume(): Promise<void> {
    if (this.state !== 'suspended') throw new JunctionError('ERR_ROUTE_STATE', `Route ${this.id} is ${this.state}, not suspended`);
    await this.transition({ type: 'RESUME' }, ['started']);
  }

  /** Stops the route, waiting up to `drainTimeout` ms (default: the definition's) for its in-flight exchanges. */
  async stop(drainTimeout?: number): Promise<void> {
    if (drainTimeout !== undefined) this.drainTimeout = drainTimeout;
    const s = this.state;
    if (s === 'stopped') return;
    if (s === 'starting' || s === 'suspending' || s === 'stopping') await waitFor(this.actor, (snap) => !['starting', 'suspending', 'stopping'].includes(snap.value as string));
    if (this.state === 'stopped') return;
    await this.transition({ type: 'STOP' }, ['stopped', 'failed']);
  }

  /** Removes what the route keeps at its source (a topic route's durable subscription): undeploy. */
  async removeState(): Promise<void> {
    await this.source.remove?.();
  }

  private async transition(event: Parameters<Route['actor']['send']>[0], until: RouteState[]): Promise<void> {
    this.actor.send(event);
    await waitFor(this.actor, (snap) => until.includes(snap.value as RouteState), { timeout: Infinity });
  }

  private async doStart(): Promise<void> {
    // What a broken pipeline held went back with its source; it will never settle here.
    if (this.broken) this.counters.inFlight = 0;
    this.broken = false;
    const input = new Subject<Exchange>();
    this.input = input;
    this.sub = this.pipeline(input).subscribe({
      // The end of the route: the exchange is done.
      next: (ex) => ex.ack(),
      error: (err: unknown) => {
        // A step let an error reach RxJS (a bug: bad messages are settled, never errors). Nothing
        // can settle what the pipeline held, so the source is closed: its unsettled deliveries go
        // back to the broker at once, and nothing more is consumed into a dead stream.
        this.broken = true;
        this.accepting = false;
        this.log.error({ err, route: this.id }, 'route pipeline failed');
        this.actor.send({ type: 'FAIL', error: String((err as Error)?.message ?? err) });
        this.source.stop().catch((e: unknown) => this.log.error({ err: e, route: this.id }, 'closing the source of a failed route failed'));
      },
    });
    // Before the source starts: it may deliver while starting (a queue with messages waiting).
    this.accepting = true;
    try {
      await this.source.start((ex) => this.accept(ex));
    } catch (err) {
      this.accepting = false;
      this.sub.unsubscribe();
      await this.source.stop().catch(() => {}); // already failing: the start error is the one to report
      throw err;
    }
    this.log.info({ route: this.id, version: this.version, from: redactUri(this.definition.from) }, 'route started');
  }

  private accept(ex: Exchange): void {
    this.counters.inFlight++;
    this.fromProbe.entered++;
    ex.onSettled(this.settled);
    // Stopping (or not started): hand it back at once; a completed input would drop it unsettled.
    if (!this.accepting || !this.input) return ex.release();
    this.input.next(ex);
  }

  /** One handler for every source exchange (no closure per message). */
  private readonly settled = (o: Outcome, ex: Exchange): void => {
    const c = this.counters;
    c.inFlight--;
    if (o.kind === 'ack') {
      c.completed++;
      const ms = Date.now() - ex.createdAt;
      c.totalMs += ms;
      if (ms > c.maxMs) c.maxMs = ms;
      this.fromProbe.observe(ms);
    } else if (o.kind === 'nack') c.failed++;
    else c.released++;
    if (c.inFlight === 0 && this.drainWaiters.length > 0) {
      const ws = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of ws) w();
    }
  };

  /** Resolves when no exchange is in flight, or after the drain timeout (false). */
  private drained(): Promise<boolean> {
    if (this.counters.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.drainWaiters = this.drainWaiters.filter((w) => w !== done);
        resolve(false);
      }, this.drainTimeout);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.drainWaiters.push(done);
    });
  }

  private async doSuspend(): Promise<void> {
    this.source.pause();
    if (!(await this.drained())) this.log.warn({ route: this.id, inFlight: this.counters.inFlight }, 'route suspended with exchanges still in flight');
    this.log.info({ route: this.id }, 'route suspended');
  }

  private async doStop(): Promise<void> {
    this.source.pause();
    this.accepting = false;
    this.input?.complete();
    const clean = this.broken || (await this.drained());
    if (!clean) this.log.warn({ route: this.id, inFlight: this.counters.inFlight }, 'route stopped before its in-flight exchanges settled; their messages go back to the broker');
    await this.source.stop();
    this.sub?.unsubscribe();
    await this.endpoints.close();
    this.log.info({ route: this.id, version: this.version }, 'route stopped');
  }

  /** The route's error handling for a handler definition: redelivery, then dead-letter channel or nack. */
  private errorHandling(h: ErrorHandlerDef): ErrorHandling {
    const policy = policyOf(h);
    const deadLetter = h.deadLetter;
    const c = this.counters;
    return {
      policy,
      redelivered: () => {
        c.redeliveries++;
      },
      fail: (ex, step, error, attempts) => {
        const history = ex.history.length > 0 ? ex.history.map((h) => h.step) : undefined;
        this.log.warn({ route: this.id, step, exchange: ex.id, attempts, err: error.message, deadLetter, history }, 'route step failed');
        if (deadLetter === undefined) return ex.nack(error);
        const m = copyMessage(ex.original);
        m.headers[DLQ_HEADERS.route] = this.id;
        m.headers[DLQ_HEADERS.step] = step;
        m.headers[DLQ_HEADERS.error] = error.message;
        m.headers[DLQ_HEADERS.attempts] = attempts;
        m.headers[DLQ_HEADERS.cause] = `route ${this.id} ${step}: ${error.message}`;
        if (m.destination !== undefined) m.headers[DLQ_HEADERS.from] = m.destination;
        const dlq = createExchange({ routeId: this.id, message: m, onSettled: () => {} });
        this.endpoints
          .producer(deadLetter)
          .send(dlq)
          .then(
            () => {
              c.deadLettered++;
              ex.ack();
            },
            (err: unknown) => {
              this.log.error({ err, route: this.id, deadLetter }, 'dead-letter channel failed; message returned to the broker');
              ex.nack(error);
            },
          );
      },
    };
  }
}
