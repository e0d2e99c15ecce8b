import { map } from 'rxjs';
import type { Step, StepContext, StepDescriptor } from '../src/routing/types.ts';
import { name } from './definitions.ts';
import { mark } from './internals.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    removeProperty: string;
  }
}

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

export const removePropertyStep: StepDescriptor<'removeProperty'> = {
  kind: 'removeProperty',
  schema: name,
  names: [''],
  compile: (n, c) => removeProperty(n, c.context),
};
