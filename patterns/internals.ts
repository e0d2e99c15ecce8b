/** Machinery the patterns share: guarded steps with redelivery, and long-lived branches. */
import { defer, EMPTY, from, Observable, Subject, Subscription, timer, catchError, retry, type ObservableInput } from 'rxjs';
import type { Exchange, RedeliveryPolicy, Step, StepContext, SyncStep } from '../src/routing/types.ts';

export function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** The delay before redelivery `n` (1-based) under a policy: delay * multiplier^(n-1), capped. */
export function redeliveryDelay(p: RedeliveryPolicy, n: number): number {
  const d = p.redeliveryDelay * Math.pow(p.backoffMultiplier, n - 1);
  return p.maxRedeliveryDelay > 0 ? Math.min(d, p.maxRedeliveryDelay) : d;
}

/**
 * Runs an asynchronous part of a step with the redelivery policy of its context. Emits the result;
 * on final failure hands the exchange to the error handler and emits nothing, so a bad message
 * never ends the stream (an error that reached RxJS would end the route).
 */
export function attempt<T>(ctx: StepContext, ex: Exchange, fn: () => ObservableInput<T> | T): Observable<T> {
  let attempts = 0;
  const policy = ctx.errors.policy;
  return defer(() => {
    attempts++;
    const r = fn();
    return isObservableInput(r) ? from(r) : from([r]);
  }).pipe(
    retry({
      count: policy.maxRedeliveries,
      delay: (_err, n) => {
        ctx.errors.redelivered?.(ex, ctx.step);
        return timer(redeliveryDelay(policy, n), ctx.scheduler);
      },
    }),
    catchError((err: unknown) => {
      ctx.errors.fail(ex, ctx.step, toError(err), attempts);
      return EMPTY;
    }),
  );
}

function isObservableInput(r: unknown): r is ObservableInput<unknown> {
  return r !== null && typeof r === 'object' && (typeof (r as PromiseLike<unknown>).then === 'function' || typeof (r as Observable<unknown>).subscribe === 'function');
}

/**
 * A synchronous step as one light operator (no inner observable per exchange): `fn` returns the
 * exchange to pass on, or undefined when it settled or diverted it.
 */
export function syncStep(fn: (ex: Exchange) => Exchange | undefined): SyncStep {
  const op: Step = (source) =>
    new Observable<Exchange>((subscriber) =>
      source.subscribe({
        next: (ex) => {
          const out = fn(ex);
          if (out !== undefined) subscriber.next(out);
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      }),
    );
  return Object.assign(op, { sync: fn });
}

/** Consecutive synchronous steps fused into one operator (one subscriber hop instead of n). */
export function fuse(steps: SyncStep[]): SyncStep {
  if (steps.length === 1) return steps[0]!;
  const fns = steps.map((s) => s.sync);
  return syncStep((ex) => {
    let cur: Exchange | undefined = ex;
    for (const f of fns) {
      cur = f(cur);
      if (cur === undefined) return undefined;
    }
    return cur;
  });
}

/**
 * An asynchronous step with the redelivery policy of its context, as one light operator: `fn`
 * runs per exchange (and again per redelivery, after the policy's delay on the context's
 * scheduler); when its promise resolves the exchange goes on, when the last attempt fails it goes
 * to the error handler. Completes once the source completed and no exchange is pending.
 */
export function asyncStep(ctx: StepContext, fn: (ex: Exchange) => PromiseLike<unknown> | void): Step {
  // Counted here (no extra operator hop around it): the compiler sees `probed` and leaves it be.
  const probe = ctx.probe;
  const op: Step = (source) =>
    new Observable<Exchange>((subscriber) => {
      let pending = 0;
      let sourceDone = false;
      let closed = false;
      const timers = new Set<{ unsubscribe(): void }>();
      const finish = () => {
        pending--;
        if (sourceDone && pending === 0 && !closed) subscriber.complete();
      };
      // Closures are made once per subscription, not per exchange (arrow functions assigned to a
      // name get the tsx/esbuild name helper, a defineProperty, each time they are created).
      const failed = (ex: Exchange, attempts: number, err: unknown): void => {
        if (closed) return;
        const policy = ctx.errors.policy;
        if (attempts <= policy.maxRedeliveries) {
          ctx.errors.redelivered?.(ex, ctx.step);
          const t = ctx.scheduler.schedule(() => {
            timers.delete(t);
            run(ex, attempts + 1);
          }, redeliveryDelay(policy, attempts));
          timers.add(t);
          return;
        }
        ctx.errors.fail(ex, ctx.step, toError(err), attempts);
        finish();
      };
      const passed = (ex: Exchange): void => {
        if (closed) return;
        probe?.passed(ex);
        subscriber.next(ex);
        finish();
      };
      const run = (ex: Exchange, attempts: number): void => {
        let r: PromiseLike<unknown> | void;
        try {
          r = fn(ex);
        } catch (err) {
          return failed(ex, attempts, err);
        }
        if (r && typeof r.then === 'function') r.then(() => passed(ex), (err) => failed(ex, attempts, err));
        else passed(ex);
      };
      const sub = source.subscribe({
        next: (ex) => {
          pending++;
          probe?.hold(ex);
          run(ex, 1);
        },
        error: (e) => subscriber.error(e),
        complete: () => {
          sourceDone = true;
          if (pending === 0) subscriber.complete();
        },
      });
      return () => {
        closed = true;
        sub.unsubscribe();
        for (const t of timers) t.unsubscribe();
      };
    });
  return probe ? Object.assign(op, { probed: true }) : op;
}

/** Runs a synchronous part of a step; a throw goes to the error handler (deterministic: no redelivery). */
export function guard<T>(ctx: StepContext, ex: Exchange, fn: () => T): { ok: true; value: T } | { ok: false } {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    ctx.errors.fail(ex, ctx.step, toError(err), 1);
    return { ok: false };
  }
}

