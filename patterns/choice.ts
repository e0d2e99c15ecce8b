import type { Evaluate, Step, StepContext } from '../src/routing/types.ts';
import { guard, mark, withBranches } from './internals.ts';

export interface When {
  predicate: Evaluate<boolean>;
  step: Step;
}

/**
 * Content-based router: the first `when` whose predicate holds takes the exchange through its
 * steps, else `otherwise`; an exchange no branch takes continues after the choice (as in Camel).
 * Every branch's output continues after the choice.
 * @example { "choice": { "when": [{ "if": { ">": [{ "var": "body.t" }, 30] }, "steps": [{ "to": "queue:alerts" }] }], "otherwise": [{ "to": "queue:readings" }] } }
 */
export function choice(when: When[], otherwise: Step | undefined, ctx: StepContext): Step {
  const steps = when.map((w) => w.step);
  if (otherwise) steps.push(otherwise);
  return withBranches(steps, true, (ex, branches, emit) => {
    mark(ex, ctx);
    const r = guard(ctx, ex, () => when.findIndex((w) => w.predicate(ex)));
    if (!r.ok) return;
    const i = r.value >= 0 ? r.value : otherwise ? when.length : -1;
    if (i < 0) emit(ex);
    else branches[i]!.push(ex);
  });
}
