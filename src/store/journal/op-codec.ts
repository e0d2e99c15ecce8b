import type { Message } from '../../core/message.ts';
import type { StateValue, StoredQueue } from '../../core/ports/store.ts';
import { HEADER_SIZE, RecordType, sealRecord } from './record.ts';

/**
 * What a journal batch record holds. `addMessage` carries the store's sequence number, which
 * orders recovery; `restoreMessage` is a live message rewritten forward by compaction, with the
 * state of its queue references at that moment.
 */
export type JournalOp =
  | { op: 'addMessage'; seq: number; key: string; message: Message }
  | { op: 'restoreMessage'; seq: number; key: string; message: Message; refs: Array<[string, number]> }
  | { op: 'addRef'; queue: string; key: string }
  | { op: 'removeRef'; queue: string; key: string }
  | { op: 'deliveryCount'; queue: string; key: string; count: number }
  | { op: 'createQueue'; queue: StoredQueue }
  | { op: 'deleteQueue'; queue: string }
  | { op: 'putState'; key: string; value: StateValue | null };

const CODE = { addMessage: 1, addRef: 2, removeRef: 3, deliveryCount: 4, createQueue: 5, deleteQueue: 6, restoreMessage: 7, putState: 8 } as const;

/** Encodes the ops of one atomic batch as a record payload. */
export function encodeBatch(ops: JournalOp[]): Buffer {
  const parts: Buffer[] = [];
  const count = Buffer.allocUnsafe(4);
  count.writeUInt32BE(ops.length, 0);
  parts.push(count);
  for (const op of ops) {
    const body = encodeOp(op);
    const head = Buffer.allocUnsafe(5);
    head.writeUInt8(CODE[op.op], 0);
    head.writeUInt32BE(body.length, 1);
    parts.push(head, body);
  }
  return Buffer.concat(parts);
}

function encodeOp(op: JournalOp): Buffer {
  switch (op.op) {
    case 'addMessage':
    case 'restoreMessage': {
      // seq f64 | flags u8 (1 = durable) | key | metaLen u32 | headers (JSON) | body.
      // Key and durability are binary so that recovery reads them without parsing the JSON.
      const body = op.message.body;
      const meta = Buffer.from(op.op === 'addMessage' ? `{"m":${headerJson(op.message)}}` : `{"m":${headerJson(op.message)},"r":${JSON.stringify(op.refs)}}`);
      const key = str(op.key);
      const head = Buffer.allocUnsafe(9);
      head.writeDoubleBE(op.seq, 0);
      head.writeUInt8(op.message.durable ? 1 : 0, 8);
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32BE(meta.length, 0);
      return Buffer.concat([head, key, len, meta, body]);
    }
    case 'addRef':
    case 'removeRef':
      return Buffer.concat([str(op.queue), str(op.key)]);
    case 'deliveryCount': {
      const c = Buffer.allocUnsafe(4);
      c.writeUInt32BE(op.count, 0);
      return Buffer.concat([str(op.queue), str(op.key), c]);
    }
    case 'createQueue':
      return Buffer.from(JSON.stringify(op.queue));
    case 'deleteQueue':
      return Buffer.from(JSON.stringify({ q: op.queue }));
    case 'putState':
      return Buffer.from(JSON.stringify({ k: op.key, v: op.value }));
  }
}

/** A batch measured for writing: its record size and the JSON strings it needs, made once. */
export interface MeasuredBatch {
  ops: JournalOp[];
  metas: Array<string | undefined>;
  /** Bytes of the whole record, header included. */
  size: number;
}

/**
 * Measures the record of `ops` (strings and JSON are measured, and the JSON kept to be written
 * once). Throws for a string the format cannot hold, so a bad batch fails at its commit.
 */
export function measureBatch(ops: JournalOp[]): MeasuredBatch {
  const metas: Array<string | undefined> = [];
  let size = HEADER_SIZE + 4;
  for (const op of ops) {
    size += 5;
    switch (op.op) {
      case 'addMessage':
      case 'restoreMessage': {
        const meta = op.op === 'addMessage' ? `{"m":${headerJson(op.message)}}` : `{"m":${headerJson(op.message)},"r":${JSON.stringify(op.refs)}}`;
        metas.push(meta);
        size += 9 + strSize(op.key) + 4 + Buffer.byteLength(meta) + op.message.body.length;
        break;
      }
      case 'addRef':
      case 'removeRef':
        metas.push(undefined);
        size += strSize(op.queue) + strSize(op.key);
        break;
      case 'deliveryCount':
        metas.push(undefined);
        size += strSize(op.queue) + strSize(op.key) + 4;
        break;
      case 'createQueue':
      case 'deleteQueue':
      case 'putState': {
        const meta = JSON.stringify(op.op === 'createQueue' ? op.queue : op.op === 'deleteQueue' ? { q: op.queue } : { k: op.key, v: op.value });
        metas.push(meta);
        size += Buffer.byteLength(meta);
        break;
      }
    }
  }
  return { ops, metas, size };
}

