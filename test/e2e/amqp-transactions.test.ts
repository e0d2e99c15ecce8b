import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import rhea, { type Delivery, type Sender } from 'rhea';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { AmqpTestClient, eventually } from '../helpers/amqp-client.ts';

// The transaction coordinator with the rhea client, which has none of its own: declare and
// discharge are built here from raw bodies, transactional sends and acks from raw states. The
// python-qpid-proton tests cover commit and rollback; these cover the edges a client can reach.

interface RheaTypes {
  Writer: new () => { write(v: unknown): void; toBuffer(): Buffer };
  wrap_ulong(n: number): unknown;
  wrap_list(l: unknown[]): unknown;
  wrap_binary(b: Buffer): unknown;
  wrap_boolean(b: boolean): unknown;
  described(d: unknown, v: unknown): unknown;
}
const types = (rhea as unknown as { types: RheaTypes }).types;
const accepted = () => (rhea.message as unknown as { accepted(): { described(): unknown } }).accepted().described();

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

function transactionalState(txn: Buffer, outcome: unknown = null): unknown {
  return types.described(types.wrap_ulong(0x34), types.wrap_list([types.wrap_binary(txn), outcome]));
}

/** What the coordinator answered: the txn-id of a declared, or the condition of a rejected. */
interface ControlOutcome {
  txnId?: Buffer;
  condition?: string;
  accepted?: boolean;
}

/** A coordinator link (target amqp:coordinator) with declare and discharge. */
async function coordinator(c: AmqpTestClient): Promise<{ declare(): Promise<Buffer>; declareOutcome(): Promise<ControlOutcome>; discharge(txn: Buffer, fail: boolean): Promise<ControlOutcome> }> {
  const s = c.connection.open_sender({ target: {} }) as Sender & { local: { attach: { target: unknown } } };
  // rhea writes the attach on the next tick: it goes with a coordinator target instead.
  s.local.attach.target = types.described(types.wrap_ulong(0x30), types.wrap_list([]));
  s.on('sender_error', () => undefined);
  await new Promise<void>((resolve) => s.once('sendable', () => resolve()));
  let tag = 0;
  const control = (descriptor: number, fields: unknown[]) =>
    new Promise<ControlOutcome>((resolve) => {
      // An amqp-value section holding the described declare (0x31) or discharge (0x32) list.
      const section = Buffer.from([0x00, 0x53, 0x77, 0x00, 0x53, descriptor]);
      const list = new types.Writer();
      list.write(types.wrap_list(fields));
      const send = s as unknown as { send(b: Buffer, tag: Buffer, format: number): Delivery };
      const d = send.send(Buffer.concat([section, list.toBuffer()]), Buffer.from(`c${tag++}`), 0);
      s.on('settled', (ctx) => {
        if (ctx.delivery !== d) return;
        const st = (d as unknown as { remote_state?: { value?: Array<{ value?: unknown }>; error?: { condition: string }; constructor: { composite_type?: string } } }).remote_state;
        if (st?.error) resolve({ condition: st.error.condition });
        else if (st?.constructor.composite_type === 'accepted') resolve({ accepted: true });
        else resolve({ txnId: st?.value?.[0]?.value as Buffer });
      });
    });
  return {
    async declare() {
      const o = await control(0x31, []);
      assert.ok(Buffer.isBuffer(o.txnId), 'declared with a txn-id');
      return o.txnId;
    },
    declareOutcome: () => control(0x31, []),
    discharge: (txn, fail) => control(0x32, [types.wrap_binary(txn), types.wrap_boolean(fail)]),
  };
}

/** Sends a message in a transaction (the transfer carries a transactional-state). */
function transactionalSend(s: Sender, body: string, txn: Buffer): Promise<void> {
  const session = (s as unknown as { session: { output(frame: { delivery_id?: number; value: unknown[] }, payload?: Buffer): void } }).session;
  const output = session.output;
  const d = s.send({ body });
  session.output = function (frame, payload) {
    if (frame.delivery_id === d.id) {
      frame.value[7] = transactionalState(txn); // transfer field 7, raw: rhea's accessor has no wrapper for it
      session.output = output;
    }
    return output.call(this, frame, payload);
  };
  return new Promise((resolve) => s.on('settled', (ctx) => ctx.delivery === d && resolve()));
}

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
