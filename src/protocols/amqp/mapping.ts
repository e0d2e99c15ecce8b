import rhea from 'rhea';
import { JunctionError } from '../../errors.ts';
import { isReservedProperty } from '../../core/reserved.ts';
import type { Delivery } from '../../core/consumer.ts';
import type { Destination, Message, MessageInput, PropertyValue } from '../../core/message.ts';
import { formatAmqpAddress, parseAmqpAddress } from './addressing.ts';
import { encode, messageCodec, types } from './rhea-codec.ts';
import { encodeData, encodeHeader, encodeProperties, encodeStringValue, type PropertiesFields } from './section-encoder.ts';
import { SECTION, SectionError, splitSections, type RawSection } from './sections.ts';
import { encodedBody, markerSection, unmappable } from './stored-markers.ts';

/**
 * AMQP 1.0 message <-> core message (Artemis conventions, see docs/amqp.md):
 *
 * - header: durable, priority, ttl (-> expiration) map to the core fields; delivery-count is the
 *   core's per-queue count on the way out.
 * - properties: message-id -> id, user-id, subject -> type, reply-to, correlation-id,
 *   content-type, absolute-expiry-time -> expiration, creation-time -> timestamp, group-id,
 *   group-sequence; content-encoding and reply-to-group-id become `JMS_AMQP_*` properties.
 * - application-properties: string, number, boolean and null values are core properties. A map
 *   with other types (binary, timestamp, list...) is also kept as it came in `x-amqp-properties`.
 * - message-annotations: kept as they came (`x-amqp-annotations`, base64 of the section), so Qpid
 *   JMS's `x-opt-jms-msg-type` etc. survive; `x-opt-delivery-time`/`-delay` schedule delivery.
 * - body: one `data` section = bytes; an `amqp-value` string = text; anything else is kept encoded
 *   (the body holds the encoded body sections; `x-amqp-body` names the kind) and goes to AMQP
 *   consumers as it came. STOMP and MQTT consumers receive those encoded bytes.
 */


/** Core properties the AMQP adapter keeps its own data in. */
export const PROP_ANNOTATIONS = 'x-amqp-annotations';
export const PROP_APP_PROPERTIES = 'x-amqp-properties';
export const PROP_BODY = 'x-amqp-body';
export const PROP_CONTENT_ENCODING = 'JMS_AMQP_CONTENT_ENCODING';
export const PROP_REPLY_TO_GROUP_ID = 'JMS_AMQP_REPLY_TO_GROUP_ID';
const HIDDEN = new Set([PROP_ANNOTATIONS, PROP_APP_PROPERTIES, PROP_BODY]);


/** The parts of a decoded rhea message the mapping reads. */
interface DecodedMessage {
  durable?: boolean;
  priority?: number;
  ttl?: number;
  message_id?: unknown;
  user_id?: unknown;
  to?: string;
  subject?: string;
  reply_to?: string;
  correlation_id?: unknown;
  content_type?: string;
  content_encoding?: string;
  absolute_expiry_time?: Date | number;
  creation_time?: Date | number;
  group_id?: string;
  group_sequence?: number;
  reply_to_group_id?: string;
  application_properties?: Record<string, unknown>;
  message_annotations?: Record<string, unknown>;
  body?: unknown;
}

export interface InboundOptions {
  /** Where the link sends to; undefined for the anonymous relay (then `to` decides). */
  destination: Destination | undefined;
  now: number;
  /** The sections of `raw`, when the caller has split it already. */
  sections?: RawSection[];
}

function epoch(v: Date | number | undefined): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = v instanceof Date ? v.getTime() : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** A message-id or correlation-id as a string: uuid, ulong and binary ids get Qpid JMS's prefixes. */
export function idToString(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return `AMQP_ULONG:${v}`;
  if (Buffer.isBuffer(v)) return v.length === 16 ? `AMQP_UUID:${rhea.uuid_to_string(v)}` : `AMQP_BINARY:${v.toString('hex')}`;
  return String(v);
}

function idToAmqp(s: string | undefined): unknown {
  if (s === undefined) return undefined;
  if (s.startsWith('AMQP_ULONG:')) {
    const n = Number(s.slice(11));
    return Number.isSafeInteger(n) && n >= 0 ? types.wrap_ulong(n) : s;
  }
  if (s.startsWith('AMQP_UUID:')) {
    try {
      return types.wrap_uuid(rhea.string_to_uuid(s.slice(10)));
    } catch {
      return s;
    }
  }
  if (s.startsWith('AMQP_BINARY:')) return types.wrap_binary(Buffer.from(s.slice(12), 'hex'));
  return s;
}