/**
 * Writes the record of a measured batch into `out` at `base` (`b.size` bytes) and seals it. The
 * journal writes every record of a group commit into one buffer this way, so a send costs no
 * buffer of its own.
 */
export function writeBatchRecord(out: Buffer, base: number, b: MeasuredBatch): void {
  const { ops, metas } = b;
  let at = out.writeUInt32BE(ops.length, base + HEADER_SIZE);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    out.writeUInt8(CODE[op.op], at);
    const lenAt = at + 1;
    at += 5;
    const start = at;
    const meta = metas[i];
    switch (op.op) {
      case 'addMessage':
      case 'restoreMessage': {
        at = out.writeDoubleBE(op.seq, at);
        at = out.writeUInt8(op.message.durable ? 1 : 0, at);
        at = writeStr(out, op.key, at);
        const metaLen = out.write(meta!, at + 4);
        out.writeUInt32BE(metaLen, at);
        at += 4 + metaLen;
        at += op.message.body.copy(out, at);
        break;
      }
      case 'addRef':
      case 'removeRef':
        at = writeStr(out, op.key, writeStr(out, op.queue, at));
        break;
      case 'deliveryCount':
        at = out.writeUInt32BE(op.count, writeStr(out, op.key, writeStr(out, op.queue, at)));
        break;
      case 'createQueue':
      case 'deleteQueue':
      case 'putState':
        at += out.write(meta!, at);
        break;
    }
    out.writeUInt32BE(at - start, lenAt);
  }
  if (at - base !== b.size) throw new Error(`journal record is ${at - base} bytes, measured ${b.size}`);
  sealRecord(RecordType.BATCH, base === 0 && out.length === b.size ? out : out.subarray(base, base + b.size));
}

/**
 * The batch record of `ops` (header and payload, byte for byte what `encodeRecord(BATCH,
 * encodeBatch(ops))` gives) built in ONE buffer outside Node's small-buffer pool. Pooled pieces
 * would share 8 KiB slabs with message bodies that the broker keeps in memory, and each kept body
 * would then pin a slab full of dead encoding garbage.
 */
export function encodeBatchRecord(ops: JournalOp[]): Buffer {
  const b = measureBatch(ops);
  const out = Buffer.allocUnsafeSlow(b.size);
  writeBatchRecord(out, 0, b);
  return out;
}

/**
 * A message's headers (everything but the body) as JSON: the text `JSON.stringify` gives for the
 * message without its body, in the field order `normalise` makes, built field by field (strings and
 * objects through `JSON.stringify`); about a quarter cheaper per message than stringifying a copy,
 * and an object rest copy (`{ body, ...headers }`) costs more still. `HEADER_FIELDS` makes the
 * compiler name a field added to `Message` and not written here.
 */
export function headerJson(m: Message): string {
  const S = JSON.stringify;
  let s = `{"id":${S(m.id)},"destination":${S(m.destination)},"bodyType":${S(m.bodyType)},"durable":${m.durable === true},"priority":${num(m.priority)},"expiration":${num(m.expiration)},"timestamp":${num(m.timestamp)},"properties":${S(m.properties)}`;
  if (m.correlationId !== undefined) s += `,"correlationId":${S(m.correlationId)}`;
  if (m.replyTo !== undefined) s += `,"replyTo":${S(m.replyTo)}`;
  if (m.type !== undefined) s += `,"type":${S(m.type)}`;
  if (m.contentType !== undefined) s += `,"contentType":${S(m.contentType)}`;
  if (m.groupId !== undefined) s += `,"groupId":${S(m.groupId)}`;
  if (m.groupSeq !== undefined) s += `,"groupSeq":${num(m.groupSeq)}`;
  if (m.userId !== undefined) s += `,"userId":${S(m.userId)}`;
  if (m.deliveryTime !== undefined) s += `,"deliveryTime":${num(m.deliveryTime)}`;
  if (m.originalDestination !== undefined) s += `,"originalDestination":${S(m.originalDestination)}`;
  return s + '}';
}

/** Every header `headerJson` writes; a field of `Message` missing here (or one too many) does not compile. */
export const HEADER_FIELDS = [
  'id',
  'destination',
  'bodyType',
  'durable',
  'priority',
  'expiration',
  'timestamp',
  'properties',
  'correlationId',
  'replyTo',
  'type',
  'contentType',
  'groupId',
  'groupSeq',
  'userId',
  'deliveryTime',
  'originalDestination',
] as const satisfies ReadonlyArray<Exclude<keyof Message, 'body'>>;
type MissingHeader = Exclude<Exclude<keyof Message, 'body'>, (typeof HEADER_FIELDS)[number]>;
const noMissingHeader: [MissingHeader] extends [never] ? true : MissingHeader = true;
void noMissingHeader;

