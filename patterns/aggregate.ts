import { z } from 'zod';
import { Observable, type Subscription } from 'rxjs';
import type { Evaluate, Exchange, ExchangeMessage, Expression, Step, StepContext, StepDescriptor } from '../src/routing/types.ts';
import { guard, mark, toError } from './internals.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    aggregate: AggregateDef;
  }
}

export type AggregationStrategy = 'collect' | 'merge' | 'concat';

export interface AggregateOptions {
  /** The correlation key: exchanges with the same value are aggregated together. */
  correlation: Evaluate;
  /** Complete a group at this many exchanges (may depend on the exchange, e.g. `properties.splitSize`). */
  completionSize?: Evaluate<number>;
  /** Complete a group after this many ms without a new exchange (Camel's completionTimeout). */
  completionTimeout?: number;
  /** Complete a group when this holds for the aggregate so far. */
  completionPredicate?: Evaluate<boolean>;
  strategy?: AggregationStrategy;
  separator?: string;
}

interface Group {
  key: string;
  /** In arrival order until `inSplitOrder` runs (only when `unsorted`). */
  items: Exchange[];
  timer: Subscription | undefined;
  /** Split message -> the highest `splitIndex` of its parts so far (made at a group's first part). */
  lastIndex?: Map<unknown, number>;
  /** A part arrived after a later part of its split: sort before the aggregate is built. */
  unsorted?: boolean;
}

/** Adds an input to a group in arrival order, noting when a part of a split comes after a later part (O(1)). */
function add(g: Group, ex: Exchange): void {
  g.items.push(ex);
  const index = ex.properties.splitIndex;
  if (typeof index !== 'number') return;
  const of = ex.properties.splitOf;
  const last = (g.lastIndex ??= new Map()).get(of);
  if (last !== undefined && index < last) g.unsorted = true;
  else g.lastIndex.set(of, index);
}

/**
 * Puts the parts of each split message among `items` in split order (the order of the array: their
 * `splitIndex`), each part taking one of the places its split's parts hold, whatever order their
 * steps completed in; any other input keeps its place (arrival order). O(n log n); the aggregator
 * calls it only for a group that received a part out of order.
 */
export function inSplitOrder(items: Exchange[]): void {
  const places = new Map<unknown, number[]>();
  for (let i = 0; i < items.length; i++) {
    const p = items[i]!.properties;
    if (typeof p.splitIndex !== 'number') continue;
    let at = places.get(p.splitOf);
    if (!at) places.set(p.splitOf, (at = []));
    at.push(i);
  }
  for (const at of places.values()) {
    if (at.length < 2) continue;
    const parts = at.map((i) => items[i]!).sort((a, b) => (a.properties.splitIndex as number) - (b.properties.splitIndex as number));
    for (let k = 0; k < at.length; k++) items[at[k]!] = parts[k]!;
  }
}

