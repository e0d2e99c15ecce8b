import type { ConsumerHandle, Delivery } from '../../core/handles.ts';
import type { Core, SendOptions } from '../../core/core.ts';
import { CreditWindow } from '../../core/credit-window.ts';
import type { Origin } from '../../core/reserved.ts';
import type { Destination } from '../../core/message.ts';
import { JunctionError } from '../../errors.ts';
import { createExchange } from '../exchange.ts';
import type { Log } from '../../core/ports/log.ts';
import type { Exchange, ExchangeMessage, Outcome, Producer } from '../types.ts';
import { destinationOf, fromCoreMessage, toCoreMessage } from './envelope.ts';
import type { Source } from './source.ts';

/**
 * A route's origin with security off: routes' own names (`route.<id>`, `route.<id>.replies.*`) are
 * reserved to routes in the core. With security on each route has its own, carrying the subject of
 * the user it runs as (`runAs`), and the core checks its consumer and its sends like a client's.
 */
export const ROUTE_ORIGIN: Origin = Object.freeze({ component: 'route' });

/** The durable subscription a route on a topic consumes from (messages wait there while it is down). */
export function routeSubscriptionName(routeId: string): string {
  return `route.${routeId}`;
}

/**
 * A route source on a broker queue or topic: a core consumer whose credit is the route's
 * `maxInflight`; one credit comes back per settled exchange (after its ack is stored). A topic
 * source is a durable subscription named `route.<id>`.
 */
export class CoreSource implements Source {
  readonly uri: string;
  private readonly core: Core;
  private readonly destination: Destination;
  private readonly routeId: string;
  /** `maxInflight`: unsettled deliveries plus unused credit never exceed it. */
  private readonly window: CreditWindow;
  private readonly log: Log;
  private readonly identity: Origin;
  private consumer: ConsumerHandle | undefined;
  private paused = false;
  private emit: (ex: Exchange) => void = () => {};

  constructor(core: Core, uri: string, routeId: string, maxInflight: number, log: Log, identity: Origin = ROUTE_ORIGIN) {
    this.core = core;
    this.identity = identity;
    this.uri = uri;
    this.destination = destinationOf(uri);
    this.routeId = routeId;
    this.window = new CreditWindow(maxInflight);
    this.log = log;
  }

  async start(emit: (ex: Exchange) => void): Promise<void> {
    this.emit = emit;
    this.consumer = await this.core.createConsumer({
      destination: this.destination,
      sink: {
        deliver: (d) => this.deliver(d),
        closed: (reason) => this.log.warn({ route: this.routeId, reason }, 'route source closed by the broker'),
      },
      ...(this.destination.type === 'topic' ? { subscription: { name: routeSubscriptionName(this.routeId), durable: true } } : {}),
      origin: this.identity,
    });
    this.topUp();
  }

  private deliver(d: Delivery): void {
    // A bound function, not an arrow in the object literal: the tsx/esbuild name helper would
    // redefine the arrow's `name` once per message.
    const onSettled = this.settle.bind(this, this.consumer!, d.id);
    this.emit(createExchange({ routeId: this.routeId, message: fromCoreMessage(d.message), deliveryCount: d.deliveryCount, onSettled }));
  }

  private settle(c: ConsumerHandle, id: number, o: Outcome): void {
    // After a stop the delivery went back to the queue with the consumer: nothing to settle.
    if (c.closed) return;
    let p: Promise<void>;
    try {
      if (o.kind === 'ack') p = c.ack(id);
      else if (o.kind === 'nack') p = c.nack(id, { cause: `route ${this.routeId}: ${o.error.message}` });
      else p = c.nack(id, { undelivered: true });
    } catch (err) {
      this.log.warn({ err, route: this.routeId }, 'settling a route delivery failed');
      return;
    }
    p.then(
      () => this.topUp(),
      (err) => this.log.error({ err, route: this.routeId }, 'storing a route acknowledgement failed'),
    );
  }

  /** Grants credit up to `maxInflight` unsettled deliveries. */
  private topUp(): void {
    const c = this.consumer;
    if (!c || c.closed || this.paused) return;
    const room = this.window.room(c.unacked.size + c.credit);
    if (room > 0) c.grant(room);
  }

  pause(): void {
    this.paused = true;
    this.consumer?.setCredit(0);
  }

  resume(): void {
    this.paused = false;
    this.topUp();
  }

