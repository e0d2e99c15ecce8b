import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import rhea from 'rhea';
import { MemoryStore } from '../../src/store/memory-store.ts';
import type { StoreOp } from '../../src/core/ports/store.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { AmqpTestClient, eventually } from '../helpers/amqp-client.ts';

// AMQP 1.0 delivery with the rhea client: credit both ways, settlement modes and outcomes,
// durability of accepted, selectors, groups, priority, expiry and scheduled delivery.

let broker: TestBroker;
const clients: AmqpTestClient[] = [];

async function client(b: TestBroker = broker, opts: Parameters<typeof AmqpTestClient.connect>[1] = {}): Promise<AmqpTestClient> {
  const c = await AmqpTestClient.connect(b.ports.amqp!, opts);
  clients.push(c);
  return c;
}

before(async () => {
  broker = await startBroker({
    expiryScanPeriod: 20,
    addressSettings: { 'dlq.>': { maxDeliveryAttempts: 3, deadLetterAddress: 'dlq.dead' } },
  });
});
after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await broker.stop();
});

function stats(name: string) {
  return broker.core.getQueue(name)!.statistics();
}

describe('credit', () => {
  test('the broker sends no more than the receiver credit, and more after a flow', async () => {
    const c = await client();
    const s = await c.sender('credit.q');
    for (let i = 0; i < 5; i++) await c.send(s, { body: `m${i}` });
    const r = await c.receiver('credit.q', 2);
    const a = await r.next();
    const b = await r.next();
    assert.deepEqual([a.message.body, b.message.body], ['m0', 'm1']);
    await eventually(() => stats('credit.q').inDelivery === 2, 'two in delivery');
    assert.equal(r.pending, 0);
    assert.equal(stats('credit.q').inDelivery, 2, 'no third delivery without credit');
    r.flow(3);
    const rest = [await r.next(), await r.next(), await r.next()].map((x) => x.message.body);
    assert.deepEqual(rest, ['m2', 'm3', 'm4']);
    for (const x of [a, b]) x.delivery.accept();
  });

  test('drain: the broker sends what it has and gives the rest of the credit back', async () => {
    const c = await client();
    const s = await c.sender('drain.q');
    await c.send(s, { body: 'only' });
    const r = await c.receiver('drain.q', 0);
    const drained = new Promise<void>((resolve) => r.link.once('receiver_drained', () => resolve()));
    r.link.add_credit(10);
    r.link.drain_credit();
    assert.equal((await r.next()).message.body, 'only');
    await drained;
    assert.equal((r.link as unknown as { credit: number }).credit, 0);
  });

  test('the broker grants producers credit and tops it up as messages are stored', async () => {
    const c = await client();
    const s = await c.sender('credit.producer');
    assert.equal((s as unknown as { credit: number }).credit, broker.config.amqp.producerCredit);
    for (let i = 0; i < 10; i++) await c.send(s, { body: String(i) });
    assert.equal(stats('credit.producer').messages, 10);
  });
});

