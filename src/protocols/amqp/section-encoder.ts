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

export interface HeaderFields {
  durable: boolean;
  priority: number;
  ttl?: number;
  firstAcquirer: boolean;
  deliveryCount: number;
}

/** The header section (0x70): durable, priority, ttl, first-acquirer, delivery-count. */
export function encodeHeader(h: HeaderFields): Buffer {
  b.len = 0;
  b.byte(h.durable ? 0x41 : 0x42);
  b.byte(0x50);
  b.byte(h.priority & 0xff);
  if (h.ttl === undefined) b.byte(0x40);
  else {
    b.byte(0x70);
    b.uint32(h.ttl);
  }
  b.byte(h.firstAcquirer ? 0x41 : 0x42);
  if (h.deliveryCount === 0) b.byte(0x43);
  else {
    b.byte(0x70);
    b.uint32(h.deliveryCount);
  }
  return finishList(0x70, 0, 5);
}

export interface PropertiesFields {
  messageId?: string;
  userId?: Buffer;
  to?: string;
  subject?: string;
  replyTo?: string;
  correlationId?: string;
  contentType?: string;
  contentEncoding?: string;
  absoluteExpiryTime?: number;
  creationTime?: number;
  groupId?: string;
  groupSequence?: number;
  replyToGroupId?: string;
}

const STR = 0;
const BIN = 1;
const SYM = 2;
const TS = 3;
const UINT = 4;

/** The properties section (0x73) with string ids; trailing absent fields are left out. */
export function encodeProperties(p: PropertiesFields): Buffer {
  b.len = 0;
  const spec: Array<[number, string | Buffer | number | undefined]> = [
    [STR, p.messageId],
    [BIN, p.userId],
    [STR, p.to],
    [STR, p.subject],
    [STR, p.replyTo],
    [STR, p.correlationId],
    [SYM, p.contentType],
    [SYM, p.contentEncoding],
    [TS, p.absoluteExpiryTime],
    [TS, p.creationTime],
    [STR, p.groupId],
    [UINT, p.groupSequence],
    [STR, p.replyToGroupId],
  ];
  let count = spec.length;
  while (count > 0 && spec[count - 1]![1] === undefined) count--;
  for (let i = 0; i < count; i++) {
    const [kind, v] = spec[i]!;
    if (v === undefined) b.byte(0x40);
    else if (kind === STR) b.variable(0xa1, 0xb1, v as string);
    else if (kind === SYM) b.variable(0xa3, 0xb3, v as string);
    else if (kind === BIN) b.variable(0xa0, 0xb0, v as Buffer);
    else if (kind === TS) b.timestamp(v as number);
    else {
      b.byte(0x70);
      b.uint32(v as number);
    }
  }
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