  async stop(): Promise<void> {
    this.consumer?.close();
    this.consumer = undefined;
  }

  async remove(): Promise<void> {
    if (this.destination.type !== 'topic') return;
    try {
      // Asked by the broker, not the route: undeploying is the operator's act (Artemis: management).
      await this.core.deleteSubscription(routeSubscriptionName(this.routeId), undefined);
    } catch (err) {
      if ((err as JunctionError).code !== 'ERR_SUBSCRIPTION_NOT_FOUND') throw err;
    }
  }
}

let replySeq = 0;

interface Waiting {
  resolve(m: ExchangeMessage): void;
  reject(err: Error): void;
}

function stopped(uri: string): JunctionError {
  return new JunctionError('ERR_ROUTE_STATE', `Request to ${uri} abandoned: the route stopped`);
}

/**
 * A producer to a broker queue or topic: resolves once the core has the message (stored, for a
 * durable message). Request-reply (enrich) uses a reply queue of its own and the correlation id.
 */
export class CoreProducer implements Producer {
  readonly uri: string;
  private readonly core: Core;
  private readonly destination: Destination;
  /** One object for the producer's life: a send passes it, allocating nothing per message. */
  private readonly sendOptions: SendOptions;
  private reply: { queue: string; consumer: ConsumerHandle; waiting: Map<string, Waiting> } | undefined;
  private replyStarting: Promise<void> | undefined;
  private closed = false;

  constructor(core: Core, uri: string, identity: Origin = ROUTE_ORIGIN) {
    this.core = core;
    this.uri = uri;
    this.destination = destinationOf(uri);
    this.sendOptions = Object.freeze({ origin: identity });
  }

  send(ex: Exchange): Promise<unknown> {
    return this.core.send(toCoreMessage(ex.message, this.destination, ex.original), this.sendOptions);
  }

  async request(ex: Exchange, timeoutMs: number): Promise<ExchangeMessage> {
    if (this.closed) throw stopped(this.uri);
    // A reply queue that failed to start (memory full) is tried again by the next request.
    await (this.replyStarting ??= this.startReplies(ex.routeId).catch((err: unknown) => {
      this.replyStarting = undefined;
      throw err;
    }));
    if (this.closed) throw stopped(this.uri);
    const r = this.reply!;
    const correlationId = `${ex.id}.${++replySeq}`;
    const reply = new Promise<ExchangeMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        r.waiting.delete(correlationId);
        reject(new JunctionError('ERR_ROUTE_TIMEOUT', `No reply from ${this.uri} within ${timeoutMs} ms`));
      }, timeoutMs);
      r.waiting.set(correlationId, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
    });
    const m = toCoreMessage(ex.message, this.destination, ex.original);
    m.correlationId = correlationId;
    m.replyTo = { type: 'queue', name: r.queue };
    m.durable = false;
    try {
      await this.core.send(m, this.sendOptions);
    } catch (err) {
      r.waiting.delete(correlationId);
      throw err;
    }
    return reply;
  }

  private async startReplies(routeId: string): Promise<void> {
    const queue = `route.${routeId}.replies.${Date.now().toString(36)}${++replySeq}`;
    const waiting = new Map<string, Waiting>();
    // The reply queue is the route engine's own plumbing, made by the broker (no origin) whatever the
    // route runs as, as Camel's temporary reply queue; the request itself is a send checked above.
    const consumer = await this.core.createConsumer({
      destination: { type: 'queue', name: queue },
      autoAck: true,
      sink: {
        deliver: (d) => {
          const id = d.message.correlationId;
          const w = id !== undefined ? waiting.get(id) : undefined;
          if (!w) return; // a late reply (its request timed out): dropped
          waiting.delete(id!);
          w.resolve(fromCoreMessage(d.message));
        },
      },
    });
    consumer.grant(1_000_000);
    this.reply = { queue, consumer, waiting };
  }

  /** Route stopped: requests still waiting fail now (their timers cleared), the reply queue goes. */
  async close(): Promise<void> {
    this.closed = true;
    // A reply consumer still being created is closed too, once it exists.
    await this.replyStarting?.catch(() => {}); // its error went to the request that started it
    if (!this.reply) return;
    const { queue, consumer, waiting } = this.reply;
    this.reply = undefined;
    for (const w of waiting.values()) w.reject(stopped(this.uri));
    waiting.clear();
    consumer.close();
    await this.core.deleteQueue(queue);
  }
}
