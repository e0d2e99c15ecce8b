import { map, mergeMap } from 'rxjs';
import type { Producer, Step, StepContext } from '../src/routing/types.ts';
import { attempt, mark } from './internals.ts';

/**
 * Sends each exchange to an endpoint and passes it on once the endpoint has it (durably, for
 * broker addresses). A failed send follows the step's redelivery policy, then the error handler.
 * @example route('r').from('queue:in').to('queue:out')
 */
export function to(producer: Producer, ctx: StepContext): Step {
  return mergeMap((ex) => {
    mark(ex, ctx);
    return attempt(ctx, ex, () => producer.send(ex)).pipe(map(() => ex));
  });
}
