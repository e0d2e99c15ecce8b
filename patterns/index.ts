/**
 * The EIP patterns: as RxJS operators over exchanges, for TypeScript users to compose directly,
 * and as the step registry routes are validated, documented and compiled with. A new step kind is
 * one file here (its operator, its definition type and its descriptor) plus one line below.
 */
import { aggregateStep } from './aggregate.ts';
import { choiceStep } from './choice.ts';
import { circuitBreakerStep } from './circuit-breaker.ts';
import { delayStep } from './delay.ts';
import { doTryStep } from './do-try.ts';
import { enrichStep } from './enrich.ts';
import { errorHandlerStep } from './error-handler.ts';
import { filterStep } from './filter.ts';
import { idempotentStep } from './idempotent.ts';
import { loadBalanceStep } from './load-balance.ts';
import { logStep } from './log.ts';
import { multicastStep } from './multicast.ts';
import { operatorStep, processStepDescriptor } from './process.ts';
import { recipientListStep } from './recipient-list.ts';
import { removePropertyStep } from './remove-property.ts';
import { resequenceStep } from './resequence.ts';
import { setBodyStep } from './set-body.ts';
import { removeHeaderStep, setHeaderStep } from './set-header.ts';
import { setPropertyStep } from './set-property.ts';
import { splitStep } from './split.ts';
import { throttleStep } from './throttle.ts';
import { toStep } from './to.ts';
import { validateStep } from './validate.ts';
import { wireTapStep } from './wire-tap.ts';
import { StepRegistry } from './registry.ts';

export { aggregate, aggregateBody, type AggregateDef, type AggregateOptions, type AggregationStrategy } from './aggregate.ts';
export { choice, type When } from './choice.ts';
export { circuitBreaker, circuitBreakerMachine, type CircuitBreakerOptions } from './circuit-breaker.ts';
export { delay } from './delay.ts';
export { doTry, type Catch } from './do-try.ts';
export { enrich, type EnrichOptions } from './enrich.ts';
export { errorPolicy } from './error-handler.ts';
export { filter } from './filter.ts';
export { idempotent, memoryRepository } from './idempotent.ts';
export { loadBalance, type BalanceStrategy } from './load-balance.ts';
export { log, type LogLevel } from './log.ts';
export { multicast } from './multicast.ts';
export { processStep } from './process.ts';
export { recipientList, recipients } from './recipient-list.ts';
export { removeProperty } from './remove-property.ts';
export { resequence, type ResequenceOptions } from './resequence.ts';
export { setBody } from './set-body.ts';
export { setHeader, removeHeader, headerValue } from './set-header.ts';
export { setProperty } from './set-property.ts';
export { split } from './split.ts';
export { throttle } from './throttle.ts';
export { to } from './to.ts';
export { validate } from './validate.ts';
export { wireTap } from './wire-tap.ts';
export { attempt, guard, withBranches, Branch, fuse, syncStep } from './internals.ts';
export { StepRegistry } from './registry.ts';
export type { StepDef, StepDefs, StepDescriptor } from '../src/routing/types.ts';

/**
 * The built-in step kinds, in the order the route JSON Schema and the "unknown step" message list
 * them. Registering a kind twice throws.
 */
export const stepRegistry = new StepRegistry().register(
  toStep,
  filterStep,
  choiceStep,
  setBodyStep,
  setHeaderStep,
  setPropertyStep,
  removeHeaderStep,
  removePropertyStep,
  splitStep,
  aggregateStep,
  recipientListStep,
  multicastStep,
  wireTapStep,
  enrichStep,
  throttleStep,
  delayStep,
  resequenceStep,
  idempotentStep,
  circuitBreakerStep,
  loadBalanceStep,
  validateStep,
  logStep,
  errorHandlerStep,
  doTryStep,
  processStepDescriptor,
  operatorStep,
);
