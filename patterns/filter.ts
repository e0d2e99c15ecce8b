import type { Evaluate, Step, StepContext } from '../src/routing/types.ts';
import { guard, mark, syncStep } from './internals.ts';

/**
 * Message filter: passes exchanges the predicate accepts; the others are done (acknowledged).
 * @example { "filter": { ">": [{ "var": "body.celsius" }, 30] } }
 */
export function filter(predicate: Evaluate<boolean>, ctx: StepContext): Step {
  return syncStep((ex) => {
    mark(ex, ctx);
    const r = guard(ctx, ex, () => predicate(ex));
    if (!r.ok) return undefined;
    if (r.value) return ex;
    ex.ack();
    return undefined;
  });
}
