import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { closeCores, consume, msg, openCore, queue, rejection, sendAll } from './core-fixture.ts';

// Expiry, scheduling, last-value queues, address-full policies, transactions and management calls.

afterEach(closeCores);

/** A clock the test moves by hand, for expiry without waiting. */
function manualClock(start = 1_700_000_000_000) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

describe('expiry', () => {
  test('an expired message is not delivered but moved to the expiry address', async () => {
    const clock = manualClock();
    const core = await openCore({ now: clock.now, addressSettings: { q: { expiryAddress: 'expired' } } });
    await core.send(msg(queue('q'), 'stale', { expiration: clock.t + 100 }));
    await core.send(msg(queue('q'), 'fresh'));
    clock.t += 200;
    const expired = await consume(core, { destination: queue('expired') });
    const live = await consume(core, { destination: queue('q') });
    assert.deepEqual(live.sink.bodies, ['fresh']);
    const [d] = await expired.sink.count(1);
    assert.equal(d!.message.body.toString(), 'stale');
    assert.deepEqual(d!.message.originalDestination, { type: 'queue', name: 'q' });
    assert.equal(d!.message.properties.dlqDeliveryFailureCause, 'Message expired');
    assert.equal(d!.message.expiration, 0, 'the expired copy does not expire again');
    assert.equal(core.getQueue('q')!.statistics().expired, 1);
  });

  test('the periodic sweep expires messages nobody consumes', async () => {
    const clock = manualClock();
    const core = await openCore({ now: clock.now, expiryScanPeriod: 20, addressSettings: { q: { expiryAddress: 'expired' } } });
    const expired = await consume(core, { destination: queue('expired') });
    await core.send(msg(queue('q'), 'stale', { expiration: clock.t + 100 }));
    clock.t += 200;
    await expired.sink.count(1);
    assert.equal(core.getQueue('q')!.messageCount, 0);
  });

  test('without an expiry address, expired messages go to the dead-letter address', async () => {
    const clock = manualClock();
    const core = await openCore({ now: clock.now });
    await core.send(msg(queue('q'), 'stale', { expiration: clock.t + 100 }));
    clock.t += 200;
    const dlq = await consume(core, { destination: queue('ActiveMQ.DLQ') });
    await consume(core, { destination: queue('q') });
    await dlq.sink.count(1);
    assert.equal(dlq.sink.bodies[0], 'stale');
  });
});

describe('scheduled delivery', () => {
  test('a message with a delivery time is held until then', async () => {
    const core = await openCore();
    const { sink } = await consume(core, { destination: queue('q') });
    await core.send(msg(queue('q'), 'later', { deliveryTime: Date.now() + 50 }));
    await core.send(msg(queue('q'), 'now'));
    assert.deepEqual(sink.bodies, ['now']);
    assert.equal(core.getQueue('q')!.statistics().scheduled, 1);
    await sink.count(2);
    assert.deepEqual(sink.bodies, ['now', 'later']);
  });
});

describe('last-value queues', () => {
  test('a new message replaces the queued one with the same lastValueKey', async () => {
    const core = await openCore({ addressSettings: { prices: { lastValueKey: 'symbol' } } });
    await core.send(msg(queue('prices'), 'ACME 1', { properties: { symbol: 'ACME' } }));
    await core.send(msg(queue('prices'), 'INIT 1', { properties: { symbol: 'INIT' } }));
    await core.send(msg(queue('prices'), 'ACME 2', { properties: { symbol: 'ACME' } }));
    const { sink } = await consume(core, { destination: queue('prices') });
    assert.deepEqual(sink.bodies, ['INIT 1', 'ACME 2']);
  });

  test('a message without the key is queued normally', async () => {
    const core = await openCore({ addressSettings: { prices: { lastValueKey: 'symbol' } } });
    await sendAll(core, queue('prices'), ['a', 'b']);
    assert.equal(core.getQueue('prices')!.messageCount, 2);
  });
});

describe('address-full policies', () => {
  // messageSize counts the body plus 64 bytes of overhead plus the address name: 100 + 64 + 4 = 168.
  const body = 'x'.repeat(100);

  test('FAIL rejects a send that would overfill the queue with ERR_ADDRESS_FULL', async () => {
    const core = await openCore({ addressSettings: { full: { maxSizeBytes: 200, addressFullPolicy: 'FAIL' } } });
    await core.send(msg(queue('full'), body));
    const err = await rejection(core.send(msg(queue('full'), body)));
    assert.equal(err.code, 'ERR_ADDRESS_FULL');
    assert.equal(core.getQueue('full')!.messageCount, 1);
  });

  test('DROP discards the overflowing message silently and counts it', async () => {
    const core = await openCore({ addressSettings: { full: { maxSizeBytes: 200, addressFullPolicy: 'DROP' } } });
    await core.send(msg(queue('full'), body));
    await core.send(msg(queue('full'), body));
    assert.equal(core.getQueue('full')!.messageCount, 1);
    assert.equal(core.brokerStats().dropped, 1);
  });

  test('space freed by an ack lets the next send in', async () => {
    const core = await openCore({ addressSettings: { full: { maxSizeBytes: 200, addressFullPolicy: 'FAIL' } } });
    await core.send(msg(queue('full'), body));
    const { consumer, sink } = await consume(core, { destination: queue('full') });
    await consumer.ack(sink.deliveries[0]!.id);
    await core.send(msg(queue('full'), body));
    assert.equal(sink.deliveries.length, 2);
  });
});

