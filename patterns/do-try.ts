import { z } from 'zod';
import type { ErrorHandling, Evaluate, Exchange, Expression, Step, StepContext, StepDef, StepDescriptor } from '../src/routing/types.ts';
import { stepList } from './definitions.ts';
import { mark, withBranches } from './internals.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    /** `finally` runs after the try and the catches (for handled exchanges). */
    doTry: { steps: StepDef[]; catch?: Array<{ when?: Expression; steps: StepDef[] }>; finally?: StepDef[] };
  }
}

export interface Catch {
  /** Which failures this catch takes (over the exchange, with `properties.error`); none: all. */
  when?: Evaluate<boolean>;
  step: Step;
}

/**
 * Try/catch (Camel's doTry/doCatch): runs `steps`; an exchange that fails in them (after the
 * redelivery policy) gets the property `error` (`{ message, step, attempts }`) and goes through
 * the first catch whose `when` holds, then continues after the doTry like a successful one. A
 * failure no catch takes goes to the route's error handler. `finally` steps are the compiler's:
 * they run after the try and the catches (for handled exchanges).
 * @example { "doTry": { "steps": [{ "to": "amqp://partner:5672/orders" }], "catch": [{ "when": { "in": ["timeout", { "var": "properties.error.message" }] }, "steps": [{ "to": "queue:orders.retry" }] }] } }
 */
export function doTry(build: (errors: ErrorHandling) => Step, catches: Catch[], ctx: StepContext): Step {
  let toCatch: (ex: Exchange, err: Error, step: string, attempts: number) => void = () => {};
  const inner = build({
    policy: ctx.errors.policy,
    fail: (ex, step, err, attempts) => toCatch(ex, err, step, attempts),
    ...(ctx.errors.redelivered ? { redelivered: ctx.errors.redelivered } : {}),
  });
  return withBranches([inner, ...catches.map((c) => c.step)], true, (ex, branches) => {
    mark(ex, ctx);
    toCatch = (e, err, step, attempts) => {
      e.properties.error = { message: err.message, step, attempts };
      let i: number;
      try {
        i = catches.findIndex((c) => !c.when || c.when(e));
      } catch (whenErr) {
        ctx.errors.fail(e, ctx.step, whenErr instanceof Error ? whenErr : new Error(String(whenErr)), attempts);
        return;
      }
      if (i < 0) ctx.errors.fail(e, step, err, attempts);
      else branches[i + 1]!.push(e);
    };
    branches[0]!.push(ex);
  }, true);
}

export const doTryStep: StepDescriptor<'doTry'> = {
  kind: 'doTry',
  schema: z.strictObject({ steps: stepList, catch: z.array(z.strictObject({ when: z.unknown().optional(), steps: stepList })).optional(), finally: stepList.optional() }),
  nested: ['steps', 'catch[].steps', 'finally'],
  compile: (dt, c) => {
    const p = c.path;
    const inner = (errors: ErrorHandling) => c.steps(dt.steps, `${p}.steps`, errors);
    const catches = (dt.catch ?? []).map((k, i) => ({
      ...(k.when !== undefined ? { when: c.predicate(k.when, `${p}.catch[${i}].when`) } : {}),
      step: c.steps(k.steps, `${p}.catch[${i}].steps`),
    }));
    const tried = doTry(inner, catches, c.context);
    if (!dt.finally) return tried;
    const fin = c.steps(dt.finally, `${p}.finally`);
    return (source) => fin(tried(source));
  },
};
