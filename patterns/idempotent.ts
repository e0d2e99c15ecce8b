import { z } from 'zod';
import { EMPTY, mergeMap, of } from 'rxjs';
import type { Evaluate, Expression, IdempotentRepository, Step, StepContext, StepDescriptor } from '../src/routing/types.ts';
import { guard, mark } from './internals.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    /** `window`: keys remembered (default 10,000); `persisted`: in the broker's store. */
    idempotent: { key: Expression; window?: number; persisted?: boolean };
  }
}

/**
 * Idempotent consumer: an exchange whose key was seen before is done (acknowledged) without
 * going further. A key is held in memory while its exchange is in flight (a duplicate arriving
 * meanwhile is skipped too) and stored in the repository only once the exchange completes
 * (acknowledged, or dead-lettered): a message that comes back because it failed, because the route
 * stopped before it settled, or because the broker was killed, is processed again. At-least-once:
 * the source is acknowledged as the key is stored, so a crash between the two can let one
 * duplicate through, never drop a message. A key that cannot be stored is logged.
 * @example { "idempotent": { "key": { "var": "headers.orderId" }, "window": 10000, "persisted": true } }
 */
export function idempotent(key: Evaluate, repo: IdempotentRepository, ctx: StepContext): Step {
  const inFlight = new Set<string>();
  return mergeMap((ex) => {
    mark(ex, ctx);
    const r = guard(ctx, ex, () => String(key(ex)));
    if (!r.ok) return EMPTY;
    const k = r.value;
    if (repo.has(k) || inFlight.has(k)) {
      ctx.log.debug({ route: ctx.routeId, step: ctx.step, key: k }, 'duplicate skipped');
      ex.ack();
      return EMPTY;
    }
    inFlight.add(k);
    ex.onSettled((o) => {
      inFlight.delete(k);
      if (o.kind === 'ack') repo.add(k).catch((err: unknown) => ctx.log.error({ err, route: ctx.routeId, step: ctx.step, key: k }, 'idempotent repository: storing a key failed'));
    });
    return of(ex);
  });
}

/** An in-memory repository holding the last `window` keys. */
export function memoryRepository(window: number): IdempotentRepository {
  const keys = new Set<string>();
  return {
    has: (k) => keys.has(k),
    add: (k) => {
      keys.add(k);
      if (keys.size > window) keys.delete(keys.values().next().value!);
      return Promise.resolve();
    },
    remove: (k) => {
      keys.delete(k);
      return Promise.resolve();
    },
  };
}

export const idempotentStep: StepDescriptor<'idempotent'> = {
  kind: 'idempotent',
  schema: z.strictObject({ key: z.unknown(), window: z.number().int().min(1).optional(), persisted: z.boolean().optional() }),
  compile: ({ key, window = 10_000, persisted = false }, c) =>
    idempotent(c.expression(key, `${c.path}.key`), persisted ? c.persistedRepository(window) : memoryRepository(window), c.context),
};
