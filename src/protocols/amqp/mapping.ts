import { JunctionError } from '../../errors.ts';
import { isReservedProperty } from '../../core/reserved.ts';
import type { Delivery } from '../../core/handles.ts';
import type { Destination, Message, MessageInput, PropertyValue } from '../../core/message.ts';
import { formatAmqpAddress, parseAmqpAddress } from '../../interop/amqp-address.ts';
import {
  amqpToCore,
  APP_RESERVED,
  APP_TYPED,
  applicationPropertiesToCore,
  coreToAmqp,
  idToAmqp,
  isApplicationProperty,
  isTypedId,
  PROP_ANNOTATIONS,
  PROP_APP_PROPERTIES,
  PROP_BODY,
  propertyToAmqp,
  type AmqpMessageIn,
} from '../../interop/amqp-message.ts';
import { encode, messageCodec, types } from './rhea-codec.ts';
import { encodeData, encodeHeader, encodeProperties, encodeStringValue } from './section-encoder.ts';
import { SECTION, SectionError, splitSections, type RawSection } from './sections.ts';
import { encodedBody, markerSection, unmappable } from './stored-markers.ts';

/**
 * AMQP 1.0 transfer <-> core message. The fields map as src/interop/amqp-message.ts says (the one
 * AMQP mapping, shared with the route's amqp:// endpoints); this adapter adds keeping what the core
 * has no field for as it came, so AMQP consumers receive it again (see docs/amqp.md):
 *
 * - application-properties with other types (binary, timestamp, list...) are also kept as they came
 *   in `x-amqp-properties`.
 * - message-annotations: kept as they came (`x-amqp-annotations`, base64 of the section), so Qpid
 *   JMS's `x-opt-jms-msg-type` etc. survive.
 * - body: one `data` section = bytes; an `amqp-value` string = text; anything else is kept encoded
 *   (the body holds the encoded body sections; `x-amqp-body` names the kind) and goes to AMQP
 *   consumers as it came. STOMP and MQTT consumers receive those encoded bytes.
 * - delivery-count and first-acquirer are the core's per-queue count on the way out.
 */

export interface InboundOptions {
  /** Where the link sends to; undefined for the anonymous relay (then `to` decides). */
  destination: Destination | undefined;
  now: number;
  /** The sections of `raw`, when the caller has split it already. */
  sections?: RawSection[];
}

function section(raw: Buffer, sections: RawSection[], code: number): Buffer | undefined {
  const s = sections.find((x) => x.code === code);
  return s ? raw.subarray(s.start, s.end) : undefined;
}

/** Sets a property named by a client: `__proto__` is an own property like any other, never the prototype. */
function setProperty<V>(props: Record<string, V>, k: string, v: V): void {
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
export function messageFromAmqp(msg: AmqpMessageIn, raw: Buffer, opts: InboundOptions): MessageInput {
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
  const flags = applicationPropertiesToCore(msg.application_properties, properties);
  if (flags & APP_TYPED) {
    const app = section(raw, sections, SECTION.applicationProperties)!;
    properties[PROP_APP_PROPERTIES] = (flags & APP_RESERVED ? withoutReservedEntries(app) : app).toString('base64');
  }
  const annotations = section(raw, sections, SECTION.messageAnnotations);
  if (annotations) properties[PROP_ANNOTATIONS] = annotations.toString('base64');

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
  amqpToCore(msg, m, opts.now);
  return m;
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
    w.write(propertyToAmqp(v, types));
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
  const f = coreToAmqp(m, now);
  w.write_bytes(encodeHeader(f, d.deliveryCount <= 1 && !d.redelivered, Math.max(0, d.deliveryCount - 1)));

  const annotations = markerSection(m, PROP_ANNOTATIONS, SECTION.messageAnnotations);
  if (annotations) w.write_bytes(annotations);
  // Without annotations of its own, a message goes without any: Qpid JMS infers the JMS type from the
  // body (data = BytesMessage, string = TextMessage) and the destination from its consumer, and every
  // AMQP consumer decodes a section less.

  if (!isTypedId(m.id) && (m.correlationId === undefined || !isTypedId(m.correlationId))) w.write_bytes(encodeProperties(f));
  // uuid, ulong or binary ids: rhea encodes the typed values.
  else w.write(messageCodec.properties({ ...f, message_id: idToAmqp(f.message_id, types), correlation_id: idToAmqp(f.correlation_id, types) }).described());

  // Application properties: the original section when there was one with typed values, plus what the core added.
  const rawApp = markerSection(m, PROP_APP_PROPERTIES, SECTION.applicationProperties);
  const originalKeys = rawApp ? new Set(Object.keys(decodeMap(m, rawApp))) : undefined;
  const entries: Array<[string, PropertyValue]> = [];
  for (const k in props) {
    if (!isApplicationProperty(k) || originalKeys?.has(k)) continue;
    entries.push([k, props[k]!]);
  }
  if (m.originalDestination !== undefined && !('original-destination' in props)) entries.push(['original-destination', formatAmqpAddress(m.originalDestination)]);
  if (rawApp) w.write_bytes(appendToMap(rawApp, entries));
  else if (entries.length > 0) {
    const wrapped: Record<string, unknown> = {};
    for (const [k, v] of entries) setProperty(wrapped, k, propertyToAmqp(v, types));
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

function decodeMap(m: Message, encodedSection: Buffer): Record<string, unknown> {
  try {
    const decoded = messageCodec.decode(encodedSection) as { application_properties?: Record<string, unknown> };
    return decoded.application_properties ?? {};
  } catch (err) {
    throw unmappable(m, `${PROP_APP_PROPERTIES}: ${(err as Error).message}`);
  }
}
