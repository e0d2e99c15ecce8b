import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import mqtt from 'mqtt';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { makeCerts, tlsConfig, type TestCerts } from '../helpers/tls-certs.ts';

/*
 * Attack on mTLS identity (issue 14 part 4): with clientAuth `want`, a client that made its own CA
 * and issued itself a certificate with the very subject the users file maps (`CN=device1,O=Junction
 * Example`) completes the handshake (want lets an unverified certificate through) and must get no
 * identity from it: MQTT without a user name and STOMP without login are refused, as with no
 * certificate at all.
 */

let certs: TestCerts;
let forged: TestCerts;
let dir: string;
let broker: TestBroker;
before(async () => {
  [certs, forged] = await Promise.all([makeCerts('device1'), makeCerts('device1')]);
  dir = await mkdtemp(path.join(tmpdir(), 'junction-mtls-attack-'));
  const usersFile = path.join(dir, 'users.json');
  await writeFile(usersFile, JSON.stringify({ users: { device1: { roles: ['device'], certificates: ['CN=device1,O=Junction Example'] } } }));
  broker = await startBroker({
    store: { type: 'memory' },
    security: { usersFile, permissions: { 'devices.#': { send: ['device'], consume: ['device'], createAddress: ['device'], createNonDurableQueue: ['device'] } }, maxFailedLoginsPerAddress: 0, maxFailedLoginsPerUser: 0 },
    tls: tlsConfig(certs, { clientAuth: 'want' }),
  });
});
after(async () => {
  await broker?.stop();
  await rm(dir, { recursive: true, force: true });
  await certs?.remove();
  await forged?.remove();
});

test('a certificate with the mapped subject from another CA: the handshake completes (want), MQTT and STOMP logins without credentials are refused', async (t) => {
  assert.notEqual(forged.clientFingerprint, certs.clientFingerprint);
  // The genuine one logs in (the mapping works), the forged one with the same subject does not.
  const genuine = await mqtt.connectAsync({ host: 'localhost', port: broker.ports.mqttSsl!, protocol: 'mqtts', ca: certs.caPem, cert: certs.clientCertPem, key: certs.clientKeyPem, clientId: 'device1-real', reconnectPeriod: 0 });
  await genuine.endAsync(true);
  const fake = mqtt.connect({ host: 'localhost', port: broker.ports.mqttSsl!, protocol: 'mqtts', ca: certs.caPem, cert: forged.clientCertPem, key: forged.clientKeyPem, clientId: 'device1-fake', reconnectPeriod: 0 });
  t.after(() => fake.end(true));
  const err = await new Promise<Error & { code?: number }>((resolve) => fake.once('error', resolve));
  assert.ok(err.code === 4 || err.code === 5, `forged certificate over MQTT: ${err.message}`);

  const s = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const c = tls.connect({ host: '127.0.0.1', port: broker.ports.stompSsl!, ca: certs.caPem, servername: 'localhost', cert: forged.clientCertPem, key: forged.clientKeyPem }, () => resolve(c));
    c.once('error', reject);
  });
  t.after(() => s.destroy());
  assert.equal(s.authorized, true, 'the client verified the server');
  const answer = await new Promise<string>((resolve) => {
    let text = '';
    s.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\0')) resolve(text);
    });
    s.write('CONNECT\naccept-version:1.2\nhost:localhost\n\n\0');
  });
  assert.match(answer, /^ERROR\n/, `forged certificate over STOMP: ${answer.slice(0, 200)}`);
});
