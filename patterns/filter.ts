import { mergeMap, EMPTY, of } from 'rxjs';
import type { Evaluate, Step, StepContext } from '../src/routing/types.ts';
import { guard, mark } from './internals.ts';

/**
 * Message filter: passes exchanges the predicate accepts; the others are done (acknowledged).
 * @example { "filter": { ">": [{ "var": "body.celsius" }, 30] } }
 */
export function filter(predicate: Evaluate<boolean>, ctx: StepContext): Step {
  return mergeMap((ex) => {
    mark(ex, ctx);
    const r = guard(ctx, ex, () => predicate(ex));
    if (!r.ok) return EMPTY;
    if (r.value) return of(ex);
    ex.ack();
    return EMPTY;
  });
}
