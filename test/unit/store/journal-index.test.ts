import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '../../../src/core/message.ts';
import { JournalIndex, type RecordLocation } from '../../../src/store/journal/journal-index.ts';
import type { JournalOp } from '../../../src/store/journal/op-codec.ts';
import { SlotTable } from '../../../src/store/journal/slot-table.ts';

function msg(durable = true): Message {
  return {
    id: 'ID:x',
    destination: { type: 'queue', name: 'q' },
    body: Buffer.alloc(0),
    bodyType: 'bytes',
    durable,
    priority: 4,
    expiration: 0,
    timestamp: 0,
    properties: {},
  };
}

/** Writes batches at increasing offsets of the given segment, like the journal does. */
class Writer {
  readonly index = new JournalIndex();
  private offset = 0;
  private seq = 0;
  segment = 1;

  batch(ops: JournalOp[], length = 100): RecordLocation {
    const at = { segment: this.segment, offset: this.offset, length };
    this.offset += length;
    this.index.applyBatch(ops, at);
    return at;
  }

  send(key: string, queues: string[], opts: { durable?: boolean; length?: number } = {}): void {
    this.batch([{ op: 'addMessage', seq: ++this.seq, key, message: msg(opts.durable) }, ...queues.map((queue) => ({ op: 'addRef' as const, queue, key }))], opts.length);
  }

  ack(key: string, queue = 'q'): void {
    this.batch([{ op: 'removeRef', queue, key }]);
  }
}

function recovered(index: JournalIndex): Array<[string, Array<[string, number]>]> {
  return [...index.recovered().messages].map((m) => [m.key, m.refs.map((r) => [r.queue, r.deliveryCount] as [string, number])]);
}

test('slots of removed messages are reused and recovery still follows send order', () => {
  const w = new Writer();
  for (let i = 1; i <= 5; i++) w.send(`k${i}`, ['q']);
  w.ack('k2');
  w.ack('k4');
  assert.equal(w.index.messageCount, 3);
  w.send('k6', ['q']);
  w.send('k7', ['q']);
  w.send('k8', ['q']);
  assert.equal(w.index.messageCount, 6);
  assert.deepEqual(recovered(w.index).map(([k]) => k), ['k1', 'k3', 'k5', 'k6', 'k7', 'k8']);
  // Each key still finds its own record.
  assert.equal(w.index.locate('k6')!.seq, 6);
  assert.equal(w.index.locate('k7')!.seq, 7);
  assert.equal(w.index.locate('k2'), undefined);
  // The recovered iterable can be iterated again.
  assert.equal([...w.index.recovered().messages].length, 6);
});

test('a message referenced by several queues keeps every reference and its delivery count', () => {
  const w = new Writer();
  w.send('m', ['a', 'b', 'c']);
  w.batch([{ op: 'deliveryCount', queue: 'b', key: 'm', count: 2 }]);
  w.batch([{ op: 'deliveryCount', queue: 'a', key: 'm', count: 1 }]);
  w.batch([{ op: 'deliveryCount', queue: 'zz', key: 'm', count: 9 }]); // not referenced: ignored
  assert.deepEqual(recovered(w.index), [['m', [['a', 1], ['b', 2], ['c', 0]]]]);
  w.ack('m', 'a');
  assert.deepEqual(recovered(w.index), [['m', [['b', 2], ['c', 0]]]]);
  w.batch([{ op: 'addRef', queue: 'd', key: 'm' }]);
  assert.deepEqual(new Map(recovered(w.index)[0]![1]), new Map([['b', 2], ['c', 0], ['d', 0]]));
  w.ack('m', 'c');
  w.ack('m', 'b');
  assert.equal(w.index.liveBytes(1) > 0, true);
  w.ack('m', 'd');
  assert.equal(w.index.messageCount, 0);
  assert.equal(w.index.liveBytes(1), 0);
  assert.equal(w.index.totalLiveBytes(), 0);
});

test('live bytes per segment follow marks, and a message without references is not kept', () => {
  const w = new Writer();
  w.batch([{ op: 'addMessage', seq: 1, key: 'orphan', message: msg() }]);
  assert.equal(w.index.messageCount, 0);
  w.send('a', ['q'], { length: 300 }); // two ops: 150 bytes each
  w.segment = 2;
  w.send('b', ['q'], { length: 100 });
  assert.equal(w.index.liveBytes(1), 150);
  assert.equal(w.index.liveBytes(2), 50);
  w.ack('a');
  assert.equal(w.index.liveBytes(1), 0);
  assert.equal(w.index.totalLiveBytes(), 50);
});

test('deleteQueue drops its references; dropNonDurable forgets paged non-durable messages', () => {
  const w = new Writer();
  w.batch([{ op: 'createQueue', queue: { name: 's', kind: 'subscription', topic: 't' } }]);
  w.send('k1', ['s']);
  w.send('k2', ['s', 'q']);
  w.send('k3', ['q', 's']);
  w.send('n1', ['q'], { durable: false });
  w.batch([{ op: 'deleteQueue', queue: 's' }]);
  assert.deepEqual(w.index.liveQueues(1), []);
  assert.deepEqual(recovered(w.index), [['k2', [['q', 0]]], ['k3', [['q', 0]]], ['n1', [['q', 0]]]]);
  w.index.dropNonDurable();
  assert.deepEqual(recovered(w.index).map(([k]) => k), ['k2', 'k3']);
  // The queue id of `s` was released and a new queue name works.
  w.send('k4', ['s2']);
  assert.deepEqual(recovered(w.index).at(-1), ['k4', [['s2', 0]]]);
});

