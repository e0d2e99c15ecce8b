import type { Producer, Step, StepContext, StepDescriptor } from '../src/routing/types.ts';
import { uri } from './definitions.ts';
import { asyncStep, mark } from './internals.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    /** An endpoint URI. */
    to: string;
  }
}

/**
 * Sends each exchange to an endpoint and passes it on once the endpoint has it (durably, for
 * broker addresses). A failed send follows the step's redelivery policy, then the error handler.
 * @example route('r').from('queue:in').to('queue:out')
 */
export function to(producer: Producer, ctx: StepContext): Step {
  return asyncStep(ctx, (ex) => {
    mark(ex, ctx);
    return producer.send(ex);
  });
}

export const toStep: StepDescriptor<'to'> = {
  kind: 'to',
  schema: uri,
  compile: (u, c) => to(c.producer(u, c.path), c.context),
};
