import type { Exchange, Step, StepContext } from '../src/routing/types.ts';
import { asyncStep, mark } from './internals.ts';

/**
 * Processor (TypeScript routes): a function that may change the exchange, sync or async. A throw
 * or rejection follows the redelivery policy, then the error handler.
 * @example route('r').from('queue:in').process(async (ex) => { ex.setBody(await lookup(ex.body())); })
 */
export function processStep(fn: (ex: Exchange) => void | Promise<void>, ctx: StepContext): Step {
  return asyncStep(ctx, (ex) => {
    mark(ex, ctx);
    return fn(ex);
  });
}
