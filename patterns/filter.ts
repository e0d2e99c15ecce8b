import { z } from 'zod';
import type { Evaluate, Expression, Step, StepContext, StepDescriptor } from '../src/routing/types.ts';
import { mark, syncStep, toError } from './internals.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    /** A predicate: exchanges it rejects are done (acknowledged). */
    filter: Expression;
  }
}

/**
 * Message filter: passes exchanges the predicate accepts; the others are done (acknowledged).
 * @example { "filter": { ">": [{ "var": "body.celsius" }, 30] } }
 */
export function filter(predicate: Evaluate<boolean>, ctx: StepContext): Step {
  return syncStep((ex) => {
    mark(ex, ctx);
    let pass: boolean;
    try {
      pass = predicate(ex);
    } catch (err) {
      ctx.errors.fail(ex, ctx.step, toError(err), 1);
      return undefined;
    }
    if (pass) return ex;
    ex.ack();
    return undefined;
  });
}

export const filterStep: StepDescriptor<'filter'> = {
  kind: 'filter',
  schema: z.unknown(),
  compile: (e, c) => filter(c.predicate(e, c.path), c.context),
};
