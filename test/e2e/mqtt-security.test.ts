import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import type { ISubackPacket } from 'mqtt-packet';
import { hashPassword } from '../../src/security/password-hash.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { MOSQ_PUB, MOSQ_SUB, noMosquitto, noPaho, PYTHON } from '../helpers/mqtt-tools.ts';
import { flush, mqttUrl, TestMqttClient, TRANSPORTS } from '../helpers/mqtt-client.ts';

// MQTT 3.1.1 with security on (issue 14), over real sockets with independently written clients:
// MQTT.js (TCP and WebSocket), Debian's mosquitto_pub / mosquitto_sub, Eclipse Paho for Python.
// CONNACK 0x04 for a wrong password or an unknown user, 0x05 for an anonymous client when no role is
// granted to anonymous (what Mosquitto 2.0.11 answers with allow_anonymous false), SUBACK 0x80 per
// denied filter, a denied PUBLISH acknowledged and dropped, a persistent session kept from other users.

const PAHO = path.resolve(import.meta.dirname, 'python/mqtt_paho_security.py');

/** A bound on each test: MQTT.js's promises never settle once the broker has closed the connection. */
const T = { timeout: 30_000 };
const ALL = ['send', 'consume', 'browse', 'createAddress', 'deleteAddress', 'createDurableQueue', 'deleteDurableQueue', 'createNonDurableQueue', 'deleteNonDurableQueue', 'manage'];
const grant = (perms: string[], roles: string[]): Record<string, string[]> => Object.fromEntries(perms.map((p) => [p, roles]));
const QUEUES = ['createDurableQueue', 'deleteDurableQueue', 'createNonDurableQueue', 'deleteNonDurableQueue'];

/**
 * alice (role `devices`) may do everything under `<any>.ok`, only consume under `<any>.ro` and only
 * send under `<any>.secret`; bob (role `admin`) may do everything everywhere; anonymous has no role.
 */
const PERMISSIONS = {
  '#': grant(ALL, ['admin']),
  '*.ok.#': grant(ALL, ['admin', 'devices']),
  // Subscribing to a topic that does not exist yet creates it: `createAddress` (Artemis).
  '*.ro.#': { ...grant(ALL, ['admin']), ...grant(['consume', 'createAddress', ...QUEUES], ['admin', 'devices']) },
  '*.secret.#': { ...grant(ALL, ['admin']), ...grant(['send', 'createAddress'], ['admin', 'devices']) },
};

let broker: TestBroker;
let dir: string;
let usersFile: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'junction-mqtt-security-'));
  // Low scrypt cost: the test is about the protocol's answers, not the KDF.
  const params = { ln: 10, r: 8, p: 1 };
  const users = {
    alice: { password: await hashPassword('secret', params), roles: ['devices'] },
    bob: { password: await hashPassword('bobpw', params), roles: ['admin'] },
  };
  usersFile = path.join(dir, 'users.json');
  await writeFile(usersFile, JSON.stringify({ users }));
  broker = await startBroker({ store: { type: 'memory' }, security: { usersFile, permissions: PERMISSIONS, maxFailedLoginsPerAddress: 0, maxFailedLoginsPerUser: 0 } });
});
after(async () => {
  await broker.stop();
  await rm(dir, { recursive: true, force: true });
});

const alice = { username: 'alice', password: 'secret' };
const bob = { username: 'bob', password: 'bobpw' };
let n = 0;
const uid = (p: string): string => `${p}${++n}${Math.random().toString(36).slice(2, 6)}`;