test('a restored (compacted) message replaces its old location and keeps its place in send order', () => {
  const w = new Writer();
  w.send('k1', ['q']);
  w.send('k2', ['a', 'b']);
  w.segment = 2;
  w.send('k3', ['q']);
  w.segment = 3;
  w.batch([
    { op: 'restoreMessage', seq: 1, key: 'k1', message: msg(), refs: [['q', 4]] },
    { op: 'restoreMessage', seq: 2, key: 'k2', message: msg(), refs: [['b', 1], ['a', 0]] },
  ]);
  assert.equal(w.index.liveBytes(1), 0);
  assert.equal(w.index.locate('k1')!.segment, 3);
  assert.deepEqual(recovered(w.index), [['k1', [['q', 4]]], ['k2', [['b', 1], ['a', 0]]], ['k3', [['q', 0]]]]);

  // Replayed from scratch without segment 1 (deleted), the restores come after k3: order still by seq.
  const r = new Writer();
  r.segment = 2;
  r.batch([{ op: 'addMessage', seq: 3, key: 'k3', message: msg() }, { op: 'addRef', queue: 'q', key: 'k3' }]);
  r.index.applyBatch([{ op: 'addMessage', seq: 3, key: 'k3', message: msg() }], { segment: 2, offset: 0, length: 1 }); // duplicate add: ignored
  r.segment = 3;
  r.batch([
    { op: 'restoreMessage', seq: 1, key: 'k1', message: msg(), refs: [['q', 4]] },
    { op: 'restoreMessage', seq: 2, key: 'k2', message: msg(), refs: [['b', 1], ['a', 0]] },
  ]);
  assert.deepEqual(recovered(r.index).map(([k]) => k), ['k1', 'k2', 'k3']);
  assert.equal(r.index.maxSeq, 3);
});

test('compaction finds every live key of a segment in bounded steps, in chunks of about maxBytes', () => {
  const w = new Writer();
  // 150,000 messages alternating between two segments, so the scan must cross several bounded steps.
  const inOne: string[] = [];
  for (let i = 0; i < 150_000; i++) {
    w.segment = i % 3 === 0 ? 1 : 2;
    w.send(`k${i}`, ['q'], { length: 20 }); // 10 bytes each
    if (w.segment === 1) inOne.push(`k${i}`);
  }
  for (let i = 0; i < 150_000; i += 7) if (i % 3 === 0) w.ack(`k${i}`);
  const expected = inOne.filter((k) => Number(k.slice(1)) % 7 !== 0);
  assert.equal(w.index.liveBytes(1), expected.length * 10);

  const found: string[] = [];
  let calls = 0;
  let emptyButMore = 0;
  for (;;) {
    const { keys, more } = w.index.liveKeys(1, 10_000);
    calls++;
    assert.ok(keys.length <= 1000, 'a chunk holds about maxBytes of messages');
    if (keys.length === 0 && more) emptyButMore++;
    found.push(...keys);
    if (!more) break;
    assert.ok(calls < 1000);
  }
  assert.deepEqual(found, expected);
  assert.equal(emptyButMore, 0);
  // The next pass starts over from the first slot.
  assert.deepEqual(w.index.liveKeys(1, 50).keys, expected.slice(0, 5));
  // A segment with nothing live: no keys, no further scan.
  assert.deepEqual(w.index.liveKeys(99, 1000), { keys: [], more: false });
});

test('slot table: chunks grow, freed slots are reused, scans stop where asked', () => {
  const t = new SlotTable();
  const f = (seq: number, segment: number) => ({ seq, durable: true, segment, offset: seq * 10, length: 10, size: 5 });
  const slots = Array.from({ length: 20_000 }, (_, i) => t.alloc(`k${i}`, f(i + 1, i < 10_000 ? 1 : 2)));
  assert.deepEqual(slots.slice(0, 3), [0, 1, 2]);
  assert.equal(t.capacity, 20_000);
  t.release(5);
  t.release(17_000);
  assert.equal(t.size, 19_998);
  assert.equal(t.isUsed(5), false);
  assert.equal(t.alloc('again', f(30_000, 2)), 17_000);
  assert.equal(t.alloc('again2', f(30_001, 2)), 5);
  assert.equal(t.capacity, 20_000);
  assert.equal(t.key(5), 'again2');
  assert.equal(t.segment(5), 2);
  assert.equal(t.offset(17_000), 300_000);
  assert.equal(t.queue(5), -1);
  const order = t.bySeq();
  assert.equal(order.length, 20_000);
  assert.deepEqual([...order.slice(-2)], [17_000, 5]);
  const seen: number[] = [];
  const next = t.scanSegment(2, 0, 100_000, (s) => (seen.push(s), seen.length < 3));
  assert.deepEqual(seen, [5, 10_000, 10_001]);
  assert.equal(next, 10_002);
  assert.equal(t.scanSegment(1, 0, 50, () => true), 50);
});
