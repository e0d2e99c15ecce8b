/**
 * Hostile users of the management server's sessions and tokens (issue 15), over real HTTP: a user
 * who logs in again and again must not end other users' sessions, nor hold every API token slot; a
 * short-lived token must not mint a long-lived one; an event stream must end once the session that
 * opened it is logged out.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { MAX_SESSIONS_PER_USER, MAX_TOKENS_PER_USER } from '../../src/management/http/auth.ts';
import { hashPassword } from '../../src/security/password-hash.ts';
import { writeUsersFile } from '../../src/security/users-file.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';

const FAST = { ln: 10, r: 8, p: 1 };
let dir: string;
let broker: TestBroker;
let base: string;
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mgmt-hostile-auth-'));
  const usersFile = path.join(dir, 'users.json');
  await writeUsersFile(usersFile, {
    users: {
      adam: { password: await hashPassword('adam-pw', FAST), roles: ['admin'], certificates: [] },
      vera: { password: await hashPassword('vera-pw', FAST), roles: ['viewer'], certificates: [] },
    },
  });
  broker = await startBroker({
    store: { type: 'memory' },
    // Room for more sessions than one user may hold, fewer than two users' worth.
    http: { maxSessions: MAX_SESSIONS_PER_USER + 8 },
    security: { usersFile, permissions: { '#': { manage: ['admin'], view: ['admin'] }, '$sys.mgmt.broker': { view: ['admin', 'viewer'] } } },
  });
  base = `http://127.0.0.1:${(broker.ports as Record<string, number | undefined>).http}/api/v1`;
});
after(async () => {
  await broker.stop();
  await rm(dir, { recursive: true, force: true });
});

async function login(user: string, password: string): Promise<{ cookie: string; csrf: string }> {
  const r = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password }) });
  assert.equal(r.status, 200);
  return { cookie: r.headers.get('set-cookie')!.split(';')[0]!, csrf: ((await r.json()) as { csrfToken: string }).csrfToken };
}
const statusWith = async (headers: Record<string, string>) => (await fetch(`${base}/overview`, { headers })).status;

test("a user logging in over and over ends only its own oldest sessions, never another user's", async () => {
  const admin = await login('adam', 'adam-pw');
  const first = await login('vera', 'vera-pw');
  for (let i = 0; i < MAX_SESSIONS_PER_USER + 20; i++) await login('vera', 'vera-pw');
  assert.equal(await statusWith({ cookie: admin.cookie }), 200, "the administrator's session survived the flood");
  assert.equal(await statusWith({ cookie: first.cookie }), 401, "vera's oldest session was the one ended");
});

test('a token made with a token expires no later than it; one user cannot hold every token slot', async () => {
  const make = (authorization: string, body: object) => fetch(`${base}/auth/tokens`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const short = (await (await make(basic('adam', 'adam-pw'), { ttlSeconds: 60 })).json()) as { token: string; expiresAt: number };
  for (const body of [{}, { ttlSeconds: 30 * 86_400 }]) {
    const minted = await make(`Bearer ${short.token}`, body);
    assert.equal(minted.status, 201);
    assert.ok(((await minted.json()) as { expiresAt: number }).expiresAt <= short.expiresAt, 'no longer than the token that made it');
  }
  // vera fills her own share; adam can still make tokens.
  let refused: Response | undefined;
  for (let i = 0; i <= MAX_TOKENS_PER_USER && !refused; i++) {
    const r = await make(basic('vera', 'vera-pw'), { ttlSeconds: 60 });
    if (r.status !== 201) refused = r;
    else await r.body?.cancel();
  }
  assert.equal(refused?.status, 429);
  assert.equal(((await refused!.json()) as { error: { code: string } }).error.code, 'ERR_RESOURCE_LIMIT');
  assert.equal((await make(basic('adam', 'adam-pw'), { ttlSeconds: 60 })).status, 201);
});

test('an event stream opened with a session ends after that session logs out (checked once a minute)', { timeout: 120_000 }, async () => {
  const s = await login('adam', 'adam-pw');
  const stream = await fetch(`${base}/events?topics=stats`, { headers: { cookie: s.cookie } });
  assert.equal(stream.status, 200);
  const out = await fetch(`${base}/auth/logout`, { method: 'POST', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
  assert.equal(out.status, 204);
  const reader = stream.body!.getReader();
  // The stream goes on (samples, heartbeats) until the next recheck, at most a minute and a tick away.
  const deadline = Date.now() + 75_000;
  let ended = false;
  while (!ended && Date.now() < deadline) {
    const r = await Promise.race([reader.read(), new Promise<undefined>((resolve) => setTimeout(resolve, 2000))]);
    if (r?.done) ended = true;
  }
  if (!ended) await reader.cancel();
  assert.ok(ended, 'the stream of a logged-out session was ended');
});
