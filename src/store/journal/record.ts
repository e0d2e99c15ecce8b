import { crc32c } from '@node-rs/crc32';

/**
 * Journal record framing: every record is
 *
 *   magic u16 (0x4A4E, "JN") | type u8 | length u32 | crc32c u32 | payload (length bytes)
 *
 * big-endian, with the CRC32C over type, length and payload. The magic lets recovery tell a torn
 * tail (nothing valid follows) from corruption in the middle (a valid record follows).
 */
export const RECORD_MAGIC = 0x4a4e;
export const HEADER_SIZE = 11;
/** Upper bound on one record's payload; anything larger in a header is corruption. */
export const MAX_RECORD_PAYLOAD = 1024 * 1024 * 1024;

export const RecordType = {
  /** One atomic batch of store operations (a send, an ack, a transaction commit, a compaction step). */
  BATCH: 1,
} as const;

export function encodeRecord(type: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  out.writeUInt16BE(RECORD_MAGIC, 0);
  out.writeUInt8(type, 2);
  out.writeUInt32BE(payload.length, 3);
  payload.copy(out, HEADER_SIZE);
  out.writeUInt32BE(crcOf(out, 0, payload.length), 7);
  return out;
}

/**
 * Fills in the header of a record whose payload was written in place at `HEADER_SIZE` of `out`
 * (`out` is exactly one record), so a record is built in one buffer without copying its payload.
 */
export function sealRecord(type: number, out: Buffer): Buffer {
  const len = out.length - HEADER_SIZE;
  out.writeUInt16BE(RECORD_MAGIC, 0);
  out.writeUInt8(type, 2);
  out.writeUInt32BE(len, 3);
  out.writeUInt32BE(crcOf(out, 0, len), 7);
  return out;
}

function crcOf(buf: Buffer, start: number, len: number): number {
  // Type and length (bytes 2..6), then the payload.
  const head = buf.subarray(start + 2, start + 7);
  const body = buf.subarray(start + HEADER_SIZE, start + HEADER_SIZE + len);
  return crc32c(body, crc32c(head)) >>> 0;
}

export interface DecodedRecord {
  type: number;
  offset: number;
  /** Total bytes of the record, header included. */
  size: number;
  payload: Buffer;
}

export type ReadResult =
  | { ok: true; record: DecodedRecord }
  | { ok: false; reason: 'end' }
  | { ok: false; reason: 'short' | 'magic' | 'length' | 'crc'; offset: number };

/** Reads the record at `offset` of a segment's bytes. */
export function readRecord(buf: Buffer, offset: number): ReadResult {
  if (offset === buf.length) return { ok: false, reason: 'end' };
  if (buf.length - offset < HEADER_SIZE) return { ok: false, reason: 'short', offset };
  if (buf.readUInt16BE(offset) !== RECORD_MAGIC) return { ok: false, reason: 'magic', offset };
  const len = buf.readUInt32BE(offset + 3);
  if (len > MAX_RECORD_PAYLOAD) return { ok: false, reason: 'length', offset };
  if (buf.length - offset - HEADER_SIZE < len) return { ok: false, reason: 'short', offset };
  if (buf.readUInt32BE(offset + 7) !== crcOf(buf, offset, len)) return { ok: false, reason: 'crc', offset };
  return {
    ok: true,
    record: { type: buf.readUInt8(offset + 2), offset, size: HEADER_SIZE + len, payload: buf.subarray(offset + HEADER_SIZE, offset + HEADER_SIZE + len) },
  };
}

/** The offset of the next valid record after a bad one, or -1: tells middle corruption from a torn tail. */
export function findNextValidRecord(buf: Buffer, from: number): number {
  const m0 = RECORD_MAGIC >> 8;
  const m1 = RECORD_MAGIC & 0xff;
  for (let i = buf.indexOf(m0, from + 1); i >= 0 && i + HEADER_SIZE <= buf.length; i = buf.indexOf(m0, i + 1)) {
    if (buf[i + 1] === m1 && readRecord(buf, i).ok) return i;
  }
  return -1;
}
