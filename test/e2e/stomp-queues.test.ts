import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { bodies, connect, connectFor, eventually, maybeStats, stats } from '../helpers/stompjs.ts';

// Queues over STOMP/TCP with @stomp/stompjs: point-to-point delivery, bytes, dispatch, order,
// priority, browsing, exclusive consumers, message groups, persistence.

describe('STOMP queues (stompjs over TCP)', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker();
  });
  after(() => broker.stop());

  test('a message sent to a queue is received with its body and headers', async (t) => {
    const producer = await connectFor(t, broker);
    const consumer = await connectFor(t, broker);
    assert.equal(consumer.connected.headers.version, '1.2');
    const inbox = await consumer.subscribe('/queue/q.basic');
    await producer.send('/queue/q.basic', 'hello queue', {
      'correlation-id': 'corr-1',
      'reply-to': '/queue/q.replies',
      type: 'greeting',
      'content-type': 'text/plain',
      color: 'blue',
    });
    const m = await inbox.one();
    assert.equal(m.body, 'hello queue');
    assert.equal(m.headers.destination, '/queue/q.basic');
    assert.match(m.headers['message-id']!, /^ID:junction-/);
    assert.equal(m.headers['correlation-id'], 'corr-1');
    assert.equal(m.headers['reply-to'], '/queue/q.replies');
    assert.equal(m.headers.type, 'greeting');
    assert.equal(m.headers['content-type'], 'text/plain');
    assert.equal(m.headers.color, 'blue');
    assert.equal(m.headers.redelivered, 'false');
    assert.equal(m.headers.persistent, undefined, 'STOMP messages are non-persistent unless sent persistent:true');
    const s = stats(broker, 'q.basic');
    assert.equal(s.enqueued, 1);
    assert.equal(s.acked, 1);
    assert.equal(s.messages, 0);
  });

  test('a binary body with NUL bytes arrives byte for byte', async (t) => {
    const c = await connectFor(t, broker);
    const inbox = await c.subscribe('/queue/q.binary');
    const body = new Uint8Array(600);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) % 256;
    body[0] = 0;
    body[1] = 0;
    body[body.length - 1] = 0;
    await c.send('/queue/q.binary', body);
    const m = await inbox.one();
    assert.equal(m.headers['content-length'], String(body.length));
    assert.deepEqual(Buffer.from(m.binaryBody), Buffer.from(body));
  });

  test('a queue dispatches round-robin across two consumers, each message to one of them', async (t) => {
    const a = await connectFor(t, broker, { name: 'A' });
    const b = await connectFor(t, broker, { name: 'B' });
    const p = await connectFor(t, broker, { name: 'P' });
    const ia = await a.subscribe('/queue/q.rr');
    const ib = await b.subscribe('/queue/q.rr');
    for (let i = 0; i < 10; i++) await p.send('/queue/q.rr', `m${i}`);
    const got = [...(await ia.take(5)), ...(await ib.take(5))];
    await ia.expectNone();
    assert.equal(ib.size, 0);
    assert.deepEqual(bodies(got).sort(), Array.from({ length: 10 }, (_, i) => `m${i}`).sort());
    // Each consumer sees its share in send order.
    for (const inbox of [ia, ib]) {
      const nums = inbox.all.map((m) => Number(m.body.slice(1)));
      assert.deepEqual(nums, [...nums].sort((x, y) => x - y));
    }
  });

  test('competing producers and acking consumers: every message is delivered exactly once', async (t) => {
    const consumers = await Promise.all([1, 2, 3].map((i) => connectFor(t, broker, { name: `C${i}` })));
    const inboxes = await Promise.all(consumers.map((c) => c.subscribe('/queue/q.compete', { ack: 'client-individual', 'activemq.prefetchSize': '10' })));
    // Ack everything each consumer gets, as it arrives.
    for (const inbox of inboxes) inbox.onMessage = (m) => m.ack();
    const producers = await Promise.all([1, 2, 3].map((i) => connectFor(t, broker, { name: `P${i}` })));
    await Promise.all(producers.map(async (p, pi) => {
      for (let i = 0; i < 100; i++) p.client.publish({ destination: '/queue/q.compete', body: `p${pi}-${i}` });
      await p.sync();
    }));
    await eventually(() => assert.equal(inboxes.reduce((n, i) => n + i.all.length, 0), 300));
    const all = inboxes.flatMap((i) => bodies(i.all));
    assert.equal(new Set(all).size, 300, 'no duplicates');
    for (const inbox of inboxes) assert.ok(inbox.all.length > 0, `${inbox.label} got a share`);
    // Per producer, each consumer sees that producer's messages in send order.
    for (const inbox of inboxes) {
      for (let pi = 0; pi < 3; pi++) {
        const seq = bodies(inbox.all).filter((b) => b.startsWith(`p${pi}-`)).map((b) => Number(b.split('-')[1]));
        assert.deepEqual(seq, [...seq].sort((x, y) => x - y));
      }
    }
    await eventually(() => assert.equal(stats(broker, 'q.compete').acked, 300));
    assert.equal(stats(broker, 'q.compete').messages, 0);
  });

  test('messages from one producer arrive in send order', async (t) => {
    const c = await connectFor(t, broker);
    const n = 200;
    // Sent before anyone subscribes, without waiting for each receipt.
    for (let i = 0; i < n - 1; i++) c.client.publish({ destination: '/queue/q.order', body: `m${i}` });
    await c.send('/queue/q.order', `m${n - 1}`);
    assert.equal(stats(broker, 'q.order').messages, n);
    const inbox = await c.subscribe('/queue/q.order');
    assert.deepEqual(bodies(await inbox.take(n)), Array.from({ length: n }, (_, i) => `m${i}`));
  });

  test('a queue delivers highest priority first, FIFO within a priority', async (t) => {
    const c = await connectFor(t, broker);
    const sent: Array<{ p: number; body: string }> = [];
    for (let i = 0; i < 30; i++) {
      const p = (i * 3) % 10;
      const body = `p${p}-${i}`;
      sent.push({ p, body });
      await c.send('/queue/q.prio', body, { priority: String(p) });
    }
    const inbox = await c.subscribe('/queue/q.prio');
    const got = await inbox.take(sent.length);
    const expected = [...sent].sort((x, y) => y.p - x.p).map((s) => s.body); // stable sort: FIFO within a priority
    assert.deepEqual(bodies(got), expected);
    assert.deepEqual(got.map((m) => m.headers.priority), [...sent].sort((x, y) => y.p - x.p).map((s) => String(s.p)));
  });

  test('browsing a queue shows its messages, ends with browser:end, and consumes nothing', async (t) => {
    const c = await connectFor(t, broker);
    for (const b of ['one', 'two', 'three']) await c.send('/queue/q.browse', b);
    const browser = await c.subscribe('/queue/q.browse', { browser: 'true' });
    const seen = await browser.take(4);
    assert.deepEqual(bodies(seen.slice(0, 3)), ['one', 'two', 'three']);
    assert.equal(seen[3]!.headers.browser, 'end');
    assert.equal(seen[3]!.body, '');
    assert.equal(stats(broker, 'q.browse').messages, 3);
    assert.equal(stats(broker, 'q.browse').acked, 0);
    const inbox = await c.subscribe('/queue/q.browse');
    assert.deepEqual(bodies(await inbox.take(3)), ['one', 'two', 'three']);
    // The same ids the browser showed.
    assert.deepEqual(inbox.all.map((m) => m.headers['message-id']), seen.slice(0, 3).map((m) => m.headers['message-id']));
  });

  test('an exclusive consumer gets every message while another consumer is subscribed', async (t) => {
    const normal = await connectFor(t, broker, { name: 'normal' });
    const excl = await connectFor(t, broker, { name: 'exclusive' });
    const p = await connectFor(t, broker, { name: 'P' });
    // The ordinary consumer subscribes first: exclusivity still wins.
    const iNormal = await normal.subscribe('/queue/q.excl');
    const iExcl = await excl.subscribe('/queue/q.excl', { 'activemq.exclusive': 'true' });
    for (let i = 0; i < 6; i++) await p.send('/queue/q.excl', `m${i}`);
    assert.deepEqual(bodies(await iExcl.take(6)), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    await iNormal.expectNone();
    // When the exclusive consumer leaves, the other one takes over.
    await excl.close();
    await eventually(() => assert.equal(stats(broker, 'q.excl').consumers, 1));
    await p.send('/queue/q.excl', 'after');
    assert.deepEqual(bodies(await iNormal.take(1)), ['after']);
  });

  test('message groups stick to one consumer while it lives, then move to another', async (t) => {
    const a = await connectFor(t, broker, { name: 'A' });
    const b = await connectFor(t, broker, { name: 'B' });
    const p = await connectFor(t, broker, { name: 'P' });
    const ia = await a.subscribe('/queue/q.groups');
    const ib = await b.subscribe('/queue/q.groups');
    for (let i = 0; i < 8; i++) await p.send('/queue/q.groups', `g${i}`, { JMSXGroupID: 'G1' });
    // Ungrouped messages prove the other consumer is live and able to receive.
    for (let i = 0; i < 4; i++) await p.send('/queue/q.groups', `free${i}`);
    await eventually(() => assert.equal(ia.all.length + ib.all.length, 12));
    const [owner, other, ownerClient] = ia.all.some((m) => m.body === 'g0') ? [ia, ib, a] : [ib, ia, b];
    const grouped = (inbox: typeof ia) => inbox.all.filter((m) => m.headers.JMSXGroupID === 'G1').map((m) => m.body);
    assert.deepEqual(grouped(owner), ['g0', 'g1', 'g2', 'g3', 'g4', 'g5', 'g6', 'g7']);
    assert.deepEqual(grouped(other), []);
    assert.ok(other.all.length > 0, 'the other consumer received the ungrouped messages');

    await ownerClient.close();
    await eventually(() => assert.equal(stats(broker, 'q.groups').consumers, 1));
    const before = other.all.length;
    for (let i = 0; i < 3; i++) await p.send('/queue/q.groups', `h${i}`, { JMSXGroupID: 'G1' });
    await eventually(() => assert.equal(other.all.length, before + 3));
    assert.deepEqual(other.all.slice(before).map((m) => m.body), ['h0', 'h1', 'h2']);
  });
});

