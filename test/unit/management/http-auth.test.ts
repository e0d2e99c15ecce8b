import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ZodError, z } from 'zod';
import type { LoginRequest, LoginResult, Subject } from '../../../src/core/ports/security.ts';
import { httpConfigSchema } from '../../../src/management/http-config.ts';
import { ApiError } from '../../../src/management/http/api-types.ts';
import { HttpAuth, readCookie, sessionCookie, SESSION_COOKIE } from '../../../src/management/http/auth.ts';
import { errorReply, statusOfCode } from '../../../src/management/http/errors.ts';
import { JunctionError } from '../../../src/errors.ts';
import type { SecurityManager } from '../../../src/security/security-manager.ts';

/** A security manager with fixed users (password = name + '-pw'), counting logins and their closes. */
function fakeSecurity(users: Record<string, string[]>) {
  const stats = { logins: [] as LoginRequest[], closed: 0 };
  const sm: SecurityManager = {
    enabled: true,
    anonymousAllowed: false,
    async login(req): Promise<LoginResult> {
      stats.logins.push(req);
      const roles = req.user === undefined ? undefined : users[req.user];
      if (!roles || req.password !== `${req.user}-pw`) return { ok: false, reason: 'credentials', message: 'no' };
      return { ok: true, session: { subject: { user: req.user, roles: new Set(roles) }, close: () => void stats.closed++ } };
    },
    allowed: () => true,
    identity: (user): Subject | undefined => (users[user] ? { user, roles: new Set(users[user]) } : undefined),
    reload: async () => {},
    close: () => {},
  };
  return { sm, stats, users };
}

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const cfg = (extra: Record<string, unknown> = {}) => httpConfigSchema.parse(extra);

test('a password login goes through the security manager as protocol http and holds no connection slot', async () => {
  const { sm, stats } = fakeSecurity({ alice: ['admin'] });
  const auth = new HttpAuth(sm, cfg());
  const subject = await auth.checkPassword('alice', 'alice-pw', '10.0.0.1');
  assert.equal(subject.user, 'alice');
  assert.equal(stats.logins[0]!.protocol, 'http');
  assert.equal(stats.logins[0]!.remoteAddress, '10.0.0.1');
  assert.equal(stats.closed, 1, 'the login session is released at once');
  await assert.rejects(auth.checkPassword('alice', 'wrong', '10.0.0.1'), (e: ApiError) => e.status === 401 && !e.message.includes('alice'));
  auth.close();
});

test('sessions expire after the idle timeout, are used LRU-first, and carry a CSRF token for unsafe methods', async () => {
  const { sm } = fakeSecurity({ alice: ['admin'] });
  const c = clock();
  const auth = new HttpAuth(sm, cfg({ sessionIdleTimeout: 60_000, maxSessions: 2 }), c.now);
  const s1 = auth.openSession('alice');
  const cookie = (s: { id: string }) => ({ cookie: `${SESSION_COOKIE}=${s.id}` });
  const get = (s: { id: string }) => auth.resolve({ method: 'GET', headers: cookie(s), remoteAddress: '::1' });
  assert.equal((await get(s1)).caller.via, 'session');
  assert.equal((await get(s1)).caller.origin.connectionId, `http-${s1.id.slice(0, 8)}`);
  c.advance(59_000);
  assert.equal((await get(s1)).error, undefined, 'a use resets the idle clock');
  c.advance(59_000);
  assert.equal((await get(s1)).error, undefined);

  const post = await auth.resolve({ method: 'POST', headers: cookie(s1), remoteAddress: '::1' });
  assert.equal(post.error?.code, 'ERR_HTTP_CSRF');
  const withToken = await auth.resolve({ method: 'POST', headers: { ...cookie(s1), 'x-csrf-token': s1.csrfToken }, remoteAddress: '::1' });
  assert.equal(withToken.error, undefined);

  // LRU: s1 was used last, so opening a third session ends s2.
  const s2 = auth.openSession('alice');
  await get(s1);
  auth.openSession('alice');
  assert.equal(auth.sessionCount, 2);
  assert.equal((await get(s2)).error?.status, 401);
  assert.equal((await get(s1)).error, undefined);

  c.advance(60_001);
  assert.equal((await get(s1)).error?.status, 401, 'idle past the timeout');
  auth.close();
});

