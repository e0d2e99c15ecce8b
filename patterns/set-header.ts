import { z } from 'zod';
import type { Evaluate, Expression, HeaderValue, Step, StepContext, StepDescriptor } from '../src/routing/types.ts';
import { name } from './definitions.ts';
import { mark, syncStep, toError } from './internals.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    setHeader: { name: string; value: Expression };
    removeHeader: string;
  }
}

/** A header value: scalars as they are, anything else as JSON text. */
export function headerValue(v: unknown): HeaderValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return JSON.stringify(v);
}

/**
 * Sets a message header (sent with the message), from an expression.
 * @example { "setHeader": { "name": "level", "value": "alert" } }
 */
export function setHeader(name: string, value: Evaluate, ctx: StepContext): Step {
  return syncStep((ex) => {
    mark(ex, ctx);
    try {
      ex.message = { ...ex.message, headers: { ...ex.message.headers, [name]: headerValue(value(ex)) } };
    } catch (err) {
      ctx.errors.fail(ex, ctx.step, toError(err), 1);
      return undefined;
    }
    return ex;
  });
}

/**
 * Removes a message header.
 * @example { "removeHeader": "internal" }
 */
export function removeHeader(name: string, ctx: StepContext): Step {
  return syncStep((ex) => {
    mark(ex, ctx);
    if (name in ex.message.headers) {
      const headers = { ...ex.message.headers };
      delete headers[name];
      ex.message = { ...ex.message, headers };
    }
    return ex;
  });
}

export const setHeaderStep: StepDescriptor<'setHeader'> = {
  kind: 'setHeader',
  schema: z.strictObject({ name, value: z.unknown() }),
  names: ['name'],
  compile: (d, c) => setHeader(d.name, c.expression(d.value, `${c.path}.value`), c.context),
};

export const removeHeaderStep: StepDescriptor<'removeHeader'> = {
  kind: 'removeHeader',
  schema: name,
  names: [''],
  compile: (n, c) => removeHeader(n, c.context),
};
