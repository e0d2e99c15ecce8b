import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { BrowseCursor } from '../../../src/core/handles.ts';
import type { Message } from '../../../src/core/message.ts';
import { closeCores, consume, msg, openCore, queue, sendAll, topic } from './core-fixture.ts';

// What the core facade hands out instead of its Queue and Consumer objects (core/handles.ts).

afterEach(closeCores);

/** Every message the cursor shows, reading `max` at a time, and how many calls it took. */
function drain(cursor: BrowseCursor, max: number): { shown: Message[]; calls: number } {
  const shown: Message[] = [];
  let calls = 0;
  while (!cursor.done) {
    calls++;
    const batch = cursor.next(max);
    assert.ok(batch.length <= max);
    shown.push(...batch);
  }
  return { shown, calls };
}

describe('browser with a selector', () => {
  test('shows only the messages the selector matches, in queue order, and leaves every message queued', async () => {
    const core = await openCore();
    for (let i = 0; i < 10; i++) await core.send(msg(queue('b'), `m${i}`, { properties: { n: i } }));
    const { shown } = drain(core.browser('b', undefined, 'n >= 7 OR n = 2'), 3);
    assert.deepEqual(shown.map((m) => m.body.toString()), ['m2', 'm7', 'm8', 'm9']);
    assert.equal(core.getQueue('b')!.messageCount, 10);
  });

  test('looks at no more than max messages per call: a selector matching nothing returns empty batches until done', async () => {
    const core = await openCore();
    await sendAll(core, queue('b'), ['1', '2', '3', '4', '5']);
    const cursor = core.browser('b', undefined, "color = 'none'");
    const { shown, calls } = drain(cursor, 2);
    assert.deepEqual(shown, []);
    assert.equal(calls, 4, 'three calls of at most two messages each, then the one that finds the end');
  });

  test('a selector that costs much per message: its batch is spread over several calls, every match shown (the slice itself: browse-cursor.test.ts)', async () => {
    // The costliest selector within the default limits (one 256-character LIKE stretch with `_`)
    // against 65,536-character values: ~2-4 ms an evaluation, so 200 in one call held the loop ~0.6 s.
    const core = await openCore();
    const miss = 'a'.repeat(65_536);
    const hit = `${'a'.repeat(254)}xb`;
    const expected: string[] = [];
    for (let i = 0; i < 200; i++) {
      const matches = i % 50 === 49;
      if (matches) expected.push(`m${i}`);
      await core.send(msg(queue('costly'), `m${i}`, { properties: { p: matches ? hit : miss } }));
    }
    const cursor = core.browser('costly', undefined, `p LIKE '%${'a'.repeat(254)}_b%'`);
    const shown: Message[] = [];
    let calls = 0;
    while (!cursor.done) {
      calls++;
      const batch = cursor.next(256);
      assert.ok(batch.length <= 256);
      shown.push(...batch);
    }
    assert.deepEqual(shown.map((m) => m.body.toString()), expected);
    assert.ok(calls > 2, `the batch of 200 was spread over ${calls} calls`);
    assert.equal(core.getQueue('costly')!.messageCount, 200);
  });

  test('without a selector (or a blank one) shows every message; a missing queue is done at once', async () => {
    const core = await openCore();
    await sendAll(core, queue('b'), ['a', 'b']);
    assert.deepEqual(drain(core.browser('b'), 10).shown.map((m) => m.body.toString()), ['a', 'b']);
    assert.deepEqual(drain(core.browser('b', undefined, '  '), 10).shown.map((m) => m.body.toString()), ['a', 'b']);
    const missing = core.browser('nope', undefined, 'x = 1');
    assert.deepEqual(missing.next(10), []);
    assert.equal(missing.done, true);
  });

  test('a selector that does not parse is refused as a consumer would be', async () => {
    const core = await openCore();
    assert.throws(() => core.browser('b', undefined, 'color = '), { code: 'ERR_SELECTOR_SYNTAX' });
    assert.throws(() => core.checkSelector('color = '), { code: 'ERR_SELECTOR_SYNTAX' });
    assert.doesNotThrow(() => core.checkSelector("color = 'red'"));
  });
});

