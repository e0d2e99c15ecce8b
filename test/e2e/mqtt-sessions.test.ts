import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { flush, TestMqttClient, TRANSPORTS } from '../helpers/mqtt-client.ts';
import { connectPacket, DISCONNECT, RawMqtt } from '../helpers/raw-mqtt.ts';

// Retained messages, clean and persistent sessions (durable core subscriptions), session present,
// takeover, last will, keep-alive, and `$share` shared subscriptions; a restart on the journal.

let broker: TestBroker;
let n = 0;
const uid = (p: string): string => `${p}${++n}${Math.random().toString(36).slice(2, 6)}`;

before(async () => {
  broker = await startBroker({ store: { type: 'memory' } });
});
after(() => broker.stop());

for (const transport of TRANSPORTS) {
  describe(`retained messages over ${transport}`, () => {
    test('set, replace, clear: a new subscriber gets the last one with retain=1, a live one gets retain=0', async () => {
      const t = `ret/${uid('t')}`;
      const pub = await TestMqttClient.connect(broker, { transport, clientId: uid('p') });
      try {
        await pub.publish(t, 'first', { qos: 1, retain: true });
        await pub.publish(t, 'second', { qos: 1, retain: true });
        const late = await TestMqttClient.connect(broker, { transport, clientId: uid('late') });
        await late.subscribe(t, 1);
        const [m] = await late.count(1);
        assert.equal(m!.payload.toString(), 'second');
        assert.equal(m!.retain, true);
        await pub.publish(t, 'third', { qos: 1, retain: true });
        const [, live] = await late.count(2);
        assert.equal(live!.payload.toString(), 'third');
        assert.equal(live!.retain, false);
        // An empty retained publish clears it, and still reaches live subscribers.
        await pub.publish(t, '', { qos: 1, retain: true });
        const [, , cleared] = await late.count(3);
        assert.equal(cleared!.payload.length, 0);
        await late.end();
        const later = await TestMqttClient.connect(broker, { transport, clientId: uid('later') });
        await later.subscribe(t, 1);
        await flush(pub, later, t);
        assert.deepEqual(later.texts, []);
        await later.end();
      } finally {
        await pub.end();
      }
    });
  });
}

describe('retained messages and filters', () => {
  test('a wildcard subscription gets every matching retained message, at most at its granted QoS', async () => {
    const base = uid('rw');
    const pub = await TestMqttClient.connect(broker, { clientId: uid('p') });
    try {
      await pub.publish(`${base}/a`, 'A', { qos: 1, retain: true });
      await pub.publish(`${base}/b/c`, 'BC', { qos: 0, retain: true });
      await pub.publish(`$x/${base}`, 'dollar', { qos: 1, retain: true });
      const sub = await TestMqttClient.connect(broker, { clientId: uid('s') });
      await sub.subscribe(`${base}/#`, 0);
      const got = await sub.count(2);
      assert.deepEqual(got.map((m) => `${m.topic}=${m.payload}:${m.qos}:${m.retain}`).sort(), [`${base}/a=A:0:true`, `${base}/b/c=BC:0:true`]);
      await sub.end();
      const all = await TestMqttClient.connect(broker, { clientId: uid('s') });
      await all.subscribe('#', 1);
      await flush(pub, all, `${base}/flush`);
      assert.ok(!all.texts.includes('dollar'), '# must not match a $ topic');
      await all.end();
    } finally {
      await pub.end();
    }
  });
});

