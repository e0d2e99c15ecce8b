import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { bodies, connectFor, maybeStats, stats } from '../helpers/stompjs.ts';

// Address settings seen through STOMP (stompjs over TCP): last-value queues, default priority,
// address-full policies, auto-create and auto-delete. (Dead-letter and redelivery settings are
// in stomp-delivery.test.ts.)

describe('STOMP and address settings (stompjs over TCP)', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker({
      queues: ['fixed.orders'],
      addressSettings: {
        'lv.>': { lastValueKey: 'symbol' },
        'dp.>': { defaultPriority: 8 },
        'full.fail': { maxSizeBytes: 300, addressFullPolicy: 'FAIL' },
        'full.drop': { maxSizeBytes: 300, addressFullPolicy: 'DROP' },
        'fixed.>': { autoCreate: false },
        'temp.>': { autoDelete: true },
      },
    });
  });
  after(() => broker.stop());

  test('a last-value queue keeps only the latest message per key', async (t) => {
    const c = await connectFor(t, broker);
    const sends: Array<[string, string]> = [['AAPL', '1'], ['MSFT', '2'], ['AAPL', '3'], ['AAPL', '4'], ['IBM', '5']];
    for (const [symbol, price] of sends) await c.send('/queue/lv.prices', `${symbol}@${price}`, { symbol });
    assert.equal(stats(broker, 'lv.prices').messages, 3);
    const inbox = await c.subscribe('/queue/lv.prices');
    assert.deepEqual(bodies(await inbox.take(3)).sort(), ['AAPL@4', 'IBM@5', 'MSFT@2']);
    await inbox.expectNone();
  });

  test('defaultPriority applies to messages sent without a priority header', async (t) => {
    const c = await connectFor(t, broker);
    await c.send('/queue/dp.jobs', 'explicit-2', { priority: '2' });
    await c.send('/queue/dp.jobs', 'default');
    const inbox = await c.subscribe('/queue/dp.jobs');
    const got = await inbox.take(2);
    assert.deepEqual(bodies(got), ['default', 'explicit-2']);
    assert.deepEqual(got.map((m) => m.headers.priority), ['8', '2']);
  });

  test("addressFullPolicy FAIL refuses a SEND over maxSizeBytes with an ERROR", async (t) => {
    const c = await connectFor(t, broker);
    await c.send('/queue/full.fail', 'x'.repeat(100));
    await assert.rejects(c.send('/queue/full.fail', 'y'.repeat(200)), /ERROR instead of receipt .*Destination is full/);
    await c.waitClosed();
    assert.equal(stats(broker, 'full.fail').messages, 1);
  });

  test('addressFullPolicy DROP silently drops a message over maxSizeBytes', async (t) => {
    const c = await connectFor(t, broker);
    const droppedBefore = broker.core.brokerStats().dropped;
    await c.send('/queue/full.drop', 'kept'.repeat(25));
    await c.send('/queue/full.drop', 'dropped'.repeat(30));
    assert.equal(broker.core.brokerStats().dropped, droppedBefore + 1);
    const inbox = await c.subscribe('/queue/full.drop');
    assert.deepEqual(bodies(await inbox.take(1)), ['kept'.repeat(25)]);
    await inbox.expectNone();
  });

  test('with autoCreate off only configured queues exist: a SEND elsewhere gets an ERROR', async (t) => {
    const c = await connectFor(t, broker);
    await c.send('/queue/fixed.orders', 'allowed');
    assert.equal(stats(broker, 'fixed.orders').messages, 1);
    await assert.rejects(c.send('/queue/fixed.unknown', 'refused'), /Destination does not exist/);
    assert.equal(maybeStats(broker, 'fixed.unknown'), undefined);
  });

  test('an auto-created queue with autoDelete goes away when its last consumer leaves it empty', async (t) => {
    const c = await connectFor(t, broker);
    const inbox = await c.subscribe('/queue/temp.replies');
    await c.send('/queue/temp.replies', 'reply');
    await inbox.one();
    assert.ok(maybeStats(broker, 'temp.replies'));
    await c.unsubscribe(inbox);
    assert.equal(maybeStats(broker, 'temp.replies'), undefined);
    // A queue without autoDelete stays.
    const other = await c.subscribe('/queue/kept.replies');
    await c.unsubscribe(other);
    assert.ok(maybeStats(broker, 'kept.replies'));
  });
});
