/**
 * Hostile HTTP clients against the management server with security on (issue 15), over raw
 * sockets where fetch would normalise the request: request targets that reach a route without
 * starting with `/api/` (absolute form, percent-encoded), malformed requests and oversized headers.
 * While the attacks run a STOMP bystander keeps sending and receiving (test/helpers/attack.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { hashPassword } from '../../src/security/password-hash.ts';
import { writeUsersFile } from '../../src/security/users-file.ts';
import { assertServed, watchAttack } from '../helpers/attack.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';

const FAST = { ln: 10, r: 8, p: 1 };
let dir: string;
let broker: TestBroker;
let port: number;
const adam = `Basic ${Buffer.from('adam:adam-pw').toString('base64')}`;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mgmt-hostile-'));
  const usersFile = path.join(dir, 'users.json');
  await writeUsersFile(usersFile, { users: { adam: { password: await hashPassword('adam-pw', FAST), roles: ['admin'], certificates: [] } } });
  const all = ['send', 'consume', 'browse', 'createAddress', 'createDurableQueue', 'deleteDurableQueue', 'createNonDurableQueue', 'deleteNonDurableQueue', 'manage', 'view'];
  broker = await startBroker({ store: { type: 'memory' }, security: {
      usersFile,
      // The STOMP bystander of watchAttack logs in without credentials: its own queues only.
      anonymousRoles: ['bystander'],
      permissions: { '#': Object.fromEntries(all.map((p) => [p, ['admin']])), 'bystander.>': Object.fromEntries(all.filter((p) => p !== 'manage' && p !== 'view').map((p) => [p, ['bystander']])) },
    },
  });
  port = (broker.ports as Record<string, number | undefined>).http!;
  const created = await fetch(`http://127.0.0.1:${port}/api/v1/queues`, { method: 'POST', headers: { authorization: adam, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'hostile.q' }) });
  assert.equal(created.status, 201);
});
after(async () => {
  await broker.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Writes `request` on a fresh socket and resolves with everything the server sent until it closed. */
function raw(request: string): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d) => (out += d));
    s.on('error', reject);
    s.on('close', () => {
      const at = out.indexOf('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(out)?.[1] ?? 0), headers: out.slice(0, at), body: out.slice(at + 4) });
    });
    // No half-close: Node's HTTP server ends a socket whose peer sent FIN, so a response still in
    // the making (an async auth check under load) would be lost; the server closes each of these itself.
    s.write(request);
  });
}

const json = (body: string) => JSON.parse(body) as { error: { code: string; message: string } };

test('a request target that is not a plain /api/ path still meets the auth and Origin checks before its body is read', async () => {
  const watch = await watchAttack({ stompPort: broker.ports.stomp! });
  // 100 KiB of a valid-looking body: without credentials it must be refused unread (401), not validated (400).
  const body = JSON.stringify({ name: 'hostile.x', pad: 'x'.repeat(100 * 1024) });
  const post = (target: string, extra = '') =>
    raw(`POST ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extra}Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  for (const target of [`http://127.0.0.1:${port}/api/v1/queues`, 'http://evil.example/api/v1/queues', '/%61pi/v1/queues']) {
    const anon = await post(target);
    assert.equal(anon.status, 401, `${target}: ${anon.body}`);
    assert.equal(json(anon.body).error.code, 'ERR_AUTHENTICATION_REQUIRED');
    // A cross-site request is refused whatever its credentials, as for `/api/v1/queues`.
    const crossSite = await post(target, `Origin: http://evil.example\r\nAuthorization: ${adam}\r\n`);
    assert.equal(crossSite.status, 403, `${target}: ${crossSite.body}`);
    assert.equal(json(crossSite.body).error.code, 'ERR_HTTP_CSRF');
  }
  const metrics = await raw(`GET http://evil.example/metrics HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
  assert.equal(metrics.status, 401);
  assert.equal(broker.core.getQueue('hostile.x'), undefined);
  // The same target with credentials works: the fix refuses nothing legitimate.
  const ok = await raw(`GET http://127.0.0.1:${port}/api/v1/queues HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: ${adam}\r\nConnection: close\r\n\r\n`);
  assert.equal(ok.status, 200);
  assert.deepEqual(JSON.parse(ok.body).items.map((q: { name: string }) => q.name), ['hostile.q']);
  assertServed(await watch.stop());
});

test('requests the HTTP parser or router refuses are answered in the API error shape, then closed', async () => {
  const cases: Array<[string, number, string]> = [
    [`GET /api/v1/queues HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'ERR_HTTP_HEADERS_TOO_LARGE'],
    ['GARBAGE\r\n\r\n', 400, 'ERR_HTTP_BAD_REQUEST'],
    // Request smuggling's classic: both framings at once (Node refuses it).
    ['POST /api/v1/queues HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'ERR_HTTP_BAD_REQUEST'],
  ];
  // The router's refusals too: a malformed %-escape, a path parameter over its cap.
  cases.push([`GET /api/v1/queues/%ZZ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${adam}\r\nConnection: close\r\n\r\n`, 400, 'ERR_HTTP_BAD_REQUEST']);
  // Over the cap the router matches no API route: 414 from the router, or, with the console built
  // (its catch-all route then takes the path), the JSON 404 every unknown /api path gets.
  cases.push([`GET /api/v1/queues/${'x'.repeat(2000)} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${adam}\r\nConnection: close\r\n\r\n`, 414, 'ERR_HTTP_URI_TOO_LONG']);
  const alternatives = new Map<number, readonly [number, string]>([[414, [404, 'ERR_HTTP_NOT_FOUND']]]);
  for (const [request, status, code] of cases) {
    const r = await raw(request);
    const alt = alternatives.get(status);
    const [wantStatus, wantCode] = alt !== undefined && r.status === alt[0] ? alt : ([status, code] as const);
    assert.equal(r.status, wantStatus, r.headers);
    assert.match(r.headers, /content-type: application\/json/i);
    assert.equal(json(r.body).error.code, wantCode);
  }
});