describe('sessions', () => {
  test('a persistent session queues QoS 1 messages while offline in a durable core subscription and resumes with session present', async () => {
    const t = `ps/${uid('t')}`;
    const cid = uid('dev');
    const c = await TestMqttClient.connect(broker, { clientId: cid, clean: false });
    assert.equal(c.client.options.clean, false);
    await c.subscribe(t, 1);
    await c.end();
    const pub = await TestMqttClient.connect(broker, { clientId: uid('p') });
    // QoS 0 first: the QoS 1 PUBACKs after it prove the broker has handled it.
    await pub.publish(t, 'qos0-offline', { qos: 0 });
    for (const i of [0, 1, 2]) await pub.publish(t, `offline-${i}`, { qos: 1 });
    const q = broker.core.queueStats().find((s) => s.name === `mqtt.${cid}.${t.replace('/', '%2F')}`);
    assert.ok(q, `durable subscription of ${cid}: ${broker.core.queueStats().map((s) => s.name).join(', ')}`);
    assert.equal(q.durable, true);
    assert.equal(q.messages, 4);
    assert.equal(q.consumers, 0);
    const back = await TestMqttClient.connect(broker, { clientId: cid, clean: false });
    try {
      const got = await back.count(4);
      assert.deepEqual(got.map((m) => m.payload.toString()), ['qos0-offline', 'offline-0', 'offline-1', 'offline-2']);
      assert.deepEqual(got.map((m) => m.qos), [0, 1, 1, 1]);
      await flush(pub, back, t);
      assert.equal(back.received.length, 4);
    } finally {
      await back.end();
    }
    // A clean session discards it: the durable subscription goes, nothing is queued afterwards.
    const clean = await TestMqttClient.connect(broker, { clientId: cid, clean: true });
    await clean.end();
    assert.equal(broker.core.durableSubscriptions(`mqtt.${cid}`).length, 0);
    await pub.publish(t, 'after-clean', { qos: 1 });
    const again = await TestMqttClient.connect(broker, { clientId: cid, clean: false });
    const probe = await TestMqttClient.connect(broker, { clientId: uid('probe') });
    await probe.subscribe(t, 1);
    await flush(pub, probe, t);
    assert.deepEqual(again.texts, []);
    await Promise.all([again.end(), probe.end(), pub.end()]);
    await TestMqttClient.connect(broker, { clientId: cid, clean: true }).then((x) => x.end());
  });

  test('session present is 1 on resuming a stored session, 0 for a clean one (raw CONNACK)', async () => {
    const cid = uid('sp');
    const first = await RawMqtt.connect(broker.ports.mqtt!);
    first.send(connectPacket({ clientId: cid, clean: false }));
    assert.equal((await first.next()).body[0], 0);
    const sub = Buffer.from([0x82, 0x08, 0x00, 0x01, 0x00, 0x03, 0x73, 0x2f, 0x31, 0x01]); // SUBSCRIBE s/1 QoS 1
    first.send(sub);
    assert.equal((await first.next()).type, 9);
    first.send(DISCONNECT);
    await first.waitClosed();
    const second = await RawMqtt.connect(broker.ports.mqtt!);
    second.send(connectPacket({ clientId: cid, clean: false }));
    const ack = await second.next();
    assert.equal(ack.type, 2);
    assert.equal(ack.body[0], 1, 'session present');
    second.close();
    const third = await RawMqtt.connect(broker.ports.mqtt!);
    third.send(connectPacket({ clientId: cid, clean: true }));
    assert.equal((await third.next()).body[0], 0);
    third.close();
  });

  test('UNSUBSCRIBE on a persistent session deletes its durable subscription', async () => {
    const cid = uid('unsub');
    const c = await TestMqttClient.connect(broker, { clientId: cid, clean: false });
    await c.subscribe(['u/1', 'u/2'], 1);
    assert.equal(broker.core.durableSubscriptions(`mqtt.${cid}`).length, 2);
    await c.client.unsubscribeAsync('u/1');
    assert.deepEqual(broker.core.durableSubscriptions(`mqtt.${cid}`).map((s) => (s.meta as { mqtt: { filter: string } }).mqtt.filter), ['u/2']);
    await c.end();
    await TestMqttClient.connect(broker, { clientId: cid, clean: true }).then((x) => x.end());
  });

  test('a second connection with the same client id takes the session over; unacknowledged messages come back with DUP', async () => {
    const cid = uid('take');
    const t = `take/${uid('t')}`;
    const first = await RawMqtt.session(broker.ports.mqtt!, { clientId: cid, clean: false });
    first.send(Buffer.concat([Buffer.from([0x82, 2 + 2 + Buffer.byteLength(t) + 1, 0, 1]), Buffer.from([0, Buffer.byteLength(t)]), Buffer.from(t), Buffer.from([1])]));
    assert.equal((await first.next()).type, 9);
    const pub = await TestMqttClient.connect(broker, { clientId: uid('p') });
    await pub.publish(t, 'unacked', { qos: 1 });
    const p = await first.next();
    assert.equal(p.type, 3); // delivered, never PUBACKed
    const second = await TestMqttClient.connect(broker, { clientId: cid, clean: false });
    await first.waitClosed();
    const [m] = await second.count(1);
    assert.equal(m!.payload.toString(), 'unacked');
    assert.equal(m!.dup, true);
    await Promise.all([second.end(), pub.end()]);
    await TestMqttClient.connect(broker, { clientId: cid, clean: true }).then((x) => x.end());
  });
});