test('tokens: stored hashed, capped, expire at their TTL (at most tokenMaxTtl), revocable by their owner', async () => {
  const { sm } = fakeSecurity({ alice: ['admin'], bob: ['viewer'] });
  const c = clock();
  const auth = new HttpAuth(sm, cfg({ maxTokens: 2, tokenMaxTtl: 3600 }), c.now);
  const t = auth.createToken('alice', 99_999);
  assert.equal(t.expiresAt - c.now(), 3600 * 1000, 'clamped to tokenMaxTtl');
  assert.ok(!JSON.stringify(auth.listTokens(undefined)).includes(t.token), 'never listed');
  const bearer = (token: string) => auth.resolve({ method: 'POST', headers: { authorization: `Bearer ${token}` }, remoteAddress: '::1' });
  const r = await bearer(t.token);
  assert.equal(r.caller.user, 'alice');
  assert.equal(r.error, undefined, 'bearer needs no CSRF token');
  auth.createToken('bob', 60);
  assert.throws(() => auth.createToken('alice', 60), (e: ApiError) => e.status === 429);
  assert.equal(auth.revokeToken(t.id, 'bob'), false, 'not bob\'s');
  c.advance(61_000);
  assert.doesNotThrow(() => auth.createToken('alice', 60), 'the expired one made room');
  assert.equal(auth.revokeToken(t.id, 'alice'), true);
  assert.equal((await bearer(t.token)).error?.status, 401);
  c.advance(3600_000);
  assert.equal((await bearer('nonsense')).error?.status, 401);
  auth.close();
});

test('basic auth: checked per request; a malformed header and an unknown scheme are 401', async () => {
  const { sm } = fakeSecurity({ alice: ['admin'] });
  const auth = new HttpAuth(sm, cfg());
  const b = (s: string) => auth.resolve({ method: 'GET', headers: { authorization: s }, remoteAddress: '::1' });
  assert.equal((await b(`Basic ${Buffer.from('alice:alice-pw').toString('base64')}`)).caller.via, 'basic');
  assert.equal((await b(`Basic ${Buffer.from('alice').toString('base64')}`)).error?.status, 401);
  assert.equal((await b('Digest x')).error?.status, 401);
  assert.equal((await auth.resolve({ method: 'GET', headers: {}, remoteAddress: '::1' })).error?.code, 'ERR_AUTHENTICATION_REQUIRED');
  auth.close();
});

test('security off: everyone is the anonymous caller, with no error', async () => {
  const auth = new HttpAuth(undefined, cfg());
  const r = await auth.resolve({ method: 'DELETE', headers: {}, remoteAddress: '::1' });
  assert.deepEqual([r.caller.subject, r.caller.via, r.error], [undefined, 'none', undefined]);
  assert.equal(r.caller.origin.component, 'management');
  auth.close();
});

test('cookies: read by name; the session cookie is HttpOnly, SameSite=Strict, Path=/, Secure on HTTPS', () => {
  assert.equal(readCookie('a=1; junction_session=abc; b=2', 'junction_session'), 'abc');
  assert.equal(readCookie('junction_sessionx=1', 'junction_session'), undefined);
  assert.equal(readCookie(undefined, 'x'), undefined);
  assert.equal(sessionCookie('id', false), 'junction_session=id; HttpOnly; SameSite=Strict; Path=/');
  assert.equal(sessionCookie('', true, 0), 'junction_session=; HttpOnly; SameSite=Strict; Path=/; Secure; Max-Age=0');
});

test('errors: JunctionError codes map to statuses; zod errors to 400 issues by dotted path; a 5xx hides its message', () => {
  assert.deepEqual(
    ['ERR_ROUTE_NOT_FOUND', 'ERR_SUBSCRIPTION_IN_USE', 'ERR_ROUTE_STATE', 'ERR_TX_EXISTS', 'ERR_ROUTE_INVALID', 'ERR_SELECTOR_SYNTAX', 'ERR_SECURITY_UNAUTHORIZED', 'ERR_RESOURCE_LIMIT', 'ERR_BROKER_CLOSED', 'ERR_STORE_FAILED'].map(statusOfCode),
    [404, 409, 409, 409, 400, 400, 403, 429, 503, 500],
  );
  const z400 = errorReply(new ZodError(z.object({ steps: z.array(z.object({ to: z.string() })) }).safeParse({ steps: [{ to: 1 }] }).error!.issues));
  assert.equal(z400.status, 400);
  assert.deepEqual(z400.body.error.issues?.map((i) => i.path), ['steps.0.to']);
  const hidden = errorReply(new JunctionError('ERR_STORE_FAILED', 'disk path /secret/x failed'));
  assert.equal(hidden.status, 500);
  assert.ok(!hidden.body.error.message.includes('/secret'));
  assert.deepEqual(errorReply(new ApiError(418, 'ERR_X', 'm', [{ path: 'a', message: 'b' }])), { status: 418, body: { error: { code: 'ERR_X', message: 'm', issues: [{ path: 'a', message: 'b' }] } } });
  assert.equal(errorReply(Object.assign(new Error('too big'), { statusCode: 413 })).body.error.code, 'ERR_HTTP_BODY_TOO_LARGE');
});
