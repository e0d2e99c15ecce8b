import { z } from 'zod';
import type { Evaluate, Expression, Step, StepContext, StepDescriptor } from '../src/routing/types.ts';
import { name } from './definitions.ts';
import { mark, syncStep, toError } from './internals.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    setProperty: { name: string; value: Expression };
  }
}

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

export const setPropertyStep: StepDescriptor<'setProperty'> = {
  kind: 'setProperty',
  schema: z.strictObject({ name, value: z.unknown() }),
  names: ['name'],
  compile: (d, c) => setProperty(d.name, c.expression(d.value, `${c.path}.value`), c.context),
};
