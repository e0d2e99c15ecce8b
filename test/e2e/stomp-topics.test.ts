import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { bodies, connect, connectFor, eventually, maybeStats, stats } from '../helpers/stompjs.ts';

// Topics over STOMP/TCP with @stomp/stompjs: fan-out, wildcards, durable subscriptions.

describe('STOMP topics (stompjs over TCP)', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker();
  });
  after(() => broker.stop());

  test('a topic message fans out to every subscriber, in order', async (t) => {
    const subs = await Promise.all([1, 2, 3].map((i) => connectFor(t, broker, { name: `S${i}` })));
    const inboxes = await Promise.all(subs.map((s) => s.subscribe('/topic/news.fanout')));
    const p = await connectFor(t, broker);
    const sent = Array.from({ length: 20 }, (_, i) => `n${i}`);
    for (const b of sent) await p.send('/topic/news.fanout', b, { edition: 'morning' });
    for (const inbox of inboxes) {
      const got = await inbox.take(sent.length);
      assert.deepEqual(bodies(got), sent);
      assert.ok(got.every((m) => m.headers.destination === '/topic/news.fanout' && m.headers.edition === 'morning'));
    }
    // Every copy of one message carries the same message-id.
    assert.equal(new Set(inboxes.map((i) => i.all[0]!.headers['message-id'])).size, 1);
  });

  test("a '*' wildcard subscription matches exactly one segment", async (t) => {
    const c = await connectFor(t, broker);
    const inbox = await c.subscribe('/topic/sensors.*.temp');
    const sends: Array<[string, string]> = [
      ['sensors.1.temp', 'a'],
      ['sensors.1.humidity', 'no-1'],
      ['sensors.1.temp.raw', 'no-2'],
      ['sensors.temp', 'no-3'],
      ['sensors.1.2.temp', 'no-4'],
      ['other.1.temp', 'no-5'],
      ['sensors.2.temp', 'b'],
    ];
    for (const [topic, body] of sends) await c.send(`/topic/${topic}`, body);
    // One subscription is ordered: had a non-matching message been routed, it would come before 'b'.
    const got = await inbox.take(2);
    assert.deepEqual(bodies(got), ['a', 'b']);
    assert.deepEqual(got.map((m) => m.headers.destination), ['/topic/sensors.1.temp', '/topic/sensors.2.temp']);
    await inbox.expectNone();
  });

  test("a '>' wildcard subscription matches the rest of the name", async (t) => {
    const c = await connectFor(t, broker);
    const inbox = await c.subscribe('/topic/sensors.>');
    const sends: Array<[string, string]> = [
      ['sensors.1.temp', 'a'],
      ['other.1.temp', 'no-1'],
      ['sensorsX.1', 'no-2'],
      ['sensors.2.humidity', 'b'],
      ['sensors.a.b.c.d', 'c'],
    ];
    for (const [topic, body] of sends) await c.send(`/topic/${topic}`, body);
    const got = await inbox.take(3);
    assert.deepEqual(bodies(got), ['a', 'b', 'c']);
    assert.deepEqual(got.map((m) => m.headers.destination), ['/topic/sensors.1.temp', '/topic/sensors.2.humidity', '/topic/sensors.a.b.c.d']);
    await inbox.expectNone();
  });

  test('a topic message with no subscriber is not kept', async (t) => {
    const c = await connectFor(t, broker);
    const unroutedBefore = broker.core.brokerStats().unrouted;
    await c.send('/topic/news.nobody', 'lost', { persistent: 'true' });
    assert.equal(broker.core.brokerStats().unrouted, unroutedBefore + 1);
    assert.ok(!broker.core.queueStats().some((q) => q.topic === 'news.nobody' && q.messages > 0));
    const inbox = await c.subscribe('/topic/news.nobody');
    await c.send('/topic/news.nobody', 'seen');
    assert.deepEqual(bodies(await inbox.take(1)), ['seen']);
    await inbox.expectNone();
  });

  test('a non-durable subscription ends with its consumer: messages sent meanwhile are not kept', async (t) => {
    const c = await connectFor(t, broker);
    const first = await c.subscribe('/topic/news.nondurable');
    await c.send('/topic/news.nondurable', 'one');
    await first.take(1);
    await c.unsubscribe(first);
    assert.ok(!broker.core.queueStats().some((q) => q.topic === 'news.nondurable'), 'the subscription queue is gone');
    await c.send('/topic/news.nondurable', 'missed');
    const second = await c.subscribe('/topic/news.nondurable');
    await c.send('/topic/news.nondurable', 'two');
    assert.deepEqual(bodies(await second.take(1)), ['two']);
  });

  test('consumers of one shared subscription compete; other subscribers still get every message', async (t) => {
    const a = await connectFor(t, broker, { name: 'A' });
    const b = await connectFor(t, broker, { name: 'B' });
    const ia = await a.subscribe('/topic/jobs.shared', { 'shared-subscription-name': 'workers' });
    const ib = await b.subscribe('/topic/jobs.shared', { 'shared-subscription-name': 'workers' });
    const solo = await b.subscribe('/topic/jobs.shared');
    const sent = Array.from({ length: 8 }, (_, i) => `job${i}`);
    for (const body of sent) await a.send('/topic/jobs.shared', body);
    assert.deepEqual(bodies(await solo.take(8)), sent);
    await eventually(() => assert.equal(ia.all.length + ib.all.length, 8));
    assert.deepEqual([...bodies(ia.all), ...bodies(ib.all)].sort(), [...sent].sort(), 'each message once across the workers');
    assert.ok(ia.all.length > 0 && ib.all.length > 0, 'both workers got a share');
    assert.equal(stats(broker, 'workers').consumers, 2);
  });
});

