import { isReservedProperty } from '../core/reserved.ts';
import type { Message, MessageInput, PropertyValue } from '../core/message.ts';
import { formatAmqpAddress, parseAmqpAddress } from './amqp-address.ts';

/**
 * AMQP 1.0 message sections <-> the core message (Artemis conventions, see docs/amqp.md), the one
 * mapping of the AMQP adapter (src/protocols/amqp/mapping.ts, which adds keeping sections as they
 * came) and of the route's `amqp://` endpoints. Pure: it takes and gives plain objects under rhea's
 * field names, and chooses AMQP types through the codec the caller passes (rhea's `types`).
 *
 * - header: durable, priority (clamped 0-9), ttl -> expiration (absolute); on the way out ttl is
 *   what is left of the expiration (at least 1 ms).
 * - properties: message-id -> id, user-id (binary, UTF-8) -> userId, subject -> type, reply-to
 *   (an address of this broker; another stays `JMS_AMQP_REPLY_TO`), correlation-id, content-type,
 *   absolute-expiry-time -> expiration (before ttl), creation-time -> timestamp, group-id,
 *   group-sequence; content-encoding and reply-to-group-id become `JMS_AMQP_*` properties. uuid,
 *   ulong and binary ids are strings with Qpid JMS's prefixes (`AMQP_UUID:`...), typed again outwards.
 * - application-properties: string, number, boolean and null values are core properties; timestamps
 *   become epoch ms, binary base64, longs numbers. Numbers go out as int, long or double.
 * - message-annotations: `x-opt-delivery-time` / `x-opt-delivery-delay` schedule delivery.
 */

/** Core properties the AMQP mapping keeps its own data in. */
export const PROP_ANNOTATIONS = 'x-amqp-annotations';
export const PROP_APP_PROPERTIES = 'x-amqp-properties';
export const PROP_BODY = 'x-amqp-body';
export const PROP_CONTENT_ENCODING = 'JMS_AMQP_CONTENT_ENCODING';
export const PROP_REPLY_TO_GROUP_ID = 'JMS_AMQP_REPLY_TO_GROUP_ID';
/** A reply-to that is not an address of this broker, kept as it came. */
export const PROP_REPLY_TO = 'JMS_AMQP_REPLY_TO';

/** An incoming AMQP message as decoded (rhea's names). Every field is what a peer sent: any type. */
export interface AmqpMessageIn {
  durable?: unknown;
  priority?: unknown;
  ttl?: unknown;
  message_id?: unknown;
  user_id?: unknown;
  to?: unknown;
  subject?: unknown;
  reply_to?: unknown;
  correlation_id?: unknown;
  content_type?: unknown;
  content_encoding?: unknown;
  absolute_expiry_time?: unknown;
  creation_time?: unknown;
  group_id?: unknown;
  group_sequence?: unknown;
  reply_to_group_id?: unknown;
  application_properties?: unknown;
  message_annotations?: unknown;
  body?: unknown;
}

/**
 * The header and properties fields of an outgoing message (rhea's names; an absent field is
 * undefined). Every key is always present, so every message has one shape for the encoders.
 */
export interface AmqpMessageOut {
  durable: boolean;
  priority: number;
  ttl: number | undefined;
  message_id: string | undefined;
  user_id: Buffer | undefined;
  to: string | undefined;
  subject: string | undefined;
  reply_to: string | undefined;
  correlation_id: string | undefined;
  content_type: string | undefined;
  content_encoding: string | undefined;
  absolute_expiry_time: number | undefined;
  creation_time: number | undefined;
  group_id: string | undefined;
  group_sequence: number | undefined;
  reply_to_group_id: string | undefined;
}

/** The value constructors of an AMQP codec the mapping chooses types with (rhea's `types` has them). */
export interface AmqpTypes {
  wrap(v: unknown): unknown;
  wrap_int(v: number): unknown;
  wrap_long(v: number): unknown;
  wrap_double(v: number): unknown;
  wrap_ulong(v: number): unknown;
  wrap_uuid(v: Buffer): unknown;
  wrap_binary(v: Buffer): unknown;
}

/** The core fields a message in: anything a Message or a MessageInput holds. */
type CoreMessage = Readonly<MessageInput> | Message;

