import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { closeCores, consume, msg, openCore, rejection, sendAll, topic } from './core-fixture.ts';

// Topic subscriptions: each is a queue of its own (non-durable, durable or shared), routed by wildcard.

afterEach(closeCores);

describe('non-durable subscriptions', () => {
  test('every subscriber gets every message, in order', async () => {
    const core = await openCore();
    const a = await consume(core, { destination: topic('news') });
    const b = await consume(core, { destination: topic('news') });
    await sendAll(core, topic('news'), ['1', '2', '3']);
    assert.deepEqual(a.sink.bodies, ['1', '2', '3']);
    assert.deepEqual(b.sink.bodies, ['1', '2', '3']);
  });

  test('a message sent with no subscriber is not kept, and counts as unrouted', async () => {
    const core = await openCore();
    await sendAll(core, topic('news'), ['early']);
    const a = await consume(core, { destination: topic('news') });
    assert.deepEqual(a.sink.bodies, []);
    assert.equal(core.brokerStats().unrouted, 1);
  });

  test('the subscription queue is deleted when its consumer closes', async () => {
    const core = await openCore();
    const a = await consume(core, { destination: topic('news') });
    await sendAll(core, topic('news'), ['1']);
    const subQueue = a.sink.deliveries[0]!.queue;
    assert.ok(core.getQueue(subQueue));
    a.consumer.close();
    assert.equal(core.getQueue(subQueue), undefined);
  });

  test('a subscription selector keeps only matching messages', async () => {
    const core = await openCore();
    const a = await consume(core, { destination: topic('news'), selector: "lang = 'en'" });
    await core.send(msg(topic('news'), 'fr', { properties: { lang: 'fr' } }));
    await core.send(msg(topic('news'), 'en', { properties: { lang: 'en' } }));
    assert.deepEqual(a.sink.bodies, ['en']);
    assert.equal(core.getQueue(a.sink.deliveries[0]!.queue)!.statistics().enqueued, 1);
  });
});

describe('durable subscriptions', () => {
  const durable = { name: 'sub1', clientId: 'client1', durable: true };

  test('a durable subscription keeps messages while its consumer is away', async () => {
    const core = await openCore();
    const first = await consume(core, { destination: topic('news'), subscription: durable });
    first.consumer.close();
    await sendAll(core, topic('news'), ['while away']);
    assert.equal(core.getQueue('client1.sub1')!.messageCount, 1);
    const again = await consume(core, { destination: topic('news'), subscription: durable });
    assert.deepEqual(again.sink.bodies, ['while away']);
  });

  test('a second active consumer on a durable subscription is refused', async () => {
    const core = await openCore();
    await consume(core, { destination: topic('news'), subscription: durable });
    const err = await rejection(core.createConsumer({ destination: topic('news'), subscription: durable, sink: { deliver() {} } }));
    assert.equal(err.code, 'ERR_SUBSCRIPTION_IN_USE');
  });

  test('deleteSubscription removes an inactive durable subscription and its messages', async () => {
    const core = await openCore();
    const first = await consume(core, { destination: topic('news'), subscription: durable });
    first.consumer.close();
    await sendAll(core, topic('news'), ['gone']);
    await core.deleteSubscription('sub1', 'client1');
    assert.equal(core.getQueue('client1.sub1'), undefined);
    const again = await consume(core, { destination: topic('news'), subscription: durable });
    assert.deepEqual(again.sink.bodies, []);
  });

  test('a send to a queue named like a durable subscription is refused, not slipped into it', async () => {
    const core = await openCore();
    const first = await consume(core, { destination: topic('news'), subscription: durable });
    first.consumer.close();
    const err = await rejection(core.send(msg({ type: 'queue', name: 'client1.sub1' }, 'intruder')));
    assert.equal(err.code, 'ERR_ADDRESS_INVALID');
    assert.equal(core.getQueue('client1.sub1')!.messageCount, 0);
  });

  test('resubscribing with another selector replaces the subscription', async () => {
    const core = await openCore();
    const first = await consume(core, { destination: topic('news'), subscription: durable });
    first.consumer.close();
    await sendAll(core, topic('news'), ['old']);
    const again = await consume(core, { destination: topic('news'), subscription: durable, selector: 'x = 1' });
    assert.deepEqual(again.sink.bodies, []);
  });
});

describe('shared subscriptions', () => {
  test('consumers of a shared subscription compete for its messages', async () => {
    const core = await openCore();
    const shared = { name: 'workers', durable: false, shared: true };
    const a = await consume(core, { destination: topic('jobs'), subscription: shared });
    const b = await consume(core, { destination: topic('jobs'), subscription: shared });
    const c = await consume(core, { destination: topic('jobs') });
    await sendAll(core, topic('jobs'), ['1', '2', '3', '4']);
    assert.deepEqual(a.sink.bodies, ['1', '3']);
    assert.deepEqual(b.sink.bodies, ['2', '4']);
    assert.deepEqual(c.sink.bodies, ['1', '2', '3', '4'], 'a separate subscription still gets every message');
  });
});

describe('wildcard subscriptions', () => {
  test('* matches exactly one segment', async () => {
    const core = await openCore();
    const a = await consume(core, { destination: topic('sensors.*.temp') });
    for (const name of ['sensors.1.temp', 'sensors.1.hum', 'sensors.1.temp.max', 'sensors.temp', 'sensors.2.temp']) {
      await core.send(msg(topic(name), name));
    }
    assert.deepEqual(a.sink.bodies, ['sensors.1.temp', 'sensors.2.temp']);
  });

  test('> matches the rest, including nothing', async () => {
    const core = await openCore();
    const a = await consume(core, { destination: topic('sensors.>') });
    for (const name of ['sensors.1.temp', 'sensors', 'other.1', 'sensors.2']) await core.send(msg(topic(name), name));
    assert.deepEqual(a.sink.bodies, ['sensors.1.temp', 'sensors', 'sensors.2']);
  });

  test('a wildcard is refused for a queue consumer', async () => {
    const core = await openCore();
    const err = await rejection(core.createConsumer({ destination: { type: 'queue', name: 'a.*' }, sink: { deliver() {} } }));
    assert.equal(err.code, 'ERR_ADDRESS_INVALID');
  });

  test('a wildcard is refused as a send destination', async () => {
    const core = await openCore();
    const err = await rejection(core.send(msg(topic('a.>'), 'x')));
    assert.equal(err.code, 'ERR_ADDRESS_INVALID');
  });
});
