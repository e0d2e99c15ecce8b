import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertServed, watchAttack } from '../helpers/attack.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { TestMqttClient } from '../helpers/mqtt-client.ts';
import { connectPacket, DISCONNECT, parsePublish, RawMqtt, subscribeManyPacket, unsubscribePacket } from '../helpers/raw-mqtt.ts';

// Issue 11 item 6 (MQTT): subscription work runs in slices (work-slicer.ts). Work a client asked for
// must keep its order and its effect when it is sliced: a clean CONNECT ends the stored session even
// if the connection goes before CONNACK, and an UNSUBSCRIBE right behind a long SUBSCRIBE wins.

/** Polls broker state (there is no event to await for a purge that outlives its connection). */
async function until(pred: () => boolean, what: string, timeout = 15_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('sliced MQTT subscription work', () => {
  let broker: TestBroker;

  before(async () => {
    broker = await startBroker({ store: { type: 'memory' } });
  });
  after(async () => broker.stop());

  test('a clean CONNECT whose connection closes before CONNACK still ends the stored session', async () => {
    const port = broker.ports.mqtt!;
    const w = await watchAttack({ stompPort: broker.ports.stomp! });
    const N = 5000;
    const filters = Array.from({ length: N }, (_, i) => `gone/${i}`);
    const first = await RawMqtt.session(port, { clientId: 'purged', clean: false });
    first.send(subscribeManyPacket(1, filters, 1));
    assert.equal((await first.next(60_000)).type, 9);
    first.send(DISCONNECT);
    await first.waitClosed();
    assert.equal(broker.core.durableSubscriptions('mqtt.purged').length, N);

    // The clean CONNECT starts the purge (thousands of deletes, in slices); the client is gone at once.
    const quitter = await RawMqtt.connect(port);
    quitter.send(connectPacket({ clientId: 'purged', clean: true }));
    await until(() => broker.core.durableSubscriptions('mqtt.purged').length < N, 'the purge to start');
    quitter.close();
    await until(() => broker.core.durableSubscriptions('mqtt.purged').length === 0, 'every stored subscription to go');

    const again = await RawMqtt.connect(port);
    again.send(connectPacket({ clientId: 'purged', clean: false }));
    const connack = await again.next(30_000);
    assert.equal(connack.type, 2);
    assert.deepEqual([...connack.body], [0, 0], 'CONNACK: no session present');
    again.close();
    assertServed(await w.stop());
  });

  for (const clean of [true, false]) {
    test(`${clean ? 'clean' : 'persistent'} session: an UNSUBSCRIBE sent right behind a SUBSCRIBE of thousands of filters removes the filter`, async () => {
      const port = broker.ports.mqtt!;
      const id = `unsub-race-${clean}`;
      const c = await RawMqtt.session(port, { clientId: id, clean });
      const filters = Array.from({ length: 3000 }, (_, i) => `race${clean}/${i}`);
      // One write: aedes handles both packets of the chunk at once.
      c.send(Buffer.concat([subscribeManyPacket(1, filters, 1), unsubscribePacket(2, [filters[filters.length - 1]!])]));
      const acks = [await c.next(60_000), await c.next(60_000)];
      assert.deepEqual(acks.map((p) => p.type).sort((a, b) => a - b), [9, 11]);
      const pub = await TestMqttClient.connect(broker, { clientId: `${id}-pub` });
      await pub.publish(filters[filters.length - 1]!, 'unsubscribed', { qos: 1 });
      await pub.publish(filters[0]!, 'subscribed', { qos: 1 });
      const got = parsePublish(await c.next(10_000));
      assert.equal(got.payload.toString(), 'subscribed', `got ${got.topic}`);
      await pub.end();
      c.close();
    });
  }

  test('clean session: SUBSCRIBE of thousands, UNSUBSCRIBE of one, SUBSCRIBE of it again, in one read: it stays subscribed', async () => {
    const c = await RawMqtt.session(broker.ports.mqtt!, { clientId: 'resub-race', clean: true });
    const filters = Array.from({ length: 3000 }, (_, i) => `resub/${i}`);
    const last = filters[filters.length - 1]!;
    c.send(Buffer.concat([subscribeManyPacket(1, filters, 1), unsubscribePacket(2, [last]), subscribeManyPacket(3, [last], 1)]));
    const acks = [await c.next(60_000), await c.next(60_000), await c.next(60_000)];
    assert.deepEqual(acks.map((p) => p.type).sort((a, b) => a - b), [9, 9, 11]);
    const pub = await TestMqttClient.connect(broker, { clientId: 'resub-race-pub' });
    await pub.publish(last, 'resubscribed', { qos: 1 });
    assert.equal(parsePublish(await c.next(10_000)).payload.toString(), 'resubscribed');
    await pub.end();
    c.close();
  });

  test('a clean CONNECT while the purge of a client that left is still running gets its CONNACK', async () => {
    const port = broker.ports.mqtt!;
    const N = 5000;
    const first = await RawMqtt.session(port, { clientId: 'purged-twice', clean: false });
    first.send(subscribeManyPacket(1, Array.from({ length: N }, (_, i) => `twice/${i}`), 1));
    assert.equal((await first.next(60_000)).type, 9);
    first.send(DISCONNECT);
    await first.waitClosed();
    const quitter = await RawMqtt.connect(port);
    quitter.send(connectPacket({ clientId: 'purged-twice', clean: true }));
    await until(() => broker.core.durableSubscriptions('mqtt.purged-twice').length < N, 'the purge to start');
    quitter.close();
    // The first purge goes on; this one walks the same subscriptions meanwhile.
    const again = await RawMqtt.connect(port);
    again.send(connectPacket({ clientId: 'purged-twice', clean: true }));
    const connack = await again.next(30_000);
    assert.equal(connack.type, 2);
    assert.deepEqual([...connack.body], [0, 0], 'CONNACK accepted, no session present');
    await until(() => broker.core.durableSubscriptions('mqtt.purged-twice').length === 0, 'every stored subscription to go');
    again.close();
  });
});
