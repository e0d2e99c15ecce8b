import { EMPTY, mergeMap, of } from 'rxjs';
import type { Evaluate, Step, StepContext } from '../src/routing/types.ts';
import { guard, mark } from './internals.ts';

/**
 * Message translator: replaces the body with the expression's value (objects become JSON).
 * @example { "setBody": { "object": ["id", { "var": "body.id" }, "at", { "now": [] }] } }
 */
export function setBody(value: Evaluate, ctx: StepContext): Step {
  return mergeMap((ex) => {
    mark(ex, ctx);
    const r = guard(ctx, ex, () => ex.setBody(value(ex)));
    return r.ok ? of(ex) : EMPTY;
  });
}