describe('transactions', () => {
  test('sends in a transaction are delivered only on commit', async () => {
    const core = await openCore();
    const { sink } = await consume(core, { destination: queue('q') });
    const tx = core.createTransaction();
    await core.send(msg(queue('q'), '1'), { tx });
    await core.send(msg(queue('q'), '2'), { tx });
    assert.deepEqual(sink.bodies, []);
    await core.commit(tx);
    assert.deepEqual(sink.bodies, ['1', '2']);
  });

  test('acks in a transaction settle only on commit', async () => {
    const core = await openCore();
    await sendAll(core, queue('q'), ['1', '2']);
    const { consumer, sink } = await consume(core, { destination: queue('q') });
    const tx = core.createTransaction();
    tx.addAck(consumer, sink.deliveries[0]!.id, false);
    assert.equal(core.getQueue('q')!.statistics().acked, 0);
    await core.commit(tx);
    const stats = core.getQueue('q')!.statistics();
    assert.equal(stats.acked, 1);
    assert.equal(stats.messages, 1);
  });

  test('rollback discards the sends', async () => {
    const core = await openCore();
    const { sink } = await consume(core, { destination: queue('q') });
    const tx = core.createTransaction();
    await core.send(msg(queue('q'), '1'), { tx });
    core.rollback(tx);
    assert.deepEqual(sink.bodies, []);
    assert.equal(core.getQueue('q')!.messageCount, 0);
  });

  test('rollback leaves acked deliveries unsettled with their consumer', async () => {
    const core = await openCore();
    await sendAll(core, queue('q'), ['1']);
    const { consumer, sink } = await consume(core, { destination: queue('q') });
    const tx = core.createTransaction();
    tx.addAck(consumer, sink.deliveries[0]!.id, false);
    core.rollback(tx);
    assert.equal(core.getQueue('q')!.statistics().acked, 0);
    assert.equal(consumer.unacked.size, 1);
  });

  test('a finished transaction cannot be committed again', async () => {
    const core = await openCore();
    const tx = core.createTransaction();
    core.rollback(tx);
    await assert.rejects(core.commit(tx), { code: 'ERR_TX_UNKNOWN' });
  });
});

describe('management', () => {
  test('browse lists the held messages by priority without removing them', async () => {
    const core = await openCore();
    await core.send(msg(queue('q'), 'low', { priority: 1 }));
    await core.send(msg(queue('q'), 'high', { priority: 8 }));
    assert.deepEqual(core.browse('q').map((m) => m.body.toString()), ['high', 'low']);
    assert.equal(core.getQueue('q')!.messageCount, 2);
  });

  test('purge removes every message not in delivery and says how many', async () => {
    const core = await openCore();
    await sendAll(core, queue('q'), ['1', '2', '3']);
    const { consumer } = await consume(core, { destination: queue('q') }, 1);
    assert.equal(await core.purge('q'), 2);
    assert.equal(core.getQueue('q')!.messageCount, 1);
    consumer.grant(5);
    assert.equal(consumer.unacked.size, 1, 'nothing left to deliver');
  });

  test('browse and purge of an unknown queue are refused with ERR_ADDRESS_NOT_FOUND', async () => {
    const core = await openCore();
    assert.throws(() => core.browse('nope'), { code: 'ERR_ADDRESS_NOT_FOUND' });
    await assert.rejects(core.purge('nope'), { code: 'ERR_ADDRESS_NOT_FOUND' });
  });

  test('queue statistics count enqueued, in delivery, acked and consumers', async () => {
    const core = await openCore();
    await sendAll(core, queue('q'), ['1', '2', '3']);
    const { consumer, sink } = await consume(core, { destination: queue('q') }, 2);
    await consumer.ack(sink.deliveries[0]!.id);
    const stats = core.getQueue('q')!.statistics();
    assert.deepEqual(
      { messages: stats.messages, inDelivery: stats.inDelivery, consumers: stats.consumers, enqueued: stats.enqueued, acked: stats.acked, kind: stats.kind },
      { messages: 2, inDelivery: 1, consumers: 1, enqueued: 3, acked: 1, kind: 'anycast' },
    );
    assert.ok(stats.bytes > 0);
    assert.ok(core.queueStats().some((s) => s.name === 'q'));
  });

  test('autoDelete removes an auto-created queue when its last consumer leaves and it is empty', async () => {
    const core = await openCore({ addressSettings: { 'temp.>': { autoDelete: true } } });
    const { consumer } = await consume(core, { destination: queue('temp.q') });
    assert.ok(core.getQueue('temp.q'));
    consumer.close();
    assert.equal(core.getQueue('temp.q'), undefined);
  });

  test('autoDelete keeps a queue that still holds messages', async () => {
    const core = await openCore({ addressSettings: { 'temp.>': { autoDelete: true } } });
    const { consumer } = await consume(core, { destination: queue('temp.q') }, 0);
    await sendAll(core, queue('temp.q'), ['kept']);
    consumer.close();
    assert.equal(core.getQueue('temp.q')?.messageCount, 1);
  });

  test('with autoCreate off, an unknown queue is refused with ERR_ADDRESS_NOT_FOUND', async () => {
    const core = await openCore({ addressSettings: { '>': { autoCreate: false } }, queues: ['known'] });
    await core.send(msg(queue('known'), 'ok'));
    const err = await rejection(core.send(msg(queue('unknown'), 'x')));
    assert.equal(err.code, 'ERR_ADDRESS_NOT_FOUND');
  });
});
