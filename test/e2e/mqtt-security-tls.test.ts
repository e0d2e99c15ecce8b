import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { hashPassword } from '../../src/security/password-hash.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { MOSQ_PUB, MOSQ_SUB, noMosquitto, noPaho, PYTHON } from '../helpers/mqtt-tools.ts';
import { makeCerts, tlsConfig, type TestCerts } from '../helpers/tls-certs.ts';

// MQTT with security on over TLS (issue 14): mosquitto_pub/sub with --cafile, Eclipse Paho for
// Python with tls_set, MQTT.js over mqtts:// and wss:// with a user name and password, and a client
// certificate (mTLS) that the users file maps to a user, logging in without a password.

/** A bound on each test: MQTT.js's promises never settle once the broker has closed the connection. */
const T = { timeout: 30_000 };

let broker: TestBroker;
let certs: TestCerts;
let dir: string;

before(async () => {
  certs = await makeCerts('device1');
  dir = await mkdtemp(path.join(tmpdir(), 'junction-mqtt-tls-'));
  const params = { ln: 10, r: 8, p: 1 };
  const users = {
    alice: { password: await hashPassword('secret', params), roles: ['devices'] },
    // No password: this user logs in only with its client certificate.
    device1: { roles: ['devices'], certificates: ['CN=device1,O=Junction Example'] },
  };
  const usersFile = path.join(dir, 'users.json');
  await writeFile(usersFile, JSON.stringify({ users }));
  const all = ['send', 'consume', 'createAddress', 'createNonDurableQueue', 'deleteNonDurableQueue', 'createDurableQueue', 'deleteDurableQueue'];
  const permissions = { 'tls.#': Object.fromEntries(all.map((p) => [p, ['devices']])) };
  broker = await startBroker({ store: { type: 'memory' }, tls: tlsConfig(certs, { clientAuth: 'want' }), security: { usersFile, permissions } });
});
after(async () => {
  await broker.stop();
  await certs.remove();
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
const uid = (p: string): string => `${p}${++n}${Math.random().toString(36).slice(2, 6)}`;

function run(cmd: string, args: string[], timeout = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

/** The CONNACK return code MQTT.js reports (0 when accepted; the client is closed again). */
async function connectCode(url: string, opts: mqtt.IClientOptions): Promise<number> {
  try {
    const c = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000, ca: certs.caPem, ...opts });
    await c.endAsync();
    return 0;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

describe('mosquitto_pub and mosquitto_sub with --cafile', { skip: noMosquitto }, () => {
  test('right credentials publish and subscribe over TLS; a wrong password gets CONNACK 0x04', T, async () => {
    const args = ['-h', 'localhost', '-p', String(broker.ports.mqttSsl), '--cafile', certs.ca];
    const t = `tls/${uid('mosq')}`;
    const pub = await run(MOSQ_PUB, [...args, '-u', 'alice', '-P', 'secret', '-t', t, '-q', '1', '-r', '-m', 'over tls']);
    assert.equal(pub.code, 0, pub.stderr);
    const sub = await run(MOSQ_SUB, [...args, '-u', 'alice', '-P', 'secret', '-t', t, '-C', '1', '-W', '5', '-v']);
    assert.equal(sub.stdout.trim(), `${t} over tls`, sub.stderr);
    const wrong = await run(MOSQ_PUB, [...args, '-u', 'alice', '-P', 'nope', '-t', t, '-m', 'x']);
    assert.match(wrong.stderr, /bad user name or password/i);
  });

  test('a client certificate the users file maps to a user logs in without a password', T, async () => {
    const args = ['-h', 'localhost', '-p', String(broker.ports.mqttSsl), '--cafile', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey];
    const t = `tls/${uid('cert')}`;
    const pub = await run(MOSQ_PUB, [...args, '-t', t, '-q', '1', '-r', '-m', 'as device1']);
    assert.equal(pub.code, 0, pub.stderr);
    // Retained, so delivered to a later subscriber: the publish was device1's, permitted (a denied one is dropped).
    const sub = await run(MOSQ_SUB, ['-h', 'localhost', '-p', String(broker.ports.mqttSsl), '--cafile', certs.ca, '-u', 'alice', '-P', 'secret', '-t', t, '-C', '1', '-W', '5', '-v']);
    assert.equal(sub.stdout.trim(), `${t} as device1`, sub.stderr);
    const noCert = await run(MOSQ_PUB, ['-h', 'localhost', '-p', String(broker.ports.mqttSsl), '--cafile', certs.ca, '-t', 'tls/x', '-m', 'x']);
    assert.match(noCert.stderr, /not authori[sz]ed/i, 'without a certificate or credentials: anonymous, refused');
  });
});

describe('Eclipse Paho for Python with tls_set', { skip: noPaho }, () => {
  const script = `
import json, queue, ssl, sys
import paho.mqtt.client as mqtt
host, port, transport, ca, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
def rc(user=None, password=None, with_cert=False):
    c = mqtt.Client(client_id='', protocol=mqtt.MQTTv311, transport=transport)
    c.tls_set(ca_certs=ca, certfile=cert if with_cert else None, keyfile=key if with_cert else None)
    if user is not None:
        c.username_pw_set(user, password)
    got = queue.Queue()
    c.on_connect = lambda cl, u, f, r: got.put(r)
    c.connect(host, port, 30)
    c.loop_start()
    try:
        return got.get(timeout=10)
    finally:
        c.disconnect()
        c.loop_stop()
print(json.dumps({'right': rc('alice', 'secret'), 'wrong': rc('alice', 'nope'), 'anonymous': rc(), 'certificate': rc(with_cert=True)}))
`;
  for (const transport of ['tcp', 'websockets'] as const) {
    test(`over ${transport === 'tcp' ? 'TLS' : 'WSS'}: CONNACK 0 with credentials or a mapped certificate, 4 for a wrong password, 5 anonymous`, T, async () => {
      const port = transport === 'tcp' ? broker.ports.mqttSsl! : broker.ports.wss!;
      const r = await run(PYTHON, ['-c', script, 'localhost', String(port), transport, certs.ca, certs.clientCert, certs.clientKey], 25_000);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { right: 0, wrong: 4, anonymous: 5, certificate: 0 });
    });
  }
});

test('MQTT.js over mqtts:// and wss://: credentials checked, a publish with them delivered', T, async () => {
  for (const url of [`mqtts://localhost:${broker.ports.mqttSsl}`, `wss://localhost:${broker.ports.wss}`]) {
    assert.equal(await connectCode(url, { username: 'alice', password: 'nope' }), 4, url);
    const c = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, ca: certs.caPem, username: 'alice', password: 'secret' });
    const t = `tls/${uid('js')}`;
    const got = new Promise<string>((resolve) => c.once('message', (_t, p) => resolve(p.toString())));
    await c.subscribeAsync(t, { qos: 1 });
    await c.publishAsync(t, url, { qos: 1 });
    assert.equal(await got, url);
    await c.endAsync();
  }
});
