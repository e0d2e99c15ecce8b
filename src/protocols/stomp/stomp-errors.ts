import { ErrorCodes, type ErrorCode } from '../../errors.ts';
import type { LoginRefusal } from '../../core/ports/security.ts';

/**
 * The `message` header of a STOMP ERROR, per error code: one stable short reason, the same for every
 * error of that code, which clients show and match on; the detail (which header, which position of a
 * selector, which limit) is the frame's body. A code not listed here gets its registry text
 * (errors.ts), see {@link errorMessage}.
 */
export const ERROR_MESSAGES: Partial<Record<ErrorCode, string>> = {
  ERR_STOMP_MALFORMED: 'Malformed frame',
  ERR_STOMP_LIMIT: 'Frame too large',
  ERR_STOMP_UNKNOWN_COMMAND: 'Unknown command',
  ERR_STOMP_MISSING_HEADER: 'Missing header',
  ERR_STOMP_BAD_HEADER: 'Invalid header',
  ERR_STOMP_VERSION: 'Unsupported STOMP version',
  ERR_STOMP_PROTOCOL: 'Protocol error',
  ERR_STOMP_SUBSCRIPTION_LIMIT: 'Too many subscriptions',
  ERR_STOMP_FRAME_TIMEOUT: 'Frame timeout',
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
  ERR_RESOURCE_LIMIT: 'Resource limit reached',
  ERR_SECURITY_UNAUTHORIZED: 'Not authorized',
  ERR_AUTHENTICATION_FAILED: 'Authentication failed',
  ERR_BROKER_CLOSED: 'Broker is shutting down',
  ERR_STORE_CLOSED: 'Broker is shutting down',
  // Written by the transport itself (src/transport/wrong-protocol.ts), before any STOMP session reads a byte.
  ERR_TRANSPORT_WRONG_PROTOCOL: 'Wrong protocol',
};

/** The `message` header of an ERROR for a failure that has no code (a bug). */
export const INTERNAL_ERROR = 'Internal error';

/** The `message` header for an error of `code` (none: a failure without a code). */
export function errorMessage(code: ErrorCode | undefined): string {
  return code === undefined ? INTERNAL_ERROR : (ERROR_MESSAGES[code] ?? ErrorCodes[code]);
}

/**
 * The `message` header of the ERROR that refuses a CONNECT, per refusal reason (the body says more,
 * in the authenticator's words). ActiveMQ Classic answers bad credentials with ERROR `User name [x]
 * or password is invalid.` and closes; the reason here is the same for an unknown user and a wrong
 * password, so the answer tells an attacker neither.
 */
const REFUSAL_MESSAGES: Record<LoginRefusal, string> = {
  credentials: 'Authentication failed',
  'not-authorized': 'Not authorized to connect',
  throttled: 'Too many failed logins, try later',
  limit: 'Connection limit reached',
};

/** The `message` header of an ERROR refusing a login for `reason`. */
export function refusalMessage(reason: LoginRefusal): string {
  return REFUSAL_MESSAGES[reason];
}
