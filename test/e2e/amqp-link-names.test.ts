import assert from 'node:assert/strict';
import path from 'node:path';
import rhea from 'rhea';
import { after, before, describe, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { protonMissing, runProtonScenario } from '../helpers/python-proton.ts';
import { AMQP_HEADER, frames, perf, RawAmqp, terminus, until, type Received } from '../helpers/raw-amqp.ts';

// Issue 12, item 8: link names are unique per direction, not per session. AMQP 1.0 §2.6.1 names a
// link from the source's container to the target's, so a sender and a receiver of one name are two
// links; qpid-proton's BlockingConnection names both after the address and needs that.

const CLIENT = path.resolve(import.meta.dirname, 'python/amqp_proton_links.py');
const CLIENT_BASE = path.resolve(import.meta.dirname, 'python/amqp_proton.py');

const missing = await protonMissing();

const py = runProtonScenario;

interface Named {
  sender_name: string;
  receiver_name: string;
  bodies: string[];
}

let broker: TestBroker;

before(async () => {
  broker = await startBroker({ store: { type: 'memory' } });
});
after(async () => {
  await broker.stop();
});

describe('python-qpid-proton BlockingConnection', { skip: missing ?? false }, () => {
  test("create_sender(address) then create_receiver(address): two links of one name, both work", async () => {
    const out = await py<Named>(CLIENT, broker.ports.amqp!, 'sender_then_receiver', { address: 'queue://names.blocking', bodies: ['one', 'two'] });
    assert.equal(out.sender_name, out.receiver_name, 'proton names both links after the address');
    assert.deepEqual(out.bodies, ['one', 'two']);
    assert.equal(broker.core.getQueue('names.blocking')!.messageCount, 0);
  });

  test('a durable subscription keeps its identity (container id + link name) beside a sender of the same name', async () => {
    const sub = { container_id: 'names-app', name: 'names-sub', address: 'topic://names.news' };
    const out = await py<Named>(CLIENT, broker.ports.amqp!, 'durable_with_same_name_sender', { ...sub, body: 'first' });
    assert.equal(out.sender_name, out.receiver_name);
    assert.deepEqual(out.bodies, ['first']);
    // Closing the same-named sender did not unsubscribe: the subscription queue is still there.
    const q = broker.core.getQueue('names-app.names-sub');
    assert.ok(q?.durable, 'the durable subscription outlives its detached receiver and the closed sender');
    await py(CLIENT_BASE, broker.ports.amqp!, 'send', { address: 'topic://names.news', messages: [{ body: { text: 'while-detached' }, durable: true }] });
    const again = await py<{ messages: Array<{ body: { text: string } }> }>(CLIENT_BASE, broker.ports.amqp!, 'durable_subscribe', { ...sub, count: 1, unsubscribe: true });
    assert.deepEqual(again.messages.map((m) => m.body.text), ['while-detached']);
    assert.equal(broker.core.getQueue('names-app.names-sub'), undefined, 'closing the receiver unsubscribed');
  });
});

const BEGIN = perf('begin', { next_outgoing_id: 0, incoming_window: 100, outgoing_window: 100 });

/** The client's sender (role false) on `handle`, to `address`. */
function senderAttach(name: string, handle: number, address: string): Buffer {
  return perf('attach', { name, handle, role: false, snd_settle_mode: 0, rcv_settle_mode: 0, source: terminus.source({}), target: terminus.target({ address }), initial_delivery_count: 0 });
}
/** The client's receiver (role true) on `handle`, from `address`. */
function receiverAttach(name: string, handle: number, address: string): Buffer {
  return perf('attach', { name, handle, role: true, snd_settle_mode: 0, rcv_settle_mode: 0, source: terminus.source({ address }), target: terminus.target({}) });
}
const attachesOf = (a: RawAmqp, name: string): Received[] => a.received.filter((r) => r.name === 'attach' && r.p.name === name);

describe('raw frames', () => {
  test('a sender and a receiver of one name on one session are two links; a detach ends only its own', async () => {
    const a = await RawAmqp.connect(broker.ports.amqp!);
    try {
      a.write(AMQP_HEADER, perf('open', { container_id: 'names-raw' }), BEGIN, senderAttach('both', 0, 'names.raw'), receiverAttach('both', 1, 'names.raw'));
      await until(() => attachesOf(a, 'both').length === 2 || a.received.some((r) => r.name === 'close'), 'both attaches answered');
      assert.equal(a.closeError(), undefined, `no close: ${JSON.stringify(a.closeError())}`);
      // The broker's answers take the opposite roles: its sender (role false) and its receiver (role true).
      assert.deepEqual(attachesOf(a, 'both').map((r) => r.p.role).sort(), [false, true]);
      const brokerReceiver = attachesOf(a, 'both').find((r) => r.p.role === true)!.p.handle as number;
      const brokerSender = attachesOf(a, 'both').find((r) => r.p.role === false)!.p.handle as number;
      assert.notEqual(brokerReceiver, brokerSender);

      // A second receiver of that name while the first is attached is still refused (one link per name and direction).
      const dup = await RawAmqp.connect(broker.ports.amqp!);
      dup.write(AMQP_HEADER, perf('open', { container_id: 'names-dup' }), BEGIN, receiverAttach('twice', 0, 'names.raw'), receiverAttach('twice', 1, 'names.raw'));
      await dup.closedWithin();
      assert.equal(dup.closeError()?.condition, 'amqp:not-allowed');

      // Detach the receiver; the sender of the same name still takes a message.
      a.write(perf('detach', { handle: 1, closed: true }));
      await until(() => a.received.some((r) => r.name === 'detach' && r.p.handle === brokerSender), 'the receiver detached');
      await until(() => a.received.some((r) => r.name === 'flow' && r.p.handle === brokerReceiver), 'credit for the sender');
      const payload = rhea.message.encode({ body: 'still-here' });
      a.write(frames.write_frame(frames.amqp_frame(0, frames.transfer!({ handle: 0, delivery_id: 0, delivery_tag: Buffer.from('t0'), message_format: 0, settled: false }), payload)));
      await until(() => a.received.some((r) => r.name === 'disposition') || a.received.some((r) => r.name === 'close'), 'the transfer settled');
      assert.equal(a.closeError(), undefined, `no close: ${JSON.stringify(a.closeError())}`);
      await until(() => broker.core.getQueue('names.raw')?.messageCount === 1, 'the message queued');

      // A receiver of that name attaches again (the sender's entry was not taken for it).
      a.write(receiverAttach('both', 2, 'names.raw'));
      await until(() => attachesOf(a, 'both').length === 3 || a.received.some((r) => r.name === 'close'), 'the new receiver answered');
      assert.equal(a.closeError(), undefined, `no close: ${JSON.stringify(a.closeError())}`);
      assert.equal(attachesOf(a, 'both')[2]!.p.role, false, "the broker's sender");
    } finally {
      a.socket.destroy();
    }
  });

  test('a receiver detached and attached again under its name in one write gets the detach answer, a new attach and its messages on the new link', async () => {
    for (const b of ['r1', 'r2']) await broker.core.send({ destination: { type: 'queue', name: 'names.again' }, body: Buffer.from(b) });
    const flow = (handle: number) => perf('flow', { next_incoming_id: 0, incoming_window: 100, next_outgoing_id: 0, outgoing_window: 100, handle, delivery_count: 0, link_credit: 10 });
    const a = await RawAmqp.connect(broker.ports.amqp!);
    try {
      a.write(AMQP_HEADER, perf('open', { container_id: 'names-again' }), BEGIN, receiverAttach('again', 0, 'names.again'), flow(0));
      await until(() => a.received.filter((r) => r.name === 'transfer').length === 2 || a.received.some((r) => r.name === 'close'), 'both messages on the first link');
      const first = attachesOf(a, 'again')[0]!.p.handle as number;
      // Unsettled: the detach gives both back to the queue, and the new link gets them.
      const before = a.received.length;
      a.write(perf('detach', { handle: 0, closed: true }), receiverAttach('again', 0, 'names.again'), flow(0));
      await until(() => attachesOf(a, 'again').length === 2 || a.received.some((r) => r.name === 'close'), 'the second attach answered');
      assert.equal(a.closeError(), undefined, `no close: ${JSON.stringify(a.closeError())}`);
      const second = attachesOf(a, 'again')[1]!.p.handle as number;
      await until(() => a.received.slice(before).filter((r) => r.name === 'transfer' && r.p.handle === second).length === 2, 'both messages on the new link');
      await until(() => a.received.slice(before).some((r) => r.name === 'detach' && r.p.handle === first), 'the detach answered');
      const after = a.received.slice(before);
      assert.equal(after.filter((r) => r.name === 'transfer' && r.p.handle !== second).length, 0, 'nothing more on the detached link');
    } finally {
      a.socket.destroy();
    }
  });

  test('a durable subscription detached (not closed) and attached again in one write: both frames answered, nothing lost', async () => {
    const source = terminus.source({ address: 'topic://names.durable-again', durable: 2, expiry_policy: 'never' });
    const attach = perf('attach', { name: 'dsub', handle: 0, role: true, snd_settle_mode: 0, rcv_settle_mode: 0, source, target: terminus.target({}) });
    const flow = perf('flow', { next_incoming_id: 0, incoming_window: 100, next_outgoing_id: 0, outgoing_window: 100, handle: 0, delivery_count: 0, link_credit: 10 });
    const a = await RawAmqp.connect(broker.ports.amqp!);
    try {
      a.write(AMQP_HEADER, perf('open', { container_id: 'names-durable-again' }), BEGIN, attach, flow);
      await until(() => attachesOf(a, 'dsub').length === 1 || a.received.some((r) => r.name === 'close'), 'the subscription attached');
      await until(() => broker.core.getQueue('names-durable-again.dsub')?.consumers.length === 1, 'its consumer');
      for (const b of ['d1', 'd2']) await broker.core.send({ destination: { type: 'topic', name: 'names.durable-again' }, body: Buffer.from(b) });
      await until(() => a.received.filter((r) => r.name === 'transfer').length === 2, 'both messages on the first link');
      const first = attachesOf(a, 'dsub')[0]!.p.handle as number;
      const before = a.received.length;
      a.write(perf('detach', { handle: 0, closed: false }), attach, flow);
      await until(() => attachesOf(a, 'dsub').length === 2 || a.received.some((r) => r.name === 'close'), 'the second attach answered');
      assert.equal(a.closeError(), undefined, `no close: ${JSON.stringify(a.closeError())}`);
      const second = attachesOf(a, 'dsub')[1]!.p.handle as number;
      await until(() => a.received.slice(before).some((r) => r.name === 'detach' && r.p.handle === first), 'the detach answered');
      // The old consumer lets the subscription go on the next turn (its dispositions settle first), so
      // the new link may find it still held: then it is refused with the protocol's error
      // (amqp:resource-locked, as a second consumer of an active durable subscription is) and the
      // client may attach again. Either way both messages are still the subscription's.
      const queue = () => broker.core.getQueue('names-durable-again.dsub');
      await until(
        () => a.received.slice(before).filter((r) => r.name === 'transfer' && r.p.handle === second).length === 2 || (a.received.slice(before).some((r) => r.name === 'detach' && r.p.handle === second) && queue()?.messageCount === 2),
        'the messages on the new link, or the new link refused with the messages kept',
      );
      const refusal = a.received.slice(before).find((r) => r.name === 'detach' && r.p.handle === second);
      if (refusal) assert.equal((refusal.p.error as { condition?: string } | undefined)?.condition, 'amqp:resource-locked');
    } finally {
      a.socket.destroy();
    }
  });
});
