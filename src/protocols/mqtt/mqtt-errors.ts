import { isJunctionError } from '../../errors.ts';

/**
 * How a failure reaches an MQTT 3.1.1 client. 3.1.1 has no reason codes after CONNACK, so apart from
 * the CONNACK return codes (0x01 protocol level, from the packet guard; 0x02 identifier; 0x03, 0x04
 * and 0x05 from the login, mqtt-login.ts; the MQTT 5 CONNACK 0x84) and SUBACK 0x80 for a refused filter, a protocol violation or a failed
 * store write closes the connection without an acknowledgement ([MQTT-4.8.0-1]), so the client retries.
 *
 * | Junction code                 | wire                          |
 * |-------------------------------|-------------------------------|
 * | ERR_MQTT_PROTOCOL_VERSION     | CONNACK 0x84 (v5) / 0x01 (any level but 3, 4, 5), close |
 * | ERR_MQTT_CLIENT_ID_REJECTED   | CONNACK 0x02, close (empty id with CleanSession=0, or on MQTT 3.1) |
 * | ERR_AUTHENTICATION_FAILED     | CONNACK 0x04 (bad user name or password, throttled), 0x05 (anonymous refused), 0x03 (login timed out), close |
 * | ERR_SECURITY_UNAUTHORIZED              | CONNECT: CONNACK 0x05, close (not authorized, over a limit, another user's client id); SUBSCRIBE: SUBACK 0x80; PUBLISH: acknowledged and dropped |
 * | ERR_MQTT_MALFORMED            | close                         |
 * | ERR_MQTT_PACKET_TOO_LARGE     | close                         |
 * | ERR_MQTT_TOPIC_INVALID        | PUBLISH: close; SUBSCRIBE: SUBACK 0x80 |
 * | ERR_MQTT_PROTOCOL             | close (packet id 0, will QoS 3 before CONNACK, SUBSCRIBE QoS 3) |
 * | ERR_MQTT_SUBSCRIPTION_LIMIT   | SUBACK 0x80 for filters past mqtt.maxSubscriptionsPerSession |
 * | ERR_RESOURCE_LIMIT (core)     | SUBACK 0x80 for a new filter past core.maxConsumers / core.maxQueues |
 * | ERR_RETAINED_LIMIT (core)     | none: PUBACK as usual, delivered, not retained |
 * | ERR_STORE_FAILED, ERR_ADDRESS_* | PUBLISH: close, no PUBACK   |
 */
export function describeError(err: Error): { code?: string; reason: string } {
  const code = isJunctionError(err) ? err.code : (err as { code?: string }).code;
  return code !== undefined ? { code, reason: err.message } : { reason: err.message };
}

/** A refused CONNECT (mqtt-login.ts) is logged once at debug where it is refused, and by the security audit log. */
const ROUTINE = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED', 'ERR_AUTHENTICATION_FAILED', 'ERR_SECURITY_UNAUTHORIZED']);

/** Errors that are a peer going away or a refused login, not something to warn about. */
export function isNoise(err: Error): boolean {
  const code = (err as { code?: string }).code;
  if (code !== undefined && ROUTINE.has(code)) return true;
  return err.message === 'connection closed' || err.message === 'write after end';
}
