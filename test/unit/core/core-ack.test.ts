import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { closeCores, consume, openCore, queue, sendAll } from './core-fixture.ts';

// Acknowledgement, redelivery and dead-lettering in the core.

afterEach(closeCores);

describe('acknowledgement', () => {
  test('an individual ack settles only that delivery', async () => {
    const core = await openCore();
    await sendAll(core, queue('q'), ['1', '2', '3']);
    const { consumer, sink } = await consume(core, { destination: queue('q') });
    await consumer.ack(sink.deliveries[1]!.id);
    const stats = core.getQueue('q')!.statistics();
    assert.equal(stats.acked, 1);
    assert.equal(stats.messages, 2);
    assert.deepEqual([...consumer.unacked.values()].map((e) => e.message.body.toString()), ['1', '3']);
  });

  test('a cumulative ack settles that delivery and every earlier one', async () => {
    const core = await openCore();
    await sendAll(core, queue('q'), ['1', '2', '3']);
    const { consumer, sink } = await consume(core, { destination: queue('q') });
    await consumer.ackCumulative(sink.deliveries[1]!.id);
    const stats = core.getQueue('q')!.statistics();
    assert.equal(stats.acked, 2);
    assert.equal(stats.messages, 1);
    assert.deepEqual([...consumer.unacked.values()].map((e) => e.message.body.toString()), ['3']);
  });

  test('acking a settled delivery is refused with ERR_DELIVERY_UNKNOWN', async () => {
    const core = await openCore();
    await sendAll(core, queue('q'), ['1']);
    const { consumer, sink } = await consume(core, { destination: queue('q') });
    await consumer.ack(sink.deliveries[0]!.id);
    assert.throws(() => consumer.ack(sink.deliveries[0]!.id), { code: 'ERR_DELIVERY_UNKNOWN' });
  });

  test('an auto-ack consumer settles each message as it is delivered', async () => {
    const core = await openCore();
    await sendAll(core, queue('q'), ['1', '2']);
    const { sink } = await consume(core, { destination: queue('q'), autoAck: true });
    assert.deepEqual(sink.bodies, ['1', '2']);
    assert.equal(core.getQueue('q')!.messageCount, 0);
  });
});

describe('redelivery', () => {
  test('a nacked message is redelivered with its delivery count raised and the redelivered flag', async () => {
    const core = await openCore();
    await sendAll(core, queue('q'), ['1']);
    const { consumer, sink } = await consume(core, { destination: queue('q') });
    const first = sink.deliveries[0]!;
    assert.equal(first.deliveryCount, 1);
    assert.equal(first.redelivered, false);
    await consumer.nack(first.id);
    const again = sink.deliveries[1]!;
    assert.equal(again.message.id, first.message.id);
    assert.equal(again.deliveryCount, 2);
    assert.equal(again.redelivered, true);
  });

  test('a redelivered message takes its original place ahead of later messages', async () => {
    const core = await openCore();
    await sendAll(core, queue('q'), ['1', '2', '3']);
    const { consumer, sink } = await consume(core, { destination: queue('q') }, 1);
    await consumer.nack(sink.deliveries[0]!.id);
    consumer.grant(3);
    assert.deepEqual(sink.bodies, ['1', '1', '2', '3']);
  });

  test('a redelivery delay holds the nacked message back, then delivers it', async () => {
    const core = await openCore({ addressSettings: { q: { redeliveryDelay: 50 } } });
    await sendAll(core, queue('q'), ['1']);
    const { consumer, sink } = await consume(core, { destination: queue('q') });
    await consumer.nack(sink.deliveries[0]!.id);
    assert.equal(sink.deliveries.length, 1, 'not redelivered at once');
    assert.equal(core.getQueue('q')!.statistics().scheduled, 1);
    const [, again] = await sink.count(2);
    assert.equal(again!.deliveryCount, 2);
  });

  test('a closing consumer returns its unacked messages in their original order', async () => {
    const core = await openCore();
    await sendAll(core, queue('q'), ['1', '2', '3', '4']);
    const first = await consume(core, { destination: queue('q') }, 3);
    await first.consumer.ack(first.sink.deliveries[1]!.id);
    first.consumer.close();
    const second = await consume(core, { destination: queue('q') });
    assert.deepEqual(second.sink.bodies, ['1', '3', '4']);
    assert.deepEqual(second.sink.deliveries.map((d) => d.redelivered), [true, true, false]);
    assert.deepEqual(second.sink.deliveries.map((d) => d.deliveryCount), [2, 2, 1]);
  });

  test('a released message (undelivered) comes back without its delivery count raised', async () => {
    const core = await openCore();
    await sendAll(core, queue('q'), ['1']);
    const { consumer, sink } = await consume(core, { destination: queue('q') });
    await consumer.nack(sink.deliveries[0]!.id, { undelivered: true });
    assert.equal(sink.deliveries[1]!.deliveryCount, 1);
  });
});

