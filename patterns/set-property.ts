import type { Evaluate, Step, StepContext } from '../src/routing/types.ts';
import { mark, syncStep, toError } from './internals.ts';

/**
 * Sets an exchange property: route-local, seen by later steps as `properties.NAME`, never sent.
 * @example { "setProperty": { "name": "unit", "value": "C" } }
 */
export function setProperty(name: string, value: Evaluate, ctx: StepContext): Step {
  return syncStep((ex) => {
    mark(ex, ctx);
    try {
      ex.properties[name] = value(ex);
    } catch (err) {
      ctx.errors.fail(ex, ctx.step, toError(err), 1);
      return undefined;
    }
    return ex;
  });
}
