import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import pino from 'pino';
import type { CoreOptions } from '../../../../src/core/core.ts';
import { MqttProtocol } from '../../../../src/protocols/mqtt/mqtt-protocol.ts';
import { TcpServer } from '../../../../src/transport/tcp-server.ts';
import { encodeSegment } from '../../../../src/interop/mqtt-topic.ts';
import { DISCONNECT, parsePublish, publishPacket, pubrel, RawMqtt, subscribePacket } from '../../../helpers/raw-mqtt.ts';
import { MemoryStore } from '../../../../src/store/memory-store.ts';
import type { Store, StoreOp } from '../../../../src/core/ports/store.ts';
import { closeCores, openCore } from '../../core/core-fixture.ts';

// MqttProtocol's own tables: what a connection leaves behind once it is gone; QoS 2 acknowledgements
// that must wait for (or not be sent after a failure of) the store write they stand for, across connections.

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await closeCores();
});

async function start(store?: Store, opts: Partial<CoreOptions> = {}): Promise<{ mqtt: MqttProtocol; port: number }> {
  const core = await openCore({ ...opts, ...(store ? { store } : {}) });
  const mqtt = await MqttProtocol.create(core, { maxPacketSize: 1 << 20, maxInflight: 10, qos0Window: 10, connectTimeout: 5000, keepaliveLimit: 0, maxSubscriptionsPerSession: 10_000 }, pino({ level: 'silent' }));
  const tcp = new TcpServer(mqtt);
  const port = await tcp.listen(0, '127.0.0.1');
  cleanups.push(() => mqtt.close(), () => tcp.close());
  return { mqtt, port };
}

test('the inbound QoS 2 table keeps no entry for a persistent client whose packet ids were all released', async () => {
  const { mqtt, port } = await start();
  for (const clientId of ['pers-a', 'pers-b', 'pers-c']) {
    const c = await RawMqtt.session(port, { clientId, clean: false });
    c.send(publishPacket('q2/t', 'x', { qos: 2, id: 9 }));
    assert.equal((await c.next()).type, 5); // PUBREC
    assert.equal(mqtt.inboundQos2Clients > 0, true);
    c.send(pubrel(9));
    assert.equal((await c.next()).type, 7); // PUBCOMP
    c.send(DISCONNECT);
    await c.waitClosed();
  }
  assert.equal(mqtt.inboundQos2Clients, 0);
});

test('a persistent client that left a QoS 2 PUBLISH without PUBREL keeps that id (its session), and a retransmission is still a duplicate', async () => {
  const { mqtt, port } = await start();
  const c = await RawMqtt.session(port, { clientId: 'pers-open', clean: false });
  c.send(publishPacket('q2/t', 'x', { qos: 2, id: 4 }));
  assert.equal((await c.next()).type, 5);
  c.close();
  await c.waitClosed();
  assert.equal(mqtt.inboundQos2Clients, 1);
  const again = await RawMqtt.session(port, { clientId: 'pers-open', clean: false });
  again.send(pubrel(4));
  assert.equal((await again.next()).type, 7);
  again.send(DISCONNECT);
  await again.waitClosed();
  assert.equal(mqtt.inboundQos2Clients, 0);
});

/** A MemoryStore whose commits can be held while `hold` is set, then failed. */
class HeldStore extends MemoryStore {
  hold = false;
  private readonly held: Array<(err: Error) => void> = [];
  private onHeld: (() => void) | null = null;
  override commit(batch: StoreOp[]): Promise<void> {
    if (!this.hold) return super.commit(batch);
    return new Promise((_resolve, reject) => {
      this.held.push(reject);
      this.onHeld?.();
    });
  }
  /** Resolves once a commit is held. */
  async heldOne(): Promise<void> {
    if (this.held.length === 0) await new Promise<void>((r) => (this.onHeld = r));
  }
  failHeld(): void {
    this.hold = false;
    for (const reject of this.held.splice(0)) reject(new Error('disk full'));
  }
}

const PINGREQ = Buffer.from([0xc0, 0x00]);
const idPacket = (type: number, id: number): Buffer => Buffer.from([type, 2, id >> 8, id & 0xff]);

/** Packets up to the PINGRESP answering a PINGREQ sent now, or up to the close. */
async function upToPing(c: RawMqtt): Promise<number[]> {
  c.send(PINGREQ);
  const types: number[] = [];
  for (;;) {
    if (c.closed && c.packets.length === 0) return types;
    const p = await c.next().catch(() => undefined);
    if (!p || p.type === 13) return types;
    types.push(p.type);
  }
}

test('a QoS 2 retransmission on a new connection is PUBRECed only once the first PUBLISH is stored (its store write failing: no PUBREC)', async () => {
  const store = new HeldStore();
  const { port } = await start(store);
  const a = await RawMqtt.session(port, { clientId: 'dup-takeover', clean: false });
  store.hold = true;
  a.send(publishPacket('q2/t', 'x', { qos: 2, id: 7 }));
  await store.heldOne();
  // The client reconnects (taking the session over) and retransmits while the first is being stored.
  const b = await RawMqtt.session(port, { clientId: 'dup-takeover', clean: false });
  b.send(publishPacket('q2/t', 'x', { qos: 2, id: 7, dup: true }));
  const before = await upToPing(b);
  assert.equal(before.includes(5), false, 'no PUBREC while the first PUBLISH is not stored');
  store.failHeld();
  const after = await upToPing(b);
  assert.equal(after.includes(5), false, 'no PUBREC for a message the store never had');
  await b.waitClosed();
  a.close();
});

/** A MemoryStore whose next commit fails when told to. */
class FailingStore extends MemoryStore {
  failNext = false;
  override commit(batch: StoreOp[]): Promise<void> {
    if (!this.failNext) return super.commit(batch);
    this.failNext = false;
    return Promise.reject(new Error('disk full'));
  }
}