function simpleValue(v: unknown): PropertyValue | undefined {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isNaN(v) ? null : v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.getTime();
  if (Buffer.isBuffer(v)) return v.toString('base64');
  return undefined;
}

function section(raw: Buffer, sections: RawSection[], code: number): Buffer | undefined {
  const s = sections.find((x) => x.code === code);
  return s ? raw.subarray(s.start, s.end) : undefined;
}

/** Sets a property named by a client: `__proto__` is an own property like any other, never the prototype. */
function setProperty(props: Record<string, PropertyValue>, k: string, v: PropertyValue): void {
  if (k === '__proto__') Object.defineProperty(props, k, { value: v, enumerable: true, writable: true, configurable: true });
  else props[k] = v;
}

/** An encoded application-properties section without its reserved (x-amqp-*) entries, other values as encoded. */
function withoutReservedEntries(app: Buffer): Buffer {
  const section = new types.Reader(app).read() as { value: Array<{ value: unknown }> };
  const kept: unknown[] = [];
  for (let i = 0; i + 1 < section.value.length; i += 2) {
    if (!isReservedProperty(String(section.value[i]!.value))) kept.push(section.value[i], section.value[i + 1]);
  }
  return encode(types.described(types.wrap_ulong(SECTION.applicationProperties), types.Map32(kept)));
}

/** Builds the core message of an incoming AMQP transfer (`raw` is the encoded message, `msg` rhea's decoding of it). */
export function messageFromAmqp(msg: DecodedMessage, raw: Buffer, opts: InboundOptions): MessageInput {
  let sections: RawSection[];
  try {
    sections = opts.sections ?? splitSections(raw);
  } catch (err) {
    throw new JunctionError('ERR_AMQP_DECODE', `Malformed message: ${(err as SectionError).message}`);
  }
  let destination = opts.destination;
  if (!destination) {
    if (typeof msg.to !== 'string' || msg.to === '') throw new JunctionError('ERR_AMQP_NO_ADDRESS', 'Message on the anonymous relay has no to address');
    destination = parseAmqpAddress(msg.to, []).destination;
  }
  const properties: Record<string, PropertyValue> = {};
  let typedProps = false;
  let reserved = false;
  if (msg.application_properties) {
    for (const [k, v] of Object.entries(msg.application_properties)) {
      // The adapters' own marker names (x-amqp-*) are never taken from a client (core/reserved.ts).
      if (isReservedProperty(k)) {
        reserved = true;
        continue;
      }
      const s = simpleValue(v);
      if (s === undefined || v instanceof Date || Buffer.isBuffer(v) || (typeof v === 'number' && !Number.isSafeInteger(v) && Number.isInteger(v))) typedProps = true;
      if (s !== undefined) setProperty(properties, k, s);
    }
  }
  if (typedProps) {
    const app = section(raw, sections, SECTION.applicationProperties)!;
    properties[PROP_APP_PROPERTIES] = (reserved ? withoutReservedEntries(app) : app).toString('base64');
  }
  const annotations = section(raw, sections, SECTION.messageAnnotations);
  if (annotations) properties[PROP_ANNOTATIONS] = annotations.toString('base64');
  if (msg.content_encoding !== undefined) properties[PROP_CONTENT_ENCODING] = String(msg.content_encoding);
  if (msg.reply_to_group_id !== undefined) properties[PROP_REPLY_TO_GROUP_ID] = msg.reply_to_group_id;

  // Body: one data section is bytes, a string amqp-value is text, the rest stays encoded.
  const bodies = sections.filter((s) => s.code >= SECTION.data && s.code <= SECTION.amqpValue);
  let body: Buffer;
  let bodyType: 'bytes' | 'text' = 'bytes';
  const b = msg.body as { typecode?: number; content?: unknown; multiple?: boolean } | string | undefined;
  if (bodies.length === 1 && bodies[0]!.code === SECTION.data && b && typeof b === 'object' && Buffer.isBuffer(b.content)) {
    body = b.content;
  } else if (bodies.length === 1 && bodies[0]!.code === SECTION.amqpValue && typeof b === 'string') {
    body = Buffer.from(b, 'utf8');
    bodyType = 'text';
  } else if (bodies.length === 0) {
    body = Buffer.alloc(0);
    properties[PROP_BODY] = 'none';
  } else {
    const first = bodies[0]!;
    body = Buffer.from(raw.subarray(first.start, bodies[bodies.length - 1]!.end));
    properties[PROP_BODY] = first.code === SECTION.data ? 'data' : first.code === SECTION.amqpSequence ? 'sequence' : 'value';
  }

  const m: MessageInput = { destination, body, bodyType, durable: msg.durable === true, properties };
  if (msg.priority !== undefined) m.priority = Math.min(9, Math.max(0, Number(msg.priority)));
  const abs = epoch(msg.absolute_expiry_time);
  if (abs !== undefined && abs > 0) m.expiration = abs;
  else if (msg.ttl !== undefined && Number(msg.ttl) > 0) m.expiration = opts.now + Number(msg.ttl);
  const created = epoch(msg.creation_time);
  if (created !== undefined && created > 0) m.timestamp = created;
  const id = idToString(msg.message_id);
  if (id !== undefined && id !== '') m.id = id;
  const correlationId = idToString(msg.correlation_id);
  if (correlationId !== undefined) m.correlationId = correlationId;
  if (Buffer.isBuffer(msg.user_id)) m.userId = msg.user_id.toString('utf8');
  if (typeof msg.subject === 'string') m.type = msg.subject;
  if (typeof msg.reply_to === 'string' && msg.reply_to !== '') {
    try {
      m.replyTo = parseAmqpAddress(msg.reply_to, []).destination;
    } catch {
      // An unusable reply-to (e.g. another broker's address) stays a property, as given.
      properties['JMS_AMQP_REPLY_TO'] = msg.reply_to;
    }
  }
  if (msg.content_type !== undefined) m.contentType = String(msg.content_type);
  if (typeof msg.group_id === 'string') m.groupId = msg.group_id;
  if (msg.group_sequence !== undefined) m.groupSeq = Number(msg.group_sequence);
  const ma = msg.message_annotations;
  if (ma) {
    const at = epoch(ma['x-opt-delivery-time'] as Date | number | undefined);
    const delay = Number(ma['x-opt-delivery-delay'] ?? 0);
    if (at !== undefined && at > opts.now) m.deliveryTime = at;
    else if (delay > 0) m.deliveryTime = opts.now + delay;
  }
  return m;
}

