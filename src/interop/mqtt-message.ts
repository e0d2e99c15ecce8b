import { isReservedProperty } from '../core/reserved.ts';
import type { Destination, Message, MessageInput, PropertyValue } from '../core/message.ts';
import { PROP_REPLY_TO } from './amqp-message.ts';
import { coreToMqttTopic, mqttTopicToCore } from './mqtt-topic.ts';

/**
 * MQTT PUBLISH <-> core message, the one MQTT mapping of the MQTT adapter (3.1.1, aedes) and of the
 * route's `mqtt://` endpoints (MQTT.js, 3.1.1 or 5). Pure: plain packet shapes in and out.
 *
 * - topic <-> topic address (mqtt-topic.ts: `a/b` <-> `a.b`); QoS > 0 -> durable; payload bytes.
 * - MQTT 3.1.1 carries nothing else, so the topic, QoS, retain flag and client id become properties
 *   (selector-friendly names, {@link MQTT_PROPERTIES}).
 * - MQTT 5 properties: message-expiry-interval <-> expiration, content-type, response-topic <->
 *   reply-to (a topic), correlation-data <-> correlation id (UTF-8), payload-format-indicator <->
 *   text body, user properties <-> application properties (as strings: MQTT 5 has no other type).
 */
export const MQTT_PROPERTIES = {
  topic: 'mqttTopic',
  qos: 'mqttQos',
  retain: 'mqttRetain',
  clientId: 'mqttClientId',
} as const;

/** The MQTT 5 PUBLISH properties the mapping reads and writes (MQTT.js / mqtt-packet names). */
export interface Mqtt5PublishProperties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: Record<string, string | string[]>;
}

/** A PUBLISH as aedes hands it to `authorizePublish` (a client PUBLISH or a will) or MQTT.js to `handleMessage`. */
export interface PublishPacket {
  topic: string;
  payload: Buffer | string;
  qos: 0 | 1 | 2;
  retain: boolean;
  messageId?: number;
  /** MQTT 5 only; any type, as a peer sent it. */
  properties?: unknown;
}

/** The core fields a message out has: a stored Message or a MessageInput. */
type CoreMessage = Readonly<MessageInput> | Message;

/** Longest MQTT 5 four-byte interval, seconds. */
const MAX_INTERVAL = 0xffffffff;

/**
 * A PUBLISH -> the core message: topic -> topic address, QoS > 0 -> durable, body bytes
 * unchanged, MQTT 5 properties (when the packet has them) as above. `now` makes an expiry interval
 * absolute. Throws ERR_MQTT_TOPIC_INVALID for a topic (or response topic) no core name can hold.
 */
export function publishToCore(packet: PublishPacket, clientId: string | null, now = 0): MessageInput {
  return toCore(packet, clientId, { type: 'topic', name: mqttTopicToCore(packet.topic) }, now, true);
}

/**
 * A PUBLISH another broker delivered (the `mqtt://` route source) -> the core fields, with
 * `destination` as its destination. Its topic and response topic are that broker's names, valid
 * there (`living room/temp`, `a/*`) whether or not a core name could hold them, so neither is
 * mapped nor refused: the topic stays the `mqttTopic` property, and the caller keeps the response
 * topic as the remote gave it (src/routing/types.ts).
 */
export function remotePublishToCore(packet: PublishPacket, destination: Destination, now: number): MessageInput {
  return toCore(packet, null, destination, now, false);
}

function toCore(packet: PublishPacket, clientId: string | null, destination: Destination, now: number, mapReplyTo: boolean): MessageInput {
  const body = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload ?? '');
  const properties: Record<string, PropertyValue> = {
    [MQTT_PROPERTIES.topic]: packet.topic,
    [MQTT_PROPERTIES.qos]: packet.qos,
    [MQTT_PROPERTIES.retain]: packet.retain === true,
  };
  if (clientId !== null) properties[MQTT_PROPERTIES.clientId] = clientId;
  const m: MessageInput = {
    destination,
    body,
    bodyType: 'bytes',
    durable: packet.qos > 0,
    properties,
  };
  if (packet.properties !== undefined && packet.properties !== null && typeof packet.properties === 'object') mqtt5ToCore(packet.properties as Record<string, unknown>, m, properties, now, mapReplyTo);
  return m;
}

