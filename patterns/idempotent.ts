import { EMPTY, map, mergeMap } from 'rxjs';
import type { Evaluate, IdempotentRepository, Step, StepContext } from '../src/routing/types.ts';
import { attempt, guard, mark } from './internals.ts';

/**
 * Idempotent consumer: an exchange whose key was seen before is done (acknowledged) without
 * going further. The key is recorded when the exchange enters and forgotten if it fails, so a
 * redelivery after a failure is processed again (Camel's eager mode). A key that cannot be
 * stored fails the exchange (redelivery policy, then the error handler).
 * @example { "idempotent": { "key": { "var": "headers.orderId" }, "window": 10000, "persisted": true } }
 */
export function idempotent(key: Evaluate, repo: IdempotentRepository, ctx: StepContext): Step {
  return mergeMap((ex) => {
    mark(ex, ctx);
    const r = guard(ctx, ex, () => String(key(ex)));
    if (!r.ok) return EMPTY;
    const k = r.value;
    if (repo.has(k)) {
      ctx.log.debug({ route: ctx.routeId, step: ctx.step, key: k }, 'duplicate skipped');
      ex.ack();
      return EMPTY;
    }
    ex.onSettled((o) => {
      if (o.kind !== 'ack') repo.remove(k).catch((err) => ctx.log.error({ err, route: ctx.routeId }, 'idempotent repository remove failed'));
    });
    // A key that cannot be stored (disk full) fails this exchange under the redelivery policy;
    // a rejection reaching mergeMap would end the route.
    return attempt(ctx, ex, () => repo.add(k)).pipe(map(() => ex));
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

