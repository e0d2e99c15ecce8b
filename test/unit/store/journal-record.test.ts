import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '../../../src/core/message.ts';
import { decodeBatch, encodeBatch, encodeBatchRecord, headerJson, measureBatch, writeBatchRecord, type JournalOp } from '../../../src/store/journal/op-codec.ts';
import { encodeRecord, findNextValidRecord, HEADER_SIZE, readRecord, RecordType } from '../../../src/store/journal/record.ts';

const message: Message = {
  id: 'ID:test-1',
  destination: { type: 'queue', name: 'orders' },
  body: Buffer.from([0, 1, 2, 255, 0]),
  bodyType: 'bytes',
  durable: true,
  priority: 7,
  expiration: 0,
  timestamp: 1700000000000,
  correlationId: 'c-1',
  replyTo: { type: 'topic', name: 'replies' },
  groupId: 'g',
  properties: { s: 'x', n: 42, f: 1.5, b: true, z: null },
};

test('a record round-trips type and payload', () => {
  const rec = encodeRecord(RecordType.BATCH, Buffer.from('hello'));
  const r = readRecord(rec, 0);
  assert.ok(r.ok);
  assert.equal(r.record.type, RecordType.BATCH);
  assert.equal(r.record.payload.toString(), 'hello');
  assert.equal(r.record.size, HEADER_SIZE + 5);
});

test('the end of the buffer reads as end, not as an error', () => {
  const rec = encodeRecord(RecordType.BATCH, Buffer.from('x'));
  assert.deepEqual(readRecord(rec, rec.length), { ok: false, reason: 'end' });
});

test('a cut record reads as short at its offset', () => {
  const rec = encodeRecord(RecordType.BATCH, Buffer.from('hello world'));
  for (const cut of [1, HEADER_SIZE - 1, HEADER_SIZE, rec.length - 1]) {
    const r = readRecord(rec.subarray(0, cut), 0);
    assert.deepEqual(r, { ok: false, reason: 'short', offset: 0 }, `cut at ${cut}`);
  }
});

test('a flipped payload byte fails the CRC', () => {
  const rec = encodeRecord(RecordType.BATCH, Buffer.from('hello world'));
  rec[HEADER_SIZE + 3]! ^= 0x01;
  assert.deepEqual(readRecord(rec, 0), { ok: false, reason: 'crc', offset: 0 });
});

test('a flipped type byte fails the CRC', () => {
  const rec = encodeRecord(RecordType.BATCH, Buffer.from('abc'));
  rec[2]! ^= 0x04;
  assert.equal((readRecord(rec, 0) as { reason: string }).reason, 'crc');
});

test('a wrong magic is reported as magic', () => {
  const rec = encodeRecord(RecordType.BATCH, Buffer.from('abc'));
  rec[0] = 0;
  assert.equal((readRecord(rec, 0) as { reason: string }).reason, 'magic');
});

test('findNextValidRecord finds a valid record after a corrupt one, and -1 when none follows', () => {
  const a = encodeRecord(RecordType.BATCH, Buffer.from('first'));
  const b = encodeRecord(RecordType.BATCH, Buffer.from('second'));
  const buf = Buffer.concat([a, b]);
  buf[HEADER_SIZE + 1]! ^= 0xff;
  assert.equal(findNextValidRecord(buf, 0), a.length);
  const tail = Buffer.concat([a, b]);
  tail[a.length + HEADER_SIZE]! ^= 0xff;
  assert.equal(findNextValidRecord(tail, a.length), -1);
});

test('a batch of every op kind round-trips, message bodies byte for byte', () => {
  const ops: JournalOp[] = [
    { op: 'addMessage', seq: 12, key: 'k1', message },
    { op: 'addRef', queue: 'orders', key: 'k1' },
    { op: 'deliveryCount', queue: 'orders', key: 'k1', count: 3 },
    { op: 'removeRef', queue: 'orders', key: 'k1' },
    { op: 'createQueue', queue: { name: 'c.s', kind: 'subscription', topic: 'a.>', selector: "x = 'y'", clientId: 'c', subscriptionName: 's' } },
    { op: 'deleteQueue', queue: 'c.s' },
    { op: 'restoreMessage', seq: 5, key: 'k0', message, refs: [['q1', 2], ['q2', 0]] },
  ];
  const back = decodeBatch(encodeBatch(ops));
  assert.deepEqual(back, ops);
  // The one-buffer record encoder writes the same bytes as payload-then-frame.
  const record = encodeBatchRecord(ops);
  assert.deepEqual(record, encodeRecord(RecordType.BATCH, encodeBatch(ops)));
  const read = readRecord(record, 0);
  assert.ok(read.ok);
  assert.deepEqual(decodeBatch(read.record.payload), ops);
  const add = back[0] as { message: Message };
  assert.ok(Buffer.isBuffer(add.message.body));
  assert.deepEqual([...add.message.body], [0, 1, 2, 255, 0]);
});

