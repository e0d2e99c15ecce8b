import { z } from 'zod';
import { EMPTY, map, mergeMap } from 'rxjs';
import type { Evaluate, Expression, Step, StepContext, StepDescriptor } from '../src/routing/types.ts';
import { attempt, guard, mark } from './internals.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    /** Endpoint URIs per message: an array, or a comma-separated string. */
    recipientList: Expression;
  }
}

/** Endpoint URIs from an expression value: an array, or a comma-separated string. */
export function recipients(v: unknown): string[] {
  const list = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : [];
  return list.map((u) => String(u).trim()).filter((u) => u !== '');
}

/**
 * Recipient list: sends the exchange to every endpoint the expression names (computed per
 * message), and passes it on once all have it.
 * @example { "recipientList": { "cat": ["queue:region.", { "var": "headers.region" }] } }
 */
export function recipientList(expr: Evaluate, ctx: StepContext): Step {
  return mergeMap((ex) => {
    mark(ex, ctx);
    const r = guard(ctx, ex, () => recipients(expr(ex)).map((u) => ctx.producer(u)));
    if (!r.ok) return EMPTY;
    return attempt(ctx, ex, () => Promise.all(r.value.map((p) => p.send(ex)))).pipe(map(() => ex));
  });
}

export const recipientListStep: StepDescriptor<'recipientList'> = {
  kind: 'recipientList',
  schema: z.unknown(),
  compile: (e, c) => recipientList(c.expression(e, c.path), c.context),
};
