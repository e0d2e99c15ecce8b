import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBroker } from '../helpers/broker.ts';
import { TestMqttClient } from '../helpers/mqtt-client.ts';

/*
 * Overlapping subscriptions of one client (MQTT 3.1.1 3.3.5: the server may deliver a copy per
 * matching subscription, each at that subscription's QoS): `a/#` at QoS 1 and `a/b` at QoS 0 get a
 * message on `a/b` published at QoS 1 once each, at 1 and at 0; aedes would cap both at the QoS of
 * the subscription whose filter equals the topic. Clean and persistent sessions alike.
 */

for (const clean of [true, false]) {
  test(`overlapping subscriptions each deliver at their own granted QoS (clean ${clean})`, async () => {
    const broker = await startBroker();
    try {
      const sub = await TestMqttClient.connect(broker, { clientId: `ov-${clean}`, clean });
      await sub.subscribe('ov/#', 1);
      await sub.subscribe('ov/b', 0);
      const pub = await TestMqttClient.connect(broker, { clientId: `ov-pub-${clean}` });
      await pub.publish('ov/b', 'both', { qos: 1 });
      await pub.publish('ov/c', 'wide-only', { qos: 1 });
      const got = await sub.count(3);
      const qosOf = (body: string) => got.filter((m) => m.payload.toString() === body).map((m) => m.qos).sort();
      assert.deepEqual(qosOf('both'), [0, 1], 'one copy per matching subscription, each at its QoS');
      assert.deepEqual(qosOf('wide-only'), [1]);
      await sub.end();
      await pub.end();
    } finally {
      await broker.stop();
    }
  });
}
