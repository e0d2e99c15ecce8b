import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { TEMPORARY_PREFIX } from '../../../src/core/core.ts';
import { MemoryStore } from '../../../src/store/memory-store.ts';
import { closeCores, consume, msg, openCore, queue, sendAll, topic } from './core-fixture.ts';

// Core additions the AMQP adapter relies on: undeliverable-here, temporary queues, address checks.

afterEach(closeCores);

describe('nack with undeliverableHere', () => {
  test('the message goes to another consumer, never back to the one that refused it', async () => {
    const core = await openCore();
    await sendAll(core, queue('q'), ['m']);
    const a = await consume(core, { destination: queue('q') });
    const [d] = await a.sink.count(1);
    const b = await consume(core, { destination: queue('q') });
    await a.consumer.nack(d!.id, { undelivered: true, undeliverableHere: true });
    const [again] = await b.sink.count(1);
    assert.equal(again!.message.body.toString(), 'm');
    assert.equal(again!.deliveryCount, 1, 'undelivered: the count is not raised');
    assert.equal(a.sink.deliveries.length, 1);
  });

  test('a refused message waits for another consumer rather than return to the same one', async () => {
    const core = await openCore();
    await sendAll(core, queue('q'), ['m', 'n']);
    const a = await consume(core, { destination: queue('q') }, 1);
    const [d] = await a.sink.count(1);
    await a.consumer.nack(d!.id, { undeliverableHere: true });
    a.consumer.grant(5);
    await a.sink.count(2);
    assert.deepEqual(a.sink.bodies, ['m', 'n']);
    assert.equal(core.getQueue('q')!.messageCount, 2, 'm is still queued for someone else');
    const b = await consume(core, { destination: queue('q') });
    const [got] = await b.sink.count(1);
    assert.equal(got!.message.body.toString(), 'm');
  });
});

describe('temporary queues', () => {
  test('are created with the $tmp. prefix even when auto-create is off, and deleted by their owner', async () => {
    const core = await openCore({ addressSettings: { '>': { autoCreate: false } } });
    const q = core.createTemporaryQueue('abc');
    assert.equal(q.name, `${TEMPORARY_PREFIX}abc`);
    await core.send(msg(queue(q.name), 'reply', { durable: true }));
    const { sink } = await consume(core, { destination: queue(q.name) });
    await sink.count(1);
    await core.deleteQueue(q);
    assert.equal(core.getQueue(q.name), undefined);
  });

  test('store nothing, so they are not recovered', async () => {
    const store = new MemoryStore();
    const core = await openCore({ store });
    const q = core.createTemporaryQueue('t1');
    await core.send(msg(queue(q.name), 'x', { durable: true }));
    await core.close();
    const again = await openCore({ store });
    assert.equal(again.getQueue(q.name), undefined);
  });

  test('refuse a name already in use', async () => {
    const core = await openCore();
    core.createTemporaryQueue('dup');
    assert.throws(() => core.createTemporaryQueue('dup'), { code: 'ERR_ADDRESS_INVALID' });
  });
});

describe('assertAddress', () => {
  test('passes for existing or auto-creatable addresses and throws ERR_ADDRESS_NOT_FOUND otherwise', async () => {
    const core = await openCore({ queues: ['known'], topics: ['news'], addressSettings: { '>': { autoCreate: false }, 'auto.>': { autoCreate: true } } });
    core.assertAddress(queue('known'));
    core.assertAddress(topic('news'));
    core.assertAddress(queue('auto.x'));
    assert.throws(() => core.assertAddress(queue('missing')), { code: 'ERR_ADDRESS_NOT_FOUND' });
    assert.throws(() => core.assertAddress(topic('missing')), { code: 'ERR_ADDRESS_NOT_FOUND' });
  });
});

describe('isBlocked', () => {
  test('is true while sends wait for room under BLOCK, for the queue and for a topic feeding it', async () => {
    const core = await openCore({ addressSettings: { 'full.>': { maxSizeBytes: 200, addressFullPolicy: 'BLOCK' } } });
    assert.equal(core.isBlocked(queue('full.q')), false);
    await core.send(msg(queue('full.q'), 'x'.repeat(100)));
    const blocked = core.send(msg(queue('full.q'), 'y'.repeat(100)));
    assert.equal(core.isBlocked(queue('full.q')), true);
    const { consumer, sink } = await consume(core, { destination: queue('full.q') });
    await consumer.ack((await sink.count(1))[0]!.id);
    await blocked;
    assert.equal(core.isBlocked(queue('full.q')), false);
    const sub = await consume(core, { destination: topic('full.t') }, 0);
    await core.send(msg(topic('full.t'), 'x'.repeat(100)));
    const t = core.send(msg(topic('full.t'), 'y'.repeat(100)));
    assert.equal(core.isBlocked(topic('full.t')), true);
    sub.consumer.grant(1);
    await sub.consumer.ack((await sub.sink.count(1))[0]!.id);
    await t;
    assert.equal(core.isBlocked(topic('full.t')), false);
  });
});