describe('settlement and outcomes', () => {
  test('a pre-settled sender: messages are stored without an outcome (at-most-once)', async () => {
    const c = await client();
    const s = await c.sender('presettled.in', { snd_settle_mode: 1 });
    for (let i = 0; i < 3; i++) s.send({ body: `p${i}` });
    await eventually(() => broker.core.getQueue('presettled.in')?.messageCount === 3, 'three stored');
  });

  test('a receiver asking for pre-settled deliveries: messages leave the queue as they are sent', async () => {
    const c = await client();
    const s = await c.sender('presettled.out');
    await c.send(s, { body: 'a' });
    await c.send(s, { body: 'b' });
    const r = await c.receiver('presettled.out', 10, { snd_settle_mode: 1 });
    const x = await r.next();
    const y = await r.next();
    assert.deepEqual([x.message.body, y.message.body], ['a', 'b']);
    assert.equal(x.delivery.remote_settled, true);
    await eventually(() => stats('presettled.out').messages === 0, 'queue empty');
    assert.equal(stats('presettled.out').acked, 2);
  });

  test('accepted removes the message', async () => {
    const c = await client();
    const s = await c.sender('out.accept');
    await c.send(s, { body: 'x' });
    const r = await c.receiver('out.accept');
    (await r.next()).delivery.accept();
    await eventually(() => stats('out.accept').messages === 0, 'acked');
  });

  test('released returns the message without raising its delivery count', async () => {
    const c = await client();
    const s = await c.sender('out.release');
    await c.send(s, { body: 'x' });
    const r = await c.receiver('out.release', 1);
    const first = await r.next();
    assert.equal(first.message.delivery_count ?? 0, 0);
    first.delivery.release();
    r.flow(1);
    const again = await r.next();
    assert.equal(again.message.body, 'x');
    assert.equal(again.message.delivery_count ?? 0, 0, 'released: not counted as a delivery attempt');
    again.delivery.accept();
  });

  test('modified with delivery-failed raises the delivery count', async () => {
    const c = await client();
    const s = await c.sender('out.modified');
    await c.send(s, { body: 'x' });
    const r = await c.receiver('out.modified', 1);
    (await r.next()).delivery.modified({ delivery_failed: true });
    r.flow(1);
    const again = await r.next();
    assert.equal(again.message.delivery_count, 1);
    assert.equal(again.message.first_acquirer, false);
    again.delivery.accept();
  });

  test('modified with undeliverable-here keeps the message from that consumer; another gets it', async () => {
    const c = await client();
    const s = await c.sender('out.elsewhere');
    await c.send(s, { body: 'x' });
    const r1 = await c.receiver('out.elsewhere', 5);
    (await r1.next()).delivery.modified({ undeliverable_here: true });
    await eventually(() => stats('out.elsewhere').inDelivery === 0, 'returned');
    assert.equal(r1.pending, 0);
    const r2 = await c.receiver('out.elsewhere', 5);
    const got = await r2.next();
    assert.equal(got.message.body, 'x');
    got.delivery.accept();
    assert.equal(r1.pending, 0, 'never redelivered to the consumer that refused it');
  });

  test('rejected dead-letters the message with the reason', async () => {
    const c = await client();
    const s = await c.sender('out.reject');
    await c.send(s, { body: 'poison', message_id: 'poison-1' });
    const r = await c.receiver('out.reject');
    (await r.next()).delivery.reject({ condition: 'app:bad', description: 'cannot parse' });
    const dlq = await c.receiver('ActiveMQ.DLQ');
    const dead = await dlq.next();
    assert.equal(dead.message.body, 'poison');
    assert.equal(dead.message.message_id, 'poison-1');
    assert.equal(dead.message.application_properties?.dlqDeliveryFailureCause, 'cannot parse');
    assert.equal(dead.message.application_properties?.['original-destination'], 'out.reject');
    dead.delivery.accept();
    assert.equal(stats('out.reject').messages, 0);
  });

  test('modified (delivery-failed) maxDeliveryAttempts times dead-letters the message', async () => {
    const c = await client();
    const s = await c.sender('dlq.work');
    await c.send(s, { body: 'flaky' });
    const r = await c.receiver('dlq.work', 1);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const d = await r.next();
      assert.equal(d.message.delivery_count ?? 0, attempt - 1);
      d.delivery.modified({ delivery_failed: true });
      r.flow(1);
    }
    const dlq = await c.receiver('dlq.dead');
    const dead = await dlq.next();
    assert.equal(dead.message.body, 'flaky');
    assert.match(String(dead.message.application_properties?.dlqDeliveryFailureCause), /attempts exhausted \(3 of 3\)/);
    dead.delivery.accept();
    await eventually(() => stats('dlq.work').messages === 0, 'gone from the work queue');
  });

  test('closing a receiver returns its unsettled messages to the queue', async () => {
    const c = await client();
    const s = await c.sender('out.close');
    await c.send(s, { body: 'x' });
    const r1 = await c.receiver('out.close');
    await r1.next();
    await c.closeLink(r1.link);
    const r2 = await c.receiver('out.close');
    const again = await r2.next();
    assert.equal(again.message.body, 'x');
    assert.equal(again.message.delivery_count, 1);
    again.delivery.accept();
  });
});

