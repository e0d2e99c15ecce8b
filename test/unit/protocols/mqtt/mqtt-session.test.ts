import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import type { Delivery } from '../../../../src/core/handles.ts';
import type { TransportConnection } from '../../../../src/transport/connection.ts';
import type { AedesClient } from '../../../../src/protocols/mqtt/aedes-types.ts';
import { MqttConnectionStream } from '../../../../src/protocols/mqtt/connection.ts';
import { MqttSession } from '../../../../src/protocols/mqtt/mqtt-session.ts';
import { SubscriptionBinding } from '../../../../src/protocols/mqtt/subscription-binding.ts';

/** A transport that records what is written; `drain` is set to what the stream listens with. */
function fakeConnection(writes: Buffer[], congested = false): TransportConnection & { congested: boolean; drain?: () => void } {
  const conn = {
    id: 1,
    kind: 'tcp',
    remoteAddress: 'test',
    connectedAt: 0,
    bytesIn: 0,
    bytesOut: 0,
    congested,
    drain: undefined as (() => void) | undefined,
    write: (b: Buffer) => (writes.push(b), !conn.congested),
    onData() {},
    onDrain(cb: () => void) {
      conn.drain = cb;
    },
    onClose() {},
    pause() {},
    resume() {},
    end() {},
    destroy() {},
  };
  return conn as TransportConnection & { congested: boolean; drain?: () => void };
}

/** A session of a connected client over `conn`, and one subscription of it at `qos` with a window of 10. */
function sessionOver(conn: TransportConnection, qos: 0 | 1): { session: MqttSession; binding: SubscriptionBinding } {
  const stream = new MqttConnectionStream(conn, 1024);
  const client = { id: 'c', connected: true, connecting: false } as unknown as AedesClient;
  const session = new MqttSession(client, stream, pino({ level: 'silent' }), new Map());
  const binding = new SubscriptionBinding({ owner: session, filter: 't', matchFilter: 't', qos, notify: (() => {}) as never, window: 10 });
  return { session, binding };
}


/** A core consumer as the session sees it, with 9 credits left (one of a window of 10 taken by the delivery under test). */
function fakeConsumer<T extends object>(extra: T): T & { closed: boolean; credit: number; setCredit(n: number): void; grant(n: number): void } {
  const consumer = {
    ...extra,
    closed: false,
    credit: 9,
    setCredit(n: number) {
      consumer.credit = n;
    },
    grant(n: number) {
      consumer.credit += n;
    },
  };
  return consumer;
}

test('a delivery too large for any MQTT packet (remaining length > 268,435,455) is not written; it is settled and its credit returns', async () => {
  const writes: Buffer[] = [];
  const { session, binding } = sessionOver(fakeConnection(writes), 1);
  const acked: number[] = [];
  let granted = 0;
  binding.consumer = {
    autoAck: false,
    closed: false,
    unacked: new Set([7, 8]),
    ack: async (id: number) => void acked.push(id),
    grant: (n: number) => void (granted += n),
  } as never;
  // Not filled: the pages of an unsafe buffer are never touched.
  const huge = Buffer.allocUnsafe(268_435_455 - 2 - 1 - 2 + 1);
  const d = (id: number, body: Buffer) => ({ id, redelivered: false, message: { destination: { type: 'topic', name: 't' }, body } }) as unknown as Delivery;
  assert.equal(session.send(binding, d(7, huge), 1), true);
  session.send(binding, d(8, Buffer.from('small')), 1);
  await new Promise((r) => process.nextTick(r));
  assert.deepEqual(acked, [7]);
  assert.equal(granted, 1);
  assert.equal(writes.length, 1);
  assert.ok(writes[0]!.length < 100, 'only the small PUBLISH was written');
  assert.equal(writes[0]![0], 0x32);
});

