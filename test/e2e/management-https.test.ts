import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api, basic, writeUsersFile } from '../helpers/management-http.ts';
import { makeCerts, tlsConfig, type TestCerts } from '../helpers/tls-certs.ts';
import { rm } from 'node:fs/promises';

// HTTPS on tls.ports.https with the broker's TLS material (examples/tls/make-certs.sh): the same
// API and probes as over HTTP, the session cookie marked Secure there.

let certs: TestCerts;
let broker: TestBroker;
let dir: string;

before(async () => {
  certs = await makeCerts();
  const users = await writeUsersFile({ admin: ['admin-pw', ['admin']] });
  dir = users.dir;
  broker = await startBroker({ tls: tlsConfig(certs), security: { usersFile: users.usersFile, permissions: { '#': { view: ['admin'], manage: ['admin'] } } } });
});
after(async () => {
  await broker?.stop();
  await certs?.remove();
  await rm(dir, { recursive: true, force: true });
});

function get(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: broker.ports.https, path, method: opts.method ?? 'GET', servername: 'localhost', ca: certs.caPem, headers: opts.headers }, (res) => {
      let text = '';
      const fingerprint = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256;
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, fingerprint }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

test('HTTPS listens on its own port with the broker certificate, verified against the CA', async () => {
  assert.ok(broker.ports.https! > 0);
  assert.notEqual(broker.ports.https, broker.ports.http);
  const r = await get('/healthz');
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.text), { status: 'ok' });
  assert.equal(r.fingerprint, certs.serverFingerprint);
});

test('over HTTPS the login cookie is Secure and the API answers as over HTTP', async () => {
  const login = await get('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'admin', password: 'admin-pw' }) });
  assert.equal(login.status, 200, login.text);
  const cookie = String(login.headers['set-cookie']);
  assert.match(cookie, /; Secure/);
  assert.match(cookie, /HttpOnly/);
  const queues = await get('/api/v1/queues', { headers: { authorization: basic('admin', 'admin-pw') } });
  assert.equal(queues.status, 200);
  // Plain HTTP on the HTTP port still works alongside.
  assert.equal((await api(`http://127.0.0.1:${broker.ports.http}`)('GET', '/api/v1/queues', { headers: { authorization: basic('admin', 'admin-pw') } })).status, 200);
});

test('a plaintext request on the HTTPS port gets no answer but a closed connection', async () => {
  await assert.rejects(fetch(`http://127.0.0.1:${broker.ports.https}/healthz`));
});
