import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { bodies, connectFor, eventually, stats } from '../helpers/stompjs.ts';

// Selectors, TTL/expiry and scheduled delivery over STOMP/TCP with @stomp/stompjs.

describe('STOMP selectors (stompjs over TCP)', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker();
  });
  after(() => broker.stop());

  test("a numeric-looking header compares numerically: level:10 matches 'level > 4'", async (t) => {
    const c = await connectFor(t, broker);
    const inbox = await c.subscribe('/queue/sel.level', { selector: 'level > 4' });
    for (const level of ['10', '3', '5', '4', '100', 'x']) await c.send('/queue/sel.level', `level-${level}`, { level });
    assert.deepEqual(bodies(await inbox.take(3)), ['level-10', 'level-5', 'level-100']);
    await inbox.expectNone();
    // The others stay in the queue for consumers without that selector.
    assert.equal(stats(broker, 'sel.level').messages, 3);
  });

  test('string equality, IN and boolean logic on STOMP headers', async (t) => {
    const c = await connectFor(t, broker);
    const inbox = await c.subscribe('/queue/sel.string', { selector: "region = 'eu' AND (kind IN ('order', 'refund') OR urgent = 'yes')" });
    const sends: Array<[string, Record<string, string>]> = [
      ['a', { region: 'eu', kind: 'order' }],
      ['no-1', { region: 'us', kind: 'order' }],
      ['b', { region: 'eu', kind: 'ping', urgent: 'yes' }],
      ['no-2', { region: 'eu', kind: 'ping' }],
      ['no-3', { kind: 'order' }],
      ['c', { region: 'eu', kind: 'refund' }],
    ];
    for (const [body, headers] of sends) await c.send('/queue/sel.string', body, headers);
    assert.deepEqual(bodies(await inbox.take(3)), ['a', 'b', 'c']);
    await inbox.expectNone();
  });

  test('JMSPriority in a selector is the STOMP priority header', async (t) => {
    const c = await connectFor(t, broker);
    const inbox = await c.subscribe('/queue/sel.prio', { selector: 'JMSPriority >= 7' });
    for (const p of [3, 8, 0, 9, 6, 7]) await c.send('/queue/sel.prio', `p${p}`, { priority: String(p) });
    assert.deepEqual(bodies(await inbox.take(3)), ['p8', 'p9', 'p7']);
    await inbox.expectNone();
  });

  test('LIKE with % and _ wildcards and ESCAPE', async (t) => {
    const c = await connectFor(t, broker);
    const inbox = await c.subscribe('/queue/sel.like', { selector: "name LIKE 'temp%' AND code LIKE 'A\\_%' ESCAPE '\\' AND city NOT LIKE '_ondon'" });
    const sends: Array<[string, Record<string, string>]> = [
      ['a', { name: 'temperature', code: 'A_1', city: 'Paris' }],
      ['no-1', { name: 'pressure', code: 'A_1', city: 'Paris' }],
      ['no-2', { name: 'temp', code: 'AB1', city: 'Paris' }],
      ['no-3', { name: 'temp', code: 'A_1', city: 'London' }],
      ['b', { name: 'temp', code: 'A_', city: 'Londonderry' }],
    ];
    for (const [body, headers] of sends) await c.send('/queue/sel.like', body, headers);
    assert.deepEqual(bodies(await inbox.take(2)), ['a', 'b']);
    await inbox.expectNone();
  });

  test('a selector on a topic subscription filters what the subscriber gets', async (t) => {
    const c = await connectFor(t, broker);
    const hot = await c.subscribe('/topic/sel.readings', { selector: 'value >= 30.5' });
    const all = await c.subscribe('/topic/sel.readings');
    for (const v of ['12', '30.5', '29.9', '41']) await c.send('/topic/sel.readings', `v${v}`, { value: v });
    assert.deepEqual(bodies(await all.take(4)), ['v12', 'v30.5', 'v29.9', 'v41']);
    assert.deepEqual(bodies(await hot.take(2)), ['v30.5', 'v41']);
    await hot.expectNone();
  });

  test('a bad selector gets an ERROR frame that names the position', async (t) => {
    const c = await connectFor(t, broker);
    c.client.subscribe('/queue/sel.bad', () => {}, { selector: "color = 'red' AND AND size > 2" });
    const err = await c.nextError();
    assert.equal(err.headers.message, 'Invalid selector');
    // The second AND starts at offset 18.
    assert.match(err.body, /position 18\b/);
    await c.waitClosed();
  });
});

describe('STOMP TTL and scheduled delivery (stompjs over TCP)', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker({ expiryScanPeriod: 20 });
  });
  after(() => broker.stop());

  test('a message whose expires is in the past is never delivered and lands in the DLQ', async (t) => {
    const c = await connectFor(t, broker);
    const expires = String(Date.now() - 60_000);
    await c.send('/queue/ttl.past', 'stale', { expires, persistent: 'true' });
    await c.send('/queue/ttl.past', 'fresh');
    const inbox = await c.subscribe('/queue/ttl.past');
    assert.deepEqual(bodies(await inbox.take(1)), ['fresh']);
    await inbox.expectNone();
    await eventually(() => assert.equal(stats(broker, 'ttl.past').expired, 1));

    const all = await c.subscribe('/queue/ActiveMQ.DLQ');
    const m = await all.one();
    assert.equal(m.body, 'stale');
    assert.equal(m.headers['original-destination'], '/queue/ttl.past');
    assert.match(m.headers.dlqDeliveryFailureCause ?? '', /expired/i);
    assert.equal(m.headers.expires, '0', 'the dead-lettered copy does not expire again');
    await c.unsubscribe(all);
  });

  test('a message with a short TTL on a queue with no consumer expires into the DLQ', async (t) => {
    const c = await connectFor(t, broker);
    await c.send('/queue/ttl.short', 'short-lived', { expires: String(Date.now() + 100), persistent: 'true' });
    assert.equal(stats(broker, 'ttl.short').enqueued, 1);
    // The expiry sweep moves it: wait for it in the DLQ (an event), then check the queue.
    const dlq = await c.subscribe('/queue/ActiveMQ.DLQ');
    const m = await dlq.one();
    assert.equal(m.body, 'short-lived');
    assert.equal(m.headers['original-destination'], '/queue/ttl.short');
    const s = stats(broker, 'ttl.short');
    assert.equal(s.expired, 1);
    assert.equal(s.messages, 0);
    const inbox = await c.subscribe('/queue/ttl.short');
    await inbox.expectNone();
    await c.unsubscribe(dlq);
  });

  test('AMQ_SCHEDULED_DELAY holds a message back, then delivers it', async (t) => {
    const c = await connectFor(t, broker);
    const inbox = await c.subscribe('/queue/sched.delay');
    await c.send('/queue/sched.delay', 'delayed', { AMQ_SCHEDULED_DELAY: '1000' });
    await c.send('/queue/sched.delay', 'now');
    assert.equal(stats(broker, 'sched.delay').scheduled, 1);
    assert.deepEqual(bodies(await inbox.take(1)), ['now']);
    await inbox.expectNone(250);
    assert.deepEqual(bodies(await inbox.take(1, 6000)), ['delayed']);
    assert.equal(stats(broker, 'sched.delay').scheduled, 0);
  });
});
