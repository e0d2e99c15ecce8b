import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBroker } from '../helpers/broker.ts';
import { TestMqttClient } from '../helpers/mqtt-client.ts';
import { parsePublish, puback, RawMqtt, subscribePacket } from '../helpers/raw-mqtt.ts';

/*
 * Retained messages sent on SUBSCRIBE are bounded by the receive window (`mqtt.maxInflight`) as a
 * subscription's messages are: a SUBSCRIBE matching hundreds of retained QoS 1 messages gets
 * `maxInflight` of them, and one more per PUBACK, each once.
 */

const WINDOW = 5;
const COUNT = 300;

test('retained QoS 1 messages on SUBSCRIBE: at most maxInflight unacknowledged, one more per PUBACK, all of them once', { timeout: 60_000 }, async () => {
  const broker = await startBroker({ mqtt: { maxInflight: WINDOW } });
  try {
    const pub = await TestMqttClient.connect(broker, { clientId: 'rw-pub' });
    await Promise.all(Array.from({ length: COUNT }, (_, i) => pub.publish(`rw/${i}`, `m${i}`, { qos: 1, retain: true })));
    await pub.end();

    const c = await RawMqtt.session(broker.ports.mqtt!, { clientId: 'rw-sub' });
    c.send(subscribePacket(1, 'rw/#', 1));
    assert.equal((await c.next()).type, 9, 'SUBACK');
    const ids: number[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < WINDOW; i++) {
      const p = await c.next();
      assert.equal(p.type, 3);
      const m = parsePublish(p);
      assert.equal(m.retain, true);
      assert.equal(m.qos, 1);
      ids.push(m.id!);
      seen.add(m.topic);
    }
    // Nothing more until a PUBACK: three PINGREQ round trips see only PINGRESPs.
    for (let i = 0; i < 3; i++) {
      c.send(Buffer.from([0xc0, 0x00]));
      const p = await c.next();
      assert.equal(p.type, 13, `only PINGRESP while the window is full (got packet type ${p.type})`);
    }
    // One PUBACK lets exactly one more through.
    c.send(puback(ids.shift()!));
    const one = parsePublish(await c.next());
    seen.add(one.topic);
    c.send(Buffer.from([0xc0, 0x00]));
    assert.equal((await c.next()).type, 13, 'one PUBACK, one more retained message');
    for (const id of [...ids, one.id!]) c.send(puback(id));
    let got = WINDOW + 1;
    while (got < COUNT) {
      const p = await c.next();
      assert.equal(p.type, 3);
      const m = parsePublish(p);
      seen.add(m.topic);
      got++;
      c.send(puback(m.id!));
    }
    assert.equal(seen.size, COUNT, 'each retained message once');
    c.close();
  } finally {
    await broker.stop();
  }
});
