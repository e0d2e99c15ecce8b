import { z } from 'zod';
import type { Evaluate, Expression, Step, StepContext, StepDef, StepDescriptor } from '../src/routing/types.ts';
import { stepList } from './definitions.ts';
import { mark, toError, withBranches } from './internals.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    /** The first `when` whose `if` holds takes the exchange through its steps, else `otherwise`. */
    choice: { when: Array<{ if: Expression; steps: StepDef[] }>; otherwise?: StepDef[] };
  }
}

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

export const choiceStep: StepDescriptor<'choice'> = {
  kind: 'choice',
  schema: z.strictObject({ when: z.array(z.strictObject({ if: z.unknown(), steps: stepList })).min(1), otherwise: stepList.optional() }),
  nested: ['when[].steps', 'otherwise'],
  compile: (d, c) => {
    const p = c.path;
    const when = d.when.map((w, i) => ({ predicate: c.predicate(w.if, `${p}.when[${i}].if`), step: c.steps(w.steps, `${p}.when[${i}].steps`) }));
    return choice(when, d.otherwise ? c.steps(d.otherwise, `${p}.otherwise`) : undefined, c.context);
  },
};
