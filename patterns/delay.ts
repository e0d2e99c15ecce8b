import { EMPTY, map, mergeMap, timer } from 'rxjs';
import type { Evaluate, Step, StepContext } from '../src/routing/types.ts';
import { guard, mark } from './internals.ts';

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
