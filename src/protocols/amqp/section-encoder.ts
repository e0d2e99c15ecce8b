import type { AmqpMessageOut } from '../../interop/amqp-message.ts';

/**
 * Direct encoders for the sections Junction writes on every outgoing message (header, properties,
 * bodies): the same bytes rhea's composites produce, without building
 * them per message. Anything unusual (non-string ids) goes through rhea instead (see mapping.ts).
 */

/** A growable byte buffer for one section at a time. */
class Bytes {
  buf = Buffer.allocUnsafe(512);
  len = 0;

  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  uint32(n: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(n >>> 0, this.len);
    this.len += 4;
  }

  timestamp(ms: number): void {
    this.ensure(9);
    this.buf[this.len++] = 0x83;
    this.buf.writeBigInt64BE(BigInt(Math.trunc(ms)), this.len);
    this.len += 8;
  }

  /** str8/str32 (0xa1/0xb1), sym8/sym32 (0xa3/0xb3) or vbin8/vbin32 (0xa0/0xb0). */
  variable(small: number, large: number, data: Buffer | string): void {
    const n = typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length;
    this.ensure(n + 5);
    if (n <= 255) {
      this.buf[this.len++] = small;
      this.buf[this.len++] = n;
    } else {
      this.buf[this.len++] = large;
      this.buf.writeUInt32BE(n, this.len);
      this.len += 4;
    }
    if (typeof data === 'string') this.buf.write(data, this.len, 'utf8');
    else data.copy(this.buf, this.len);
    this.len += n;
  }

  take(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

const b = new Bytes();

/** Writes `fields` (already encoded into `b` after `start`) as a described list section. */
function finishList(code: number, start: number, count: number): Buffer {
  const body = b.buf.subarray(start, b.len);
  const size = body.length + 4;
  const head = Buffer.allocUnsafe(3 + 9);
  head[0] = 0x00;
  head[1] = 0x53;
  head[2] = code;
  head[3] = 0xd0; // list32
  head.writeUInt32BE(size, 4);
  head.writeUInt32BE(count, 8);
  return Buffer.concat([head, body]);
}

/** The header section (0x70): durable, priority, ttl from `h`, then first-acquirer and delivery-count. */
export function encodeHeader(h: AmqpMessageOut, firstAcquirer: boolean, deliveryCount: number): Buffer {
  b.len = 0;
  b.byte(h.durable ? 0x41 : 0x42);
  b.byte(0x50);
  b.byte(h.priority & 0xff);
  if (h.ttl === undefined) b.byte(0x40);
  else {
    b.byte(0x70);
    b.uint32(h.ttl);
  }
  b.byte(firstAcquirer ? 0x41 : 0x42);
  if (deliveryCount === 0) b.byte(0x43);
  else {
    b.byte(0x70);
    b.uint32(deliveryCount);
  }
  return finishList(0x70, 0, 5);
}

function str(v: string | undefined): void {
  if (v === undefined) b.byte(0x40);
  else b.variable(0xa1, 0xb1, v);
}

function sym(v: string | undefined): void {
  if (v === undefined) b.byte(0x40);
  else b.variable(0xa3, 0xb3, v);
}

function timestamp(v: number | undefined): void {
  if (v === undefined) b.byte(0x40);
  else b.timestamp(v);
}

/**
 * The properties section (0x73) of `p` with string ids; trailing absent fields are left out. The
 * fields are written in their list order, each by its type, with no per-message table.
 */
export function encodeProperties(p: AmqpMessageOut): Buffer {
  b.len = 0;
  const count =
    p.reply_to_group_id !== undefined ? 13
    : p.group_sequence !== undefined ? 12
    : p.group_id !== undefined ? 11
    : p.creation_time !== undefined ? 10
    : p.absolute_expiry_time !== undefined ? 9
    : p.content_encoding !== undefined ? 8
    : p.content_type !== undefined ? 7
    : p.correlation_id !== undefined ? 6
    : p.reply_to !== undefined ? 5
    : p.subject !== undefined ? 4
    : p.to !== undefined ? 3
    : p.user_id !== undefined ? 2
    : p.message_id !== undefined ? 1
    : 0;
  if (count > 0) str(p.message_id);
  if (count > 1) {
    if (p.user_id === undefined) b.byte(0x40);
    else b.variable(0xa0, 0xb0, p.user_id);
  }
  if (count > 2) str(p.to);
  if (count > 3) str(p.subject);
  if (count > 4) str(p.reply_to);
  if (count > 5) str(p.correlation_id);
  if (count > 6) sym(p.content_type);
  if (count > 7) sym(p.content_encoding);
  if (count > 8) timestamp(p.absolute_expiry_time);
  if (count > 9) timestamp(p.creation_time);
  if (count > 10) str(p.group_id);
  if (count > 11) {
    if (p.group_sequence === undefined) b.byte(0x40);
    else {
      b.byte(0x70);
      b.uint32(p.group_sequence);
    }
  }
  if (count > 12) str(p.reply_to_group_id);
  return finishList(0x73, 0, count);
}

/** A data section (0x75) around `body`. */
export function encodeData(body: Buffer): Buffer {
  const n = body.length;
  const head = n <= 255 ? Buffer.from([0x00, 0x53, 0x75, 0xa0, n]) : Buffer.from([0x00, 0x53, 0x75, 0xb0, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  return Buffer.concat([head, body]);
}

/** An amqp-value section (0x77) holding a string. */
export function encodeStringValue(text: string): Buffer {
  b.len = 0;
  b.byte(0x00);
  b.byte(0x53);
  b.byte(0x77);
  b.variable(0xa1, 0xb1, text);
  return b.take();
}