/** A property value as AMQP: integers in int range are `int`, others `long`, fractions `double`. */
function wrapProperty(v: PropertyValue): unknown {
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return v >= -2147483648 && v <= 2147483647 ? types.wrap_int(v) : types.wrap_long(v);
    return types.wrap_double(v);
  }
  return types.wrap(v);
}

/** Appends entries to an encoded map (the original application-properties section's value). */
function appendToMap(encodedSection: Buffer, extra: Array<[string, PropertyValue]>): Buffer {
  // A section is 0x00 0x53 0x74 then the map: 0xc1 size count ... or 0xd1 size(4) count(4) ...
  const at = 3;
  const code = encodedSection[at];
  let count: number;
  let entries: Buffer;
  if (code === 0xc1) {
    count = encodedSection[at + 2]!;
    entries = encodedSection.subarray(at + 3);
  } else if (code === 0xd1) {
    count = encodedSection.readUInt32BE(at + 5);
    entries = encodedSection.subarray(at + 9);
  } else return encodedSection;
  if (extra.length === 0) return encodedSection;
  const w = new types.Writer();
  for (const [k, v] of extra) {
    w.write(types.wrap_string(k));
    w.write(wrapProperty(v));
  }
  const added = w.toBuffer();
  const body = Buffer.concat([entries, added]);
  const head = Buffer.alloc(12);
  head[0] = 0x00;
  head[1] = 0x53;
  head[2] = 0x74;
  head[3] = 0xd1;
  head.writeUInt32BE(body.length + 4, 4);
  head.writeUInt32BE(count + extra.length * 2, 8);
  return Buffer.concat([head, body]);
}

const writer = new types.Writer();

