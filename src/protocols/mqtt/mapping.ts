import type { Message, MessageInput } from '../../core/message.ts';
import { mqttTopicToCore } from './topic-mapping.ts';

/**
 * MQTT 3.1.1 PUBLISH <-> core message. MQTT 3.1.1 carries only a topic, a payload and three flags,
 * so an MQTT message reaches other protocols with these properties (selector-friendly names).
 */
export const MQTT_PROPERTIES = {
  topic: 'mqttTopic',
  qos: 'mqttQos',
  retain: 'mqttRetain',
  clientId: 'mqttClientId',
} as const;

/** What aedes hands to `authorizePublish` (a client PUBLISH or a will). */
export interface PublishPacket {
  topic: string;
  payload: Buffer | string;
  qos: 0 | 1 | 2;
  retain: boolean;
  messageId?: number;
}

/** A PUBLISH -> the core message: topic -> topic address, QoS > 0 -> durable, body bytes unchanged. */
export function publishToCore(packet: PublishPacket, clientId: string | null): MessageInput {
  const body = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload ?? '');
  const properties: Record<string, string | number | boolean> = {
    [MQTT_PROPERTIES.topic]: packet.topic,
    [MQTT_PROPERTIES.qos]: packet.qos,
    [MQTT_PROPERTIES.retain]: packet.retain === true,
  };
  if (clientId !== null) properties[MQTT_PROPERTIES.clientId] = clientId;
  return {
    destination: { type: 'topic', name: mqttTopicToCore(packet.topic) },
    body,
    bodyType: 'bytes',
    durable: packet.qos > 0,
    properties,
  };
}

/**
 * The QoS a core message goes out at on a subscription granted `granted`: an MQTT message at most its
 * own QoS; a message from another protocol at the granted QoS (DESIGN.md: STOMP/AMQP messages reach MQTT
 * subscribers at the granted QoS).
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
