import { z } from 'zod';
import { Observable } from 'rxjs';
import type { Evaluate, Exchange, Expression, Step, StepContext, StepDef, StepDescriptor } from '../src/routing/types.ts';
import { stepList } from './definitions.ts';
import { guard, mark, withBranches } from './internals.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    /** Without `steps`, the parts continue in place of the exchange. */
    split: { by: Expression; steps?: StepDef[]; maxParts?: number };
  }
}

/**
 * Parts per message when the step does not say (`maxParts`). Every part is an exchange the route
 * holds until it settles, made in one turn of the event loop: a 400 KB JSON array of 200,000 numbers
 * took 1.8 s and 576 MB, so a 4 MiB body (the largest a client may send) would freeze and exhaust
 * the broker. A message over the cap fails (the error handler, then the dead-letter channel).
 */
export const DEFAULT_MAX_PARTS = 10_000;

function parts(by: Evaluate, ex: Exchange, ctx: StepContext, maxParts: number): Exchange[] | undefined {
  const made: Exchange[] = [];
  const r = guard(ctx, ex, () => {
    const v = by(ex);
    const items = Array.isArray(v) ? v : v === null || v === undefined ? [] : [v];
    if (items.length > maxParts) throw new Error(`split: ${items.length} parts, more than maxParts ${maxParts}`);
    // Inside the guard: an element that cannot be a body (a BigInt from a TypeScript `by`) throws.
    for (const item of items) made.push(ex.derive(item));
    return made;
  });
  if (!r.ok) {
    // The parts made before the bad one would hold the failed exchange open: they never run.
    for (const p of made) p.ack();
    return undefined;
  }
  const size = r.value.length;
  return r.value.map((part, i) => {
    part.properties.splitIndex = i;
    part.properties.splitSize = size;
    part.properties.splitComplete = i === size - 1;
    part.properties.splitOf = ex.id;
    return part;
  });
}

/**
 * Splitter: each element of the array `by` yields becomes an exchange of its own (properties
 * `splitIndex`, `splitSize`, `splitComplete`, `splitOf`). Without `steps` the parts continue in
 * place of the exchange; with `steps` the parts go through them and the exchange continues.
 * Either way the source message is settled only once every part is. A message of more than
 * `maxParts` parts (default {@link DEFAULT_MAX_PARTS}) fails the exchange.
 * @example { "split": { "by": { "var": "body.lines" } } }
 */
export function split(by: Evaluate, steps: Step | undefined, ctx: StepContext, maxParts = DEFAULT_MAX_PARTS): Step {
  if (!steps) {
    return (source) =>
      new Observable<Exchange>((subscriber) =>
        source.subscribe({
          next: (ex) => {
            mark(ex, ctx);
            const ps = parts(by, ex, ctx, maxParts);
            if (!ps) return;
            // The parts hold the source open; this exchange itself is done.
            ex.ack();
            for (const p of ps) subscriber.next(p);
          },
          error: (e) => subscriber.error(e),
          complete: () => subscriber.complete(),
        }),
      );
  }
  return withBranches([steps], false, (ex, [branch], emit) => {
    mark(ex, ctx);
    const ps = parts(by, ex, ctx, maxParts);
    if (!ps) return;
    for (const p of ps) branch!.push(p);
    emit(ex);
  });
}

export const splitStep: StepDescriptor<'split'> = {
  kind: 'split',
  schema: z.strictObject({
    by: z.unknown(),
    steps: stepList.optional(),
    /** At most this many parts per message (default 10,000); a larger array fails the exchange (error handler, then dead-letter channel). */
    maxParts: z.number().int().min(1).max(1_000_000).optional(),
  }),
  nested: ['steps'],
  compile: (d, c) => split(c.expression(d.by, `${c.path}.by`), d.steps ? c.steps(d.steps, `${c.path}.steps`) : undefined, c.context, d.maxParts),
};
