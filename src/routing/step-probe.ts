import { Observable } from 'rxjs';
import { syncStep } from '../../patterns/index.ts';
import { STEP_SECONDS_BUCKETS, type StepStats } from './route-telemetry.ts';
import type { ErrorHandling, Exchange, Step, StepCounters, SyncStep } from './types.ts';

/**
 * Per-step counters of a compiled route (issue 15: the console's live graph, `/metrics`). One
 * probe per step, made at compile time; the wrappers below update its plain fields where the
 * step runs, so an exchange costs two clock reads and a few increments per step and allocates
 * nothing (Prometheus client guidance: count in the hot path, build series at scrape time).
 *
 * How a step is counted depends on how it holds an exchange:
 * - a synchronous step (`SyncStep`: filter, setHeader...): entered and finished within one call;
 *   an exchange it ends there (a filter's reject) is completed, one it hands to the error handler
 *   failed. Fusion of consecutive synchronous steps is kept (the wrapped function stays `sync`).
 * - a container (a kind with nested step lists: choice, multicast, split with steps, doTry,
 *   circuitBreaker, errorHandler): counted as it dispatches the exchange, within the call that
 *   hands it in; its branches' steps count what happens next (the graph's edges show them).
 * - any other step (to, enrich, delay, aggregate, a TypeScript operator...): entered when the
 *   exchange reaches its operator, completed when the operator passes it on or it is settled while
 *   the step holds it (an idempotent consumer's duplicate), failed when the step hands it to the
 *   error handler. The exchange carries the probe that holds it (`HeldExchange`): two fields set
 *   at creation, so holding one is a field write.
 */
export class StepProbe implements StepCounters {
  /** The node id (`steps.1.choice.when.0.steps.0`): the dotted path of the step in the definition. */
  readonly id: string;
  entered = 0;
  completed = 0;
  failed = 0;
  inFlight = 0;
  count = 0;
  sumSeconds = 0;
  /** Observations per bucket (not cumulative; the last one is +Inf); cumulated when read. */
  private readonly perBucket = new Float64Array(STEP_SECONDS_BUCKETS.length + 1);

  constructor(id: string) {
    this.id = id;
  }

  /** One processing time, from two `performance.now()` readings (ms). */
  observe(ms: number): void {
    const s = ms / 1000;
    this.count++;
    this.sumSeconds += s;
    const b = STEP_SECONDS_BUCKETS;
    let i = 0;
    while (i < b.length && s > b[i]!) i++;
    this.perBucket[i]!++;
  }

  /** The counters as the API shows them (cumulative buckets, Prometheus style). */
  stats(): StepStats {
    const buckets: number[] = [];
    let acc = 0;
    for (let i = 0; i < STEP_SECONDS_BUCKETS.length; i++) buckets.push((acc += this.perBucket[i]!));
    return { id: this.id, entered: this.entered, completed: this.completed, failed: this.failed, inFlight: this.inFlight, buckets, count: this.count, sumSeconds: this.sumSeconds };
  }

  /** An exchange reached the step (it holds it until it passes it on, fails it, or it is settled). */
  hold(ex: Exchange): void {
    const h = ex as HeldExchange;
    this.entered++;
    this.inFlight++;
    h.probe = this;
    h.probeT0 = performance.now();
  }

  /** The step passes `ex` on (an exchange it made, never held here, is not counted). */
  passed(ex: Exchange): void {
    const h = ex as HeldExchange;
    if (h.probe !== this) return;
    h.probe = undefined;
    this.inFlight--;
    this.completed++;
    this.observe(performance.now() - h.probeT0);
  }

  /** The exchange `ex` (which this probe held) was settled inside the step: it ended the route there. */
  ended(ex: HeldExchange): void {
    ex.probe = undefined;
    this.inFlight--;
    this.completed++;
    this.observe(performance.now() - ex.probeT0);
  }
}

/** The probe fields every route exchange has (src/routing/exchange.ts). */
export interface HeldExchange extends Exchange {
  probe: StepProbe | undefined;
  probeT0: number;
}

/** The step's error handling, counting what the step hands it (one object per step, made at compile time). */
export function probedErrors(errors: ErrorHandling, p: StepProbe): ErrorHandling {
  const out: ErrorHandling = {
    policy: errors.policy,
    fail: (ex, step, error, attempts) => {
      p.failed++;
      const h = ex as HeldExchange;
      if (h.probe === p) {
        h.probe = undefined;
        p.inFlight--;
        p.observe(performance.now() - h.probeT0);
      }
      errors.fail(ex, step, error, attempts);
    },
  };
  if (errors.redelivered) out.redelivered = errors.redelivered;
  return out;
}

/** A synchronous step counted per call; stays a `SyncStep` so the compiler still fuses it. */
export function probeSync(op: SyncStep, p: StepProbe): SyncStep {
  const fn = op.sync;
  return syncStep((ex) => {
    p.entered++;
    const failed = p.failed;
    const t0 = performance.now();
    let out: Exchange | undefined;
    try {
      out = fn(ex);
    } catch (err) {
      p.failed++; // reaches RxJS and fails the route; counted all the same
      p.observe(performance.now() - t0);
      throw err;
    }
    p.observe(performance.now() - t0);
    if (p.failed === failed) p.completed++;
    return out;
  });
}

/** A container step, counted as it dispatches (the call that hands the exchange in). */
export function probeDispatch(op: Step, p: StepProbe): Step {
  return (source) =>
    op(
      new Observable<Exchange>((subscriber) =>
        source.subscribe({
          next: (ex) => {
            p.entered++;
            const failed = p.failed;
            const t0 = performance.now();
            subscriber.next(ex);
            p.observe(performance.now() - t0);
            if (p.failed === failed) p.completed++;
          },
          error: (e) => subscriber.error(e),
          complete: () => subscriber.complete(),
        }),
      ),
    );
}

/** Any other step: the exchange is held by the probe from its operator's input to its output (or its settlement there). */
export function probeHeld(op: Step, p: StepProbe): Step {
  return (source) => {
    const input = new Observable<Exchange>((subscriber) =>
      source.subscribe({
        next: (ex) => {
          p.hold(ex);
          subscriber.next(ex);
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      }),
    );
    const output = op(input);
    return new Observable<Exchange>((subscriber) =>
      output.subscribe({
        next: (ex) => {
          p.passed(ex);
          subscriber.next(ex);
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      }),
    );
  };
}
