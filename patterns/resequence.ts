import { z } from 'zod';
import { Observable } from 'rxjs';
import type { Evaluate, Exchange, Expression, Step, StepContext, StepDescriptor } from '../src/routing/types.ts';
import { guard, mark } from './internals.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    resequence: Omit<ResequenceOptions, 'by'> & { by: Expression };
  }
}

export interface ResequenceOptions {
  by: Evaluate;
  /** Emit a batch at this many exchanges (default 100). */
  size?: number;
  /** Or this many ms after the batch's first exchange (default 1000). */
  timeout?: number;
  reverse?: boolean;
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

/**
 * Resequencer (batch, as Camel's default): collects exchanges until `size` or `timeout`, then
 * emits them sorted by `by`. A stopping route emits what it holds, sorted.
 * @example { "resequence": { "by": { "var": "headers.seq" }, "size": 10, "timeout": 500 } }
 */
export function resequence(opts: ResequenceOptions, ctx: StepContext): Step {
  const size = opts.size ?? 100;
  const timeout = opts.timeout ?? 1000;
  return (source) =>
    new Observable<Exchange>((subscriber) => {
      let batch: Array<{ key: unknown; ex: Exchange; n: number }> = [];
      let timer: { unsubscribe(): void } | undefined;
      let n = 0;
      const flush = () => {
        timer?.unsubscribe();
        timer = undefined;
        const out = batch;
        batch = [];
        // Ties keep arrival order.
        out.sort((a, b) => (opts.reverse ? compare(b.key, a.key) : compare(a.key, b.key)) || a.n - b.n);
        for (const item of out) subscriber.next(item.ex);
      };
      const sub = source.subscribe({
        next: (ex) => {
          mark(ex, ctx);
          const r = guard(ctx, ex, () => opts.by(ex));
          if (!r.ok) return;
          batch.push({ key: r.value, ex, n: n++ });
          if (batch.length >= size) flush();
          else if (!timer) timer = ctx.scheduler.schedule(flush, timeout);
        },
        error: (e) => subscriber.error(e),
        complete: () => {
          flush();
          subscriber.complete();
        },
      });
      return () => {
        sub.unsubscribe();
        timer?.unsubscribe();
      };
    });
}

export const resequenceStep: StepDescriptor<'resequence'> = {
  kind: 'resequence',
  schema: z.strictObject({ by: z.unknown(), size: z.number().int().min(1).optional(), timeout: z.number().int().min(1).optional(), reverse: z.boolean().optional() }),
  compile: ({ by, ...rest }, c) => resequence({ by: c.expression(by, `${c.path}.by`), ...rest }, c.context),
};