describe('dropped connections', () => {
  test('a connection that drops without closing returns its unsettled messages and its temporary queue goes', async () => {
    const c = await client();
    const s = await c.sender('drop.q');
    await c.send(s, { body: 'held' });
    const r = await c.receiver('drop.q');
    await r.next();
    const tmp = await c.receiver({ dynamic: true }, 0);
    const tmpName = (tmp.link as unknown as { remote: { attach: { source: { address: string } } } }).remote.attach.source.address;
    (c.connection as unknown as { socket: { destroy(): void } }).socket.destroy();
    await eventually(() => broker.core.getQueue(tmpName) === undefined, 'the temporary queue to go');
    await eventually(() => stats('drop.q').inDelivery === 0, 'the delivery returned');
    const other = await client();
    const again = await (await other.receiver('drop.q')).next();
    assert.equal(again.message.body, 'held');
    assert.equal(again.message.delivery_count, 1);
    again.delivery.accept();
  });
});

describe('durable messages', () => {
  test('accepted only after the store has them', async () => {
    let release: () => void = () => undefined;
    let gated = false;
    const seen: StoreOp[][] = [];
    class GatedStore extends MemoryStore {
      override async commit(batch: StoreOp[]): Promise<void> {
        seen.push(batch);
        if (gated && batch.some((op) => op.op === 'addMessage')) await new Promise<void>((r) => (release = r));
        return super.commit(batch);
      }
    }
    const b = await startBroker({}, { store: new GatedStore() });
    try {
      const c = await client(b);
      const s = await c.sender('durable.gate');
      gated = true;
      let outcome: string | undefined;
      const p = c.send(s, { body: 'keep', durable: true }).then((o) => (outcome = o.state));
      await eventually(() => seen.some((batch) => batch.some((op) => op.op === 'addMessage')), 'the store write');
      assert.equal(outcome, undefined, 'no outcome while the store has not written it');
      release();
      await p;
      assert.equal(outcome, 'accepted');
    } finally {
      await b.stop();
    }
  });
});

describe('message features', () => {
  test('a selector in the source filter (apache.org:selector-filter:string)', async () => {
    const c = await client();
    const r = await c.receiver({ address: 'sel.q', filter: rhea.filter.selector("region = 'eu' AND level > 3") }, 10);
    const source = (r.link as unknown as { remote: { attach: { source: { filter: Record<string, unknown> } } } }).remote.attach.source;
    assert.ok(source.filter && Object.keys(source.filter).length === 1, 'the broker echoes the selector it applies');
    const s = await c.sender('sel.q');
    await c.send(s, { body: 'no', application_properties: { region: 'us', level: 5 } });
    await c.send(s, { body: 'low', application_properties: { region: 'eu', level: 1 } });
    await c.send(s, { body: 'yes', application_properties: { region: 'eu', level: 5 } });
    const got = await r.next();
    assert.equal(got.message.body, 'yes');
    got.delivery.accept();
    await eventually(() => stats('sel.q').messages === 2, 'the accept');
  });

  test('an invalid selector refuses the link with amqp:invalid-field', async () => {
    const c = await client();
    const err = await c.refusedReceiver({ address: 'sel.bad', filter: rhea.filter.selector('region = ') });
    assert.equal(err.condition, 'amqp:invalid-field');
  });

  test('message groups: all messages of a group-id go to one consumer', async () => {
    const c = await client();
    const r1 = await c.receiver('groups.q', 100);
    const r2 = await c.receiver('groups.q', 100);
    const s = await c.sender('groups.q');
    for (let i = 0; i < 6; i++) await c.send(s, { body: `g${i}`, group_id: i % 2 === 0 ? 'A' : 'B', group_sequence: i });
    await eventually(() => r1.pending + r2.pending === 6, 'six deliveries');
    const by1 = await r1.drainFor(0);
    const by2 = await r2.drainFor(0);
    for (const list of [by1, by2]) {
      const groups = new Set(list.map((x) => x.message.group_id));
      assert.ok(groups.size <= 1, `one consumer got groups ${[...groups]}`);
      for (const x of list) x.delivery.accept();
    }
    assert.equal(by1.length + by2.length, 6);
  });

  test('priority: higher first; the header priority is kept', async () => {
    const c = await client();
    const s = await c.sender('prio.q');
    await c.send(s, { body: 'low', priority: 1 });
    await c.send(s, { body: 'high', priority: 9 });
    await c.send(s, { body: 'mid', priority: 5 });
    const r = await c.receiver('prio.q', 3);
    const got = [await r.next(), await r.next(), await r.next()];
    assert.deepEqual(got.map((x) => x.message.body), ['high', 'mid', 'low']);
    assert.deepEqual(got.map((x) => x.message.priority), [9, 5, 1]);
    for (const x of got) x.delivery.accept();
  });

  test('TTL: an expired message is not delivered and goes to the expiry address', async () => {
    const c = await client();
    const s = await c.sender('ttl.q');
    await c.send(s, { body: 'short', ttl: 1 });
    await c.send(s, { body: 'long', ttl: 60_000 });
    await eventually(() => stats('ttl.q').expired === 1, 'the expiry sweep');
    const r = await c.receiver('ttl.q');
    const got = await r.next();
    assert.equal(got.message.body, 'long');
    assert.ok(got.message.ttl! > 0 && got.message.ttl! <= 60_000);
    assert.ok(got.message.absolute_expiry_time instanceof Date);
    got.delivery.accept();
  });

  test('absolute-expiry-time and creation-time are kept', async () => {
    const c = await client();
    const s = await c.sender('times.q');
    const created = new Date(Date.now() - 5000);
    const expires = new Date(Date.now() + 3_600_000);
    await c.send(s, { body: 't', creation_time: created, absolute_expiry_time: expires });
    const r = await c.receiver('times.q');
    const got = await r.next();
    assert.equal((got.message.creation_time as Date).getTime(), created.getTime());
    assert.equal((got.message.absolute_expiry_time as Date).getTime(), expires.getTime());
    got.delivery.accept();
  });

  test('scheduled delivery: x-opt-delivery-delay and x-opt-delivery-time hold the message back', async () => {
    const c = await client();
    const s = await c.sender('sched.q');
    await c.send(s, { body: 'delayed', message_annotations: { 'x-opt-delivery-delay': 300 } });
    await c.send(s, { body: 'timed', message_annotations: { 'x-opt-delivery-time': new Date(Date.now() + 300) } });
    await c.send(s, { body: 'now' });
    assert.equal(stats('sched.q').scheduled, 2);
    const r = await c.receiver('sched.q', 10);
    assert.equal((await r.next()).message.body, 'now');
    const later = [(await r.next()).message.body, (await r.next()).message.body];
    assert.deepEqual(later.sort(), ['delayed', 'timed']);
    assert.equal(stats('sched.q').scheduled, 0);
  });
});

