import { z } from 'zod';
import type { ErrorHandlerDef, StepDef, StepDescriptor } from '../src/routing/types.ts';
import { stepList, uri } from './definitions.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    /** Steps with their own redelivery policy and dead-letter channel (unset fields: the enclosing scope's). */
    errorHandler: ErrorHandlerDef & { steps: StepDef[] };
  }
}

const ms = z.number().int().min(0);

/** The fields of a redelivery policy and dead-letter channel: a route's `errorHandler` and the step's. */
export const errorPolicy = {
  deadLetter: uri.optional(),
  maxRedeliveries: z.number().int().min(0).max(1000).optional(),
  redeliveryDelay: ms.optional(),
  backoffMultiplier: z.number().min(1).optional(),
  maxRedeliveryDelay: ms.optional(),
};

/**
 * Error handler scope (Camel's route-scoped errorHandler): the steps inside fail with this policy
 * and dead-letter channel; what it leaves unset comes from the enclosing scope.
 * @example { "errorHandler": { "maxRedeliveries": 3, "deadLetter": "queue:orders.dlq", "steps": [{ "to": "amqp://erp:5672/orders" }] } }
 */
export const errorHandlerStep: StepDescriptor<'errorHandler'> = {
  kind: 'errorHandler',
  schema: z.strictObject({ ...errorPolicy, steps: stepList }),
  nested: ['steps'],
  compile: ({ steps, ...handler }, c) => c.handled(handler, steps, `${c.path}.steps`, `${c.path}.deadLetter`),
};