test('an empty-bodied message round-trips', () => {
  const m = { ...message, body: Buffer.alloc(0) };
  const [op] = decodeBatch(encodeBatch([{ op: 'addMessage', seq: 1, key: 'k', message: m }]));
  assert.equal((op as { message: Message }).message.body.length, 0);
});

test('keys-only decoding gives key, sequence and durability without parsing headers or copying bodies', () => {
  const payload = encodeBatch([
    { op: 'addMessage', seq: 9, key: 'k9', message: { ...message, durable: false } },
    { op: 'addRef', queue: 'q', key: 'k9' },
  ]);
  const [add, ref] = decodeBatch(payload, { keysOnly: true });
  assert.equal(add!.op, 'addMessage');
  const a = add as { seq: number; key: string; message: Message };
  assert.equal(a.seq, 9);
  assert.equal(a.key, 'k9');
  assert.equal(a.message.durable, false);
  assert.equal(a.message.body.length, 0);
  assert.deepEqual(ref, { op: 'addRef', queue: 'q', key: 'k9' });
});

test('names with multi-byte characters round-trip', () => {
  const ops: JournalOp[] = [{ op: 'deliveryCount', queue: 'größe.ü', key: 'κ-1', count: 70000 }];
  assert.deepEqual(decodeBatch(encodeBatch(ops)), ops);
});

test('the one-buffer record encoder matches for multi-byte names and empty bodies, and refuses over-long strings', () => {
  const ops: JournalOp[] = [
    { op: 'deliveryCount', queue: 'größe.ü', key: 'κ-1', count: 70000 },
    { op: 'addMessage', seq: 2, key: 'ключ', message: { ...message, body: Buffer.alloc(0), properties: { ü: 'ß' } } },
    { op: 'createQueue', queue: { name: 'sub.é', kind: 'subscription', topic: 't.ü', meta: { qos: 1 } } },
  ];
  assert.deepEqual(encodeBatchRecord(ops), encodeRecord(RecordType.BATCH, encodeBatch(ops)));
  assert.deepEqual(encodeBatchRecord([]), encodeRecord(RecordType.BATCH, encodeBatch([])));
  assert.throws(() => encodeBatchRecord([{ op: 'addRef', queue: 'x'.repeat(70_000), key: 'k' }]), /too long/);
});

test('records written one after another into a shared buffer (a group commit) are each the record encodeBatchRecord gives', () => {
  const full: Message = {
    ...message,
    type: 't',
    contentType: 'text/plain',
    groupSeq: 3,
    userId: 'u',
    deliveryTime: 1700000001000,
    originalDestination: { type: 'topic', name: 'a.b' },
  };
  const batches: JournalOp[][] = [
    [{ op: 'addMessage', seq: 1, key: 'k1', message: full }, { op: 'addRef', queue: 'q', key: 'k1' }],
    [{ op: 'removeRef', queue: 'q', key: 'k0' }],
    [{ op: 'restoreMessage', seq: 2, key: 'k2', message, refs: [['q', 2]] }, { op: 'putState', key: 's', value: { a: 1 } }],
  ];
  const measured = batches.map(measureBatch);
  const buf = Buffer.alloc(measured.reduce((n, b) => n + b.size, 0) + 7, 0xee);
  let at = 3;
  for (const b of measured) {
    writeBatchRecord(buf, at, b);
    at += b.size;
  }
  at = 3;
  for (const ops of batches) {
    const one = encodeBatchRecord(ops);
    assert.deepEqual(buf.subarray(at, at + one.length), one);
    const r = readRecord(buf, at);
    assert.ok(r.ok);
    assert.deepEqual(decodeBatch(r.record.payload), ops);
    at += one.length;
  }
  // Nothing written outside the records.
  assert.deepEqual([...buf.subarray(0, 3), ...buf.subarray(at)], Array(7).fill(0xee));
});

test('headerJson is the JSON of the message without its body, for every optional header and for none', () => {
  const full: Message = {
    ...message,
    type: 't"q',
    contentType: 'text/plain',
    groupSeq: 3,
    userId: 'ü',
    deliveryTime: 1700000001000,
    originalDestination: { type: 'topic', name: 'a.b' },
  };
  const bare: Message = { id: 'i', destination: { type: 'topic', name: 't' }, body: Buffer.alloc(1), bodyType: 'text', durable: false, priority: 0, expiration: Number.NaN, timestamp: 1, properties: {} };
  for (const m of [message, full, bare]) {
    const { body: _body, ...headers } = m;
    // The same JSON value (key order aside: readers parse it).
    assert.deepEqual(JSON.parse(headerJson(m)), JSON.parse(JSON.stringify(headers)));
  }
});
