import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { AmqpTestClient, eventually } from '../helpers/amqp-client.ts';
import { accepted, coordinator, transactionalSend, transactionalState } from '../helpers/amqp-tx.ts';

// The transaction coordinator with the rhea client, which has none of its own: declare and
// discharge are built from raw bodies, transactional sends and acks from raw states (helpers/amqp-tx.ts). The
// python-qpid-proton tests cover commit and rollback; these cover the edges a client can reach.

let broker: TestBroker;
const clients: AmqpTestClient[] = [];

async function client(): Promise<AmqpTestClient> {
  const c = await AmqpTestClient.connect(broker.ports.amqp!);
  clients.push(c);
  return c;
}

before(async () => {
  broker = await startBroker({ transactions: { maxPerConnection: 3 } });
});
after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await broker.stop();
});

describe('coordinator', () => {
  test('a declare beyond transactions.maxPerConnection is rejected with amqp:resource-limit-exceeded; a discharge frees a place', async () => {
    const c = await client();
    const coord = await coordinator(c);
    const txns = [await coord.declare(), await coord.declare(), await coord.declare()];
    assert.deepEqual(await coord.declareOutcome(), { condition: 'amqp:resource-limit-exceeded' });
    assert.deepEqual(await coord.discharge(txns[0]!, true), { accepted: true });
    assert.ok(Buffer.isBuffer(await coord.declare()), 'one more once a transaction is discharged');
  });

  test('a discharge of a txn-id never declared is rejected with amqp:transaction:unknown-id', async () => {
    const c = await client();
    const coord = await coordinator(c);
    const txn = await coord.declare();
    assert.equal((await coord.discharge(Buffer.from('no-such-txn'), false)).condition, 'amqp:transaction:unknown-id');
    assert.deepEqual(await coord.discharge(txn, false), { accepted: true }, 'the declared one still commits');
    assert.equal((await coord.discharge(txn, false)).condition, 'amqp:transaction:unknown-id', 'a discharged txn-id is gone');
  });

  test('a commit delivers the transactional sends', async () => {
    const c = await client();
    const coord = await coordinator(c);
    const txn = await coord.declare();
    const s = await c.sender('tx.commit');
    await transactionalSend(s, 'in-tx', txn);
    assert.equal(broker.core.getQueue('tx.commit')!.messageCount, 0, 'nothing before the commit');
    assert.deepEqual(await coord.discharge(txn, false), { accepted: true });
    assert.deepEqual(broker.core.browse('tx.commit').map((m) => m.body.toString()), ['in-tx']);
  });
});

describe('a connection that ends with an open transaction', () => {
  test('rolls it back: its sends are discarded and its acked messages go back to the queue', async () => {
    const setup = await client();
    await setup.send(await setup.sender('tx.drop'), { body: 'held' });
    const c = await client();
    const coord = await coordinator(c);
    const txn = await coord.declare();
    const s = await c.sender('tx.drop');
    await transactionalSend(s, 'never', txn);
    const r = await c.receiver('tx.drop', 1);
    const got = await r.next();
    got.delivery.update(true, transactionalState(txn, accepted()) as never);
    await eventually(() => broker.core.getQueue('tx.drop')!.statistics().inDelivery === 1, 'the ack held by the transaction');
    (c.connection as unknown as { socket: { destroy(): void } }).socket.destroy();
    await eventually(() => broker.core.getQueue('tx.drop')!.statistics().inDelivery === 0, 'the acked message returned');
    const again = await (await (await client()).receiver('tx.drop', 5)).next();
    assert.equal(again.message.body, 'held');
    assert.equal(again.message.delivery_count, 1, 'redelivered');
    assert.deepEqual(broker.core.browse('tx.drop').map((m) => m.body.toString()), ['held'], 'the transactional send is gone');
    again.delivery.accept();
  });
});

describe('transactional acks', () => {
  test('an ack in a transaction that was never declared detaches the link with amqp:transaction:unknown-id; the message goes back', async () => {
    const c = await client();
    await c.send(await c.sender('tx.unknown'), { body: 'm' });
    const r = await c.receiver('tx.unknown', 1);
    const got = await r.next();
    got.delivery.update(true, transactionalState(Buffer.from('bogus'), accepted()) as never);
    assert.equal((await r.closedByBroker())?.condition, 'amqp:transaction:unknown-id');
    await eventually(() => broker.core.getQueue('tx.unknown')!.statistics().inDelivery === 0, 'the message back in the queue');
    const again = await (await c.receiver('tx.unknown', 1)).next();
    assert.equal(again.message.body, 'm');
    again.delivery.accept();
  });
});
