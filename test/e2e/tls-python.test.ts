import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { protonMissing, PYTHON } from '../helpers/python-proton.ts';
import { makeCerts, tlsConfig, type TestCerts } from '../helpers/tls-certs.ts';

/*
 * Independent clients over Junction's TLS listeners, each verifying the broker's certificate against
 * the CA examples/tls/make-certs.sh made: Mosquitto's mosquitto_pub/sub (--cafile, and --cert/--key
 * for mTLS), paho-mqtt (tls_set), stomp.py (set_ssl) and python-qpid-proton (SSLDomain, peer name
 * verified) from /usr/bin/python3.
 */

const SCRIPT = path.join(import.meta.dirname, 'python', 'tls_clients.py');

let certs: TestCerts;
let broker: TestBroker;
before(async () => {
  certs = await makeCerts();
  // clientAuth want: a client may present a certificate (mosquitto --cert) or not.
  broker = await startBroker({ tls: tlsConfig(certs, { clientAuth: 'want' }) });
});
after(async () => {
  await broker?.stop();
  await certs?.remove();
});

function run(file: string, args: string[], timeout = 20_000): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) =>
    execFile(file, args, { timeout }, (err, stdout, stderr) => (err ? reject(new Error(`${path.basename(file)} ${args.join(' ')}: ${err.message}\n${stderr}`)) : resolve({ stdout, stderr }))),
  );
}

async function python(client: string, port: number, args: Record<string, unknown>): Promise<{ body?: string; tls?: string; fingerprint?: string; error?: string }> {
  const { stdout } = await run(PYTHON, [SCRIPT, client, String(port), JSON.stringify({ ca: certs.ca, ...args })], 30_000);
  return JSON.parse(stdout.trim().split('\n').pop()!) as { body?: string };
}

test('mosquitto_sub and mosquitto_pub --cafile over MQTT over TLS, with and without a client certificate', async () => {
  for (const [name, extra] of [['server-auth', []], ['mTLS', ['--cert', certs.clientCert, '--key', certs.clientKey]]] as const) {
    const topic = `tls/mosquitto/${name}`;
    const common = ['-h', 'localhost', '-p', String(broker.ports.mqttSsl), '--cafile', certs.ca, ...extra, '-q', '1'];
    // -C 1: exit after one message; -W: give up after 15 s. The publisher retains, so the order does not matter.
    const sub = run('/usr/bin/mosquitto_sub', [...common, '-t', topic, '-C', '1', '-W', '15', '-i', `sub-${name}`]);
    await run('/usr/bin/mosquitto_pub', [...common, '-t', topic, '-m', `hello ${name}`, '-r', '-i', `pub-${name}`]);
    assert.equal((await sub).stdout.trim(), `hello ${name}`);
  }
  // A client that does not trust the broker's CA fails the handshake: the certificate is checked.
  await assert.rejects(run('/usr/bin/mosquitto_pub', ['-h', 'localhost', '-p', String(broker.ports.mqttSsl), '--cafile', certs.clientCert, '-t', 'x', '-m', 'x']));
});

test('paho-mqtt tls_set over MQTT over TLS', async () => {
  const out = await python('paho', broker.ports.mqttSsl!, { topic: 'tls/paho', body: 'from paho' });
  assert.equal(out.error, undefined);
  assert.equal(out.body, 'from paho');
  assert.equal(out.fingerprint, certs.serverFingerprint);
  assert.match(out.tls!, /^TLSv1\.[23]$/);
});

// todo: stomp.py 8.0 over SSL loses about one CONNECT in 200, a client bug (see test/e2e/stomp-security.test.ts).
test('stomp.py set_ssl over STOMP+SSL', { todo: 'stomp.py 8.0 over SSL loses about 1 CONNECT in 200 (stomp.py issue #450, fixed upstream by PR #452)' }, async () => {
  const out = await python('stomp', broker.ports.stompSsl!, { queue: 'tls.stomppy', body: 'from stomp.py' });
  assert.equal(out.error, undefined);
  assert.equal(out.body, 'from stomp.py');
  assert.equal(out.fingerprint, certs.serverFingerprint);
});

test('python-qpid-proton with an SSLDomain (peer name verified) over AMQPS', async (t) => {
  const missing = await protonMissing();
  if (missing) return t.skip(missing);
  const out = await python('proton', broker.ports.amqps!, { queue: 'tls.proton', body: 'from proton' });
  assert.equal(out.error, undefined);
  assert.equal(out.body, 'from proton');
  // The same with a client certificate (mTLS): SASL PLAIN/ANONYMOUS as the broker offers, over it.
  const mtls = await python('proton', broker.ports.amqps!, { queue: 'tls.proton2', body: 'with a certificate', cert: certs.clientCert, key: certs.clientKey });
  assert.equal(mtls.error, undefined);
  assert.equal(mtls.body, 'with a certificate');
});