describe('address full under BLOCK', () => {
  test('the broker withholds producer credit while the address is full, and gives it back as it drains', async () => {
    const b = await startBroker({ amqp: { producerCredit: 4 }, addressSettings: { 'block.>': { maxSizeBytes: 500, addressFullPolicy: 'BLOCK' } } });
    try {
      const c = await client(b);
      const s = await c.sender('block.q');
      const credit = () => (s as unknown as { credit: number }).credit;
      const outcomes: string[] = [];
      const sends = Array.from({ length: 4 }, (_, i) => c.send(s, { body: rhea.message.data_section(Buffer.alloc(150, i)) }, 20_000).then((o) => outcomes.push(o.state)));
      await eventually(() => b.core.brokerStats().blockedSends > 0, 'a blocked send');
      await eventually(() => outcomes.length + b.core.brokerStats().blockedSends === 4, 'the others admitted');
      assert.ok(outcomes.length < 4);
      assert.equal(credit(), 0, 'no credit while the address is full');
      const r = await c.receiver('block.q', 10);
      for (let i = 0; i < 4; i++) (await r.next()).delivery.accept();
      await Promise.all(sends);
      assert.deepEqual(outcomes, ['accepted', 'accepted', 'accepted', 'accepted']);
      await eventually(() => credit() > 0, 'credit back');
    } finally {
      await b.stop();
    }
  });
});

describe('large messages', () => {
  test('a message bigger than a frame goes in several transfers both ways, intact', async () => {
    const b = await startBroker({ amqp: { maxFrameSize: 16 * 1024 } });
    try {
      const c = await client(b);
      const s = await c.sender('large.q');
      const big = Buffer.alloc(200 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
      assert.equal((await c.send(s, { body: rhea.message.data_section(big), durable: true })).state, 'accepted');
      const r = await c.receiver('large.q');
      const got = await r.next();
      assert.ok((got.message.body as { content: Buffer }).content.equals(big));
      got.delivery.accept();
    } finally {
      await b.stop();
    }
  });
});