/** The encoded AMQP message of a core delivery. */
export function amqpFromDelivery(d: Delivery, now: number): Buffer {
  const m: Message = d.message;
  const props = m.properties;
  const w = writer;
  w.position = 0;
  const ttl = m.expiration > 0 ? Math.max(1, m.expiration - now) : undefined;
  w.write_bytes(encodeHeader({ durable: m.durable, priority: m.priority, ...(ttl !== undefined ? { ttl } : {}), firstAcquirer: d.deliveryCount <= 1 && !d.redelivered, deliveryCount: Math.max(0, d.deliveryCount - 1) }));

  const annotations = markerSection(m, PROP_ANNOTATIONS, SECTION.messageAnnotations);
  if (annotations) w.write_bytes(annotations);
  // Without annotations of its own, a message goes without any: Qpid JMS infers the JMS type from the
  // body (data = BytesMessage, string = TextMessage) and the destination from its consumer, and every
  // AMQP consumer decodes a section less.

  const replyTo = m.replyTo !== undefined ? formatAmqpAddress(m.replyTo) : typeof props['JMS_AMQP_REPLY_TO'] === 'string' ? props['JMS_AMQP_REPLY_TO'] : undefined;
  const contentEncoding = typeof props[PROP_CONTENT_ENCODING] === 'string' ? props[PROP_CONTENT_ENCODING] : undefined;
  const replyToGroupId = typeof props[PROP_REPLY_TO_GROUP_ID] === 'string' ? props[PROP_REPLY_TO_GROUP_ID] : undefined;
  const typedIds = isTypedId(m.id) || (m.correlationId !== undefined && isTypedId(m.correlationId));
  if (!typedIds) {
    const f: PropertiesFields = { messageId: m.id, to: formatAmqpAddress(m.destination), creationTime: m.timestamp };
    if (m.userId !== undefined) f.userId = Buffer.from(m.userId, 'utf8');
    if (m.type !== undefined) f.subject = m.type;
    if (replyTo !== undefined) f.replyTo = replyTo;
    if (m.correlationId !== undefined) f.correlationId = m.correlationId;
    if (m.contentType !== undefined) f.contentType = m.contentType;
    if (contentEncoding !== undefined) f.contentEncoding = contentEncoding;
    if (m.expiration > 0) f.absoluteExpiryTime = m.expiration;
    if (m.groupId !== undefined) f.groupId = m.groupId;
    if (m.groupSeq !== undefined) f.groupSequence = m.groupSeq;
    if (replyToGroupId !== undefined) f.replyToGroupId = replyToGroupId;
    w.write_bytes(encodeProperties(f));
  } else {
    // uuid, ulong or binary ids: rhea encodes the typed values.
    const p: Record<string, unknown> = { message_id: idToAmqp(m.id), to: formatAmqpAddress(m.destination), creation_time: new Date(m.timestamp) };
    if (m.userId !== undefined) p.user_id = Buffer.from(m.userId, 'utf8');
    if (m.type !== undefined) p.subject = m.type;
    if (replyTo !== undefined) p.reply_to = replyTo;
    if (m.correlationId !== undefined) p.correlation_id = idToAmqp(m.correlationId);
    if (m.contentType !== undefined) p.content_type = m.contentType;
    if (contentEncoding !== undefined) p.content_encoding = contentEncoding;
    if (m.expiration > 0) p.absolute_expiry_time = new Date(m.expiration);
    if (m.groupId !== undefined) p.group_id = m.groupId;
    if (m.groupSeq !== undefined) p.group_sequence = m.groupSeq;
    if (replyToGroupId !== undefined) p.reply_to_group_id = replyToGroupId;
    w.write(messageCodec.properties(p).described());
  }

  // Application properties: the original section when there was one with typed values, plus what the core added.
  const rawApp = markerSection(m, PROP_APP_PROPERTIES, SECTION.applicationProperties);
  const originalKeys = rawApp ? new Set(Object.keys(decodeMap(m, rawApp))) : undefined;
  const entries: Array<[string, PropertyValue]> = [];
  for (const k in props) {
    if (HIDDEN.has(k) || k === PROP_CONTENT_ENCODING || k === PROP_REPLY_TO_GROUP_ID || k === 'JMS_AMQP_REPLY_TO') continue;
    if (originalKeys?.has(k)) continue;
    entries.push([k, props[k]!]);
  }
  if (m.originalDestination !== undefined && !('original-destination' in props)) entries.push(['original-destination', formatAmqpAddress(m.originalDestination)]);
  if (rawApp) w.write_bytes(appendToMap(rawApp, entries));
  else if (entries.length > 0) {
    const wrapped: Record<string, unknown> = {};
    for (const [k, v] of entries) wrapped[k] = wrapProperty(v);
    w.write(types.described(types.wrap_ulong(SECTION.applicationProperties), types.wrap_map(wrapped)));
  }

  // Body.
  const kind = props[PROP_BODY];
  if (kind === 'value' || kind === 'sequence' || kind === 'data') w.write_bytes(encodedBody(m, kind, PROP_BODY));
  else if (kind !== 'none') {
    if (m.bodyType === 'bytes') w.write_bytes(encodeData(m.body));
    else w.write_bytes(encodeStringValue(m.body.toString('utf8')));
  }
  return Buffer.from(w.toBuffer());
}

function isTypedId(s: string): boolean {
  return s.startsWith('AMQP_ULONG:') || s.startsWith('AMQP_UUID:') || s.startsWith('AMQP_BINARY:');
}

function decodeMap(m: Message, encodedSection: Buffer): Record<string, unknown> {
  try {
    const decoded = messageCodec.decode(encodedSection) as DecodedMessage;
    return decoded.application_properties ?? {};
  } catch (err) {
    throw unmappable(m, `${PROP_APP_PROPERTIES}: ${(err as Error).message}`);
  }
}