const HEX = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function uuidToString(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A message-id or correlation-id as a string: uuid, ulong and binary ids get Qpid JMS's prefixes. */
export function idToString(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return `AMQP_ULONG:${v}`;
  if (Buffer.isBuffer(v)) return v.length === 16 ? `AMQP_UUID:${uuidToString(v)}` : `AMQP_BINARY:${v.toString('hex')}`;
  return String(v);
}

/** True for an id that goes out typed (uuid, ulong, binary), not as a string. */
export function isTypedId(s: string): boolean {
  return s.startsWith('AMQP_ULONG:') || s.startsWith('AMQP_UUID:') || s.startsWith('AMQP_BINARY:');
}

/** A string id as AMQP: the prefixed forms of {@link idToString} typed again, others as they are. */
export function idToAmqp(s: string | undefined, t: AmqpTypes): unknown {
  if (s === undefined) return undefined;
  if (s.startsWith('AMQP_ULONG:')) {
    const n = Number(s.slice(11));
    return Number.isSafeInteger(n) && n >= 0 ? t.wrap_ulong(n) : s;
  }
  if (s.startsWith('AMQP_UUID:')) {
    const u = s.slice(10);
    return HEX.test(u) ? t.wrap_uuid(Buffer.from(u.replaceAll('-', ''), 'hex')) : s;
  }
  if (s.startsWith('AMQP_BINARY:')) return t.wrap_binary(Buffer.from(s.slice(12), 'hex'));
  return s;
}

/** 2^63: the first integer a `long` cannot hold (rhea's encoder throws a RangeError on one). */
const LONG_LIMIT = 2 ** 63;

/**
 * A property value as AMQP: integers in int range are `int`, others in long range `long`; fractions,
 * and integers no long holds (1e20: a double a client or an expression made), `double`.
 */
export function propertyToAmqp(v: PropertyValue, t: AmqpTypes): unknown {
  if (typeof v === 'number') {
    if (Number.isInteger(v)) {
      if (v >= -2147483648 && v <= 2147483647) return t.wrap_int(v);
      if (v > -LONG_LIMIT && v < LONG_LIMIT) return t.wrap_long(v);
    }
    return t.wrap_double(v);
  }
  return t.wrap(v);
}

/** An application-property value as a core property value; undefined for one that has none (list, map...). */
function propertyFromAmqp(v: unknown): PropertyValue | undefined {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isNaN(v) ? null : v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.getTime();
  if (Buffer.isBuffer(v)) return v.toString('base64');
  return undefined;
}

/** A timestamp field as epoch ms (rhea gives a Date or a number); undefined when it is neither. */
function epoch(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = v instanceof Date ? v.getTime() : typeof v === 'number' || typeof v === 'bigint' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** Sets a property named by a client: `__proto__` is an own property like any other, never the prototype. */
function setProperty<V>(props: Record<string, V>, k: string, v: V): void {
  if (k === '__proto__') Object.defineProperty(props, k, { value: v, enumerable: true, writable: true, configurable: true });
  else props[k] = v;
}

/** {@link applicationPropertiesToCore} found a value the core keeps only approximately (timestamp, binary, long, list...). */
export const APP_TYPED = 1;
/** {@link applicationPropertiesToCore} left out a reserved (x-amqp-*) name. */
export const APP_RESERVED = 2;

/**
 * Application properties into core properties `props`. The adapters' own marker names (x-amqp-*) are
 * never taken from a peer (core/reserved.ts). Returns APP_TYPED | APP_RESERVED flags, so the AMQP
 * adapter can keep the section as it came when a value had a type the core has not.
 */
export function applicationPropertiesToCore(app: unknown, props: Record<string, PropertyValue>): number {
  if (app === null || typeof app !== 'object' || Buffer.isBuffer(app)) return 0;
  let flags = 0;
  for (const [k, v] of Object.entries(app)) {
    if (isReservedProperty(k)) {
      flags |= APP_RESERVED;
      continue;
    }
    const s = propertyFromAmqp(v);
    if (s === undefined || v instanceof Date || Buffer.isBuffer(v) || (typeof v === 'number' && !Number.isSafeInteger(v) && Number.isInteger(v))) flags |= APP_TYPED;
    if (s !== undefined) setProperty(props, k, s);
  }
  return flags;
}

/**
 * The header, properties and message-annotations fields of `msg` into `m` (whose destination,
 * body and properties the caller set). `now` turns a ttl or a delivery delay into epoch ms.
 * Fields of a wrong type are left out, never thrown on. `schedule` false: a message another broker
 * delivered (the `amqp://` route source), which that broker scheduled already; its
 * `x-opt-delivery-*` annotations say when it was due there, not to wait again.
 */
export function amqpToCore(msg: AmqpMessageIn, m: MessageInput, now: number, schedule = true): void {
  const properties = (m.properties ??= {});
  if (msg.priority !== undefined && msg.priority !== null) {
    const p = Number(msg.priority);
    if (Number.isFinite(p)) m.priority = Math.min(9, Math.max(0, p));
  }
  const abs = epoch(msg.absolute_expiry_time);
  const ttl = Number(msg.ttl ?? 0);
  if (abs !== undefined && abs > 0) m.expiration = abs;
  else if (ttl > 0) m.expiration = now + ttl;
  const created = epoch(msg.creation_time);
  if (created !== undefined && created > 0) m.timestamp = created;
  const id = idToString(msg.message_id);
  if (id !== undefined && id !== '') m.id = id;
  const correlationId = idToString(msg.correlation_id);
  if (correlationId !== undefined) m.correlationId = correlationId;
  if (Buffer.isBuffer(msg.user_id)) m.userId = msg.user_id.toString('utf8');
  else if (typeof msg.user_id === 'string') m.userId = msg.user_id;
  if (typeof msg.subject === 'string') m.type = msg.subject;
  if (typeof msg.reply_to === 'string' && msg.reply_to !== '') {
    try {
      m.replyTo = parseAmqpAddress(msg.reply_to, []).destination;
    } catch {
      properties[PROP_REPLY_TO] = msg.reply_to; // unusable here (another broker's address): kept as given
    }
  }
  if (msg.content_type !== undefined && msg.content_type !== null) m.contentType = String(msg.content_type);
  if (typeof msg.group_id === 'string') m.groupId = msg.group_id;
  if (msg.group_sequence !== undefined && msg.group_sequence !== null) {
    const seq = Number(msg.group_sequence);
    if (Number.isFinite(seq)) m.groupSeq = seq;
  }
  if (msg.content_encoding !== undefined && msg.content_encoding !== null) properties[PROP_CONTENT_ENCODING] = String(msg.content_encoding);
  if (typeof msg.reply_to_group_id === 'string') properties[PROP_REPLY_TO_GROUP_ID] = msg.reply_to_group_id;
  const ma = msg.message_annotations as Record<string, unknown> | null | undefined;
  if (schedule && ma !== null && typeof ma === 'object') {
    const at = epoch(ma['x-opt-delivery-time']);
    const delay = Number(ma['x-opt-delivery-delay'] ?? 0);
    if (at !== undefined && at > now) m.deliveryTime = at;
    else if (delay > 0) m.deliveryTime = now + delay;
  }
}

/**
 * The header and properties fields of core message `m` (`now` makes the ttl). `to` is the
 * message's destination as an AMQP address; `creation_time` its timestamp, when it has one.
 */
export function coreToAmqp(m: CoreMessage, now: number): AmqpMessageOut {
  const props = m.properties ?? {};
  const expiration = m.expiration ?? 0;
  const replyTo = props[PROP_REPLY_TO];
  const encoding = props[PROP_CONTENT_ENCODING];
  const replyToGroupId = props[PROP_REPLY_TO_GROUP_ID];
  // One literal with every key (absent ones undefined): one shape for every message the encoders read.
  return {
    durable: m.durable ?? false,
    priority: m.priority ?? 4,
    ttl: expiration > 0 ? Math.max(1, expiration - now) : undefined,
    message_id: m.id,
    user_id: m.userId !== undefined ? Buffer.from(m.userId, 'utf8') : undefined,
    to: formatAmqpAddress(m.destination),
    subject: m.type,
    reply_to: m.replyTo !== undefined ? formatAmqpAddress(m.replyTo) : typeof replyTo === 'string' ? replyTo : undefined,
    correlation_id: m.correlationId,
    content_type: m.contentType,
    content_encoding: typeof encoding === 'string' ? encoding : undefined,
    absolute_expiry_time: expiration > 0 ? expiration : undefined,
    creation_time: m.timestamp,
    group_id: m.groupId,
    group_sequence: m.groupSeq,
    reply_to_group_id: typeof replyToGroupId === 'string' ? replyToGroupId : undefined,
  };
}

/**
 * True for a core property that goes out as an application property: not one the mapping keeps
 * in a field of its own or an encoded section (x-amqp-*, JMS_AMQP_*).
 */
export function isApplicationProperty(k: string): boolean {
  if (k.charCodeAt(0) === 0x78 /* x */ && isReservedProperty(k)) return false;
  return k !== PROP_CONTENT_ENCODING && k !== PROP_REPLY_TO_GROUP_ID && k !== PROP_REPLY_TO;
}

/** The application properties of a core message as an AMQP map (types chosen by {@link propertyToAmqp}). */
export function applicationPropertiesToAmqp(props: Readonly<Record<string, PropertyValue>>, t: AmqpTypes): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in props) if (isApplicationProperty(k)) setProperty(out, k, propertyToAmqp(props[k]!, t));
  return out;
}

/**
 * A decoded body as core bytes: a data section or a binary value is bytes, a string is text, no
 * body is empty text, any other value (number, map, list) JSON. The AMQP adapter keeps other
 * bodies encoded instead (mapping.ts); this is the mapping where no encoding can be kept.
 */
export function bodyFromAmqp(body: unknown): { body: Buffer; bodyType: 'bytes' | 'text' | 'json' } {
  if (Buffer.isBuffer(body)) return { body, bodyType: 'bytes' };
  const section = body as { typecode?: unknown; content?: unknown } | null;
  if (section !== null && typeof section === 'object' && section.typecode !== undefined && Buffer.isBuffer(section.content)) return { body: section.content, bodyType: 'bytes' };
  if (typeof body === 'string') return { body: Buffer.from(body), bodyType: 'text' };
  if (body === undefined || body === null) return { body: Buffer.alloc(0), bodyType: 'text' };
  let json: string | undefined;
  try {
    json = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch {
    json = undefined; // a cycle cannot come from a decoder; String() below all the same
  }
  return { body: Buffer.from(json ?? String(body)), bodyType: 'json' };
}
