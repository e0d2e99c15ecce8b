import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { protonMissing, PYTHON } from '../helpers/python-proton.ts';
import { makeCerts, tlsConfig, type TestCerts } from '../helpers/tls-certs.ts';

/*
 * mTLS logins end to end (issue 14 part 4 with the security builder's certificate mapping): the
 * client certificate a TLS listener verified reaches each protocol's login as `certificate`, and the
 * users file maps its subject DN (RFC 4514) to a user: MQTT over TLS without a user name, AMQP SASL
 * EXTERNAL (python-qpid-proton) over AMQPS, and a client without a certificate refused.
 */

const SCRIPT = path.join(import.meta.dirname, 'python', 'tls_clients.py');
const grant = (perms: string[], roles: string[]) => Object.fromEntries(perms.map((p) => [p, roles]));
const USE = ['send', 'consume', 'createAddress', 'createNonDurableQueue', 'deleteNonDurableQueue', 'createDurableQueue', 'deleteDurableQueue'];

let certs: TestCerts;
let dir: string;
let broker: TestBroker;
before(async () => {
  certs = await makeCerts('device1');
  dir = await mkdtemp(path.join(tmpdir(), 'junction-mtls-'));
  const usersFile = path.join(dir, 'users.json');
  // device1 has no password: it logs in with its certificate only.
  await writeFile(usersFile, JSON.stringify({ users: { device1: { roles: ['device'], certificates: ['CN=device1,O=Junction Example'] } } }));
  broker = await startBroker({
    store: { type: 'memory' },
    security: { usersFile, permissions: { 'devices.#': grant(USE, ['device']) }, maxFailedLoginsPerAddress: 0, maxFailedLoginsPerUser: 0 },
    tls: tlsConfig(certs, { clientAuth: 'want' }),
  });
});
after(async () => {
  await broker?.stop();
  await rm(dir, { recursive: true, force: true });
  await certs?.remove();
});

/** One client of test/e2e/python/tls_clients.py trusting the test CA; its JSON answer. */
function python(client: string, port: number, args: Record<string, unknown>): Promise<{ body?: string; error?: string }> {
  return new Promise((resolve, reject) =>
    execFile(PYTHON, [SCRIPT, client, String(port), JSON.stringify({ ca: certs.ca, ...args })], { timeout: 30_000 }, (err, stdout, stderr) => {
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop()!) as { body?: string });
      } catch {
        reject(new Error(`${err?.message}\n${stdout}\n${stderr}`));
      }
    }),
  );
}

test('MQTT over TLS: a mapped client certificate logs in as its user without a user name; no certificate and no password is refused', async (t) => {
  const device = await mqtt.connectAsync({ host: 'localhost', port: broker.ports.mqttSsl!, protocol: 'mqtts', ca: certs.caPem, cert: certs.clientCertPem, key: certs.clientKeyPem, clientId: 'device1-a', reconnectPeriod: 0 });
  t.after(() => device.endAsync(true));
  const [granted] = await device.subscribeAsync('devices/1/cmd', { qos: 1 });
  assert.equal(granted!.qos, 1, 'the certificate user may subscribe under devices');
  const got = new Promise<string>((resolve) => device.once('message', (_topic, p) => resolve(p.toString())));
  await device.publishAsync('devices/1/cmd', 'as device1', { qos: 1 });
  assert.equal(await got, 'as device1');
  // Outside its permissions: SUBACK 0x80 (the subject is device1's, not an admin's).
  // MQTT.js rejects a subscription answered 0x80.
  await assert.rejects(device.subscribeAsync('other/x', { qos: 1 }), /Subscribe error/);

  // No certificate, no user name: CONNACK refused (anonymous is off).
  const anon = mqtt.connect({ host: 'localhost', port: broker.ports.mqttSsl!, protocol: 'mqtts', ca: certs.caPem, clientId: 'nobody', reconnectPeriod: 0 });
  t.after(() => anon.end(true));
  const err = await new Promise<Error & { code?: number }>((resolve) => anon.once('error', resolve));
  assert.ok(err.code === 4 || err.code === 5, `CONNACK ${err.code}`);
});

test('AMQPS with SASL EXTERNAL (python-qpid-proton): the client certificate is the user', async (t) => {
  const missing = await protonMissing();
  if (missing) return t.skip(missing);
  const ok = await python('proton', broker.ports.amqps!, { queue: 'devices.inbox', body: 'via EXTERNAL', cert: certs.clientCert, key: certs.clientKey, mechs: 'EXTERNAL' });
  assert.equal(ok.error, undefined);
  assert.equal(ok.body, 'via EXTERNAL');
  // EXTERNAL without a certificate: the SASL outcome is auth, the connection fails.
  const refused = await python('proton', broker.ports.amqps!, { queue: 'devices.inbox', body: 'x', mechs: 'EXTERNAL' });
  assert.ok(refused.error, 'EXTERNAL without a certificate was accepted');
});

// todo: stomp.py 8.0 over SSL loses about one CONNECT in 200, a client bug (see test/e2e/stomp-security.test.ts).
test('STOMP over TLS: CONNECT without login carries the certificate (stomp.py with cert_file)', { todo: 'stomp.py 8.0 over SSL loses about 1 CONNECT in 200 (stomp.py issue #450, fixed upstream by PR #452)' }, async () => {
  const out = await python('stomp', broker.ports.stompSsl!, { cert: certs.clientCert, key: certs.clientKey, queue: 'devices.stomp', body: 'stomp as device1' });
  assert.equal(out.error, undefined);
  assert.equal(out.body, 'stomp as device1');
});
