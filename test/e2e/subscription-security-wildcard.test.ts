import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import type { ISubackPacket } from 'mqtt-packet';
import { hashPassword } from '../../src/security/password-hash.ts';
import { AmqpTestClient } from '../helpers/amqp-client.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { mqttUrl, TestMqttClient } from '../helpers/mqtt-client.ts';
import { bodies, connect, eventually } from '../helpers/stompjs.ts';

// Issue 14, wildcard read, over real sockets: `#` grants `consume` to `dev`, the more specific
// `secret.>` does not. A `dev` may still subscribe `#` (the filter as written is granted, as Artemis
// checks it, so Paho's `#` subscription under `test/nosubscribe` stays granted) but, as with
// Mosquitto's per-message read ACL, never receives a `secret` message, live or retained, whatever
// the protocol (MQTT.js, @stomp/stompjs, rhea). An `admin` subscribing the same filter gets everything.
// "Not received" is shown by order, not by waiting: the admin publishes public, secret, public on one
// connection, so a secret message routed to `dev` would arrive before the second public one.

const ALL = ['send', 'consume', 'browse', 'createAddress', 'deleteAddress', 'createDurableQueue', 'deleteDurableQueue', 'createNonDurableQueue', 'deleteNonDurableQueue', 'manage'];
const grant = (roles: string[]): Record<string, string[]> => Object.fromEntries(ALL.map((p) => [p, roles]));
const PERMISSIONS = { '#': grant(['admin', 'dev']), 'secret.>': grant(['admin']) };
const T = { timeout: 30_000 };

let broker: TestBroker;
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'junction-wildcard-read-'));
  const params = { ln: 10, r: 8, p: 1 };
  const users = { admin: { password: await hashPassword('admin-pw', params), roles: ['admin'] }, dev: { password: await hashPassword('dev-pw', params), roles: ['dev'] } };
  const usersFile = path.join(dir, 'users.json');
  await writeFile(usersFile, JSON.stringify({ users }));
  broker = await startBroker({ store: { type: 'memory' }, security: { usersFile, permissions: PERMISSIONS } });
});
after(async () => {
  await broker.stop();
  await rm(dir, { recursive: true, force: true });
});

const admin = { username: 'admin', password: 'admin-pw' };
const dev = { username: 'dev', password: 'dev-pw' };
let n = 0;
const uid = (p: string): string => `${p}-${++n}-${Math.random().toString(36).slice(2, 6)}`;

/**
 * A persistent session connecting again, listening before CONNACK: what its session holds may come
 * in the same read as the CONNACK, before TestMqttClient.connect would have attached its listener.
 */
function resume(on: TestBroker, opts: mqtt.IClientOptions): { client: mqtt.MqttClient; topics: string[]; arrived(k: number): Promise<void> } {
  const topics: string[] = [];
  const client = mqtt.connect(mqttUrl(on), { ...opts, clean: false, protocolVersion: 4, reconnectPeriod: 0 });
  client.on('message', (t) => topics.push(t));
  const arrived = (k: number) => eventually(() => assert.ok(topics.length >= k, `expected ${k} messages, got ${JSON.stringify(topics)}`));
  return { client, topics, arrived };
}

