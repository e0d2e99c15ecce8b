import { BODY_ENCODING_MARKERS, isReservedProperty } from '../../core/reserved.ts';
import { formatDestination, type Destination, type Message, type MessageInput } from '../../core/message.ts';
import { PROP_REPLY_TO } from '../../interop/amqp-message.ts';
import type { ExchangeMessage } from '../types.ts';

/**
 * The exchange envelope <-> the core message, for every endpoint: the broker's queues and topics
 * (core-endpoint.ts) and the remote endpoints, whose wire mappers (src/interop) make and take core
 * messages. src/routing/types.ts says how the envelope spells the core's fields.
 */

/** The fields the envelope and the core message share, name and meaning. */
type SharedFields = Pick<MessageInput, 'priority' | 'expiration' | 'correlationId' | 'type' | 'contentType' | 'groupId' | 'groupSeq' | 'userId' | 'deliveryTime'>;

/**
 * Copies the fields the envelope and the core share from `from` to `to`: what is set, only. An
 * expiration of 0 (never, in a stored message) is not set. For the remote endpoints; the broker's
 * own (fromCoreMessage, toCoreMessage: every routed message) copy inline, so each site's property
 * reads see only its own message shapes, as before this function existed.
 */
function copyShared(from: Readonly<SharedFields>, to: SharedFields): void {
  if (from.priority !== undefined) to.priority = from.priority;
  if (from.expiration) to.expiration = from.expiration;
  if (from.correlationId !== undefined) to.correlationId = from.correlationId;
  if (from.type !== undefined) to.type = from.type;
  if (from.contentType !== undefined) to.contentType = from.contentType;
  if (from.groupId !== undefined) to.groupId = from.groupId;
  if (from.groupSeq !== undefined) to.groupSeq = from.groupSeq;
  if (from.userId !== undefined) to.userId = from.userId;
  if (from.deliveryTime !== undefined) to.deliveryTime = from.deliveryTime;
}

/** `queue:a` / `topic:a.b` (or a bare name, a queue) as a core destination. */
export function destinationOf(uri: string): Destination {
  if (uri.startsWith('topic:')) return { type: 'topic', name: uri.slice(6).split('?')[0]! };
  if (uri.startsWith('queue:')) return { type: 'queue', name: uri.slice(6).split('?')[0]! };
  return { type: 'queue', name: uri };
}

/** `queue:<name>` / `topic:<name>` as a core destination; undefined for any other URI. */
function brokerDestination(uri: string): Destination | undefined {
  return uri.startsWith('queue:') || uri.startsWith('topic:') ? destinationOf(uri) : undefined;
}

/**
 * A core message as an exchange message: every field. One object and one copy of the properties
 * (the headers steps change), as before the envelope carried them all.
 */
export function fromCoreMessage(m: Message): ExchangeMessage {
  const out: ExchangeMessage = {
    body: m.body,
    bodyType: m.bodyType,
    headers: { ...m.properties },
    durable: m.durable,
    priority: m.priority,
    messageId: m.id,
    destination: formatDestination(m.destination),
    timestamp: m.timestamp,
  };
  if (m.expiration > 0) out.expiration = m.expiration;
  if (m.correlationId !== undefined) out.correlationId = m.correlationId;
  if (m.type !== undefined) out.type = m.type;
  if (m.contentType !== undefined) out.contentType = m.contentType;
  if (m.groupId !== undefined) out.groupId = m.groupId;
  if (m.groupSeq !== undefined) out.groupSeq = m.groupSeq;
  if (m.userId !== undefined) out.userId = m.userId;
  if (m.deliveryTime !== undefined) out.deliveryTime = m.deliveryTime;
  if (m.replyTo !== undefined) out.replyTo = formatDestination(m.replyTo);
  if (m.originalDestination !== undefined) out.originalDestination = formatDestination(m.originalDestination);
  return out;
}

/**
 * What a remote endpoint's wire mapper made of a message (src/interop) as an exchange message
 * from endpoint `destination`. `replyTo` is the reply-to as the remote gave it. `m.properties`
 * becomes the headers as it is (the mapper made it for this message alone).
 */
export function fromMessageInput(m: MessageInput, destination: string, replyTo: string | undefined, now: number): ExchangeMessage {
  const out: ExchangeMessage = { body: m.body, bodyType: m.bodyType ?? 'bytes', headers: m.properties ?? {}, durable: m.durable ?? false, destination, timestamp: m.timestamp ?? now };
  if (m.id !== undefined) out.messageId = m.id;
  copyShared(m, out);
  if (replyTo !== undefined) out.replyTo = replyTo;
  return out;
}

/**
 * An exchange message as what the core takes for `destination`: every field but the id and
 * timestamp, which the core gives each message it is sent (src/routing/types.ts). A reply-to that
 * is not a broker address stays the `JMS_AMQP_REPLY_TO` property. Marker properties (core/reserved.ts:
 * `x-amqp-*`) go on only as the route received them with `original`: unchanged, and a body marker
 * only with that same body. One a step set or changed (a TypeScript process()) is dropped, so a route
 * can neither forge what an AMQP consumer receives nor mislabel a body it replaced, while a message
 * a route forwards keeps its AMQP encoding. Costs one character test per header.
 */
export function toCoreMessage(m: ExchangeMessage, destination: Destination, original?: ExchangeMessage): MessageInput {
  const properties = { ...m.headers };
  for (const k in properties) {
    if (k.charCodeAt(0) !== 0x78 /* x */ || !isReservedProperty(k)) continue;
    const kept = original !== undefined && original.headers[k] === properties[k] && (!BODY_ENCODING_MARKERS.includes(k) || original.body === m.body || original.body.equals(m.body));
    if (!kept) delete properties[k];
  }
  const input: MessageInput = { destination, body: m.body, bodyType: m.bodyType, durable: m.durable, properties };
  if (m.priority !== undefined) input.priority = m.priority;
  if (m.expiration !== undefined) input.expiration = m.expiration;
  if (m.correlationId !== undefined) input.correlationId = m.correlationId;
  if (m.type !== undefined) input.type = m.type;
  if (m.contentType !== undefined) input.contentType = m.contentType;
  if (m.groupId !== undefined) input.groupId = m.groupId;
  if (m.groupSeq !== undefined) input.groupSeq = m.groupSeq;
  if (m.userId !== undefined) input.userId = m.userId;
  if (m.deliveryTime !== undefined) input.deliveryTime = m.deliveryTime;
  if (m.replyTo !== undefined) {
    const d = brokerDestination(m.replyTo);
    if (d !== undefined) input.replyTo = d;
    else properties[PROP_REPLY_TO] ??= m.replyTo;
  }
  if (m.originalDestination !== undefined) {
    const d = brokerDestination(m.originalDestination);
    if (d !== undefined) input.originalDestination = d;
  }
  return input;
}
