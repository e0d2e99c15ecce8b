import { z } from 'zod';
import type { Evaluate, Expression, Step, StepContext, StepDescriptor } from '../src/routing/types.ts';
import { mark, syncStep, toError } from './internals.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    setBody: Expression;
  }
}

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

export const setBodyStep: StepDescriptor<'setBody'> = {
  kind: 'setBody',
  schema: z.unknown(),
  compile: (e, c) => setBody(c.expression(e, c.path), c.context),
};
