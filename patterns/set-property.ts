import type { Evaluate, Step, StepContext } from '../src/routing/types.ts';
import { guard, mark, syncStep } from './internals.ts';

/**
 * Sets an exchange property: route-local, seen by later steps as `properties.NAME`, never sent.
 * @example { "setProperty": { "name": "unit", "value": "C" } }
 */
export function setProperty(name: string, value: Evaluate, ctx: StepContext): Step {
  return syncStep((ex) => {
    mark(ex, ctx);
    const r = guard(ctx, ex, () => {
      ex.properties[name] = value(ex);
    });
    return r.ok ? ex : undefined;
  });
}