/**
 * A long-lived sub-pipeline (a choice branch, split steps, a multicast branch): exchanges pushed
 * in run through `step`, and what comes out goes to `out`. Stateful steps inside (an aggregate)
 * therefore see every exchange of the branch, not one at a time.
 */
export class Branch {
  private readonly input = new Subject<Exchange>();
  private readonly sub: Subscription;

  constructor(step: Step, out: { next: (ex: Exchange) => void; error: (e: unknown) => void; complete: () => void }) {
    this.sub = this.input.pipe(step).subscribe(out);
  }

  push(ex: Exchange): void {
    this.input.next(ex);
  }

  complete(): void {
    this.input.complete();
  }

  unsubscribe(): void {
    this.sub.unsubscribe();
  }
}

/**
 * An operator that feeds branches: `route` is called per exchange with the branches; the operator
 * completes once its source and every branch completed. `forward` branches emit downstream,
 * others settle their output (ack). `fedByFirst`: the other branches receive what fails in the
 * first (a fallback, a catch), so they complete only after the first one has.
 */
export function withBranches(
  steps: Step[],
  forward: boolean,
  route: (ex: Exchange, branches: Branch[], emit: (ex: Exchange) => void) => void,
  fedByFirst = false,
): Step {
  return (source) =>
    new Observable<Exchange>((subscriber) => {
      const emit = (ex: Exchange) => subscriber.next(ex);
      let open = steps.length + 1;
      const closed = () => {
        if (--open === 0) subscriber.complete();
      };
      const out = { next: forward ? emit : (ex: Exchange) => ex.ack(), error: (e: unknown) => subscriber.error(e), complete: closed };
      const branches: Branch[] = [];
      steps.forEach((s, i) => {
        const first = fedByFirst && i === 0;
        branches.push(new Branch(s, first ? { ...out, complete: () => { for (const b of branches.slice(1)) b.complete(); closed(); } } : out));
      });
      const sub = source.subscribe({
        next: (ex) => route(ex, branches, emit),
        error: (e) => subscriber.error(e),
        complete: () => {
          if (fedByFirst) branches[0]!.complete();
          else for (const b of branches) b.complete();
          closed();
        },
      });
      return () => {
        sub.unsubscribe();
        for (const b of branches) b.unsubscribe();
      };
    });
}

/** Records a step in the exchange's history when the route traces (Camel's message history). */
export function mark(ex: Exchange, ctx: StepContext): void {
  if (ctx.trace) ex.history.push({ step: ctx.step, at: ctx.scheduler.now() });
}
