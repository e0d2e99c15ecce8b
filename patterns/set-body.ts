import type { Evaluate, Step, StepContext } from '../src/routing/types.ts';
import { guard, mark, syncStep } from './internals.ts';

/**
 * Message translator: replaces the body with the expression's value (objects become JSON).
 * @example { "setBody": { "object": ["id", { "var": "body.id" }, "at", { "now": [] }] } }
 */
export function setBody(value: Evaluate, ctx: StepContext): Step {
  return syncStep((ex) => {
    mark(ex, ctx);
    return guard(ctx, ex, () => ex.setBody(value(ex))).ok ? ex : undefined;
  });
}
