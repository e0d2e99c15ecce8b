import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { StoreOp } from '../../../src/core/ports/store.ts';
import { MemoryStore } from '../../../src/store/memory-store.ts';
import { closeCores, consume, msg, openCore, queue, rejection, topic } from './core-fixture.ts';

// What a core gets back from its store when it opens again, and what happens when the store fails.

afterEach(closeCores);

describe('recovery', () => {
  test('durable queue messages come back in order; non-durable ones do not', async () => {
    const store = new MemoryStore();
    const first = await openCore({ store });
    await first.send(msg(queue('orders'), 'durable-1', { durable: true }));
    await first.send(msg(queue('orders'), 'transient', { durable: false }));
    await first.send(msg(queue('orders'), 'durable-2', { durable: true }));
    await first.close();

    const second = await openCore({ store });
    const { sink } = await consume(second, { destination: queue('orders') });
    assert.deepEqual(sink.bodies, ['durable-1', 'durable-2']);
  });

  test('recovered messages keep their id and delivery count', async () => {
    const store = new MemoryStore();
    const first = await openCore({ store });
    const sent = await first.send(msg(queue('orders'), 'retried', { durable: true }));
    const { consumer, sink } = await consume(first, { destination: queue('orders') }, 2);
    await consumer.nack(sink.deliveries[0]!.id);
    await consumer.nack(sink.deliveries[1]!.id);
    await first.close();

    const second = await openCore({ store });
    const again = await consume(second, { destination: queue('orders') });
    const d = again.sink.deliveries[0]!;
    assert.equal(d.message.id, sent.id);
    assert.equal(d.deliveryCount, 3);
    assert.equal(d.redelivered, true);
  });

  test('acknowledged messages do not come back', async () => {
    const store = new MemoryStore();
    const first = await openCore({ store });
    await first.send(msg(queue('orders'), 'done', { durable: true }));
    await first.send(msg(queue('orders'), 'pending', { durable: true }));
    const { consumer, sink } = await consume(first, { destination: queue('orders') }, 1);
    await consumer.ack(sink.deliveries[0]!.id);
    await first.close();

    const second = await openCore({ store });
    const again = await consume(second, { destination: queue('orders') });
    assert.deepEqual(again.sink.bodies, ['pending']);
  });

  test('dead-lettered messages come back in the dead-letter queue, not the original', async () => {
    const store = new MemoryStore();
    const first = await openCore({ store });
    await first.send(msg(queue('orders'), 'poison', { durable: true }));
    const { consumer, sink } = await consume(first, { destination: queue('orders') });
    await consumer.nack(sink.deliveries[0]!.id, { deadLetter: true });
    await first.close();

    const second = await openCore({ store });
    assert.equal(second.getQueue('orders')?.messageCount ?? 0, 0);
    assert.deepEqual(second.browse('ActiveMQ.DLQ').map((m) => m.body.toString()), ['poison']);
  });

  test('durable subscriptions come back with their messages; non-durable ones do not', async () => {
    const store = new MemoryStore();
    const first = await openCore({ store });
    const durable = { name: 'audit', clientId: 'c1', durable: true };
    const sub = await consume(first, { destination: topic('events'), subscription: durable });
    sub.consumer.close();
    const transientSub = await consume(first, { destination: topic('events') });
    await first.send(msg(topic('events'), 'e1', { durable: true }));
    assert.deepEqual(transientSub.sink.bodies, ['e1']);
    await first.close();

    const second = await openCore({ store });
    const subscriptions = second.queueStats().filter((s) => s.kind === 'subscription');
    assert.deepEqual(subscriptions.map((s) => [s.name, s.topic, s.messages]), [['c1.audit', 'events', 1]]);
    const again = await consume(second, { destination: topic('events'), subscription: durable });
    assert.deepEqual(again.sink.bodies, ['e1']);
  });

  test('a recovered durable subscription keeps its selector', async () => {
    const store = new MemoryStore();
    const first = await openCore({ store });
    const durable = { name: 'eu', clientId: 'c1', durable: true };
    const sub = await consume(first, { destination: topic('events'), subscription: durable, selector: "region = 'eu'" });
    sub.consumer.close();
    await first.close();

    const second = await openCore({ store });
    await second.send(msg(topic('events'), 'us', { properties: { region: 'us' } }));
    await second.send(msg(topic('events'), 'eu', { properties: { region: 'eu' } }));
    const again = await consume(second, { destination: topic('events'), subscription: durable, selector: "region = 'eu'" });
    assert.deepEqual(again.sink.bodies, ['eu']);
  });

  test('a deleted durable subscription does not come back', async () => {
    const store = new MemoryStore();
    const first = await openCore({ store });
    const sub = await consume(first, { destination: topic('events'), subscription: { name: 'gone', clientId: 'c1', durable: true } });
    sub.consumer.close();
    await first.deleteSubscription('gone', 'c1');
    await first.close();

    const second = await openCore({ store });
    assert.equal(second.getQueue('c1.gone'), undefined);
  });
});

/** A store that accepts `open` but fails every commit, as a full disk would. */
class FailingStore extends MemoryStore {
  override async commit(_batch: StoreOp[]): Promise<void> {
    throw new Error('disk full');
  }
}

describe('store failure', () => {
  test('a durable send rejects with ERR_STORE_FAILED and the message is not enqueued', async () => {
    const core = await openCore({ store: new FailingStore() });
    const { sink } = await consume(core, { destination: queue('orders') });
    const err = await rejection(core.send(msg(queue('orders'), 'lost', { durable: true })));
    assert.equal(err.code, 'ERR_STORE_FAILED');
    assert.match(err.message, /disk full/);
    assert.equal(core.getQueue('orders')!.messageCount, 0);
    assert.deepEqual(sink.bodies, []);
  });

  test('a non-durable send does not touch the store and succeeds', async () => {
    const core = await openCore({ store: new FailingStore() });
    await core.send(msg(queue('orders'), 'transient'));
    assert.equal(core.getQueue('orders')!.messageCount, 1);
  });

  test('a failed transaction commit delivers none of its sends', async () => {
    const core = await openCore({ store: new FailingStore() });
    const { sink } = await consume(core, { destination: queue('orders') });
    const tx = core.createTransaction();
    await core.send(msg(queue('orders'), 'a', { durable: true }), { tx });
    await core.send(msg(queue('orders'), 'b'), { tx });
    const err = await rejection(core.commit(tx));
    assert.equal(err.code, 'ERR_STORE_FAILED');
    assert.deepEqual(sink.bodies, []);
  });

  test('a send after close is refused with ERR_BROKER_CLOSED', async () => {
    const core = await openCore();
    await core.close();
    const err = await rejection(core.send(msg(queue('orders'), 'late')));
    assert.equal(err.code, 'ERR_BROKER_CLOSED');
  });
});
