/**
 * Every error Junction raises has a stable `code` from this one registry.
 * Protocol adapters translate codes to their own wire form (STOMP ERROR, AMQP condition,
 * MQTT reason code); see each protocol's error table.
 */
export const ErrorCodes = {
  ERR_CONFIG_INVALID: 'Invalid configuration',
  ERR_SELECTOR_SYNTAX: 'Invalid selector',
  ERR_SELECTOR_TOO_COMPLEX: 'Selector too long or too deeply nested',
  ERR_ADDRESS_INVALID: 'Invalid address',
  ERR_ADDRESS_NOT_FOUND: 'Address does not exist',
  ERR_ADDRESS_FULL: 'Address is full',
  ERR_ADDRESS_RESERVED: 'Address is reserved for another part of the broker',
  ERR_ADDRESS_EXISTS: 'Address already exists',
  ERR_CURSOR_INVALID: 'Invalid paging cursor',
  ERR_SCHEDULE_TOO_FAR: 'Scheduled delivery is further ahead than allowed',
  ERR_CONSUMER_UNKNOWN: 'Unknown consumer',
  ERR_DELIVERY_UNKNOWN: 'Unknown delivery',
  ERR_SUBSCRIPTION_IN_USE: 'Subscription already has an active consumer',
  ERR_SUBSCRIPTION_NOT_FOUND: 'Subscription does not exist',
  ERR_TX_UNKNOWN: 'Unknown transaction',
  ERR_TX_EXISTS: 'Transaction already exists',
  ERR_TX_LIMIT: 'Transaction exceeds a limit',
  ERR_STORE_FAILED: 'Store operation failed',
  ERR_STORE_CLOSED: 'Store is closed',
  ERR_STORE_CORRUPT: 'Journal is corrupt',
  ERR_STORE_DIR_IN_USE: 'Data directory is in use by another broker',
  ERR_STORE_DIR_UNUSABLE: 'Data directory cannot be used',
  ERR_BROKER_CLOSED: 'Broker is shutting down',
  ERR_STOMP_MALFORMED: 'Malformed STOMP frame',
  ERR_STOMP_LIMIT: 'STOMP frame exceeds a limit',
  ERR_STOMP_UNKNOWN_COMMAND: 'Unknown STOMP command',
  ERR_STOMP_MISSING_HEADER: 'Missing required STOMP header',
  ERR_STOMP_BAD_HEADER: 'Invalid STOMP header value',
  ERR_STOMP_VERSION: 'Unsupported STOMP version',
  ERR_STOMP_PROTOCOL: 'STOMP protocol violation',
  ERR_STOMP_SUBSCRIPTION_LIMIT: 'STOMP connection has too many subscriptions',
  ERR_STOMP_FRAME_TIMEOUT: 'STOMP frame not completed in time',
  ERR_TRANSPORT_LISTEN: 'Cannot listen on port',
  ERR_TRANSPORT_CONNECTION_LIMIT: 'Connection refused: too many connections',
  ERR_TRANSPORT_SLOW_CONSUMER: 'Connection closed: it did not read what was sent to it',
  ERR_TRANSPORT_OUTBOUND_LIMIT: 'Connection closed: too many bytes waiting to be sent to it',
  ERR_TRANSPORT_WRONG_PROTOCOL: 'Connection closed: its first bytes are another protocol than the listener speaks',
  ERR_TRANSPORT_ADAPTER_CONFLICT: 'Two protocol adapters claim the same name, WebSocket subprotocol or default',
  ERR_TRANSPORT_TLS_CONFIG: 'The TLS key, certificate or CA cannot be loaded',
  ERR_TRANSPORT_TLS_HANDSHAKE: 'TLS handshake failed',
  ERR_MQTT_MALFORMED: 'Malformed MQTT packet',
  ERR_MQTT_PACKET_TOO_LARGE: 'MQTT packet exceeds the maximum size',
  ERR_MQTT_TOPIC_INVALID: 'Invalid MQTT topic name or filter',
  ERR_MQTT_PROTOCOL_VERSION: 'Unsupported MQTT protocol version',
  ERR_MQTT_CLIENT_ID_REJECTED: 'MQTT client identifier rejected',
  ERR_MQTT_PROTOCOL: 'MQTT protocol violation',
  ERR_MQTT_SUBSCRIPTION_LIMIT: 'MQTT session has too many subscriptions',
  ERR_RETAINED_LIMIT: 'Retained message store is full',
  ERR_AMQP_DECODE: 'Malformed AMQP frame or message',
  ERR_SECURITY_UNAUTHORIZED: 'Not authorized',
  ERR_AUTHENTICATION_FAILED: 'Authentication failed',
  ERR_RESOURCE_LIMIT: 'Broker-wide limit on queues or consumers reached',
  ERR_AMQP_NO_ADDRESS: 'AMQP message without an address',
  ERR_AMQP_MESSAGE_SIZE: 'AMQP message exceeds the maximum message size',
  ERR_AMQP_TRANSFER_LIMIT: 'AMQP transfer without link credit',
  ERR_AMQP_PROTOCOL: 'AMQP protocol violation',
  ERR_AMQP_NOT_IMPLEMENTED: 'AMQP feature not supported',
  ERR_AMQP_TX_ROLLBACK: 'AMQP transaction rolled back',
  ERR_ROUTE_INVALID: 'Invalid route definition',
  ERR_ROUTE_NOT_FOUND: 'No such route',
  ERR_ROUTE_STATE: 'Route cannot do this in its current state',
  ERR_ROUTE_ENDPOINT: 'Route endpoint failed',
  ERR_ROUTE_TIMEOUT: 'Route operation timed out',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** Base class of all Junction errors: a stable code, a message, an optional cause. */
export class JunctionError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ErrorCodes[code], options);
    this.code = code;
    this.name = 'JunctionError';
  }
}

/** A selector that does not parse; `position` is the 0-based offset of the problem. */
export class SelectorError extends JunctionError {
  readonly position: number;
  constructor(message: string, position: number, code: 'ERR_SELECTOR_SYNTAX' | 'ERR_SELECTOR_TOO_COMPLEX' = 'ERR_SELECTOR_SYNTAX') {
    super(code, `${message} at position ${position}`);
    this.position = position;
    this.name = 'SelectorError';
  }
}

/** A STOMP frame the codec cannot accept. Always fatal for the connection. */
export class StompFrameError extends JunctionError {
  constructor(code: 'ERR_STOMP_MALFORMED' | 'ERR_STOMP_LIMIT', message: string) {
    super(code, message);
    this.name = 'StompFrameError';
  }
}

export function isJunctionError(e: unknown): e is JunctionError {
  return e instanceof JunctionError;
}