test('a PUBREL whose stored packet id cannot be deleted gets no PUBCOMP (the connection closes); the PUBREL sent again on reconnect completes it', async () => {
  const store = new FailingStore();
  const { mqtt, port } = await start(store);
  const c = await RawMqtt.session(port, { clientId: 'rel-fail', clean: false });
  c.send(publishPacket('q2/t', 'x', { qos: 2, id: 9 }));
  assert.equal((await c.next()).type, 5); // PUBREC
  store.failNext = true;
  c.send(pubrel(9));
  const types = await upToPing(c);
  assert.equal(types.includes(7), false, 'no PUBCOMP while the packet id is still stored');
  await c.waitClosed();
  assert.equal(mqtt.inboundQos2Clients, 1, 'the id is still taken');
  const again = await RawMqtt.session(port, { clientId: 'rel-fail', clean: false });
  again.send(pubrel(9));
  assert.equal((await again.next()).type, 7); // PUBCOMP
  assert.equal(mqtt.inboundQos2Clients, 0);
  again.send(DISCONNECT);
  await again.waitClosed();
});

test('a PUBREL sent again on a new connection while the first one\'s delete is being stored is PUBCOMPed only after it (not at all if it fails)', async () => {
  const store = new HeldStore();
  const { mqtt, port } = await start(store);
  const a = await RawMqtt.session(port, { clientId: 'rel-again', clean: false });
  a.send(publishPacket('q2/t', 'x', { qos: 2, id: 3 }));
  assert.equal((await a.next()).type, 5); // PUBREC
  store.hold = true;
  a.send(pubrel(3));
  await store.heldOne();
  const b = await RawMqtt.session(port, { clientId: 'rel-again', clean: false });
  b.send(pubrel(3));
  assert.equal((await upToPing(b)).includes(7), false, 'no PUBCOMP while the delete is not stored');
  store.failHeld();
  assert.equal((await upToPing(b)).includes(7), false, 'no PUBCOMP: the id is still stored');
  await b.waitClosed();
  assert.equal(mqtt.inboundQos2Clients, 1, 'the id is still taken');
  a.close();
});

test('a PUBREC reaching a connection whose session a takeover has restored elsewhere owes no PUBREL: the message is sent again, not both', async () => {
  const { mqtt, port } = await start();
  const a = await RawMqtt.session(port, { clientId: 'tk-gap', clean: false });
  a.send(subscribePacket(1, 'tk/x', 2));
  assert.equal((await a.next()).type, 9); // SUBACK
  const pub = await RawMqtt.session(port, { clientId: 'tk-pub' });
  pub.send(publishPacket('tk/x', 'one', { qos: 1, id: 1 }));
  const first = parsePublish(await a.next());
  assert.equal(first.payload.toString(), 'one');
  // What a takeover's new connection does when it restores the session, before the old one is closed.
  (mqtt as unknown as { subs: { closeDurable(name: string): void } }).subs.closeDurable(`mqtt.tk-gap.${encodeSegment('tk/x')}`);
  a.send(idPacket(0x50, first.id!)); // PUBREC in that gap
  assert.equal((await a.next()).type, 6); // aedes answers PUBREL on this connection
  assert.deepEqual(mqtt.core.state('mqtt.pubrel.'), [], 'no PUBREL recorded for a message back in its queue');
  a.close();
  await a.waitClosed();
  const b = await RawMqtt.session(port, { clientId: 'tk-gap', clean: false });
  const again = parsePublish(await b.next());
  assert.equal(again.payload.toString(), 'one');
  assert.equal(again.dup, true);
  assert.equal((await upToPing(b)).includes(6), false, 'no PUBREL resent for it');
  b.close();
  pub.close();
});

test('a QoS 2 PUBLISH whose send waited (BLOCK) while a clean CONNECT dropped its packet id leaves no stored id behind', async () => {
  const { mqtt, port } = await start(undefined, { addressSettings: { 'blk.x': { maxSizeBytes: 1000, addressFullPolicy: 'BLOCK' } } });
  const sub = await RawMqtt.session(port, { clientId: 'blk-sub', clean: false });
  sub.send(subscribePacket(1, 'blk/x', 1));
  assert.equal((await sub.next()).type, 9);
  sub.send(DISCONNECT);
  await sub.waitClosed();
  const pub = await RawMqtt.session(port, { clientId: 'blk-pub', clean: false });
  pub.send(publishPacket('blk/x', 'x'.repeat(700), { qos: 1, id: 1 }));
  assert.equal((await pub.next()).type, 4); // PUBACK: the subscription queue is nearly full now
  pub.send(publishPacket('blk/x', 'two'.padEnd(200, '.'), { qos: 2, id: 5 }));
  assert.deepEqual(await upToPing(pub), [], 'no PUBREC: the send waits for room');
  assert.equal(mqtt.core.isBlocked({ type: 'topic', name: 'blk.x' }), true);
  // The client comes back with a clean session: its packet ids go, while the send still waits.
  const clean = await RawMqtt.session(port, { clientId: 'blk-pub', clean: true });
  await mqtt.core.purge(`mqtt.blk-sub.${encodeSegment('blk/x')}`);
  const back = await RawMqtt.session(port, { clientId: 'blk-sub', clean: false });
  assert.equal(parsePublish(await back.next()).payload.toString(), 'two'.padEnd(200, '.'), 'the waiting send went through');
  await mqtt.core.putState('probe', 1); // stored after anything the send's completion started
  assert.deepEqual(mqtt.core.state('mqtt.qos2in.'), [], 'no packet id stored for the clean session');
  back.close();
  clean.close();
  pub.close();
});
