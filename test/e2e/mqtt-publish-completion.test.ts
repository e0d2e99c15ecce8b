import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConsumerHandle, Delivery } from '../../src/core/handles.ts';
import { eventually } from '../helpers/amqp-client.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { TestMqttClient } from '../helpers/mqtt-client.ts';
import { publishPacket, RawMqtt } from '../helpers/raw-mqtt.ts';

/**
 * How a PUBLISH is completed: one the core routes at once (QoS 0, or QoS 1 with no durable
 * subscriber) completes synchronously, one that waits (a store write, a BLOCKed address) later, and
 * PUBACKs still go out in arrival order; a publisher whose address is blocked is not read from.
 */

let broker: TestBroker;

before(async () => {
  broker = await startBroker({ addressSettings: { 'bp.>': { maxSizeBytes: 2000, addressFullPolicy: 'BLOCK' } } });
});
after(() => broker.stop());

const PINGREQ = Buffer.from([0xc0, 0x00]);

describe('publish completion', () => {
  test('PUBACKs of stored and not-stored QoS 1 publishes, with QoS 0 between them, come back in arrival order', async () => {
    const durable = await TestMqttClient.connect(broker, { clientId: 'ord-durable', clean: false });
    await durable.subscribe('ord/stored', 1);
    const plain = await TestMqttClient.connect(broker, { clientId: 'ord-plain' });
    await plain.subscribe('ord/#', 1);
    const pub = await RawMqtt.session(broker.ports.mqtt!, { clientId: 'ord-pub' });
    // One TCP write: aedes handles the packets of a chunk concurrently.
    const burst: Buffer[] = [];
    for (let i = 1; i <= 12; i++) {
      const t = i % 3 === 0 ? 'ord/stored' : 'ord/plain';
      burst.push(publishPacket(t, `m${i}`, { qos: 1, id: i }));
      burst.push(publishPacket('ord/plain', `q0-${i}`, { qos: 0 }));
    }
    pub.send(Buffer.concat(burst));
    const acks: number[] = [];
    while (acks.length < 12) {
      const p = await pub.next();
      assert.equal(p.type, 4, 'PUBACK');
      acks.push(p.body.readUInt16BE(0));
    }
    assert.deepEqual(acks, Array.from({ length: 12 }, (_, i) => i + 1));
    const got = await plain.count(24);
    // Per topic and QoS, the subscriber sees the publisher's order ([MQTT-4.6.0-6]; across topics it may not:
    // a message that waits for the store is routed after a later one that does not).
    const q1 = (t: string) => got.filter((m) => m.qos === 1 && m.topic === t).map((m) => m.payload.toString());
    const ids = Array.from({ length: 12 }, (_, i) => i + 1);
    assert.deepEqual(q1('ord/plain'), ids.filter((i) => i % 3 !== 0).map((i) => `m${i}`));
    assert.deepEqual(q1('ord/stored'), ids.filter((i) => i % 3 === 0).map((i) => `m${i}`));
    const q0 = got.filter((m) => m.qos === 0).map((m) => m.payload.toString());
    assert.deepEqual(q0, Array.from({ length: 12 }, (_, i) => `q0-${i + 1}`));
    assert.deepEqual((await durable.count(4)).map((m) => m.payload.toString()), ['m3', 'm6', 'm9', 'm12']);
    const stats = broker.core.queueStats().find((s) => s.name === 'mqtt.ord-durable.ord%2Fstored');
    assert.equal(stats?.enqueued, 4, 'stored once each');
    pub.close();
    await plain.end();
    await durable.end();
    (await TestMqttClient.connect(broker, { clientId: 'ord-durable', clean: true })).end();
  });

  test('while its address is blocked, a QoS 0 publisher is not read from; once there is room, everything follows in order', async () => {
    const deliveries: Delivery[] = [];
    let consumer: ConsumerHandle | undefined;
    consumer = await broker.core.createConsumer({ destination: { type: 'topic', name: 'bp.x' }, sink: { deliver: (d) => deliveries.push(d) } });
    const watcher = await TestMqttClient.connect(broker, { clientId: 'bp-watch' });
    await watcher.subscribe('other/#', 0);
    const pub = await RawMqtt.session(broker.ports.mqtt!, { clientId: 'bp-pub' });
    const body = (i: number) => `b${i}`.padEnd(600, '.');
    pub.send(Buffer.concat(Array.from({ length: 6 }, (_, i) => publishPacket('bp/x', body(i), { qos: 0 }))));
    await eventually(() => broker.core.brokerStats().blockedSends > 0, 'a blocked send');
    assert.equal(broker.core.isBlocked({ type: 'topic', name: 'bp.x' }), true);
    // Sent after the blocked chunk: not handled while the address is blocked.
    pub.send(Buffer.concat([publishPacket('other/late', 'from-blocked', { qos: 0 }), PINGREQ]));
    const marker = await TestMqttClient.connect(broker, { clientId: 'bp-marker' });
    await marker.publish('other/marker', 'marker', { qos: 1 });
    await watcher.count(1);
    assert.deepEqual(watcher.texts, ['marker'], 'the blocked publisher\'s later PUBLISH was not read');
    assert.equal(pub.packets.length, 0, 'no PINGRESP while blocked');
    // Room: the consumer takes and acks everything.
    const settle = async (n: number) => {
      for (let k = 0; k < n; k++) {
        await eventually(() => deliveries.length > k, `delivery ${k}`);
        await consumer!.ack(deliveries[k]!.id);
      }
    };
    consumer.grant(100);
    await settle(6);
    assert.deepEqual(deliveries.map((d) => d.message.body.toString().slice(0, 3).replace(/\.+$/, '')), ['b0', 'b1', 'b2', 'b3', 'b4', 'b5']);
    assert.equal((await pub.next()).type, 13, 'PINGRESP once unblocked');
    await watcher.count(2);
    assert.deepEqual(watcher.texts, ['marker', 'from-blocked']);
    consumer.close();
    consumer = undefined;
    pub.close();
    await marker.end();
    await watcher.end();
  });

  test('a retained publish being stored is not overtaken by the same publisher\'s later live ones to its topic (one chunk, QoS 0 and 1)', async () => {
    const sub = await TestMqttClient.connect(broker, { clientId: 'rord-sub' });
    await sub.subscribe('rord/#', 1);
    const pub = await RawMqtt.session(broker.ports.mqtt!, { clientId: 'rord-pub' });
    pub.send(
      Buffer.concat([
        publishPacket('rord/a', 'a1-retained', { qos: 1, id: 1, retain: true }),
        publishPacket('rord/a', 'a2', { qos: 1, id: 2 }),
        publishPacket('rord/a', 'a3', { qos: 1, id: 3 }),
        publishPacket('rord/b', 'b1-retained', { qos: 0, retain: true }),
        publishPacket('rord/b', 'b2', { qos: 0 }),
      ]),
    );
    const got = await sub.count(5);
    const on = (t: string) => got.filter((m) => m.topic === t).map((m) => m.payload.toString());
    assert.deepEqual(on('rord/a'), ['a1-retained', 'a2', 'a3']);
    assert.deepEqual(on('rord/b'), ['b1-retained', 'b2']);
    const acks: number[] = [];
    while (acks.length < 3) acks.push((await pub.next()).body.readUInt16BE(0));
    assert.deepEqual(acks, [1, 2, 3]);
    pub.close();
    await sub.end();
  });
});
