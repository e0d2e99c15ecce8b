import type { ErrorCode } from '../../errors.ts';

/** STOMP error codes on the wire: the `message` header is the short reason. */
export const ERROR_MESSAGES: Partial<Record<ErrorCode, string>> = {
  ERR_STOMP_MALFORMED: 'Malformed frame',
  ERR_STOMP_LIMIT: 'Frame too large',
  ERR_STOMP_UNKNOWN_COMMAND: 'Unknown command',
  ERR_STOMP_MISSING_HEADER: 'Missing header',
  ERR_STOMP_BAD_HEADER: 'Invalid header',
  ERR_STOMP_VERSION: 'Supported protocol versions are 1.0,1.1,1.2',
  ERR_STOMP_PROTOCOL: 'Protocol error',
  ERR_STOMP_SUBSCRIPTION_LIMIT: 'Too many subscriptions',
  ERR_SELECTOR_SYNTAX: 'Invalid selector',
  ERR_SELECTOR_TOO_COMPLEX: 'Invalid selector',
  ERR_ADDRESS_INVALID: 'Invalid destination',
  ERR_ADDRESS_NOT_FOUND: 'Destination does not exist',
  ERR_ADDRESS_FULL: 'Destination is full',
  ERR_ADDRESS_RESERVED: 'Destination is reserved',
  ERR_SCHEDULE_TOO_FAR: 'Scheduled delay too long',
  ERR_DELIVERY_UNKNOWN: 'Unknown ack id',
  ERR_SUBSCRIPTION_IN_USE: 'Subscription in use',
  ERR_SUBSCRIPTION_NOT_FOUND: 'No such subscription',
  ERR_TX_UNKNOWN: 'Unknown transaction',
  ERR_TX_EXISTS: 'Transaction already started',
  ERR_TX_LIMIT: 'Transaction limit exceeded',
  ERR_STORE_FAILED: 'Message not stored',
  ERR_BROKER_CLOSED: 'Broker is shutting down',
  ERR_STORE_CLOSED: 'Broker is shutting down',
};
