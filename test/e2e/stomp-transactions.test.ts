import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { bodies, connect, connectFor, eventually, maybeStats, stats } from '../helpers/stompjs.ts';

// STOMP transactions (BEGIN / COMMIT / ABORT) with @stomp/stompjs over TCP. stompjs's
// begin/commit/abort take no receipt, so `sync()` (a later frame with a receipt) shows the
// broker has handled them: frames are processed in order.

describe('STOMP transactions (stompjs over TCP)', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker();
  });
  after(() => broker.stop());

  test('BEGIN, SEND, COMMIT delivers the sends, in order, only at commit', async (t) => {
    const c = await connectFor(t, broker);
    const consumer = await connectFor(t, broker);
    const inbox = await consumer.subscribe('/queue/tx.commit');
    const tx = c.client.begin('tx-commit');
    for (const b of ['t1', 't2', 't3']) c.client.publish({ destination: '/queue/tx.commit', body: b, headers: { transaction: tx.id } });
    await c.sync();
    assert.equal(stats(broker, 'tx.commit').enqueued, 0, 'nothing is routed before COMMIT');
    await inbox.expectNone();
    tx.commit();
    assert.deepEqual(bodies(await inbox.take(3)), ['t1', 't2', 't3']);
    assert.equal(stats(broker, 'tx.commit').enqueued, 3);
  });

  test('BEGIN, SEND, ABORT delivers nothing', async (t) => {
    const c = await connectFor(t, broker);
    const inbox = await c.subscribe('/queue/tx.abort');
    const tx = c.client.begin('tx-abort');
    for (const b of ['a1', 'a2']) c.client.publish({ destination: '/queue/tx.abort', body: b, headers: { transaction: tx.id } });
    tx.abort();
    // Sent after the ABORT: had the aborted sends been delivered, they would come first.
    await c.send('/queue/tx.abort', 'marker');
    assert.deepEqual(bodies(await inbox.take(1)), ['marker']);
    await inbox.expectNone();
    assert.equal(stats(broker, 'tx.abort').enqueued, 1);
  });

  test('sends in a transaction left open are discarded when the connection closes', async (t) => {
    const c = await connect(broker);
    c.client.begin('tx-open');
    c.client.publish({ destination: '/queue/tx.open', body: 'never', headers: { transaction: 'tx-open' } });
    await c.sync();
    await c.close();
    const consumer = await connectFor(t, broker);
    const inbox = await consumer.subscribe('/queue/tx.open');
    await consumer.send('/queue/tx.open', 'marker');
    assert.deepEqual(bodies(await inbox.take(1)), ['marker']);
    await inbox.expectNone();
  });

  test('an ACK in a transaction settles the message only at COMMIT', async (t) => {
    const c = await connectFor(t, broker);
    await c.send('/queue/tx.ack', 'to-ack');
    const inbox = await c.subscribe('/queue/tx.ack', { ack: 'client-individual' });
    const m = await inbox.one();
    const tx = c.client.begin('tx-ack');
    m.ack({ transaction: tx.id });
    await c.sync();
    let s = stats(broker, 'tx.ack');
    assert.equal(s.acked, 0, 'not settled before COMMIT');
    assert.equal(s.inDelivery, 1);
    tx.commit();
    await c.sync();
    s = stats(broker, 'tx.ack');
    assert.equal(s.acked, 1);
    assert.equal(s.messages, 0);
    // Nothing comes back when the subscription closes.
    await c.unsubscribe(inbox);
    const again = await c.subscribe('/queue/tx.ack', { ack: 'client-individual' });
    await again.expectNone();
  });

  test('ABORT of a transactional ACK leaves the message unacked: it comes back after disconnect', async (t) => {
    const c = await connect(broker);
    await c.send('/queue/tx.ackabort', 'keep-me');
    const inbox = await c.subscribe('/queue/tx.ackabort', { ack: 'client-individual' });
    const m = await inbox.one();
    const tx = c.client.begin('tx-ack-abort');
    m.ack({ transaction: tx.id });
    tx.abort();
    await c.sync();
    const s = stats(broker, 'tx.ackabort');
    assert.equal(s.acked, 0);
    assert.equal(s.messages, 1);
    assert.equal(s.inDelivery, 1);
    await c.close();
    await eventually(() => assert.equal(stats(broker, 'tx.ackabort').inDelivery, 0));

    const again = await connectFor(t, broker);
    const back = await (await again.subscribe('/queue/tx.ackabort', { ack: 'client-individual' })).one();
    assert.equal(back.body, 'keep-me');
    assert.equal(back.headers['message-id'], m.headers['message-id']);
    assert.equal(back.headers.redelivered, 'true');
    await again.ack(back);
    assert.equal(stats(broker, 'tx.ackabort').messages, 0);
  });

  test('a transaction can mix sends and cumulative acks, committed together', async (t) => {
    const c = await connectFor(t, broker);
    for (const b of ['in1', 'in2', 'in3']) await c.send('/queue/tx.mix.in', b);
    const inbox = await c.subscribe('/queue/tx.mix.in', { ack: 'client' });
    const got = await inbox.take(3);
    const tx = c.client.begin('tx-mix');
    c.client.publish({ destination: '/queue/tx.mix.out', body: 'result', headers: { transaction: tx.id } });
    got[1]!.ack({ transaction: tx.id }); // cumulative: in1 and in2
    await c.sync();
    assert.equal(maybeStats(broker, 'tx.mix.out')?.enqueued ?? 0, 0);
    assert.equal(stats(broker, 'tx.mix.in').acked, 0);
    tx.commit();
    await c.sync();
    assert.equal(stats(broker, 'tx.mix.out').messages, 1);
    const s = stats(broker, 'tx.mix.in');
    assert.equal(s.acked, 2);
    assert.equal(s.messages, 1);
  });

  test('COMMIT of an unknown transaction gets an ERROR frame', async (t) => {
    const c = await connectFor(t, broker);
    c.client.commit('never-begun');
    const err = await c.nextError();
    assert.equal(err.headers.message, 'Unknown transaction');
    assert.match(err.body, /never-begun/);
    await c.waitClosed();
  });
});
