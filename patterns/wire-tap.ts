import { map } from 'rxjs';
import type { Producer, Step, StepContext } from '../src/routing/types.ts';
import { attempt, mark } from './internals.ts';

/**
 * Wire tap: sends a copy to an endpoint without waiting for it; the exchange continues at once.
 * The copy is still part of the settlement: the source message is acknowledged only once the tap
 * has it too (at-least-once for the tap as well).
 * @example { "wireTap": "queue:audit" }
 */
export function wireTap(producer: Producer, ctx: StepContext): Step {
  return map((ex) => {
    mark(ex, ctx);
    const copy = ex.derive();
    attempt(ctx, copy, () => producer.send(copy)).subscribe({ next: () => copy.ack() });
    return ex;
  });
}
