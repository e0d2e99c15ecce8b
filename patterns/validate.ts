import { z } from 'zod';
import { EMPTY, mergeMap, of } from 'rxjs';
import type { Exchange, Step, StepContext, StepDescriptor } from '../src/routing/types.ts';
import { guard, mark } from './internals.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    /** A JSON Schema for the body. */
    validate: { schema: object };
  }
}

/**
 * Validator: `check` returns a description of what is wrong with the exchange (for JSON routes,
 * the JSON Schema errors of the body, compiled once with ajv at deploy), or undefined when it is
 * valid. An invalid exchange goes to the error handler (no redelivery: it would fail again).
 * @example { "validate": { "schema": { "type": "object", "required": ["id"] } } }
 */
export function validate(check: (ex: Exchange) => string | undefined, ctx: StepContext): Step {
  return mergeMap((ex) => {
    mark(ex, ctx);
    const r = guard(ctx, ex, () => {
      const problem = check(ex);
      if (problem !== undefined) throw new Error(`validation failed: ${problem}`);
    });
    return r.ok ? of(ex) : EMPTY;
  });
}

export const validateStep: StepDescriptor<'validate'> = {
  kind: 'validate',
  schema: z.strictObject({ schema: z.record(z.string(), z.unknown()) }),
  compile: (d, c) => validate(c.bodySchema(d.schema, `${c.path}.schema`), c.context),
};