describe('findSubscription and deleteIfIdle', () => {
  test('findSubscription describes a subscription queue with plain values, and nothing else', async () => {
    const core = await openCore();
    const { consumer } = await consume(core, { destination: topic('news'), selector: "kind = 'a'", subscription: { name: 's1', clientId: 'c1', durable: true, meta: { x: 1 } } });
    assert.deepEqual(core.findSubscription('c1.s1'), {
      name: 'c1.s1',
      topic: 'news',
      durable: true,
      shared: false,
      clientId: 'c1',
      subscriptionName: 's1',
      selector: "kind = 'a'",
      meta: { x: 1 },
      consumers: 1,
    });
    consumer.close();
    assert.equal(core.findSubscription('c1.s1')!.consumers, 0);
    await sendAll(core, queue('plain'), ['x']);
    assert.equal(core.findSubscription('plain'), undefined, 'an anycast queue is not a subscription');
    assert.equal(core.findSubscription('nope'), undefined);
  });

  test('deleteIfIdle deletes a subscription nobody consumes from, keeps one in use, and answers false for one gone', async () => {
    const core = await openCore();
    const { consumer } = await consume(core, { destination: topic('t'), subscription: { name: 'grp', durable: true, shared: true } });
    assert.equal(await core.deleteIfIdle('grp'), false, 'a consumer is attached');
    assert.ok(core.findSubscription('grp'));
    consumer.close();
    assert.equal(await core.deleteIfIdle('grp'), true);
    assert.equal(core.getQueue('grp'), undefined);
    assert.equal(await core.deleteIfIdle('grp'), false);
  });

  test('deleteQueue by name, or by a view that is still the live queue', async () => {
    const core = await openCore();
    const tmp = core.createTemporaryQueue('t1');
    await core.deleteQueue(tmp.name);
    assert.equal(core.getQueue(tmp.name), undefined);
    const again = core.createTemporaryQueue('t1');
    await core.deleteQueue(tmp); // the old view: the queue of that name now is another one
    assert.ok(core.getQueue(again.name), 'a stale view deletes nothing');
    await core.deleteQueue(again);
    assert.equal(core.getQueue(again.name), undefined);
  });
});

describe('consumer handle', () => {
  test('shows its queue, credit and unsettled deliveries, and settles through the handle', async () => {
    const core = await openCore();
    const { consumer, sink } = await consume(core, { destination: queue('h') }, 5);
    await sendAll(core, queue('h'), ['1', '2']);
    assert.equal(consumer.queueName, 'h');
    assert.equal(consumer.credit, 3);
    assert.equal(consumer.closed, false);
    const [d1, d2] = sink.deliveries;
    assert.deepEqual([...consumer.unacked.keys()], [d1!.id, d2!.id]);
    assert.equal(consumer.unacked.get(d1!.id)!.message.body.toString(), '1');
    await consumer.ack(d1!.id);
    assert.equal(consumer.unacked.has(d1!.id), false);
    assert.equal(consumer.unacked.size, 1);
    consumer.close();
    assert.equal(consumer.closed, true);
    assert.equal(core.getQueue('h')!.messageCount, 1, 'the unsettled one went back');
  });

  test('consumerQueueExists is false once the queue is deleted', async () => {
    const core = await openCore();
    const { consumer } = await consume(core, { destination: queue('gone') });
    assert.equal(core.consumerQueueExists(consumer), true);
    await core.deleteQueue('gone');
    assert.equal(core.consumerQueueExists(consumer), false);
  });

  test('isDeadLetterQueue: true only for a queue that is its own dead-letter address', async () => {
    const core = await openCore({ addressSettings: { '#': { deadLetterAddress: 'DLQ' } } });
    await sendAll(core, queue('DLQ'), ['x']);
    await sendAll(core, queue('work'), ['x']);
    assert.equal(core.isDeadLetterQueue('DLQ'), true);
    assert.equal(core.isDeadLetterQueue('work'), false);
    assert.equal(core.isDeadLetterQueue('missing'), false);
  });
});