describe('last will and keep-alive', () => {
  for (const transport of TRANSPORTS) {
    test(`over ${transport}: the will is published on an abrupt disconnect, not after DISCONNECT`, async () => {
      const base = `will/${uid('w')}`;
      const watcher = await TestMqttClient.connect(broker, { transport, clientId: uid('watch') });
      await watcher.subscribe(`${base}/#`, 1);
      const polite = await TestMqttClient.connect(broker, { transport, clientId: uid('polite'), will: { topic: `${base}/polite`, payload: Buffer.from('no'), qos: 1, retain: false } });
      await polite.end();
      const dying = await TestMqttClient.connect(broker, { transport, clientId: uid('dying'), will: { topic: `${base}/abrupt`, payload: Buffer.from('gone'), qos: 1, retain: false } });
      await dying.drop();
      const [m] = await watcher.count(1);
      assert.equal(m!.topic, `${base}/abrupt`);
      assert.equal(m!.payload.toString(), 'gone');
      assert.equal(m!.qos, 1);
      const pub = await TestMqttClient.connect(broker, { transport, clientId: uid('p') });
      await flush(pub, watcher, `${base}/flush`);
      assert.deepEqual(watcher.texts, ['gone']);
      await Promise.all([pub.end(), watcher.end()]);
    });
  }

  test('a client silent past 1.5 x its keep-alive is disconnected and its will published', async () => {
    const base = `ka/${uid('k')}`;
    const watcher = await TestMqttClient.connect(broker, { clientId: uid('watch') });
    await watcher.subscribe(`${base}/#`, 1);
    const raw = await RawMqtt.session(broker.ports.mqtt!, { clientId: uid('silent'), keepalive: 1, will: { topic: `${base}/dead`, payload: 'timeout', qos: 1 } });
    await raw.waitClosed(5000);
    const [m] = await watcher.count(1);
    assert.equal(m!.payload.toString(), 'timeout');
    await watcher.end();
  });

  test('PINGREQ keeps a connection alive past its keep-alive', async () => {
    const raw = await RawMqtt.session(broker.ports.mqtt!, { clientId: uid('pinger'), keepalive: 1 });
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 700));
      raw.send(Buffer.from([0xc0, 0x00]));
      assert.equal((await raw.next()).type, 13); // PINGRESP
    }
    assert.equal(raw.closed, false);
    raw.close();
  });
});

describe('shared subscriptions', () => {
  test('$share/<group>/<filter>: members of a group split the messages; each group gets them all', async () => {
    const base = uid('sh');
    const g1a = await TestMqttClient.connect(broker, { clientId: uid('a') });
    const g1b = await TestMqttClient.connect(broker, { clientId: uid('b') });
    const g2 = await TestMqttClient.connect(broker, { clientId: uid('c') });
    const pub = await TestMqttClient.connect(broker, { clientId: uid('p') });
    try {
      await g1a.subscribe(`$share/g1/${base}/#`, 1);
      await g1b.subscribe(`$share/g1/${base}/#`, 1);
      await g2.subscribe(`$share/g2/${base}/#`, 1);
      for (let i = 0; i < 10; i++) await pub.publish(`${base}/x`, `m${i}`, { qos: 1 });
      await g2.count(10);
      const deadline = Date.now() + 5000;
      while (g1a.received.length + g1b.received.length < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(g1a.received.length + g1b.received.length, 10);
      assert.ok(g1a.received.length > 0 && g1b.received.length > 0, 'both members got some');
      assert.deepEqual([...g1a.texts, ...g1b.texts].sort(), g2.texts.slice().sort());
      assert.equal(g1a.received[0]!.topic, `${base}/x`);
      const shared = broker.core.queueStats().find((q) => q.name === `mqtt-share.g1.${base}%2F%23`);
      assert.equal(shared?.consumers, 2);
    } finally {
      await Promise.all([g1a.end(), g1b.end(), g2.end(), pub.end()]);
    }
  });
});

describe('restart', () => {
  test('a persistent session with offline QoS 1 messages and a retained message survive a broker restart on the journal', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-mqtt-restart-'));
    try {
      const first = await startBroker({ dataDir });
      const dev = await TestMqttClient.connect(first, { clientId: 'restart-dev', clean: false });
      await dev.subscribe('plant/+/temp', 1);
      await dev.end();
      const pub = await TestMqttClient.connect(first, { clientId: 'restart-pub' });
      await pub.publish('plant/1/temp', '21.5', { qos: 1 });
      await pub.publish('plant/2/temp', '19.0', { qos: 1 });
      await pub.publish('plant/status', 'online', { qos: 1, retain: true });
      await pub.end();
      await first.close();

      const second = await startBroker({ dataDir });
      try {
        const q = second.core.queueStats().find((s) => s.name === 'mqtt.restart-dev.plant%2F%2B%2Ftemp');
        assert.equal(q?.messages, 2);
        const back = await TestMqttClient.connect(second, { clientId: 'restart-dev', clean: false });
        const got = await back.count(2);
        assert.deepEqual(got.map((m) => `${m.topic}=${m.payload}`), ['plant/1/temp=21.5', 'plant/2/temp=19.0']);
        const late = await TestMqttClient.connect(second, { clientId: 'restart-late' });
        await late.subscribe('plant/status', 1);
        const [r] = await late.count(1);
        assert.equal(r!.payload.toString(), 'online');
        assert.equal(r!.retain, true);
        await Promise.all([back.end(), late.end()]);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
