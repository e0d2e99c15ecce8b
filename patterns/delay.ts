import { z } from 'zod';
import { EMPTY, map, mergeMap, timer } from 'rxjs';
import type { Evaluate, Expression, Step, StepContext, StepDescriptor } from '../src/routing/types.ts';
import { guard, mark } from './internals.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    /** ms, per message. */
    delay: Expression;
  }
}

/**
 * Delayer: holds each exchange for the expression's number of ms.
 * @example { "delay": 500 }
 */
export function delay(ms: Evaluate<number>, ctx: StepContext): Step {
  return mergeMap((ex) => {
    mark(ex, ctx);
    const r = guard(ctx, ex, () => Math.max(0, Number(ms(ex)) || 0));
    if (!r.ok) return EMPTY;
    return timer(r.value, ctx.scheduler).pipe(map(() => ex));
  });
}

export const delayStep: StepDescriptor<'delay'> = {
  kind: 'delay',
  schema: z.unknown(),
  compile: (e, c) => delay(c.expression<number>(e, c.path), c.context),
};
