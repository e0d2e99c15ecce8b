import type { Evaluate, Step, StepContext } from '../src/routing/types.ts';
import { mark, syncStep, toError } from './internals.ts';

/**
 * Message translator: replaces the body with the expression's value (objects become JSON).
 * @example { "setBody": { "object": ["id", { "var": "body.id" }, "at", { "now": [] }] } }
 */
export function setBody(value: Evaluate, ctx: StepContext): Step {
  return syncStep((ex) => {
    mark(ex, ctx);
    try {
      ex.setBody(value(ex));
    } catch (err) {
      ctx.errors.fail(ex, ctx.step, toError(err), 1);
      return undefined;
    }
    return ex;
  });
}