describe('STOMP persistence across a broker restart (stompjs over TCP)', () => {
  test('persistent:true messages survive close/reopen with the same store; non-persistent ones do not', async (t) => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-e2e-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const store = new MemoryStore();
    const first = await startBroker({ dataDir }, { store });
    let firstId: string;
    try {
      const c = await connect(first);
      try {
        await c.send('/queue/q.persist', 'kept-1', { persistent: 'true' });
        assert.equal(store.size, 1, 'the RECEIPT of a persistent SEND comes after the store has it');
        await c.send('/queue/q.persist', 'lost', { persistent: 'false' });
        await c.send('/queue/q.persist', 'lost-default');
        await c.send('/queue/q.persist', 'kept-2', { persistent: 'true', color: 'red' });
        assert.equal(stats(first, 'q.persist').messages, 4);
        // Peek at the id without consuming (browse).
        const browser = await c.subscribe('/queue/q.persist', { browser: 'true' });
        firstId = (await browser.one()).headers['message-id']!;
      } finally {
        await c.close();
      }
    } finally {
      await first.stop();
    }
    assert.equal(store.size, 2, 'the store holds exactly the two persistent messages');

    const second = await startBroker({ dataDir }, { store });
    t.after(() => second.stop());
    assert.equal(stats(second, 'q.persist').messages, 2);
    const c = await connectFor(t, second);
    const inbox = await c.subscribe('/queue/q.persist');
    const got = await inbox.take(2);
    assert.deepEqual(bodies(got), ['kept-1', 'kept-2']);
    assert.equal(got[0]!.headers['message-id'], firstId);
    assert.equal(got[0]!.headers.persistent, 'true');
    assert.equal(got[1]!.headers.color, 'red');
    await inbox.expectNone();
  });

  test('persistent messages survive a restart with the default journal store (same data dir)', async (t) => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-e2e-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const first = await startBroker({ dataDir });
    try {
      const c = await connect(first);
      try {
        await c.send('/queue/q.journal', 'on-disk', { persistent: 'true', color: 'amber' });
        await c.send('/queue/q.journal', 'in-memory');
        const inbox = await c.subscribe('/queue/q.journal.acked', { ack: 'client-individual' });
        await c.send('/queue/q.journal.acked', 'acked', { persistent: 'true' });
        await c.ack(await inbox.one());
      } finally {
        await c.close();
      }
    } finally {
      await first.stop();
    }
    const second = await startBroker({ dataDir });
    t.after(() => second.stop());
    const c = await connectFor(t, second);
    const inbox = await c.subscribe('/queue/q.journal');
    const m = await inbox.one();
    assert.equal(m.body, 'on-disk');
    assert.equal(m.headers.color, 'amber');
    await inbox.expectNone();
    // Anycast queues are implied by their messages: an empty one is not recreated.
    assert.equal(maybeStats(second, 'q.journal.acked')?.messages ?? 0, 0, 'an acked message does not come back');
  });
});