/** A number as JSON writes it (a non-finite one is `null`). */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

function strSize(s: string): number {
  const n = Buffer.byteLength(s);
  if (n > 0xffff) throw new Error(`journal string too long (${n} bytes)`);
  return 2 + n;
}

function writeStr(out: Buffer, s: string, at: number): number {
  const n = out.write(s, at + 2);
  out.writeUInt16BE(n, at);
  return at + 2 + n;
}

/** A length-prefixed (u16) UTF-8 string. */
function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length > 0xffff) throw new Error(`journal string too long (${b.length} bytes)`);
  const out = Buffer.allocUnsafe(2 + b.length);
  out.writeUInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
}

/** Reads a length-prefixed string at `at`; returns it and the offset after it. */
function readStr(b: Buffer, at: number): [string, number] {
  const n = b.readUInt16BE(at);
  if (at + 2 + n > b.length) throw new Error('string overruns the op');
  return [b.toString('utf8', at + 2, at + 2 + n), at + 2 + n];
}

const NO_BODY = Buffer.alloc(0);

/** What `keysOnly` decoding gives for an added message: only `durable` is meaningful. */
const KEYS_ONLY: Message = Object.freeze<Message>({
  id: '',
  destination: { type: 'queue', name: '' },
  body: NO_BODY,
  bodyType: 'bytes',
  durable: false,
  priority: 0,
  expiration: 0,
  timestamp: 0,
  properties: {},
});

/**
 * Decodes a batch payload. Bodies are copied out so the segment buffer can be released. With
 * `keysOnly` (recovery, which needs keys, references and durability only), added messages carry
 * nothing but `durable` and their headers are not parsed.
 */
export function decodeBatch(payload: Buffer, opts: { keysOnly?: boolean } = {}): JournalOp[] {
  const n = payload.readUInt32BE(0);
  const ops: JournalOp[] = [];
  let at = 4;
  for (let i = 0; i < n; i++) {
    const code = payload.readUInt8(at);
    const len = payload.readUInt32BE(at + 1);
    const b = payload.subarray(at + 5, at + 5 + len);
    if (b.length !== len) throw new Error(`batch op ${i} overruns the record`);
    at += 5 + len;
    ops.push(decodeOp(code, b, !opts.keysOnly));
  }
  return ops;
}

function decodeOp(code: number, b: Buffer, full: boolean): JournalOp {
  switch (code) {
    case CODE.addMessage:
    case CODE.restoreMessage: {
      const seq = b.readDoubleBE(0);
      const durable = b.readUInt8(8) === 1;
      const [key, at] = readStr(b, 9);
      const metaLen = b.readUInt32BE(at);
      const metaStart = at + 4;
      if (!full && code === CODE.addMessage) return { op: 'addMessage', seq, key, message: { ...KEYS_ONLY, durable } };
      const meta = JSON.parse(b.toString('utf8', metaStart, metaStart + metaLen)) as { m: Omit<Message, 'body'>; r?: Array<[string, number]> };
      const message: Message = { ...meta.m, body: full ? Buffer.from(b.subarray(metaStart + metaLen)) : NO_BODY };
      return code === CODE.addMessage ? { op: 'addMessage', seq, key, message } : { op: 'restoreMessage', seq, key, message, refs: meta.r ?? [] };
    }
    case CODE.addRef:
    case CODE.removeRef: {
      const [queue, at] = readStr(b, 0);
      const [key] = readStr(b, at);
      return { op: code === CODE.addRef ? 'addRef' : 'removeRef', queue, key };
    }
    case CODE.deliveryCount: {
      const [queue, at] = readStr(b, 0);
      const [key, end] = readStr(b, at);
      return { op: 'deliveryCount', queue, key, count: b.readUInt32BE(end) };
    }
    case CODE.createQueue:
      return { op: 'createQueue', queue: JSON.parse(b.toString('utf8')) as StoredQueue };
    case CODE.deleteQueue:
      return { op: 'deleteQueue', queue: String((JSON.parse(b.toString('utf8')) as { q: unknown }).q) };
    case CODE.putState: {
      const s = JSON.parse(b.toString('utf8')) as { k: string; v: StateValue | null };
      return { op: 'putState', key: String(s.k), value: s.v ?? null };
    }
    default:
      throw new Error(`unknown journal op code ${code}`);
  }
}
