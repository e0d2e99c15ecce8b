import { z } from 'zod';
import { map, mergeMap } from 'rxjs';
import type { Producer, Step, StepContext, StepDescriptor } from '../src/routing/types.ts';
import { uri } from './definitions.ts';
import { attempt, mark } from './internals.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    loadBalance: { strategy?: BalanceStrategy; to: string[] };
  }
}

export type BalanceStrategy = 'roundRobin' | 'failover';

/**
 * Load balancer over endpoints: `roundRobin` sends each exchange to the next endpoint in turn;
 * `failover` tries them in order until one takes it (each attempt of the redelivery policy tries
 * them all).
 * @example { "loadBalance": { "strategy": "failover", "to": ["amqp://a:5672/orders", "amqp://b:5672/orders"] } }
 */
export function loadBalance(producers: Producer[], strategy: BalanceStrategy, ctx: StepContext): Step {
  let next = 0;
  return mergeMap((ex) => {
    mark(ex, ctx);
    if (strategy === 'roundRobin') {
      const p = producers[next++ % producers.length]!;
      return attempt(ctx, ex, () => p.send(ex)).pipe(map(() => ex));
    }
    return attempt(ctx, ex, async () => {
      let last: unknown;
      for (const p of producers) {
        try {
          await p.send(ex);
          return;
        } catch (err) {
          last = err;
        }
      }
      throw last;
    }).pipe(map(() => ex));
  });
}

export const loadBalanceStep: StepDescriptor<'loadBalance'> = {
  kind: 'loadBalance',
  schema: z.strictObject({ strategy: z.enum(['roundRobin', 'failover']).optional(), to: z.array(uri).min(1) }),
  compile: (d, c) => loadBalance(d.to.map((u, i) => c.producer(u, `${c.path}.to[${i}]`)), d.strategy ?? 'roundRobin', c.context),
};