/** The CONNACK return code MQTT.js reports for a CONNECT with these options (0 when accepted). */
async function connectCode(opts: mqtt.IClientOptions, transport: 'tcp' | 'ws' = 'tcp', on: TestBroker = broker): Promise<number> {
  try {
    const c = await mqtt.connectAsync(mqttUrl(on, transport), { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000, ...opts });
    await c.endAsync();
    return 0;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

/**
 * SUBSCRIBE and the SUBACK's return codes as they came (MQTT.js rejects a SUBSCRIBE with any 0x80,
 * so they are read off the packet itself).
 */
function subscribeCodes(c: TestMqttClient, filters: string[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const onPacket = (p: mqtt.Packet): void => {
      if (p.cmd !== 'suback') return;
      c.client.off('packetreceive', onPacket);
      resolve((p as ISubackPacket).granted as number[]);
    };
    c.client.on('packetreceive', onPacket);
    c.client.subscribe(filters, { qos: 1 }, (err) => err && (err as { code?: number }).code !== 0x80 && reject(err));
  });
}

function run(cmd: string, args: string[], timeout = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

for (const transport of TRANSPORTS) {
  describe(`MQTT.js over ${transport}`, () => {
    test('right credentials: CONNACK 0; wrong password, unknown user: 0x04; no credentials: 0x05', T, async () => {
      assert.equal(await connectCode({ clientId: uid('ok'), ...alice }, transport), 0);
      assert.equal(await connectCode({ clientId: uid('wrong'), username: 'alice', password: 'nope' }, transport), 4);
      assert.equal(await connectCode({ clientId: uid('unknown'), username: 'mallory', password: 'x' }, transport), 4);
      assert.equal(await connectCode({ clientId: uid('anon') }, transport), 5);
    });

    test('SUBACK 0x80 for the denied filters of a SUBSCRIBE, the others granted and delivering', T, async () => {
      const p = uid('js');
      const c = await TestMqttClient.connect(broker, { clientId: uid('sub'), transport, ...alice });
      const admin = await TestMqttClient.connect(broker, { clientId: uid('admin'), transport, ...bob });
      try {
        assert.deepEqual(await subscribeCodes(c, [`${p}/ok/a`, `${p}/secret/a`, `${p}/ro/#`, `${p}/secret/+`]), [1, 0x80, 1, 0x80]);
        await admin.publish(`${p}/secret/a`, 'not for alice', { qos: 1 });
        await admin.publish(`${p}/ro/b`, 'read only', { qos: 1 });
        await flush(admin, c, `${p}/ok/a`);
        assert.deepEqual(c.received.map((m) => `${m.topic} ${m.payload.toString()}`), [`${p}/ro/b read only`]);
      } finally {
        await Promise.all([c.end(), admin.end()]);
      }
    });

    test('a denied PUBLISH (QoS 0, 1, 2) is acknowledged, delivered to nobody, and the connection stays', T, async () => {
      const p = uid('js');
      const watcher = await TestMqttClient.connect(broker, { clientId: uid('watch'), transport, ...bob });
      const c = await TestMqttClient.connect(broker, { clientId: uid('pub'), transport, ...alice });
      try {
        await watcher.subscribe(`${p}/#`, 1);
        for (const qos of [0, 1, 2] as const) await c.publish(`${p}/ro/x`, `denied at ${qos}`, { qos });
        await c.publish(`${p}/ok/x`, 'allowed', { qos: 1 });
        const [first] = await watcher.count(1);
        // One publisher's messages reach a subscription in order: a denied one routed would be first.
        assert.equal(`${first!.topic} ${first!.payload.toString()}`, `${p}/ok/x allowed`);
        assert.equal(c.client.connected, true);
      } finally {
        await Promise.all([c.end(), watcher.end()]);
      }
    });
  });
}

test('a persistent session is its user\'s: another user with its client id gets CONNACK 0x05, its user resumes it with what was queued', T, async () => {
  const p = uid('sess');
  const id = uid('alice-dev');
  const first = await TestMqttClient.connect(broker, { clientId: id, clean: false, ...alice });
  await first.subscribe(`${p}/ok/queued`, 1);
  await first.end();
  assert.equal(await connectCode({ clientId: id, clean: false, ...bob }), 5);
  assert.equal(await connectCode({ clientId: id, clean: true, ...bob }), 5, 'nor cleans it');
  const pub = await TestMqttClient.connect(broker, { clientId: uid('pub'), ...bob });
  await pub.publish(`${p}/ok/queued`, 'kept', { qos: 1 });
  await pub.end();
  const back = await TestMqttClient.connect(broker, { clientId: id, clean: false, ...alice });
  const [m] = await back.count(1);
  assert.equal(m!.payload.toString(), 'kept');
  await back.client.unsubscribeAsync(`${p}/ok/queued`);
  await back.end();
});

test('with security.mqttClientId "prefix" (Mosquitto\'s client id rule), a client id not starting with the user name gets CONNACK 0x05', T, async () => {
  const strict = await startBroker({ store: { type: 'memory' }, security: { usersFile, permissions: PERMISSIONS, mqttClientId: 'prefix' } });
  try {
    assert.equal(await connectCode({ clientId: 'alice-sensor-1', ...alice }, 'tcp', strict), 0);
    assert.equal(await connectCode({ clientId: 'bob-sensor-1', ...alice }, 'tcp', strict), 5);
  } finally {
    await strict.stop();
  }
});

describe('mosquitto_pub and mosquitto_sub', { skip: noMosquitto }, () => {
  const args = (): string[] => ['-h', '127.0.0.1', '-p', String(broker.ports.mqtt)];

  test('with right credentials it publishes and subscribes; a wrong password and no credentials are refused with the CONNACK\'s words', T, async () => {
    const t = `${uid('mosq')}/ok/r`;
    const pub = await run(MOSQ_PUB, [...args(), '-u', 'alice', '-P', 'secret', '-t', t, '-q', '1', '-r', '-m', 'kept']);
    assert.equal(pub.code, 0, pub.stderr);
    const sub = await run(MOSQ_SUB, [...args(), '-u', 'alice', '-P', 'secret', '-t', t, '-C', '1', '-W', '5', '-v']);
    assert.equal(sub.stdout.trim(), `${t} kept`);
    const wrong = await run(MOSQ_PUB, [...args(), '-u', 'alice', '-P', 'nope', '-t', t, '-m', 'x']);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /bad user name or password/i);
    const anon = await run(MOSQ_PUB, [...args(), '-t', t, '-m', 'x']);
    assert.notEqual(anon.code, 0);
    assert.match(anon.stderr, /not authori[sz]ed/i);
  });

  test('a denied subscription is reported denied; a denied publish is acknowledged (QoS 1) and not delivered', T, async () => {
    const p = uid('mosq');
    const denied = await run(MOSQ_SUB, [...args(), '-u', 'alice', '-P', 'secret', '-t', `${p}/secret/a`, '-W', '5']);
    assert.match(denied.stderr + denied.stdout, /denied/i);
    const watcher = await TestMqttClient.connect(broker, { clientId: uid('watch'), ...bob });
    await watcher.subscribe(`${p}/#`, 1);
    const pub = await run(MOSQ_PUB, [...args(), '-u', 'alice', '-P', 'secret', '-t', `${p}/ro/x`, '-q', '1', '-m', 'denied']);
    assert.equal(pub.code, 0, 'PUBACK came: mosquitto_pub exits 0');
    const ok = await run(MOSQ_PUB, [...args(), '-u', 'alice', '-P', 'secret', '-t', `${p}/ok/x`, '-q', '1', '-m', 'allowed']);
    assert.equal(ok.code, 0);
    const [first] = await watcher.count(1);
    assert.equal(`${first!.topic} ${first!.payload.toString()}`, `${p}/ok/x allowed`);
    await watcher.end();
  });
});

describe('Eclipse Paho for Python', { skip: noPaho }, () => {
  for (const transport of ['tcp', 'websockets'] as const) {
    test(`over ${transport}: CONNACK codes, SUBACK 0x80, a denied publish acknowledged and dropped`, T, async () => {
      const port = transport === 'tcp' ? broker.ports.mqtt! : broker.ports.ws!;
      const prefix = uid('py');
      const r = await run(PYTHON, [PAHO, '127.0.0.1', String(port), transport, prefix], 25_000);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), {
        right: 0,
        wrongPassword: 4,
        unknownUser: 4,
        anonymous: 5,
        suback: [1, 0x80, 1],
        deniedPublishRc: 0,
        watcherFirst: `${prefix}/ok/x allowed`,
        aliceStillConnected: true,
      });
    });
  }
});