describe('STOMP durable subscriptions (stompjs over TCP)', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker();
  });
  after(() => broker.stop());

  test('messages published while a durable subscriber is away are received on reconnect', async (t) => {
    const headers = { 'activemq.subscriptionName': 'sub1' };
    const first = await connect(broker, { connectHeaders: { 'client-id': 'durable-1' } });
    const live = await first.subscribe('/topic/orders.durable', headers);
    const p = await connectFor(t, broker);
    await p.send('/topic/orders.durable', 'while-online', { persistent: 'true' });
    assert.deepEqual(bodies(await live.take(1)), ['while-online']);
    await first.close();
    await eventually(() => assert.equal(stats(broker, 'durable-1.sub1').consumers, 0));

    for (const b of ['away-1', 'away-2', 'away-3']) await p.send('/topic/orders.durable', b, { persistent: 'true' });
    const s = stats(broker, 'durable-1.sub1');
    assert.equal(s.durable, true);
    assert.equal(s.topic, 'orders.durable');
    assert.equal(s.messages, 3);

    const again = await connectFor(t, broker, { connectHeaders: { 'client-id': 'durable-1' } });
    const inbox = await again.subscribe('/topic/orders.durable', headers);
    const got = await inbox.take(3);
    assert.deepEqual(bodies(got), ['away-1', 'away-2', 'away-3']);
    assert.ok(got.every((m) => m.headers.destination === '/topic/orders.durable'));
    await inbox.expectNone();
  });

  test('UNSUBSCRIBE with activemq.subscriptionName deletes the durable subscription', async (t) => {
    const c = await connectFor(t, broker, { connectHeaders: { 'client-id': 'durable-2' } });
    const p = await connectFor(t, broker);
    const inbox = await c.subscribe('/topic/orders.unsub', { 'activemq.subscriptionName': 'gone' });
    assert.equal(stats(broker, 'durable-2.gone').durable, true);
    await c.unsubscribe(inbox, { 'activemq.subscriptionName': 'gone' });
    assert.equal(maybeStats(broker, 'durable-2.gone'), undefined, 'the subscription is deleted');
    await p.send('/topic/orders.unsub', 'nobody', { persistent: 'true' });
    assert.ok(!broker.core.queueStats().some((q) => q.topic === 'orders.unsub'), 'no queue keeps the message');
  });

  test('a durable subscription that only goes inactive keeps collecting (plain UNSUBSCRIBE)', async (t) => {
    const c = await connectFor(t, broker, { connectHeaders: { 'client-id': 'durable-3' } });
    const p = await connectFor(t, broker);
    const inbox = await c.subscribe('/topic/orders.inactive', { 'activemq.subscriptionName': 'kept' });
    await c.unsubscribe(inbox);
    await p.send('/topic/orders.inactive', 'kept-while-inactive', { persistent: 'true' });
    assert.equal(stats(broker, 'durable-3.kept').messages, 1);
    const again = await c.subscribe('/topic/orders.inactive', { 'activemq.subscriptionName': 'kept' });
    assert.deepEqual(bodies(await again.take(1)), ['kept-while-inactive']);
  });

  test('a durable subscription with a selector only keeps matching messages', async (t) => {
    const headers = { 'activemq.subscriptionName': 'red-only', selector: "color = 'red'" };
    const first = await connect(broker, { connectHeaders: { 'client-id': 'durable-4' } });
    await first.subscribe('/topic/paint', headers);
    await first.close();
    await eventually(() => assert.equal(stats(broker, 'durable-4.red-only').consumers, 0));
    const p = await connectFor(t, broker);
    const colors = ['red', 'blue', 'red', 'green', 'red'];
    for (const [i, color] of colors.entries()) await p.send('/topic/paint', `${color}-${i}`, { color, persistent: 'true' });
    assert.equal(stats(broker, 'durable-4.red-only').messages, 3, 'only matching messages are stored');
    assert.equal(stats(broker, 'durable-4.red-only').enqueued, 3);

    const again = await connectFor(t, broker, { connectHeaders: { 'client-id': 'durable-4' } });
    const inbox = await again.subscribe('/topic/paint', headers);
    assert.deepEqual(bodies(await inbox.take(3)), ['red-0', 'red-2', 'red-4']);
    await inbox.expectNone();
  });

  test('a durable subscription needs a client-id: SUBSCRIBE without one gets an ERROR', async (t) => {
    const c = await connectFor(t, broker);
    c.client.subscribe('/topic/orders.noid', () => {}, { 'activemq.subscriptionName': 'x' });
    const err = await c.nextError();
    assert.equal(err.headers.message, 'Missing header');
    assert.match(err.body, /client-id/);
    await c.waitClosed();
  });
});

describe('STOMP durable subscriptions across a broker restart', () => {
  test('a durable subscription and its persistent messages survive close/reopen with the same store', async (t) => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-e2e-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const store = new MemoryStore();
    const headers = { 'activemq.subscriptionName': 'restart' };
    const first = await startBroker({ dataDir }, { store });
    try {
      const sub = await connect(first, { connectHeaders: { 'client-id': 'durable-r' } });
      await sub.subscribe('/topic/orders.restart', headers);
      await sub.close();
      await eventually(() => assert.equal(stats(first, 'durable-r.restart').consumers, 0));
      const p = await connect(first);
      await p.send('/topic/orders.restart', 'survives', { persistent: 'true' });
      await p.send('/topic/orders.restart', 'vanishes');
      await p.close();
    } finally {
      await first.stop();
    }
    const second = await startBroker({ dataDir }, { store });
    t.after(() => second.stop());
    assert.equal(stats(second, 'durable-r.restart').messages, 1);
    const c = await connectFor(t, second, { connectHeaders: { 'client-id': 'durable-r' } });
    const inbox = await c.subscribe('/topic/orders.restart', headers);
    assert.deepEqual(bodies(await inbox.take(1)), ['survives']);
    await inbox.expectNone();
  });
});
