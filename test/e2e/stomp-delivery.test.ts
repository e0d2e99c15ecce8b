import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { IMessage } from '@stomp/stompjs';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { bodies, connect, connectFor, eventually, stats } from '../helpers/stompjs.ts';

// Acknowledgement, prefetch, NACK, redelivery and dead-lettering over STOMP/TCP with @stomp/stompjs.
// Dead-letter tests send persistent messages: ActiveMQ Classic's default dead-letter strategy only
// keeps persistent ones, so these assertions hold on either broker.

const ids = (ms: IMessage[]) => ms.map((m) => m.headers['message-id']);

describe('STOMP ack modes and prefetch (stompjs over TCP)', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker();
  });
  after(() => broker.stop());

  async function fill(queue: string, n: number): Promise<void> {
    const p = await connect(broker, { name: 'filler' });
    try {
      for (let i = 1; i <= n; i++) await p.send(`/queue/${queue}`, `m${i}`);
    } finally {
      await p.close();
    }
  }

  test('ack:auto settles each message as it is delivered', async (t) => {
    await fill('ack.auto', 3);
    const c = await connectFor(t, broker);
    const inbox = await c.subscribe('/queue/ack.auto', { ack: 'auto' });
    const got = await inbox.take(3);
    assert.deepEqual(bodies(got), ['m1', 'm2', 'm3']);
    assert.ok(got.every((m) => m.headers.ack === undefined), 'auto-ack messages carry no ack id');
    const s = stats(broker, 'ack.auto');
    assert.equal(s.messages, 0);
    assert.equal(s.inDelivery, 0);
    assert.equal(s.acked, 3);
    // Nothing comes back after a disconnect.
    await c.close();
    const again = await connectFor(t, broker);
    await (await again.subscribe('/queue/ack.auto')).expectNone();
  });

  test('ack:client is cumulative: acking the 3rd message acks the 1st to the 3rd', async (t) => {
    await fill('ack.client', 5);
    const c = await connect(broker);
    const inbox = await c.subscribe('/queue/ack.client', { ack: 'client' });
    const got = await inbox.take(5);
    assert.ok(got.every((m) => m.headers.ack !== undefined), 'STOMP 1.2 MESSAGE frames carry an ack id');
    assert.equal(stats(broker, 'ack.client').inDelivery, 5);
    await c.ack(got[2]!);
    let s = stats(broker, 'ack.client');
    assert.equal(s.acked, 3);
    assert.equal(s.messages, 2);
    assert.equal(s.inDelivery, 2);
    await c.close();
    await eventually(() => assert.equal(stats(broker, 'ack.client').consumers, 0));
    s = stats(broker, 'ack.client');
    assert.equal(s.messages, 2);
    assert.equal(s.inDelivery, 0);

    const again = await connectFor(t, broker);
    const back = await (await again.subscribe('/queue/ack.client', { ack: 'client' })).take(2);
    assert.deepEqual(bodies(back), ['m4', 'm5']);
    assert.deepEqual(ids(back), ids(got.slice(3)));
  });

  test('ack:client-individual is not cumulative', async (t) => {
    await fill('ack.individual', 5);
    const c = await connect(broker);
    const inbox = await c.subscribe('/queue/ack.individual', { ack: 'client-individual' });
    const got = await inbox.take(5);
    await c.ack(got[2]!);
    const s = stats(broker, 'ack.individual');
    assert.equal(s.acked, 1);
    assert.equal(s.messages, 4);
    assert.equal(s.inDelivery, 4);
    await c.close();

    const again = await connectFor(t, broker);
    const back = await (await again.subscribe('/queue/ack.individual', { ack: 'client-individual' })).take(4);
    assert.deepEqual(bodies(back), ['m1', 'm2', 'm4', 'm5']);
  });

  test('unacked messages come back after a disconnect with the same message-id and redelivered:true', async (t) => {
    await fill('ack.redeliver', 2);
    const c = await connect(broker);
    const first = await (await c.subscribe('/queue/ack.redeliver', { ack: 'client' })).take(2);
    assert.deepEqual(first.map((m) => m.headers.redelivered), ['false', 'false']);
    // A crash, not a DISCONNECT: the broker notices the closed socket.
    await c.drop();

    const again = await connectFor(t, broker);
    const back = await (await again.subscribe('/queue/ack.redeliver', { ack: 'client' })).take(2);
    assert.deepEqual(bodies(back), ['m1', 'm2']);
    assert.deepEqual(ids(back), ids(first));
    assert.deepEqual(back.map((m) => m.headers.redelivered), ['true', 'true']);
    await again.ack(back[1]!);
    assert.equal(stats(broker, 'ack.redeliver').messages, 0);
  });

  test('activemq.prefetchSize:1 allows one unacked message in flight until it is acked', async (t) => {
    await fill('ack.prefetch', 3);
    const c = await connectFor(t, broker);
    const inbox = await c.subscribe('/queue/ack.prefetch', { ack: 'client-individual', 'activemq.prefetchSize': '1' });
    for (const expected of ['m1', 'm2', 'm3']) {
      const m = await inbox.one();
      assert.equal(m.body, expected);
      await inbox.expectNone();
      assert.equal(stats(broker, 'ack.prefetch').inDelivery, 1);
      await c.ack(m);
    }
    assert.equal(stats(broker, 'ack.prefetch').messages, 0);
  });

  test('ACK of an unknown id gets an ERROR frame', async (t) => {
    const c = await connectFor(t, broker);
    c.client.ack('999999', 'no-such-sub');
    const err = await c.nextError();
    assert.equal(err.headers.message, 'Unknown ack id');
    await c.waitClosed();
  });
});

