import { z } from 'zod';
import { tap } from 'rxjs';
import { assign, createActor, setup } from 'xstate';
import type { ErrorHandling, Exchange, Step, StepContext, StepDef, StepDescriptor } from '../src/routing/types.ts';
import { stepList } from './definitions.ts';
import { mark, withBranches } from './internals.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    circuitBreaker: { steps: StepDef[]; fallback?: StepDef[] } & CircuitBreakerOptions;
  }
}

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit (default 5). */
  failureThreshold?: number;
  /** How long the circuit stays open before one trial goes through (half open), ms (default 10000). */
  resetTimeout?: number;
}

type BreakerEvent = { type: 'SUCCESS' } | { type: 'FAILURE'; now: number } | { type: 'PROBE'; now: number };

/**
 * The breaker's states as an xstate machine: closed (calls go through, failures counted), open
 * (calls go to the fallback; a call after `resetTimeout` moves to half open), half open (the next
 * outcome closes or reopens it). Time comes in with the events, so virtual time works.
 */
export const circuitBreakerMachine = setup({
  types: {
    context: {} as { failures: number; openedAt: number; threshold: number; resetTimeout: number },
    events: {} as BreakerEvent,
    input: {} as { threshold: number; resetTimeout: number },
  },
}).createMachine({
  id: 'circuitBreaker',
  initial: 'closed',
  context: ({ input }) => ({ failures: 0, openedAt: 0, threshold: input.threshold, resetTimeout: input.resetTimeout }),
  states: {
    closed: {
      on: {
        SUCCESS: { actions: assign({ failures: 0 }) },
        FAILURE: [
          { guard: ({ context }) => context.failures + 1 >= context.threshold, target: 'open', actions: assign({ failures: 0, openedAt: ({ event }) => event.now }) },
          { actions: assign({ failures: ({ context }) => context.failures + 1 }) },
        ],
      },
    },
    open: {
      on: { PROBE: { guard: ({ context, event }) => event.now - context.openedAt >= context.resetTimeout, target: 'halfOpen' } },
    },
    halfOpen: {
      on: {
        SUCCESS: { target: 'closed', actions: assign({ failures: 0 }) },
        FAILURE: { target: 'open', actions: assign({ openedAt: ({ event }) => event.now }) },
      },
    },
  },
});

/**
 * Circuit breaker: runs the exchange through `steps`; after `failureThreshold` consecutive
 * failures the circuit opens and exchanges go straight to the `fallback` steps (or, without one,
 * to the error handler) until `resetTimeout` has passed; then one trial goes through (half open)
 * while the others still take the fallback, and its outcome closes or reopens the circuit. A
 * failure inside goes to the fallback with the property `circuitBreakerError`.
 * @example { "circuitBreaker": { "steps": [{ "to": "amqp://partner:5672/orders" }], "failureThreshold": 3, "resetTimeout": 5000, "fallback": [{ "to": "queue:orders.later" }] } }
 */
export function circuitBreaker(build: (errors: ErrorHandling) => Step, fallback: Step | undefined, opts: CircuitBreakerOptions, ctx: StepContext): Step {
  const actor = createActor(circuitBreakerMachine, { input: { threshold: opts.failureThreshold ?? 5, resetTimeout: opts.resetTimeout ?? 10_000 } });
  actor.start();
  let toFallback: (ex: Exchange, err: Error, attempts: number) => void = () => {};
  const inner = build({
    policy: ctx.errors.policy,
    fail: (ex, _step, err, attempts) => {
      actor.send({ type: 'FAILURE', now: ctx.scheduler.now() });
      toFallback(ex, err, attempts);
    },
    ...(ctx.errors.redelivered ? { redelivered: ctx.errors.redelivered } : {}),
  });
  // Half open lets one trial through; until its outcome is known the others take the fallback.
  let trialOut = false;
  actor.subscribe((snap) => {
    if (snap.value !== 'halfOpen') trialOut = false;
  });
  const guarded: Step = (source) =>
    inner(source).pipe(
      tap(() => {
        actor.send({ type: 'SUCCESS' });
        trialOut = false;
      }),
    );
  const branches = fallback ? [guarded, fallback] : [guarded];
  const step = withBranches(branches, true, (ex, bs) => {
    mark(ex, ctx);
    toFallback = (e, err, attempts) => {
      e.properties.circuitBreakerError = err.message;
      if (bs[1]) bs[1].push(e);
      else ctx.errors.fail(e, ctx.step, err, attempts);
    };
    actor.send({ type: 'PROBE', now: ctx.scheduler.now() });
    const state = actor.getSnapshot().value;
    if (state === 'open' || (state === 'halfOpen' && trialOut)) toFallback(ex, new Error('circuit breaker is open'), 0);
    else {
      if (state === 'halfOpen') {
        trialOut = true;
        // A trial that ends without an outcome for the breaker (filtered out inside) frees the slot.
        ex.onSettled(() => {
          trialOut = false;
        });
      }
      bs[0]!.push(ex);
    }
  }, true);
  return Object.assign(step, { breaker: actor });
}

export const circuitBreakerStep: StepDescriptor<'circuitBreaker'> = {
  kind: 'circuitBreaker',
  schema: z.strictObject({ steps: stepList, failureThreshold: z.number().int().min(1).optional(), resetTimeout: z.number().int().min(1).optional(), fallback: stepList.optional() }),
  nested: ['steps', 'fallback'],
  compile: (cb, c) => {
    const fallback = cb.fallback ? c.steps(cb.fallback, `${c.path}.fallback`) : undefined;
    // The breaker builds its steps at once (so a bad inner step fails the deploy) with its own error handling.
    const inner = (errors: ErrorHandling) => c.steps(cb.steps, `${c.path}.steps`, errors);
    const opts = { ...(cb.failureThreshold !== undefined ? { failureThreshold: cb.failureThreshold } : {}), ...(cb.resetTimeout !== undefined ? { resetTimeout: cb.resetTimeout } : {}) };
    return circuitBreaker(inner, fallback, opts, c.context);
  },
};