function mqtt5ToCore(p: Record<string, unknown>, m: MessageInput, properties: Record<string, PropertyValue>, now: number, mapReplyTo: boolean): void {
  const expiry = p.messageExpiryInterval;
  if (typeof expiry === 'number' && expiry > 0 && expiry <= MAX_INTERVAL) m.expiration = now + expiry * 1000;
  if (typeof p.contentType === 'string') m.contentType = p.contentType;
  if (mapReplyTo && typeof p.responseTopic === 'string' && p.responseTopic !== '') m.replyTo = { type: 'topic', name: mqttTopicToCore(p.responseTopic) };
  if (Buffer.isBuffer(p.correlationData)) m.correlationId = p.correlationData.toString('utf8');
  if (p.payloadFormatIndicator === true) m.bodyType = 'text';
  const user = p.userProperties;
  if (user === null || typeof user !== 'object') return;
  for (const [k, v] of Object.entries(user)) {
    // The adapters' marker names (x-amqp-*) are never taken from a client (core/reserved.ts); nor are
    // the names this mapping sets from the packet itself.
    if (isReservedProperty(k) || Object.hasOwn(properties, k)) continue;
    const s = Array.isArray(v) ? v.map(String).join(',') : String(v);
    if (k === '__proto__') Object.defineProperty(properties, k, { value: s, enumerable: true, writable: true, configurable: true });
    else properties[k] = s;
  }
}

/** True for a property that goes out as an MQTT 5 user property: not a marker, not the MQTT packet's own, not the kept reply-to. */
function isUserProperty(k: string): boolean {
  return k !== MQTT_PROPERTIES.topic && k !== MQTT_PROPERTIES.qos && k !== MQTT_PROPERTIES.retain && k !== MQTT_PROPERTIES.clientId && k !== PROP_REPLY_TO && !isReservedProperty(k);
}

/**
 * The MQTT 5 PUBLISH properties of core message `m` (`now` makes the remaining expiry interval,
 * at least 1 s). An MQTT 3.1.1 client has no room for them: its publish is topic, QoS, retain, payload.
 */
export function coreToMqtt5(m: CoreMessage, now: number): Mqtt5PublishProperties {
  const out: Mqtt5PublishProperties = {};
  const expiration = m.expiration ?? 0;
  if (expiration > 0) out.messageExpiryInterval = Math.min(MAX_INTERVAL, Math.max(1, Math.ceil((expiration - now) / 1000)));
  if (m.contentType !== undefined) out.contentType = m.contentType;
  const props = m.properties;
  if (m.replyTo !== undefined) out.responseTopic = coreToMqttTopic(m.replyTo.name);
  else {
    // A reply-to that is no address of this broker (another broker's, as a remote source or an AMQP
    // client gave it: src/routing/types.ts) goes out as given, as the AMQP mapping's reply-to does.
    const kept = props?.[PROP_REPLY_TO];
    if (typeof kept === 'string' && kept !== '') out.responseTopic = kept;
  }
  if (m.correlationId !== undefined) out.correlationData = Buffer.from(m.correlationId, 'utf8');
  if (m.bodyType === 'text' || m.bodyType === 'json') out.payloadFormatIndicator = true;
  if (props !== undefined) {
    let user: Record<string, string> | undefined;
    for (const k in props) {
      if (!isUserProperty(k)) continue;
      const v = props[k];
      const s = v === null ? '' : String(v);
      // A property named `__proto__` (a client may send one) is a user property like any other.
      if (k === '__proto__') Object.defineProperty((user ??= {}), k, { value: s, enumerable: true, writable: true, configurable: true });
      else (user ??= {})[k] = s;
    }
    if (user !== undefined) out.userProperties = user;
  }
  return out;
}

/**
 * The QoS a core message goes out at on a subscription granted `granted`: an MQTT message at most its
 * own QoS; a message from another protocol at the granted QoS (docs/architecture.md, "Naming across
 * protocols": STOMP/AMQP messages reach MQTT subscribers at the granted QoS).
 */
export function deliveryQos(m: Message, granted: 0 | 1 | 2): 0 | 1 | 2 {
  const q = m.properties[MQTT_PROPERTIES.qos];
  if (typeof q === 'number' && q >= 0 && q < granted) return q as 0 | 1;
  return granted;
}

/** The QoS a retained message is sent at to a new subscription (before the subscription's own cap). */
export function retainedQos(m: Message): 0 | 1 | 2 {
  const q = m.properties[MQTT_PROPERTIES.qos];
  if (q === 0 || q === 1 || q === 2) return q;
  return m.durable ? 1 : 0;
}
