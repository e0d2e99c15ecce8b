import type { Evaluate, Step, StepContext } from '../src/routing/types.ts';
import { mark, toError, withBranches } from './internals.ts';

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
    let taken = -1;
    try {
      for (let k = 0; k < when.length; k++) {
        if (when[k]!.predicate(ex)) {
          taken = k;
          break;
        }
      }
    } catch (err) {
      ctx.errors.fail(ex, ctx.step, toError(err), 1);
      return;
    }
    const i = taken >= 0 ? taken : otherwise ? when.length : -1;
    if (i < 0) emit(ex);
    else branches[i]!.push(ex);
  });
}
