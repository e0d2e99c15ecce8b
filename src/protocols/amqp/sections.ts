/**
 * Splits an AMQP 1.0 bare message into its encoded sections without decoding them: each section
 * is a described value, and every AMQP type code says how long its value is (spec 1.2, format
 * codes by subcategory), so a section is skipped by reading a few length bytes.
 */

import { MAX_DEPTH } from './decode-bounds.ts';

export const SECTION = {
  header: 0x70,
  deliveryAnnotations: 0x71,
  messageAnnotations: 0x72,
  properties: 0x73,
  applicationProperties: 0x74,
  data: 0x75,
  amqpSequence: 0x76,
  amqpValue: 0x77,
  footer: 0x78,
} as const;

const SYMBOLIC: Partial<Record<string, number>> = Object.assign(Object.create(null) as Record<string, number>, {
  'amqp:header:list': 0x70,
  'amqp:delivery-annotations:map': 0x71,
  'amqp:message-annotations:map': 0x72,
  'amqp:properties:list': 0x73,
  'amqp:application-properties:map': 0x74,
  'amqp:data:binary': 0x75,
  'amqp:amqp-sequence:list': 0x76,
  'amqp:value:*': 0x77,
  'amqp:footer:map': 0x78,
});

export interface RawSection {
  code: number;
  start: number;
  end: number;
}

export class SectionError extends Error {}

function need(buf: Buffer, end: number): number {
  if (end > buf.length) throw new SectionError('truncated value');
  return end;
}

/**
 * Deepest chain of descriptors skipped (a described value whose descriptor is itself described...):
 * the same bound as the decoder's nesting limit, so a run of 0x00 bytes never exhausts the stack.
 */
const MAX_DESCRIPTOR_DEPTH = MAX_DEPTH;

/** Offset just past the value starting at `pos`. Throws SectionError on a truncated or unknown encoding. */
export function skipValue(buf: Buffer, pos: number, depth = 0): number {
  if (pos >= buf.length) throw new SectionError('truncated value');
  const code = buf[pos]!;
  if (code === 0x00) {
    if (depth >= MAX_DESCRIPTOR_DEPTH) throw new SectionError(`descriptors nested deeper than ${MAX_DESCRIPTOR_DEPTH}`);
    return skipValue(buf, skipValue(buf, pos + 1, depth + 1), depth + 1);
  }
  switch (code >> 4) {
    case 0x4: return pos + 1;
    case 0x5: return need(buf, pos + 2);
    case 0x6: return need(buf, pos + 3);
    case 0x7: return need(buf, pos + 5);
    case 0x8: return need(buf, pos + 9);
    case 0x9: return need(buf, pos + 17);
    case 0xa: case 0xc: case 0xe: need(buf, pos + 2); return need(buf, pos + 2 + buf[pos + 1]!);
    case 0xb: case 0xd: case 0xf: need(buf, pos + 5); return need(buf, pos + 5 + buf.readUInt32BE(pos + 1));
    default: throw new SectionError(`invalid type code 0x${code.toString(16)}`);
  }
}

function descriptorCode(buf: Buffer, pos: number): number {
  const c = buf[pos];
  if (c === 0x53) return buf[need(buf, pos + 2) - 1]!;
  if (c === 0x80) return Number(buf.readBigUInt64BE(need(buf, pos + 9) - 8));
  if (c === 0xa3 || c === 0xb3) {
    const long = c === 0xb3;
    const len = long ? buf.readUInt32BE(need(buf, pos + 5) - 4) : buf[need(buf, pos + 2) - 1]!;
    const from = pos + (long ? 5 : 2);
    need(buf, from + len);
    return SYMBOLIC[buf.toString('latin1', from, from + len)] ?? -1;
  }
  return -1;
}

/** The sections of an encoded message, in order. */
export function splitSections(buf: Buffer): RawSection[] {
  const out: RawSection[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (buf[pos] !== 0x00) throw new SectionError(`expected a described section at offset ${pos}`);
    const code = descriptorCode(buf, pos + 1);
    const end = skipValue(buf, pos);
    if (code < 0x70 || code > 0x78) throw new SectionError(`unknown message section at offset ${pos}`);
    out.push({ code, start: pos, end });
    pos = end;
  }
  return out;
}

/** A described value's descriptor (numeric code or symbol) and where its value starts. */
export function readDescribed(buf: Buffer, pos: number): { descriptor: number | string; valueStart: number } | undefined {
  if (buf[pos] !== 0x00) return undefined;
  const d = pos + 1;
  const c = buf[d];
  if (c !== 0x53 && c !== 0x80 && c !== 0xa3 && c !== 0xb3) return undefined;
  // skipValue first: it checks that the descriptor's bytes are all there.
  const valueStart = skipValue(buf, d);
  let descriptor: number | string;
  if (c === 0x53) descriptor = buf[d + 1]!;
  else if (c === 0x80) descriptor = Number(buf.readBigUInt64BE(d + 1));
  else if (c === 0xa3) descriptor = buf.toString('latin1', d + 2, d + 2 + buf[d + 1]!);
  else if (c === 0xb3) descriptor = buf.toString('latin1', d + 5, d + 5 + buf.readUInt32BE(d + 1));
  else return undefined;
  return { descriptor, valueStart };
}
