import { isJunctionError, type ErrorCode } from '../../errors.ts';

/** An AMQP error as it goes on the wire (detach, end, close, rejected outcome). */
export interface AmqpError {
  condition: string;
  description: string;
}

/** Junction error codes -> AMQP error conditions (spec 1.0 section 2.8.15 and the link/connection conditions). */
export const AMQP_CONDITIONS: Partial<Record<ErrorCode, string>> = {
  ERR_ADDRESS_NOT_FOUND: 'amqp:not-found',
  ERR_SUBSCRIPTION_NOT_FOUND: 'amqp:not-found',
  ERR_ADDRESS_INVALID: 'amqp:invalid-field',
  ERR_AMQP_NO_ADDRESS: 'amqp:invalid-field',
  ERR_SELECTOR_SYNTAX: 'amqp:invalid-field',
  ERR_SELECTOR_TOO_COMPLEX: 'amqp:invalid-field',
  ERR_ADDRESS_FULL: 'amqp:resource-limit-exceeded',
  ERR_ADDRESS_RESERVED: 'amqp:unauthorized-access',
  ERR_SECURITY_UNAUTHORIZED: 'amqp:unauthorized-access',
  ERR_AUTHENTICATION_FAILED: 'amqp:unauthorized-access',
  ERR_SCHEDULE_TOO_FAR: 'amqp:invalid-field',
  ERR_SUBSCRIPTION_IN_USE: 'amqp:resource-locked',
  ERR_DELIVERY_UNKNOWN: 'amqp:illegal-state',
  ERR_TX_UNKNOWN: 'amqp:transaction:unknown-id',
  ERR_TX_EXISTS: 'amqp:illegal-state',
  ERR_TX_LIMIT: 'amqp:resource-limit-exceeded',
  ERR_RESOURCE_LIMIT: 'amqp:resource-limit-exceeded',
  ERR_AMQP_TX_ROLLBACK: 'amqp:transaction:rollback',
  ERR_AMQP_DECODE: 'amqp:decode-error',
  ERR_AMQP_MESSAGE_SIZE: 'amqp:link:message-size-exceeded',
  ERR_AMQP_TRANSFER_LIMIT: 'amqp:link:transfer-limit-exceeded',
  ERR_AMQP_PROTOCOL: 'amqp:not-allowed',
  ERR_AMQP_NOT_IMPLEMENTED: 'amqp:not-implemented',
  ERR_STORE_FAILED: 'amqp:internal-error',
  ERR_STORE_CLOSED: 'amqp:connection:forced',
  ERR_BROKER_CLOSED: 'amqp:connection:forced',
};

/** The AMQP error for anything thrown while handling a client's request. */
export function toAmqpError(err: unknown): AmqpError {
  if (isJunctionError(err)) return { condition: AMQP_CONDITIONS[err.code] ?? 'amqp:internal-error', description: err.message };
  return { condition: 'amqp:internal-error', description: err instanceof Error ? err.message : String(err) };
}
