import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import type { Delivery } from '../../../../src/core/consumer.ts';
import type { TransportConnection } from '../../../../src/transport/connection.ts';
import type { AedesClient } from '../../../../src/protocols/mqtt/aedes-types.ts';
import { MqttConnectionStream } from '../../../../src/protocols/mqtt/connection.ts';
import { MqttSession } from '../../../../src/protocols/mqtt/mqtt-session.ts';
import { SubscriptionBinding } from '../../../../src/protocols/mqtt/subscription-binding.ts';

/** A transport that records what is written. */
function fakeConnection(writes: Buffer[]): TransportConnection {
  return {
    id: 1,
    kind: 'tcp',
    remoteAddress: 'test',
    congested: false,
    write: (b: Buffer) => (writes.push(b), true),
    onData() {},
    onDrain() {},
    onClose() {},
    pause() {},
    resume() {},
    end() {},
    destroy() {},
  } as TransportConnection;
}

test('a delivery too large for any MQTT packet (remaining length > 268,435,455) is not written; it is settled and its credit returns', async () => {
  const writes: Buffer[] = [];
  const stream = new MqttConnectionStream(fakeConnection(writes), 1024);
  const client = { id: 'c', connected: true, connecting: false } as unknown as AedesClient;
  const session = new MqttSession(client, stream, pino({ level: 'silent' }), new Map());
  const binding = new SubscriptionBinding({ owner: session, filter: 'big', matchFilter: 'big', qos: 1, notify: (() => {}) as never, window: 10 });
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
  const huge = Buffer.allocUnsafe(268_435_455 - 2 - 3 - 2 + 1);
  const d = (id: number, body: Buffer) => ({ id, redelivered: false, message: { destination: { type: 'topic', name: 'big' }, body } }) as unknown as Delivery;
  assert.equal(session.send(binding, d(7, huge), 1), true);
  session.send(binding, d(8, Buffer.from('small')), 1);
  await new Promise((r) => process.nextTick(r));
  assert.deepEqual(acked, [7]);
  assert.equal(granted, 1);
  assert.equal(writes.length, 1);
  assert.ok(writes[0]!.length < 100, 'only the small PUBLISH was written');
  assert.equal(writes[0]![0], 0x32);
});
