import { EMPTY, mergeMap, of } from 'rxjs';
import type { Evaluate, IdempotentRepository, Step, StepContext } from '../src/routing/types.ts';
import { guard, mark } from './internals.ts';

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
