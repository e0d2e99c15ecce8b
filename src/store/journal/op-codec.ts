import type { Message } from '../../core/message.ts';
import type { StoredQueue } from '../store.ts';

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
  | { op: 'deleteQueue'; queue: string };

const CODE = { addMessage: 1, addRef: 2, removeRef: 3, deliveryCount: 4, createQueue: 5, deleteQueue: 6, restoreMessage: 7 } as const;

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
      const { body, ...headers } = op.message;
      const meta = Buffer.from(JSON.stringify(op.op === 'addMessage' ? { k: op.key, m: headers } : { k: op.key, m: headers, r: op.refs }));
      const head = Buffer.allocUnsafe(12);
      head.writeDoubleBE(op.seq, 0);
      head.writeUInt32BE(meta.length, 8);
      return Buffer.concat([head, meta, body]);
    }
    case 'addRef':
    case 'removeRef':
      return Buffer.from(JSON.stringify({ q: op.queue, k: op.key }));
    case 'deliveryCount':
      return Buffer.from(JSON.stringify({ q: op.queue, k: op.key, c: op.count }));
    case 'createQueue':
      return Buffer.from(JSON.stringify(op.queue));
    case 'deleteQueue':
      return Buffer.from(JSON.stringify({ q: op.queue }));
  }
}

const NO_BODY = Buffer.alloc(0);

/**
 * Decodes a batch payload. Bodies are copied out so the segment buffer can be released; with
 * `bodies: false` they are left out (recovery only needs keys and references).
 */
export function decodeBatch(payload: Buffer, opts: { bodies: boolean } = { bodies: true }): JournalOp[] {
  const n = payload.readUInt32BE(0);
  const ops: JournalOp[] = [];
  let at = 4;
  for (let i = 0; i < n; i++) {
    const code = payload.readUInt8(at);
    const len = payload.readUInt32BE(at + 1);
    const b = payload.subarray(at + 5, at + 5 + len);
    if (b.length !== len) throw new Error(`batch op ${i} overruns the record`);
    at += 5 + len;
    ops.push(decodeOp(code, b, opts.bodies));
  }
  return ops;
}

function decodeOp(code: number, b: Buffer, bodies: boolean): JournalOp {
  const json = () => JSON.parse(b.toString('utf8')) as Record<string, unknown>;
  switch (code) {
    case CODE.addMessage:
    case CODE.restoreMessage: {
      const seq = b.readDoubleBE(0);
      const metaLen = b.readUInt32BE(8);
      const meta = JSON.parse(b.subarray(12, 12 + metaLen).toString('utf8')) as { k: string; m: Omit<Message, 'body'>; r?: Array<[string, number]> };
      const message: Message = { ...meta.m, body: bodies ? Buffer.from(b.subarray(12 + metaLen)) : NO_BODY };
      return code === CODE.addMessage
        ? { op: 'addMessage', seq, key: meta.k, message }
        : { op: 'restoreMessage', seq, key: meta.k, message, refs: meta.r ?? [] };
    }
    case CODE.addRef:
    case CODE.removeRef: {
      const j = json();
      return { op: code === CODE.addRef ? 'addRef' : 'removeRef', queue: String(j.q), key: String(j.k) };
    }
    case CODE.deliveryCount: {
      const j = json();
      return { op: 'deliveryCount', queue: String(j.q), key: String(j.k), count: Number(j.c) };
    }
    case CODE.createQueue:
      return { op: 'createQueue', queue: json() as unknown as StoredQueue };
    case CODE.deleteQueue:
      return { op: 'deleteQueue', queue: String(json().q) };
    default:
      throw new Error(`unknown journal op code ${code}`);
  }
}
