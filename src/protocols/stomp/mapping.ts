import { JunctionError } from '../../errors.ts';
import type { Delivery } from '../../core/handles.ts';
import { isReservedProperty } from '../../core/reserved.ts';
import type { Destination, Message, MessageInput, PropertyValue } from '../../core/message.ts';
import type { StompFrame, StompVersion } from './frame.ts';

/**
 * STOMP <-> core message mapping, ActiveMQ Classic conventions:
 * `/queue/NAME` and `/topic/NAME`; `persistent`, `priority`, `expires`, `correlation-id`,
 * `reply-to`, `type`, `content-type`, `JMSXGroupID`, `JMSXGroupSeq`, `AMQ_SCHEDULED_DELAY` map to
 * message headers; every other header is a string property.
 */

/** Headers that are part of the frame or map to message fields, never properties. */
const RESERVED = new Set([
  'destination', 'content-length', 'content-type', 'receipt', 'transaction', 'persistent', 'priority', 'expires',
  'correlation-id', 'reply-to', 'type', 'JMSXGroupID', 'JMSXGroupSeq', 'AMQ_SCHEDULED_DELAY', '_AMQ_SCHED_DELIVERY',
  'message-id', 'subscription', 'ack', 'redelivered', 'timestamp', 'original-destination', 'id',
]);

export function parseDestination(raw: string | undefined): Destination {
  if (raw === undefined || raw === '') throw new JunctionError('ERR_STOMP_MISSING_HEADER', 'Missing destination header');
  if (raw.startsWith('/queue/')) return { type: 'queue', name: raw.slice(7) };
  if (raw.startsWith('/topic/')) return { type: 'topic', name: raw.slice(7) };
  throw new JunctionError('ERR_ADDRESS_INVALID', `Invalid destination '${raw.slice(0, 200)}': use /queue/NAME or /topic/NAME`);
}

export function formatStompDestination(d: Destination): string {
  return `/${d.type}/${d.name}`;
}

function intHeader(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new JunctionError('ERR_STOMP_BAD_HEADER', `Header ${name} must be a number, got '${v.slice(0, 50)}'`);
  return Math.trunc(n);
}

/** Builds the core message of a SEND frame. Without `content-length` the body is text (ActiveMQ). */
export function messageFromSend(frame: StompFrame, now: number): MessageInput {
  const h = new Map<string, string>();
  for (const [k, v] of frame.headers) if (!h.has(k)) h.set(k, v);
  const destination = parseDestination(h.get('destination'));
  // Keyed by client input: no prototype, so `__proto__` or `constructor` are plain names.
  const properties: Record<string, PropertyValue> = Object.create(null);
  // Adapter markers (x-amqp-*: the AMQP adapter decodes them for its consumers) are dropped, not refused:
  // a STOMP client relaying a MESSAGE it got from an AMQP producer sends them back as headers, and must
  // keep working; its message then reaches AMQP consumers as the plain bytes it carries.
  for (const [k, v] of h) if (!RESERVED.has(k) && !isReservedProperty(k)) properties[k] = v;
  const m: MessageInput = {
    destination,
    body: frame.body,
    bodyType: h.has('content-length') ? 'bytes' : 'text',
    durable: h.get('persistent') === 'true',
    properties,
  };
  const priority = intHeader('priority', h.get('priority'));
  if (priority !== undefined) {
    if (priority < 0 || priority > 9) throw new JunctionError('ERR_STOMP_BAD_HEADER', `Header priority must be 0-9, got ${priority}`);
    m.priority = priority;
  }
  const expires = intHeader('expires', h.get('expires'));
  if (expires !== undefined && expires > 0) m.expiration = expires;
  const delay = intHeader('AMQ_SCHEDULED_DELAY', h.get('AMQ_SCHEDULED_DELAY'));
  if (delay !== undefined && delay > 0) m.deliveryTime = now + delay;
  const at = intHeader('_AMQ_SCHED_DELIVERY', h.get('_AMQ_SCHED_DELIVERY'));
  if (at !== undefined && at > now) m.deliveryTime = at;
  const groupSeq = intHeader('JMSXGroupSeq', h.get('JMSXGroupSeq'));
  if (groupSeq !== undefined) m.groupSeq = groupSeq;
  const opt = (k: string) => {
    const v = h.get(k);
    return v === undefined || v === '' ? undefined : v;
  };
  // An empty correlation-id, type or JMSXGroupID is the empty string, not absent: selectors tell
  // `JMSCorrelationID = ''` from `IS NULL` (issue 12; ActiveMQ Classic keeps them so too).
  const correlationId = h.get('correlation-id');
  if (correlationId !== undefined) m.correlationId = correlationId;
  const replyTo = opt('reply-to');
  if (replyTo !== undefined) m.replyTo = replyTo.startsWith('/topic/') || replyTo.startsWith('/queue/') ? parseDestination(replyTo) : { type: 'queue', name: replyTo };
  const type = h.get('type');
  if (type !== undefined) m.type = type;
  const contentType = opt('content-type');
  if (contentType !== undefined) m.contentType = contentType;
  const groupId = h.get('JMSXGroupID');
  if (groupId !== undefined) m.groupId = groupId;
  return m;
}

/** The MESSAGE frame for a delivery. `ackId` is set for client and client-individual subscriptions. */
export function messageFrame(d: Delivery, subscription: string, ackId: string | undefined, version: StompVersion): StompFrame {
  const m: Message = d.message;
  const headers: Array<[string, string]> = [
    ['subscription', subscription],
    ['message-id', m.id],
    ['destination', formatStompDestination(m.destination)],
  ];
  if (ackId !== undefined && version === '1.2') headers.push(['ack', ackId]);
  headers.push(
    ['redelivered', String(d.redelivered)],
    ['expires', String(m.expiration)],
    ['priority', String(m.priority)],
    ['timestamp', String(m.timestamp)],
  );
  if (m.durable) headers.push(['persistent', 'true']);
  if (m.correlationId !== undefined) headers.push(['correlation-id', m.correlationId]);
  if (m.replyTo !== undefined) headers.push(['reply-to', formatStompDestination(m.replyTo)]);
  if (m.type !== undefined) headers.push(['type', m.type]);
  if (m.contentType !== undefined) headers.push(['content-type', m.contentType]);
  if (m.groupId !== undefined) headers.push(['JMSXGroupID', m.groupId]);
  if (m.groupSeq !== undefined) headers.push(['JMSXGroupSeq', String(m.groupSeq)]);
  if (m.originalDestination !== undefined) headers.push(['original-destination', formatStompDestination(m.originalDestination)]);
  for (const [k, v] of Object.entries(m.properties)) {
    if (v === null || RESERVED.has(k)) continue;
    headers.push([k, String(v)]);
  }
  // Header text that the version cannot carry (a line break in 1.0, a NUL anywhere) is the encoder's
  // business: it writes every frame, so nothing can bypass it.
  return { command: 'MESSAGE', headers, body: m.body };
}
