import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import type { QueueStats } from '../../src/core/handles.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import type { StoreOp } from '../../src/core/ports/store.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { bodies, missing, pyTest, runPython, unique } from '../helpers/stomp-python.ts';

// End-to-end: stomp.py (an independently written STOMP client) talks to an embedded broker over
// TCP, through the scenario runner in test/helpers/stomp-python.ts.

describe('stomp.py against Junction over TCP', () => {
  let broker: TestBroker | undefined;
  const port = () => broker!.ports.stomp!;
  const stats = (queue: string): QueueStats | undefined => broker!.core.queueStats().find((q) => q.name === queue);

  before(async () => {
    if (!missing) broker = await startBroker();
  });
  after(async () => {
    await broker?.stop();
  });

  pyTest('queue: text and binary bodies and headers arrive intact, in order', async () => {
    const q = unique('basic');
    const texts = ['plain', 'ünïcødé ✓ 日本', 'two\nlines\r\nand a : colon', ''];
    const binary = Buffer.from([0x00, 0xff, 0x00, 0x0a, 0x7f, 0x80, 0x00]);
    const run = await runPython(port(), [
      { op: 'connect', conn: 'p' },
      { op: 'send', conn: 'p', destination: `/queue/${q}`, bodies: texts, headers: { 'x-trace': 'abc', 'x-colon': 'a:b\\c' } },
      { op: 'send', conn: 'p', destination: `/queue/${q}`, bodies_b64: [binary.toString('base64')] },
      { op: 'connect', conn: 'c' },
      { op: 'subscribe', conn: 'c', destination: `/queue/${q}`, id: 'sub-basic' },
      { op: 'receive', conn: 'c', count: 5, quiet: 0.2, as: 'got' },
      { op: 'disconnect', conn: 'p' },
      { op: 'disconnect', conn: 'c' },
    ]);
    const got = run.messages('got');
    assert.deepEqual(bodies(got), [...texts, null]);
    assert.deepEqual(Buffer.from(got[4]!.body_b64, 'base64'), binary);
    for (const m of got.slice(0, 4)) {
      assert.equal(m.headers['x-trace'], 'abc');
      assert.equal(m.headers['x-colon'], 'a:b\\c', 'STOMP 1.2 header escaping round-trips');
    }
    for (const m of got) {
      assert.equal(m.cmd, 'MESSAGE');
      assert.equal(m.headers.destination, `/queue/${q}`);
      assert.equal(m.headers.subscription, 'sub-basic');
      assert.equal(m.headers.redelivered, 'false');
      assert.match(m.headers['message-id'] ?? '', /^ID:/);
    }
    assert.equal(new Set(got.map((m) => m.headers['message-id'])).size, 5, 'message ids are distinct');
    const s = stats(q);
    assert.equal(s?.enqueued, 5);
    assert.equal(s?.messages, 0, 'auto-acked messages left the queue');
  });

  pyTest('topic: two stomp.py subscribers each get every message, in order', async () => {
    const t = `/topic/${unique('fan')}`;
    const sent = ['f0', 'f1', 'f2', 'f3', 'f4'];
    const run = await runPython(port(), [
      { op: 'connect', conn: 'a' },
      { op: 'connect', conn: 'b' },
      { op: 'subscribe', conn: 'a', destination: t, id: 'fan-a' },
      { op: 'subscribe', conn: 'b', destination: t, id: 'fan-b' },
      { op: 'connect', conn: 'p' },
      { op: 'send', conn: 'p', destination: t, bodies: sent },
      { op: 'receive', conn: 'a', count: 5, quiet: 0.2, as: 'a' },
      { op: 'receive', conn: 'b', count: 5, quiet: 0.2, as: 'b' },
      { op: 'disconnect', conn: 'a' },
      { op: 'disconnect', conn: 'b' },
      { op: 'disconnect', conn: 'p' },
    ]);
    const a = run.messages('a');
    const b = run.messages('b');
    assert.deepEqual(bodies(a), sent);
    assert.deepEqual(bodies(b), sent);
    assert.ok(a.every((m) => m.headers.subscription === 'fan-a' && m.headers.destination === t));
    assert.ok(b.every((m) => m.headers.subscription === 'fan-b' && m.headers.destination === t));
    assert.deepEqual(
      a.map((m) => m.headers['message-id']),
      b.map((m) => m.headers['message-id']),
      'both subscribers see the same message ids',
    );
  });

  pyTest('client-individual: after reconnect exactly the unacked messages return, redelivered, same ids', async () => {
    const q = unique('ci');
    const dest = `/queue/${q}`;
    const first = await runPython(port(), [
      { op: 'connect', conn: 'p' },
      { op: 'send', conn: 'p', destination: dest, bodies: ['m0', 'm1', 'm2', 'm3'], headers: { persistent: 'true' } },
      { op: 'disconnect', conn: 'p' },
      { op: 'connect', conn: 'c' },
      { op: 'subscribe', conn: 'c', destination: dest, id: 'ci-1', ack: 'client-individual' },
      { op: 'receive', conn: 'c', count: 4, quiet: 0.2, as: 'got' },
      { op: 'ack', conn: 'c', bodies: ['m1', 'm3'] },
      { op: 'disconnect', conn: 'c' },
    ]);
    const got = first.messages('got');
    assert.deepEqual(bodies(got), ['m0', 'm1', 'm2', 'm3']);
    assert.ok(got.every((m) => m.headers.redelivered === 'false'));
    assert.ok(got.every((m) => typeof m.headers.ack === 'string' && m.headers.ack !== ''), 'STOMP 1.2 MESSAGE carries an ack header');
    assert.equal(stats(q)?.messages, 2, 'two acked, two still held');
    assert.equal(stats(q)?.acked, 2);

    const second = await runPython(port(), [
      { op: 'connect', conn: 'c' },
      { op: 'subscribe', conn: 'c', destination: dest, id: 'ci-2', ack: 'client-individual' },
      { op: 'receive', conn: 'c', count: 2, quiet: 0.4, as: 'again' },
      { op: 'ack', conn: 'c', bodies: ['m0', 'm2'] },
      { op: 'disconnect', conn: 'c' },
    ]);
    const again = second.messages('again');
    assert.deepEqual(bodies(again), ['m0', 'm2']);
    const idOf = (body: string) => got.find((m) => m.body === body)?.headers['message-id'];
    for (const m of again) {
      assert.equal(m.headers.redelivered, 'true', `${m.body} is marked redelivered`);
      assert.equal(m.headers['message-id'], idOf(m.body!), `${m.body} keeps its message-id`);
    }
    assert.equal(stats(q)?.messages, 0);
  });

  pyTest('client (cumulative) ack settles every earlier message; the rest return after a dropped connection', async () => {
    const q = unique('cumulative');
    const dest = `/queue/${q}`;
    const first = await runPython(port(), [
      { op: 'connect', conn: 'p' },
      { op: 'send', conn: 'p', destination: dest, bodies: ['c0', 'c1', 'c2', 'c3'] },
      { op: 'connect', conn: 'c' },
      { op: 'subscribe', conn: 'c', destination: dest, id: 'cum-1', ack: 'client' },
      { op: 'receive', conn: 'c', count: 4, quiet: 0.2, as: 'got' },
      { op: 'ack', conn: 'c', bodies: ['c2'] },
      // Gone without DISCONNECT, as a crashed client.
      { op: 'drop', conn: 'c' },
      { op: 'disconnect', conn: 'p' },
    ]);
    assert.deepEqual(bodies(first.messages('got')), ['c0', 'c1', 'c2', 'c3']);
    assert.equal(stats(q)?.acked, 3, 'one ACK settled c0, c1 and c2');
    assert.equal(stats(q)?.messages, 1);

    const second = await runPython(port(), [
      { op: 'connect', conn: 'c' },
      { op: 'subscribe', conn: 'c', destination: dest, id: 'cum-2', ack: 'client' },
      { op: 'receive', conn: 'c', count: 1, quiet: 0.4, as: 'again' },
      { op: 'ack', conn: 'c', bodies: ['c3'] },
      { op: 'disconnect', conn: 'c' },
    ]);
    const again = second.messages('again');
    assert.deepEqual(bodies(again), ['c3']);
    assert.equal(again[0]!.headers.redelivered, 'true');
    assert.equal(again[0]!.headers['message-id'], first.messages('got')[3]!.headers['message-id']);
    assert.equal(stats(q)?.messages, 0);
  });

  pyTest('NACK dead-letters the message to ActiveMQ.DLQ with original-destination and the same id', async () => {
    const q = unique('nack');
    const dest = `/queue/${q}`;
    const dlqBefore = stats('ActiveMQ.DLQ')?.messages ?? 0;
    assert.equal(dlqBefore, 0, 'no other test dead-letters');
    const run = await runPython(port(), [
      { op: 'connect', conn: 'p' },
      { op: 'send', conn: 'p', destination: dest, bodies: ['poison', 'fine'], headers: { 'x-kind': 'nack-test' } },
      { op: 'connect', conn: 'c' },
      { op: 'subscribe', conn: 'c', destination: dest, id: 'nack-1', ack: 'client-individual' },
      { op: 'receive', conn: 'c', count: 2, quiet: 0.2, as: 'got' },
      { op: 'nack', conn: 'c', bodies: ['poison'] },
      { op: 'ack', conn: 'c', bodies: ['fine'] },
      { op: 'subscribe', conn: 'c', destination: '/queue/ActiveMQ.DLQ', id: 'dlq', ack: 'client-individual' },
      { op: 'receive', conn: 'c', count: 1, quiet: 0.3, as: 'dlq' },
      { op: 'ack', conn: 'c', bodies: ['poison'] },
      { op: 'disconnect', conn: 'c' },
      { op: 'disconnect', conn: 'p' },
    ]);
    const poison = run.messages('got').find((m) => m.body === 'poison');
    const dlq = run.messages('dlq');
    assert.deepEqual(bodies(dlq), ['poison']);
    const dead = dlq[0]!;
    assert.equal(dead.headers.destination, '/queue/ActiveMQ.DLQ');
    assert.equal(dead.headers.subscription, 'dlq');
    assert.equal(dead.headers['original-destination'], dest);
    assert.equal(dead.headers['message-id'], poison?.headers['message-id'], 'the dead-lettered copy keeps its id');
    assert.equal(dead.headers['x-kind'], 'nack-test', 'properties survive dead-lettering');
    assert.ok(dead.headers.dlqDeliveryFailureCause, 'dlqDeliveryFailureCause is set');
    assert.equal(stats(q)?.messages, 0);
    assert.equal(stats(q)?.deadLettered, 1);
    assert.equal(stats('ActiveMQ.DLQ')?.messages, 0, 'the DLQ copy was acked');
  });

  pyTest('transactions: a committed SEND delivers at COMMIT, an aborted one never', async () => {
    const q = unique('tx');
    const dest = `/queue/${q}`;
    const run = await runPython(port(), [
      { op: 'connect', conn: 'c' },
      { op: 'subscribe', conn: 'c', destination: dest, id: 'tx-sub' },
      { op: 'connect', conn: 'p' },
      { op: 'begin', conn: 'p', transaction: 'tx-commit' },
      { op: 'send', conn: 'p', destination: dest, bodies: ['a1', 'a2'], transaction: 'tx-commit' },
      { op: 'begin', conn: 'p', transaction: 'tx-abort' },
      { op: 'send', conn: 'p', destination: dest, bodies: ['b1'], transaction: 'tx-abort' },
      { op: 'receive', conn: 'c', count: 0, quiet: 0.3, as: 'before' },
      { op: 'commit', conn: 'p', transaction: 'tx-commit' },
      { op: 'abort', conn: 'p', transaction: 'tx-abort' },
      { op: 'receive', conn: 'c', count: 2, quiet: 0.3, as: 'after' },
      { op: 'disconnect', conn: 'p' },
      { op: 'disconnect', conn: 'c' },
    ]);
    assert.deepEqual(bodies(run.messages('before')), [], 'nothing is delivered before COMMIT');
    assert.deepEqual(bodies(run.messages('after')), ['a1', 'a2'], 'the committed sends, not the aborted one');
    assert.equal(stats(q)?.enqueued, 2);
  });

  pyTest('transactional ACK: committed removes the message, aborted leaves it to return', async () => {
    const q = unique('txack');
    const dest = `/queue/${q}`;
    const first = await runPython(port(), [
      { op: 'connect', conn: 'p' },
      { op: 'send', conn: 'p', destination: dest, bodies: ['t0', 't1'], headers: { persistent: 'true' } },
      { op: 'disconnect', conn: 'p' },
      { op: 'connect', conn: 'c' },
      { op: 'subscribe', conn: 'c', destination: dest, id: 'txack-1', ack: 'client-individual' },
      { op: 'receive', conn: 'c', count: 2, quiet: 0.2, as: 'got' },
      { op: 'begin', conn: 'c', transaction: 'ack-commit' },
      { op: 'ack', conn: 'c', bodies: ['t0'], transaction: 'ack-commit' },
      { op: 'begin', conn: 'c', transaction: 'ack-abort' },
      { op: 'ack', conn: 'c', bodies: ['t1'], transaction: 'ack-abort' },
      { op: 'commit', conn: 'c', transaction: 'ack-commit' },
      { op: 'abort', conn: 'c', transaction: 'ack-abort' },
      { op: 'disconnect', conn: 'c' },
    ]);
    assert.deepEqual(bodies(first.messages('got')), ['t0', 't1']);
    assert.equal(stats(q)?.acked, 1, 'only the committed ACK took effect');
    assert.equal(stats(q)?.messages, 1);

    const second = await runPython(port(), [
      { op: 'connect', conn: 'c' },
      { op: 'subscribe', conn: 'c', destination: dest, id: 'txack-2', ack: 'client-individual' },
      { op: 'receive', conn: 'c', count: 1, quiet: 0.4, as: 'again' },
      { op: 'ack', conn: 'c', bodies: ['t1'] },
      { op: 'disconnect', conn: 'c' },
    ]);
    const again = second.messages('again');
    assert.deepEqual(bodies(again), ['t1']);
    assert.equal(again[0]!.headers.redelivered, 'true');
    assert.equal(stats(q)?.messages, 0);
  });

  pyTest('SUBSCRIBE selector on headers (numeric-looking strings compare as numbers)', async () => {
    const q = unique('selector');
    const dest = `/queue/${q}`;
    const send = (body: string, headers: Record<string, string>) => ({ op: 'send', conn: 'p', destination: dest, bodies: [body], headers });
    const run = await runPython(port(), [
      { op: 'connect', conn: 'p' },
      send('red-10', { color: 'red', level: '10' }),
      send('red-3', { color: 'red', level: '3' }),
      send('blue-10', { color: 'blue', level: '10' }),
      send('red-5', { color: 'red', level: '5' }),
      send('none', {}),
      { op: 'connect', conn: 'c' },
      { op: 'subscribe', conn: 'c', destination: dest, id: 'sel', headers: { selector: "color = 'red' AND level > 4" } },
      { op: 'receive', conn: 'c', count: 2, quiet: 0.4, as: 'matched' },
      { op: 'connect', conn: 'rest' },
      { op: 'subscribe', conn: 'rest', destination: dest, id: 'all' },
      { op: 'receive', conn: 'rest', count: 3, quiet: 0.2, as: 'rest' },
      { op: 'disconnect', conn: 'c' },
      { op: 'disconnect', conn: 'rest' },
      { op: 'disconnect', conn: 'p' },
    ]);
    assert.deepEqual(bodies(run.messages('matched')), ['red-10', 'red-5']);
    assert.deepEqual(bodies(run.messages('rest')), ['red-3', 'blue-10', 'none'], 'non-matching messages stay on the queue for others');
  });

  pyTest('STOMP 1.1 (Connection11): negotiate 1.1, ack by message-id and subscription', async () => {
    const q = unique('v11');
    const dest = `/queue/${q}`;
    const run = await runPython(port(), [
      { op: 'connect', conn: 'c', version: '1.1', as: 'connected' },
      { op: 'send', conn: 'c', destination: dest, bodies: ['v0', 'v1'], headers: { 'x-colon': 'a:b' } },
      { op: 'subscribe', conn: 'c', destination: dest, id: 'v11-sub', ack: 'client-individual' },
      { op: 'receive', conn: 'c', count: 2, quiet: 0.2, as: 'got' },
      { op: 'ack', conn: 'c', bodies: ['v1'] },
      { op: 'disconnect', conn: 'c' },
    ]);
    assert.equal(run.get('connected').connected?.version, '1.1');
    const got = run.messages('got');
    assert.deepEqual(bodies(got), ['v0', 'v1']);
    for (const m of got) {
      assert.equal(m.headers.ack, undefined, 'STOMP 1.1 MESSAGE has no ack header');
      assert.equal(m.headers.subscription, 'v11-sub');
      assert.equal(m.headers['x-colon'], 'a:b', 'STOMP 1.1 header escaping round-trips');
    }
    const s = stats(q);
    assert.equal(s?.acked, 1, 'the ACK by message-id settled v1 only');
    assert.equal(s?.messages, 1);
    assert.equal(broker!.core.browse(q)[0]?.body.toString(), 'v0');
  });

  pyTest('an invalid destination gets an ERROR frame with a message header', async () => {
    const run = await runPython(
      port(),
      [
        { op: 'connect', conn: 'c' },
        { op: 'send', conn: 'c', destination: '/nowhere/x', bodies: ['x'], expect: 'error', as: 'err' },
      ],
      { errorsExpected: true },
    );
    const err = run.get('err').error;
    assert.equal(err?.cmd, 'ERROR');
    assert.equal(err?.headers.message, 'Invalid destination');
    assert.match(err?.body ?? '', /\/nowhere\/x/);
    assert.equal(run.errors.length, 1);
  });
});

