/**
 * How the management API shows a message: a summary row for the message browser (a 64-byte text
 * preview and a few properties, like the Artemis console's browse table), and one message in full
 * (every header and property, a 4 KiB body preview). Pure functions over the core's `Message`:
 * computed per request for the at most 1000 messages of a page, never on the delivery path.
 */
import { isUtf8 } from 'node:buffer';
import type { Destination, Message, PropertyValue } from '../core/message.ts';

/** Bytes of body a summary row previews, and a detail view. */
export const SUMMARY_PREVIEW_BYTES = 64;
export const DETAIL_PREVIEW_BYTES = 4096;
/** Properties a summary row carries (in the message's order), and characters of each string value. */
export const SUMMARY_PROPERTIES = 8;
const SUMMARY_PROPERTY_CHARS = 64;

/** A body preview: text when the bytes shown are valid UTF-8, else base64. */
export interface BodyPreview {
  encoding: 'utf8' | 'base64';
  data: string;
  /** The body is longer than the preview. */
  truncated: boolean;
}

export interface MessageSummary {
  id: string;
  destination: Destination;
  priority: number;
  timestamp: number;
  /** Epoch ms; 0: never expires. */
  expiration: number;
  durable: boolean;
  bodyType: Message['bodyType'];
  /** Body bytes. */
  size: number;
  correlationId?: string;
  type?: string;
  contentType?: string;
  groupId?: string;
  deliveryTime?: number;
  /** Where a dead-lettered or expired message was first sent (what `retry` sends it back to). */
  originalDestination?: Destination;
  properties: Record<string, PropertyValue>;
  /** How many properties the message has (`properties` shows at most {@link SUMMARY_PROPERTIES}). */
  propertyCount: number;
  preview: BodyPreview;
}

export interface MessageDetail extends Omit<MessageSummary, 'preview' | 'propertyCount' | 'size'> {
  bodySize: number;
  replyTo?: Destination;
  groupSeq?: number;
  userId?: string;
  body: BodyPreview;
}

/** Up to `max` bytes of `body` as text when they are valid UTF-8 (a character cut at the end is dropped), else base64. */
export function bodyPreview(body: Buffer, max: number): BodyPreview {
  const truncated = body.length > max;
  let n = Math.min(body.length, max);
  if (truncated) {
    // Back off a multi-byte character the cut splits (at most 3 continuation bytes 10xxxxxx).
    let back = 0;
    while (back < 3 && n > 0 && (body[n]! & 0xc0) === 0x80) {
      n--;
      back++;
    }
  }
  const head = body.subarray(0, n);
  if (isUtf8(head)) return { encoding: 'utf8', data: head.toString('utf8'), truncated };
  return { encoding: 'base64', data: body.subarray(0, Math.min(body.length, max)).toString('base64'), truncated };
}

/** A row of the message browser. */
export function messageSummary(m: Message): MessageSummary {
  const props: Record<string, PropertyValue> = {};
  let count = 0;
  for (const k in m.properties) {
    if (count < SUMMARY_PROPERTIES) {
      const v = m.properties[k]!;
      props[k] = typeof v === 'string' && v.length > SUMMARY_PROPERTY_CHARS ? v.slice(0, SUMMARY_PROPERTY_CHARS) : v;
    }
    count++;
  }
  const s: MessageSummary = {
    ...headers(m),
    size: m.body.length,
    properties: props,
    propertyCount: count,
    preview: bodyPreview(m.body, SUMMARY_PREVIEW_BYTES),
  };
  return s;
}

/** One message in full: headers, every property, a 4 KiB body preview. */
export function messageDetail(m: Message): MessageDetail {
  const d: MessageDetail = { ...headers(m), bodySize: m.body.length, properties: { ...m.properties }, body: bodyPreview(m.body, DETAIL_PREVIEW_BYTES) };
  if (m.replyTo !== undefined) d.replyTo = { type: m.replyTo.type, name: m.replyTo.name };
  if (m.groupSeq !== undefined) d.groupSeq = m.groupSeq;
  if (m.userId !== undefined) d.userId = m.userId;
  return d;
}

/**
 * The `content-type` a raw body download is answered with: the message's own when it is a plain
 * `type/subtype` (parameters allowed), else by body type. A message's content type is client input:
 * anything else (a header injection, an odd value) falls back to `application/octet-stream`.
 */
export function downloadContentType(m: Message): string {
  const ct = m.contentType;
  if (ct !== undefined && ct.length <= 200 && /^[\w.+-]+\/[\w.+-]+(\s*;\s*[\w.+-]+=("[\w .+/=-]*"|[\w.+/=-]+))*$/.test(ct)) return ct;
  if (m.bodyType === 'json') return 'application/json';
  if (m.bodyType === 'text') return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}

/** A file name for `content-disposition` from a message id: only characters safe in a quoted header value. */
export function downloadFileName(id: string): string {
  return `${id.replace(/[^\w.-]+/g, '_').slice(0, 120) || 'message'}.bin`;
}

function headers(m: Message): Omit<MessageSummary, 'properties' | 'propertyCount' | 'preview' | 'size'> {
  const h: Omit<MessageSummary, 'properties' | 'propertyCount' | 'preview' | 'size'> = {
    id: m.id,
    destination: { type: m.destination.type, name: m.destination.name },
    priority: m.priority,
    timestamp: m.timestamp,
    expiration: m.expiration,
    durable: m.durable,
    bodyType: m.bodyType,
  };
  if (m.correlationId !== undefined) h.correlationId = m.correlationId;
  if (m.type !== undefined) h.type = m.type;
  if (m.contentType !== undefined) h.contentType = m.contentType;
  if (m.groupId !== undefined) h.groupId = m.groupId;
  if (m.deliveryTime !== undefined) h.deliveryTime = m.deliveryTime;
  if (m.originalDestination !== undefined) h.originalDestination = { type: m.originalDestination.type, name: m.originalDestination.name };
  return h;
}
