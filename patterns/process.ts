import type { Exchange, Step, StepContext, StepDescriptor } from '../src/routing/types.ts';
import { fn } from './definitions.ts';
import { asyncStep, mark } from './internals.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    process: (ex: Exchange) => void | Promise<void>;
    /** Any RxJS operator over exchanges, made with the step's context. */
    operator: (ctx: StepContext) => Step;
  }
}

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

export const processStepDescriptor: StepDescriptor<'process'> = {
  kind: 'process',
  schema: fn,
  typescriptOnly: true,
  compile: (f, c) => processStep(f, c.context),
};

/** A TypeScript route's own operator (the builder's `.pipe(...)`). */
export const operatorStep: StepDescriptor<'operator'> = {
  kind: 'operator',
  schema: fn,
  typescriptOnly: true,
  compile: (make, c) => make(c.context),
};