/** A memory store that holds every batch storing a message for `queue` until released. */
class GatedStore extends MemoryStore {
  readonly held: StoreOp[][] = [];
  private unblock!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.unblock = resolve));
  private onHold!: () => void;
  /** Resolves when the first gated batch arrives. */
  readonly holding = new Promise<void>((resolve) => (this.onHold = resolve));

  private readonly queue: string;

  constructor(queue: string) {
    super();
    this.queue = queue;
  }

  override async commit(batch: StoreOp[]): Promise<void> {
    if (batch.some((op) => op.op === 'addRef' && op.queue === this.queue)) {
      this.held.push(batch);
      this.onHold();
      await this.gate;
    }
    return super.commit(batch);
  }

  /** Lets held and later batches through. */
  release(): void {
    this.unblock();
  }
}

describe('stomp.py persistent SEND with receipt', () => {
  pyTest('the RECEIPT of a persistent SEND waits for the store; a non-persistent one is not stored', async () => {
    const q = unique('persistent');
    const dest = `/queue/${q}`;
    const store = new GatedStore(q);
    const broker = await startBroker({}, { store });
    try {
      const run = await runPython(
        broker.ports.stomp!,
        [
          { op: 'connect', conn: 'p' },
          { op: 'send', conn: 'p', destination: dest, bodies: ['transient'], as: 'transient' },
          { op: 'send', conn: 'p', destination: dest, bodies: ['durable'], headers: { persistent: 'true' }, receipt_timeout: 0.5, allow_missing_receipt: true, as: 'held' },
          { op: 'await_receipts', conn: 'p', as: 'released' },
          { op: 'connect', conn: 'c' },
          { op: 'subscribe', conn: 'c', destination: dest, id: 'p-sub' },
          { op: 'receive', conn: 'c', count: 2, quiet: 0.2, as: 'got' },
          { op: 'disconnect', conn: 'c' },
          { op: 'disconnect', conn: 'p' },
        ],
        {
          // 1. Python reports the persistent SEND's receipt still missing; 2. the store lets the write finish.
          onStep: (s) => {
            if (s.as === 'held') void store.holding.then(() => store.release());
          },
        },
      );
      assert.equal(run.get('transient').receipts?.length, 1, 'a non-persistent SEND is confirmed without the store');
      assert.equal(run.get('held').missing?.length, 1, 'no RECEIPT while the store has not confirmed the write');
      assert.deepEqual(run.get('released').receipts, run.get('held').missing, 'the RECEIPT came once the store confirmed');
      assert.equal(store.held.length, 1, 'only the persistent message was stored');
      const stored = store.held[0]!.find((op) => op.op === 'addMessage');
      assert.ok(stored?.op === 'addMessage');
      assert.equal(stored.message.body.toString(), 'durable');
      assert.equal(stored.message.durable, true);
      const got = run.messages('got');
      assert.deepEqual(bodies(got), ['transient', 'durable']);
      assert.equal(got[0]!.headers.persistent, undefined);
      assert.equal(got[1]!.headers.persistent, 'true');
    } finally {
      store.release();
      await broker.stop();
    }
  });
});