describe('a wildcard subscription granted in part delivers only what its user may consume', () => {
  test('MQTT: dev subscribed to # gets public/x, not secret/x; admin gets both; secret/# stays refused', T, async () => {
    const pub = await TestMqttClient.connect(broker, { ...admin, clientId: uid('pub') });
    const d = await TestMqttClient.connect(broker, { ...dev, clientId: uid('dev') });
    const a = await TestMqttClient.connect(broker, { ...admin, clientId: uid('adm') });
    try {
      assert.deepEqual(await d.subscribe('#', 1), [1], 'granted: the filter as written may be consumed');
      await a.subscribe('#', 1);
      for (const t of ['public/x', 'secret/x', 'public/y']) await pub.publish(t, t, { qos: 1 });
      await a.count(3);
      assert.deepEqual(a.received.map((m) => m.topic), ['public/x', 'secret/x', 'public/y']);
      await d.count(2);
      assert.deepEqual(d.received.map((m) => m.topic), ['public/x', 'public/y']);
      // A filter under secret/ is refused at SUBSCRIBE, as before (SUBACK 0x80).
      // MQTT.js rejects a SUBSCRIBE answered 0x80, with the SUBACK.
      await assert.rejects(d.client.subscribeAsync('secret/#', { qos: 1 }), (e: { packet?: ISubackPacket }) => e.packet?.granted[0] === 128);
    } finally {
      await Promise.all([pub.end(), d.end(), a.end()]);
    }
  });

  test('MQTT: a retained secret/x is not delivered to dev subscribing #; public/r is', T, async () => {
    const pub = await TestMqttClient.connect(broker, { ...admin, clientId: uid('pub') });
    // Retained messages come back in the order their topics entered the broker's topic tree: secret/x
    // is published first, so it would reach dev before public/r if it were not filtered out.
    await pub.publish('secret/x', 'retained secret', { qos: 1, retain: true });
    await pub.publish('public/r', 'retained public', { qos: 1, retain: true });
    const a = await TestMqttClient.connect(broker, { ...admin, clientId: uid('adm') });
    const d = await TestMqttClient.connect(broker, { ...dev, clientId: uid('dev') });
    try {
      await a.subscribe('#', 1);
      await a.count(2);
      assert.deepEqual(a.received.map((m) => [m.topic, m.retain]), [['secret/x', true], ['public/r', true]]);
      await d.subscribe('#', 1);
      await d.count(1);
      assert.deepEqual(d.received.map((m) => [m.topic, m.retain]), [['public/r', true]]);
      // A second filter of dev's that covers secret/x only through a wildcard: still nothing secret.
      await d.subscribe('+/x', 1);
      await pub.publish('public/after', 'live', { qos: 1 });
      await d.count(2);
      assert.deepEqual(d.received.map((m) => m.topic), ['public/r', 'public/after']);
    } finally {
      await pub.publish('secret/x', '', { qos: 1, retain: true });
      await pub.publish('public/r', '', { qos: 1, retain: true });
      await Promise.all([pub.end(), d.end(), a.end()]);
    }
  });

  test('MQTT: a persistent session of dev on # keeps, while offline, only what dev may read', T, async () => {
    const clientId = uid('dev-persistent');
    const first = await TestMqttClient.connect(broker, { ...dev, clientId, clean: false });
    await first.subscribe('#', 1);
    await first.end();
    const pub = await TestMqttClient.connect(broker, { ...admin, clientId: uid('pub') });
    for (const t of ['public/x', 'secret/x', 'public/y']) await pub.publish(t, t, { qos: 1 });
    const again = resume(broker, { ...dev, clientId });
    try {
      await again.arrived(2);
      assert.deepEqual(again.topics, ['public/x', 'public/y']);
    } finally {
      await Promise.all([pub.end(), again.client.endAsync()]);
    }
  });

  test('STOMP: dev subscribed to /topic/> gets public.x, not secret.x', T, async () => {
    const pub = await connect(broker, { connectHeaders: { login: 'admin', passcode: 'admin-pw' } });
    const d = await connect(broker, { connectHeaders: { login: 'dev', passcode: 'dev-pw' } });
    const a = await connect(broker, { connectHeaders: { login: 'admin', passcode: 'admin-pw' } });
    try {
      const di = await d.subscribe('/topic/>');
      const ai = await a.subscribe('/topic/>');
      for (const t of ['public.x', 'secret.x', 'public.y']) await pub.send(`/topic/${t}`, t);
      assert.deepEqual(bodies(await ai.take(3)), ['public.x', 'secret.x', 'public.y']);
      assert.deepEqual(bodies(await di.take(2)), ['public.x', 'public.y']);
    } finally {
      await Promise.all([pub.close(), d.close(), a.close()]);
    }
  });

  test('AMQP: a dev receiver on topic://> gets public.x, not secret.x', T, async () => {
    const pub = await AmqpTestClient.connect(broker.ports.amqp!, { username: 'admin', password: 'admin-pw' });
    const d = await AmqpTestClient.connect(broker.ports.amqp!, { username: 'dev', password: 'dev-pw' });
    try {
      const r = await d.receiver('topic://>', 10);
      const s = await pub.sender(null);
      for (const t of ['public.x', 'secret.x', 'public.y']) assert.equal((await pub.send(s, { to: `topic://${t}`, body: t })).state, 'accepted');
      const got = [(await r.next()).message.body, (await r.next()).message.body];
      assert.deepEqual(got, ['public.x', 'public.y']);
    } finally {
      await Promise.all([pub.close(), d.close()]);
    }
  });
});

describe('a persistent session granted in part across a restart (journal)', () => {
  test('fails closed until its user reconnects, then is filtered again; one granted everywhere is not held up', T, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-wildcard-read-restart-'));
    const config = { dataDir, security: { usersFile: path.join(dir, 'users.json'), permissions: PERMISSIONS } };
    const held = (b: TestBroker, clientId: string) => b.core.queueStats().filter((q) => q.name.startsWith(`mqtt.${clientId}.`)).map((q) => q.messages);
    try {
      const first = await startBroker(config);
      const d = await TestMqttClient.connect(first, { ...dev, clientId: 'dev-p', clean: false });
      const a = await TestMqttClient.connect(first, { ...admin, clientId: 'adm-p', clean: false });
      await d.subscribe('#', 1);
      await a.subscribe('#', 1);
      await Promise.all([d.end(), a.end()]);
      const pub = await TestMqttClient.connect(first, { ...admin, clientId: 'pub' });
      for (const t of ['public/1', 'secret/1']) await pub.publish(t, t, { qos: 1 });
      await pub.end();
      assert.deepEqual(held(first, 'dev-p'), [1]);
      await first.close();

      const second = await startBroker(config);
      try {
        const pub2 = await TestMqttClient.connect(second, { ...admin, clientId: 'pub' });
        for (const t of ['public/2', 'secret/2']) await pub2.publish(t, t, { qos: 1 });
        // dev's roles are unknown until it logs in again: nothing is routed to it meanwhile.
        assert.deepEqual(held(second, 'dev-p'), [1]);
        assert.deepEqual(held(second, 'adm-p'), [4]);
        const back = resume(second, { ...dev, clientId: 'dev-p' });
        await back.arrived(1);
        for (const t of ['public/3', 'secret/3', 'public/4']) await pub2.publish(t, t, { qos: 1 });
        await back.arrived(3);
        assert.deepEqual(back.topics, ['public/1', 'public/3', 'public/4']);
        await Promise.all([pub2.end(), back.client.endAsync()]);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
