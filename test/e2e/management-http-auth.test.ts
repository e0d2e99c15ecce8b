import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api, basic, writeUsersFile } from '../helpers/management-http.ts';

// The management server with security on: 401 without credentials, the console's cookie login with
// its CSRF token, basic and bearer for tools, permission checks (view vs manage), and the caps.

const PERMISSIONS = {
  '#': { view: ['admin', 'viewer'], manage: ['admin'], createAddress: ['admin'], createDurableQueue: ['admin'], send: ['admin'], consume: ['admin'], browse: ['admin'] },
  '$sys.mgmt.#': { view: ['admin', 'viewer'], manage: ['admin'] },
};

let broker: TestBroker;
let dir: string;
let call: ReturnType<typeof api>;

before(async () => {
  const users = await writeUsersFile({ admin: ['admin-pw', ['admin']], viewer: ['viewer-pw', ['viewer']] });
  dir = users.dir;
  broker = await startBroker({
    security: { usersFile: users.usersFile, permissions: PERMISSIONS },
    http: { maxSessions: 3, maxTokens: 2, bodyLimit: 4096 },
  });
  call = api(`http://127.0.0.1:${broker.ports.http}`);
});
after(async () => {
  await broker?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function login(user: string, password: string): Promise<{ cookie: string; csrf: string }> {
  const r = await call('POST', '/api/v1/auth/login', { body: { user, password } });
  assert.equal(r.status, 200, r.text);
  const set = r.headers.get('set-cookie')!;
  assert.match(set, /HttpOnly/);
  assert.match(set, /SameSite=Strict/);
  assert.match(set, /Path=\//);
  assert.doesNotMatch(set, /Secure/, 'no Secure flag over plain HTTP');
  return { cookie: set.split(';')[0]!, csrf: r.json.csrfToken };
}

describe('security on', () => {
  test('the probes and the OpenAPI document need no credentials; the API does (401, no WWW-Authenticate: Basic)', async () => {
    assert.equal((await call('GET', '/healthz')).status, 200);
    assert.equal((await call('GET', '/readyz')).status, 200);
    assert.equal((await call('GET', '/api/v1/openapi.json')).status, 200);
    const r = await call('GET', '/api/v1/queues');
    assert.equal(r.status, 401);
    assert.equal(r.json.error.code, 'ERR_AUTHENTICATION_REQUIRED');
    assert.equal(r.headers.get('www-authenticate'), null, 'a browser must never be asked for basic credentials');
    assert.deepEqual((await call('GET', '/api/v1/auth/session')).json, { security: true });
  });

  test('a wrong password and an unknown user get the same 401', async () => {
    const wrong = await call('POST', '/api/v1/auth/login', { body: { user: 'admin', password: 'nope' } });
    const unknown = await call('POST', '/api/v1/auth/login', { body: { user: 'nobody', password: 'nope' } });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.deepEqual(wrong.json, unknown.json);
    const badBasic = await call('GET', '/api/v1/queues', { headers: { authorization: basic('admin', 'nope') } });
    assert.equal(badBasic.status, 401);
    assert.deepEqual(badBasic.json, wrong.json);
  });

  test('cookie login: reads with the cookie, changes need x-csrf-token, a foreign Origin is refused, logout ends it', async () => {
    const { cookie, csrf } = await login('admin', 'admin-pw');
    const session = await call('GET', '/api/v1/auth/session', { headers: { cookie } });
    assert.deepEqual(session.json, { security: true, user: 'admin', roles: ['admin'], csrfToken: csrf });
    assert.equal((await call('GET', '/api/v1/queues', { headers: { cookie } })).status, 200);

    const noToken = await call('POST', '/api/v1/queues', { headers: { cookie }, body: { name: 'csrf.q' } });
    assert.equal(noToken.status, 403);
    assert.equal(noToken.json.error.code, 'ERR_HTTP_CSRF');
    const wrongToken = await call('POST', '/api/v1/queues', { headers: { cookie, 'x-csrf-token': 'x'.repeat(43) }, body: { name: 'csrf.q' } });
    assert.equal(wrongToken.status, 403);
    const foreign = await call('POST', '/api/v1/queues', { headers: { cookie, 'x-csrf-token': csrf, origin: 'http://evil.example' }, body: { name: 'csrf.q' } });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.json.error.code, 'ERR_HTTP_CSRF');
    assert.equal(broker.core.getQueue('csrf.q'), undefined, 'nothing refused was done');

    const host = `127.0.0.1:${broker.ports.http}`;
    const ok = await call('POST', '/api/v1/queues', { headers: { cookie, 'x-csrf-token': csrf, origin: `http://${host}` }, body: { name: 'csrf.q' } });
    assert.equal(ok.status, 201, ok.text);
    assert.ok(broker.core.getQueue('csrf.q'));

    const out = await call('POST', '/api/v1/auth/logout', { headers: { cookie, 'x-csrf-token': csrf } });
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie')!, /Max-Age=0/);
    const after = await call('GET', '/api/v1/queues', { headers: { cookie } });
    assert.equal(after.status, 401);
  });

  test('basic auth needs no CSRF token; a view-only user reads (200) and is refused a change (403)', async () => {
    const admin = basic('admin', 'admin-pw');
    const created = await call('POST', '/api/v1/queues', { headers: { authorization: admin }, body: { name: 'basic.q' } });
    assert.equal(created.status, 201, created.text);
    const viewer = basic('viewer', 'viewer-pw');
    assert.equal((await call('GET', '/api/v1/queues', { headers: { authorization: viewer } })).status, 200);
    const denied = await call('POST', '/api/v1/queues', { headers: { authorization: viewer }, body: { name: 'viewer.q' } });
    assert.equal(denied.status, 403);
    assert.equal(denied.json.error.code, 'ERR_SECURITY_UNAUTHORIZED');
    assert.equal(broker.core.getQueue('viewer.q'), undefined);
  });

  test('bearer tokens: made for the caller, listed by id only, revoked; capped at http.maxTokens', async () => {
    const admin = { authorization: basic('admin', 'admin-pw') };
    const made = await call('POST', '/api/v1/auth/tokens', { headers: admin, body: { ttlSeconds: 600 } });
    assert.equal(made.status, 201, made.text);
    const { id, token, expiresAt } = made.json;
    assert.match(token, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
    assert.ok(expiresAt > Date.now() + 590_000 && expiresAt <= Date.now() + 600_000);
    const bearer = { authorization: `Bearer ${token}` };
    assert.equal((await call('GET', '/api/v1/queues', { headers: bearer })).status, 200);
    const listed = await call('GET', '/api/v1/auth/tokens', { headers: bearer });
    assert.deepEqual(listed.json.items.map((t: { id: string }) => t.id), [id]);
    assert.ok(!listed.text.includes(token), 'a listing never shows a token');

    // The cap: two tokens at once; the third is refused until one is revoked.
    const second = await call('POST', '/api/v1/auth/tokens', { headers: admin, body: {} });
    assert.equal(second.status, 201);
    const third = await call('POST', '/api/v1/auth/tokens', { headers: admin, body: {} });
    assert.equal(third.status, 429);
    assert.equal(third.json.error.code, 'ERR_RESOURCE_LIMIT');

    // The viewer cannot revoke the admin's token (403), the admin can.
    const viewerToken = await call('DELETE', `/api/v1/auth/tokens/${id}`, { headers: { authorization: basic('viewer', 'viewer-pw') } });
    assert.equal(viewerToken.status, 403);
    assert.equal((await call('DELETE', `/api/v1/auth/tokens/${id}`, { headers: bearer })).status, 204);
    const revoked = await call('GET', '/api/v1/queues', { headers: bearer });
    assert.equal(revoked.status, 401);
    assert.equal((await call('DELETE', `/api/v1/auth/tokens/${second.json.id}`, { headers: admin })).status, 204);
  });

  test('sessions are capped at http.maxSessions: the least recently used one ends', async () => {
    const first = await login('viewer', 'viewer-pw');
    const others = [await login('viewer', 'viewer-pw'), await login('viewer', 'viewer-pw'), await login('viewer', 'viewer-pw')];
    assert.equal((await call('GET', '/api/v1/queues', { headers: { cookie: first.cookie } })).status, 401);
    for (const o of others) assert.equal((await call('GET', '/api/v1/queues', { headers: { cookie: o.cookie } })).status, 200);
  });

  test('a body over http.bodyLimit is refused with 413', async () => {
    const r = await call('POST', '/api/v1/queues', { headers: { authorization: basic('admin', 'admin-pw') }, raw: JSON.stringify({ name: 'x'.repeat(8000) }) });
    assert.equal(r.status, 413);
    assert.equal(r.json.error.code, 'ERR_HTTP_BODY_TOO_LARGE');
  });

  test('an invalid body is a 400 with issues by dotted path', async () => {
    const r = await call('POST', '/api/v1/auth/tokens', { headers: { authorization: basic('admin', 'admin-pw') }, body: { ttlSeconds: 'soon' } });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'ERR_HTTP_VALIDATION');
    assert.deepEqual(r.json.error.issues.map((i: { path: string }) => i.path), ['ttlSeconds']);
  });
});