/** The body of an aggregate under a strategy. */
export function aggregateBody(items: Exchange[], strategy: AggregationStrategy, separator = ''): unknown {
  if (strategy === 'collect') return items.map((ex) => ex.body());
  if (strategy === 'merge') {
    const out: Record<string, unknown> = {};
    for (const ex of items) {
      const b = ex.body();
      if (b !== null && typeof b === 'object' && !Array.isArray(b)) Object.assign(out, b);
    }
    return out;
  }
  const sep = Buffer.from(separator);
  const chunks: Buffer[] = [];
  items.forEach((ex, i) => {
    if (i > 0 && sep.length > 0) chunks.push(sep);
    chunks.push(ex.message.body);
  });
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Aggregator: groups exchanges by correlation key and emits one exchange per group when it is
 * complete (size, inactivity timeout or predicate). A group holds the parts of a split in split
 * order and other inputs in arrival order ({@link inSplitOrder}). The grouped exchanges stay unsettled until
 * the aggregate is settled (then they are acked or nacked with it), so a crash loses nothing: the
 * broker redelivers them. When the route stops, incomplete groups are released to the broker.
 * The aggregate has properties `aggregatedSize`, `aggregatedKey`, `aggregatedBy`.
 * @example { "aggregate": { "correlation": { "var": "properties.splitOf" }, "completionSize": { "var": "properties.splitSize" }, "strategy": "collect" } }
 */
export function aggregate(opts: AggregateOptions, ctx: StepContext): Step {
  const strategy = opts.strategy ?? 'collect';
  return (source) =>
    new Observable<Exchange>((subscriber) => {
      const groups = new Map<string, Group>();

      const build = (g: Group, by: string, settle: boolean): Exchange => {
        if (g.unsorted) {
          inSplitOrder(g.items);
          g.unsorted = false;
        }
        const first = g.items[0]!;
        const body = aggregateBody(g.items, strategy, opts.separator);
        // The body goes into the message the exchange is created with: that message is the
        // aggregate's `original`, what a dead-letter channel sends if it fails (not the first input).
        const text = typeof body === 'string';
        const message: ExchangeMessage = {
          ...first.message,
          headers: { ...first.message.headers },
          durable: g.items.some((e) => e.message.durable),
          body: Buffer.from(text ? body : JSON.stringify(body), 'utf8'),
          bodyType: text ? 'text' : 'json',
          ...(text ? {} : { contentType: 'application/json' }),
        };
        const items = settle ? [...g.items] : [];
        const ex = ctx.newExchange(
          message,
          (o) => {
            for (const item of items) {
              if (o.kind === 'ack') item.ack();
              else if (o.kind === 'nack') item.nack(o.error);
              else item.release();
            }
          },
          { ...first.properties, aggregatedSize: g.items.length, aggregatedKey: g.key, aggregatedBy: by },
        );
        return ex;
      };

      const complete = (g: Group, by: string) => {
        if (groups.get(g.key) !== g) return;
        groups.delete(g.key);
        g.timer?.unsubscribe();
        subscriber.next(build(g, by, true));
      };

      const sub = source.subscribe({
        next: (ex) => {
          mark(ex, ctx);
          let key: string;
          let size: number;
          try {
            key = String(opts.correlation(ex));
            size = opts.completionSize ? Number(opts.completionSize(ex)) : Infinity;
          } catch (err) {
            ctx.errors.fail(ex, ctx.step, toError(err), 1);
            return;
          }
          let g = groups.get(key);
          if (!g) {
            g = { key, items: [], timer: undefined };
            groups.set(key, g);
          }
          add(g, ex);
          if (g.items.length >= size) return complete(g, 'size');
          if (opts.completionPredicate) {
            const pred = opts.completionPredicate;
            const group = g;
            const done = guard(ctx, ex, () => pred(build(group, 'predicate', false)));
            if (!done.ok) {
              g.items.splice(g.items.indexOf(ex), 1);
              return;
            }
            if (done.value) return complete(g, 'predicate');
          }
          if (opts.completionTimeout !== undefined) {
            g.timer?.unsubscribe();
            const group = g;
            g.timer = ctx.scheduler.schedule(() => complete(group, 'timeout'), opts.completionTimeout);
          }
        },
        error: (e) => subscriber.error(e),
        complete: () => {
          // Stopping: incomplete groups go back to the broker untouched, to be aggregated after restart.
          for (const g of groups.values()) {
            g.timer?.unsubscribe();
            for (const ex of g.items) ex.release();
          }
          groups.clear();
          subscriber.complete();
        },
      });
      return () => {
        sub.unsubscribe();
        for (const g of groups.values()) g.timer?.unsubscribe();
      };
    });
}

/** An aggregate step as a definition gives it (expressions not yet compiled). */
export interface AggregateDef {
  correlation: Expression;
  completionSize?: number | Expression;
  completionTimeout?: number;
  completionPredicate?: Expression;
  strategy?: AggregationStrategy;
  /** `concat`: put between bodies. */
  separator?: string;
}

export const aggregateStep: StepDescriptor<'aggregate'> = {
  kind: 'aggregate',
  schema: z.strictObject({
    correlation: z.unknown(),
    completionSize: z.union([z.number().int().min(1), z.unknown()]).optional(),
    completionTimeout: z.number().int().min(1).optional(),
    completionPredicate: z.unknown().optional(),
    strategy: z.enum(['collect', 'merge', 'concat']).optional(),
    separator: z.string().optional(),
  }),
  compile: (a, c) => {
    const p = c.path;
    const size = a.completionSize;
    return aggregate(
      {
        correlation: c.expression(a.correlation, `${p}.correlation`),
        ...(size !== undefined ? { completionSize: typeof size === 'number' ? () => size : c.expression<number>(size, `${p}.completionSize`) } : {}),
        ...(a.completionTimeout !== undefined ? { completionTimeout: a.completionTimeout } : {}),
        ...(a.completionPredicate !== undefined ? { completionPredicate: c.predicate(a.completionPredicate, `${p}.completionPredicate`) } : {}),
        strategy: a.strategy ?? 'collect',
        ...(a.separator !== undefined ? { separator: a.separator } : {}),
      },
      c.context,
    );
  },
};