test('a QoS 0 delivery written while the stream is congested takes back the rest of its subscription\'s credit until drain', async () => {
  const writes: Buffer[] = [];
  const conn = fakeConnection(writes, true);
  const { session, binding } = sessionOver(conn, 0);
  // The core took one credit of the window of 10 for this delivery.
  const consumer = fakeConsumer({ autoAck: true, unacked: new Map() });
  binding.consumer = consumer as never;
  const d = { id: 1, redelivered: false, message: { destination: { type: 'topic', name: 't' }, body: Buffer.from('x') } } as unknown as Delivery;
  session.send(binding, d, 0);
  assert.equal(consumer.credit, 0, 'nothing more is delivered into a congested stream');
  assert.equal(binding.credit.held, 10);
  await new Promise((r) => process.nextTick(r));
  assert.equal(writes.length, 1, 'the delivery itself was written');
  conn.congested = false;
  conn.drain!();
  assert.equal(consumer.credit, 10, 'the whole window is back after drain');
  assert.equal(binding.credit.held, 0);
});

test('with all 65,535 packet ids in flight a QoS 1 delivery waits, keeping its credit, and goes out on the id the next PUBACK frees', async () => {
  const writes: Buffer[] = [];
  const { session, binding } = sessionOver(fakeConnection(writes), 1);
  let granted = 0;
  binding.consumer = { autoAck: false, closed: false, unacked: new Set([1, 2]), ack: async () => {}, grant: (n: number) => void (granted += n) } as never;
  for (let i = 0; i < 65535; i++) assert.notEqual(session.allocate(), undefined);
  assert.equal(session.allocate(), undefined);
  const d = (id: number) => ({ id, redelivered: false, message: { destination: { type: 'topic', name: 't' }, body: Buffer.from(`m${id}`) } }) as unknown as Delivery;
  session.send(binding, d(1), 1);
  session.send(binding, d(2), 1);
  await new Promise((r) => process.nextTick(r));
  assert.equal(writes.length, 0);
  assert.equal(granted, 0, 'no credit back for deliveries not sent');
  session.released(300);
  session.released(301);
  await new Promise((r) => process.nextTick(r));
  const sent = Buffer.concat(writes);
  // Two QoS 1 PUBLISHes, in delivery order, on the freed ids.
  assert.equal(sent.length, 2 * (2 + 2 + 1 + 2 + 2));
  assert.deepEqual([sent.readUInt16BE(5), sent.readUInt16BE(14)], [300, 301]);
  assert.deepEqual([sent.subarray(7, 9).toString(), sent.subarray(16, 18).toString()], ['m1', 'm2']);
});

test('a QoS 1 delivery written while the stream is congested takes back the rest of the window; a PUBACK meanwhile settles and frees its id, its credit waits for drain', async () => {
  const writes: Buffer[] = [];
  const conn = fakeConnection(writes, true);
  const { session, binding } = sessionOver(conn, 1);
  // The core took one credit of the window of 10 for this delivery.
  const acked: number[] = [];
  const consumer = fakeConsumer({ autoAck: false, unacked: new Set([1]), ack: async (id: number) => void acked.push(id) });
  binding.consumer = consumer as never;
  const d = { id: 1, redelivered: false, message: { destination: { type: 'topic', name: 't' }, body: Buffer.from('x') } } as unknown as Delivery;
  session.send(binding, d, 1);
  assert.equal(consumer.credit, 0, 'nothing more is delivered into a congested stream');
  assert.equal(binding.credit.held, 9, 'the in-flight delivery keeps its own credit (its packet id)');
  await new Promise((r) => process.nextTick(r));
  assert.equal(writes.length, 1, 'the delivery itself was written');
  assert.equal(writes[0]!.readUInt16BE(5), 1, 'on packet id 1');
  session.released(1);
  assert.deepEqual(acked, [1], 'the PUBACK settles the delivery at once');
  assert.equal(consumer.credit, 0, 'its credit waits for drain');
  assert.equal(binding.credit.held, 10);
  conn.congested = false;
  conn.drain!();
  assert.equal(consumer.credit, 10, 'the whole window is back after drain');
  assert.equal(binding.credit.held, 0);
});