describe('STOMP NACK, redelivery and dead-lettering (stompjs over TCP)', () => {
  test('NACK dead-letters at once to ActiveMQ.DLQ, keeping message-id, with failure headers', async (t) => {
    const broker = await startBroker();
    t.after(() => broker.stop());
    const c = await connectFor(t, broker);
    const inbox = await c.subscribe('/queue/nack.poison', { ack: 'client-individual' });
    await c.send('/queue/nack.poison', 'poison', { color: 'green', persistent: 'true' });
    const m = await inbox.one();
    await c.nack(m);
    await inbox.expectNone();
    const s = stats(broker, 'nack.poison');
    assert.equal(s.messages, 0);
    assert.equal(s.deadLettered, 1);

    const dlq = await (await c.subscribe('/queue/ActiveMQ.DLQ')).one();
    assert.equal(dlq.body, 'poison');
    assert.equal(dlq.headers['message-id'], m.headers['message-id']);
    assert.equal(dlq.headers['original-destination'], '/queue/nack.poison');
    assert.equal(dlq.headers.destination, '/queue/ActiveMQ.DLQ');
    assert.match(dlq.headers.dlqDeliveryFailureCause ?? '', /NACK/);
    assert.equal(dlq.headers.color, 'green');
  });

  test("nackPolicy 'redeliver': redelivered with redelivered:true, then dead-lettered after maxDeliveryAttempts", async (t) => {
    const broker = await startBroker({ stomp: { nackPolicy: 'redeliver' }, addressSettings: { '>': { maxDeliveryAttempts: 3 } } });
    t.after(() => broker.stop());
    const c = await connectFor(t, broker);
    const inbox = await c.subscribe('/queue/nack.retry', { ack: 'client-individual' });
    await c.send('/queue/nack.retry', 'flaky', { persistent: 'true' });
    const deliveries: IMessage[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await inbox.one();
      deliveries.push(m);
      await c.nack(m);
    }
    await inbox.expectNone();
    assert.deepEqual(deliveries.map((m) => m.headers.redelivered), ['false', 'true', 'true']);
    assert.equal(new Set(ids(deliveries)).size, 1, 'the same message each time');
    assert.equal(stats(broker, 'nack.retry').deadLettered, 1);

    const dlq = await (await c.subscribe('/queue/ActiveMQ.DLQ')).one();
    assert.equal(dlq.body, 'flaky');
    assert.equal(dlq.headers['message-id'], deliveries[0]!.headers['message-id']);
    assert.equal(dlq.headers['original-destination'], '/queue/nack.retry');
    assert.match(dlq.headers.dlqDeliveryFailureCause ?? '', /3 of 3/);
  });

  test('redeliveryDelay holds a returned message back before redelivering it', async (t) => {
    const broker = await startBroker({ stomp: { nackPolicy: 'redeliver' }, addressSettings: { 'slow.>': { redeliveryDelay: 1500 } } });
    t.after(() => broker.stop());
    const c = await connectFor(t, broker);
    const inbox = await c.subscribe('/queue/slow.work', { ack: 'client-individual' });
    await c.send('/queue/slow.work', 'later');
    const m = await inbox.one();
    await c.nack(m);
    assert.equal(stats(broker, 'slow.work').scheduled, 1, 'waiting out its redelivery delay');
    await inbox.expectNone(300);
    const again = await inbox.one(6000);
    assert.equal(again.body, 'later');
    assert.equal(again.headers.redelivered, 'true');
    assert.equal(again.headers['message-id'], m.headers['message-id']);
  });

  test('address settings match by wildcard and the most specific pattern wins', async (t) => {
    const broker = await startBroker({
      addressSettings: {
        '>': { deadLetterAddress: 'DLQ.general' },
        'orders.>': { deadLetterAddress: 'DLQ.orders' },
        'orders.vip': { deadLetterAddress: 'DLQ.vip' },
      },
    });
    t.after(() => broker.stop());
    const c = await connectFor(t, broker);
    const cases: Array<[string, string]> = [
      ['billing', 'DLQ.general'],
      ['orders.eu', 'DLQ.orders'],
      ['orders.eu.north', 'DLQ.orders'],
      ['orders.vip', 'DLQ.vip'],
    ];
    for (const [queue, dlqName] of cases) {
      const inbox = await c.subscribe(`/queue/${queue}`, { ack: 'client-individual' });
      await c.send(`/queue/${queue}`, `to-${queue}`, { persistent: 'true' });
      await c.nack(await inbox.one());
      await c.unsubscribe(inbox);
      const dlq = await c.subscribe(`/queue/${dlqName}`);
      const m = await dlq.one();
      assert.equal(m.body, `to-${queue}`, `${queue} dead-letters to ${dlqName}`);
      assert.equal(m.headers['original-destination'], `/queue/${queue}`);
      await c.unsubscribe(dlq);
    }
    assert.equal(broker.core.queueStats().find((q) => q.name === 'ActiveMQ.DLQ'), undefined, 'the default DLQ was never used');
  });
});
