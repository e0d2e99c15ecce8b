import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { TestMqttClient } from '../helpers/mqtt-client.ts';

/*
 * `$share/<group>/<filter>` of persistent sessions at QoS 1/2 is a durable shared core subscription
 * (Artemis: shared durable subscription): messages published while every member is offline wait for
 * the group, also across a restart; the members' sessions restore it; it goes with the last
 * persistent member's UNSUBSCRIBE or clean CONNECT. A group of clean sessions stays non-durable.
 */

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const queueOf = (b: TestBroker, name: string) => b.core.queueStats().find((q) => q.name === name);

test('a $share group of persistent sessions keeps messages while all members are offline, across a restart; the last member leaving deletes it', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-mqtt-share-'));
  dirs.push(dataDir);
  let broker = await startBroker({ dataDir });
  const name = 'mqtt-share.g.sh%2F%23';
  try {
    const a = await TestMqttClient.connect(broker, { clientId: 'sh-a', clean: false });
    const b = await TestMqttClient.connect(broker, { clientId: 'sh-b', clean: false });
    await a.subscribe('$share/g/sh/#', 1);
    await b.subscribe('$share/g/sh/#', 1);
    assert.equal(queueOf(broker, name)?.durable, true);
    await a.end();
    await b.end();

    const pub = await TestMqttClient.connect(broker, { clientId: 'sh-pub' });
    for (let i = 0; i < 4; i++) await pub.publish('sh/x', `m${i}`, { qos: 1 });
    await pub.end();
    assert.equal(queueOf(broker, name)?.messages, 4, 'the group keeps them while no member is connected');

    await broker.stop();
    broker = await startBroker({ dataDir });
    // The member's session restores its $share subscription: no SUBSCRIBE.
    const a2 = await TestMqttClient.connect(broker, { clientId: 'sh-a', clean: false });
    assert.deepEqual((await a2.count(4)).map((m) => m.payload.toString()).sort(), ['m0', 'm1', 'm2', 'm3']);
    await a2.client.unsubscribeAsync('$share/g/sh/#');
    await a2.end();
    assert.ok(queueOf(broker, name), 'b is still a member');
    const b2 = await TestMqttClient.connect(broker, { clientId: 'sh-b', clean: true });
    await b2.end();
    assert.equal(queueOf(broker, name), undefined, 'the last member left (clean CONNECT)');
  } finally {
    await broker.stop();
  }
});

test('a $share group of clean sessions (or QoS 0) stays non-durable and goes with its last member', async () => {
  const broker = await startBroker();
  try {
    const a = await TestMqttClient.connect(broker, { clientId: 'shc-a' });
    await a.subscribe('$share/c/shc/#', 1);
    const p0 = await TestMqttClient.connect(broker, { clientId: 'shc-p', clean: false });
    await p0.subscribe('$share/z/shc/#', 0);
    assert.equal(queueOf(broker, 'mqtt-share.c.shc%2F%23')?.durable, false);
    assert.equal(queueOf(broker, 'mqtt-share.z.shc%2F%23')?.durable, false);
    await a.end();
    await p0.end();
    // Deleted once the consumer is gone (in the background).
    const deadline = Date.now() + 5000;
    while ((queueOf(broker, 'mqtt-share.c.shc%2F%23') || queueOf(broker, 'mqtt-share.z.shc%2F%23')) && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    assert.equal(queueOf(broker, 'mqtt-share.c.shc%2F%23'), undefined);
    assert.equal(queueOf(broker, 'mqtt-share.z.shc%2F%23'), undefined);
  } finally {
    await broker.stop();
  }
});
