import { map } from 'rxjs';
import type { Step, StepContext } from '../src/routing/types.ts';
import { mark } from './internals.ts';

/**
 * Removes an exchange property.
 * @example { "removeProperty": "unit" }
 */
export function removeProperty(name: string, ctx: StepContext): Step {
  return map((ex) => {
    mark(ex, ctx);
    delete ex.properties[name];
    return ex;
  });
}
