import { Observable } from 'rxjs';
import type { Evaluate, Exchange, Step, StepContext } from '../src/routing/types.ts';
import { guard, mark, withBranches } from './internals.ts';

function parts(by: Evaluate, ex: Exchange, ctx: StepContext): Exchange[] | undefined {
  const made: Exchange[] = [];
  const r = guard(ctx, ex, () => {
    const v = by(ex);
    const items = Array.isArray(v) ? v : v === null || v === undefined ? [] : [v];
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
 * Either way the source message is settled only once every part is.
 * @example { "split": { "by": { "var": "body.lines" } } }
 */
export function split(by: Evaluate, steps: Step | undefined, ctx: StepContext): Step {
  if (!steps) {
    return (source) =>
      new Observable<Exchange>((subscriber) =>
        source.subscribe({
          next: (ex) => {
            mark(ex, ctx);
            const ps = parts(by, ex, ctx);
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
    const ps = parts(by, ex, ctx);
    if (!ps) return;
    for (const p of ps) branch!.push(p);
    emit(ex);
  });
}