describe('dead-lettering', () => {
  test('the default policy dead-letters on the 7th failed delivery, to ActiveMQ.DLQ', async () => {
    const core = await openCore();
    const sent = await core.send({ destination: queue('orders'), body: Buffer.from('poison') });
    const { consumer, sink } = await consume(core, { destination: queue('orders') });
    for (let i = 0; i < 6; i++) await consumer.nack(sink.deliveries[i]!.id);
    assert.equal(sink.deliveries.length, 7, 'six redeliveries');
    assert.equal(sink.deliveries[6]!.deliveryCount, 7);
    await consumer.nack(sink.deliveries[6]!.id);
    assert.equal(sink.deliveries.length, 7);
    const [dead] = core.browse('ActiveMQ.DLQ');
    assert.equal(dead?.id, sent.id);
  });

  test('a dead-lettered copy keeps the message id and carries originalDestination and dlqDeliveryFailureCause', async () => {
    const core = await openCore({ addressSettings: { orders: { maxDeliveryAttempts: 2, deadLetterAddress: 'orders.dlq' } } });
    const sent = await core.send({ destination: queue('orders'), body: Buffer.from('poison'), properties: { k: 'v' } });
    const { consumer, sink } = await consume(core, { destination: queue('orders') });
    await consumer.nack(sink.deliveries[0]!.id);
    await consumer.nack(sink.deliveries[1]!.id);
    const dlq = await consume(core, { destination: queue('orders.dlq') });
    const d = dlq.sink.deliveries[0]!;
    assert.equal(d.message.id, sent.id);
    assert.deepEqual(d.message.destination, { type: 'queue', name: 'orders.dlq' });
    assert.deepEqual(d.message.originalDestination, { type: 'queue', name: 'orders' });
    assert.match(String(d.message.properties.dlqDeliveryFailureCause), /Delivery attempts exhausted \(2 of 2\)/);
    assert.equal(d.message.properties.k, 'v');
    assert.equal(d.message.body.toString(), 'poison');
    assert.equal(core.getQueue('orders')!.messageCount, 0);
    assert.equal(core.getQueue('orders')!.statistics().deadLettered, 1);
  });

  test('a poison nack (deadLetter) dead-letters at once with its cause', async () => {
    const core = await openCore();
    await sendAll(core, queue('q'), ['1']);
    const { consumer, sink } = await consume(core, { destination: queue('q') });
    await consumer.nack(sink.deliveries[0]!.id, { deadLetter: true, cause: 'bad input' });
    const [dead] = core.browse('ActiveMQ.DLQ');
    assert.equal(dead?.properties.dlqDeliveryFailureCause, 'bad input');
  });

  test('a consumer closing on the last attempt dead-letters the message', async () => {
    const core = await openCore({ addressSettings: { q: { maxDeliveryAttempts: 1 } } });
    await sendAll(core, queue('q'), ['1']);
    const { consumer } = await consume(core, { destination: queue('q') });
    consumer.close();
    const dlq = await consume(core, { destination: queue('ActiveMQ.DLQ') });
    await dlq.sink.count(1);
    assert.equal(dlq.sink.bodies[0], '1');
  });

  test('an empty dead-letter address drops the message', async () => {
    const core = await openCore({ addressSettings: { q: { maxDeliveryAttempts: 1, deadLetterAddress: '' } } });
    await sendAll(core, queue('q'), ['1']);
    const { consumer, sink } = await consume(core, { destination: queue('q') });
    await consumer.nack(sink.deliveries[0]!.id);
    assert.equal(core.getQueue('q')!.messageCount, 0);
    assert.equal(core.getQueue('ActiveMQ.DLQ'), undefined);
  });
});
