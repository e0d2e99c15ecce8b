import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { LoginRequest, LoginResult, Subject } from '../../../src/core/ports/security.ts';
import { FileSecurityManager } from '../../../src/security/file-security-manager.ts';
import { hashPassword } from '../../../src/security/password-hash.ts';
import { securityConfigSchema } from '../../../src/security/security-config.ts';
import { writeUsersFile, type UsersFileContent } from '../../../src/security/users-file.ts';
import { captureLog, type LogCapture } from '../../helpers/log-capture.ts';

const FAST = { ln: 10, r: 8, p: 1 };
let dir: string;
let n = 0;
let content: UsersFileContent;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'security-manager-'));
  content = {
    users: {
      alice: { password: await hashPassword('alice-pw', FAST), roles: ['admin', 'ops'], certificates: [] },
      bob: { password: await hashPassword('bob-pw', FAST), roles: ['dev'], certificates: [] },
      device1: { roles: ['device'], certificates: ['CN=device1,O=Acme', 'DNS:device1.acme.example'] },
    },
  };
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function manager(config: Record<string, unknown> = {}, opts: { now?: () => number; users?: UsersFileContent } = {}) {
  const usersFile = path.join(dir, `users-${n++}.json`);
  await writeUsersFile(usersFile, opts.users ?? content);
  const cap = captureLog('debug');
  const cfg = securityConfigSchema.parse({ usersFile, ...config });
  const m = await FileSecurityManager.open({ ...cfg, usersFile }, cap.logger, { now: opts.now });
  return { m, cap, usersFile };
}

const req = (r: Partial<LoginRequest>): LoginRequest => ({ protocol: 'stomp', remoteAddress: '10.0.0.1', ...r });

function refusal(r: LoginResult): string {
  return r.ok ? 'ok' : r.reason;
}

function subjectOf(r: LoginResult): Subject {
  assert.ok(r.ok, `expected a login, got ${JSON.stringify(r)}`);
  return r.session.subject;
}

const audit = (cap: LogCapture, event: string) => cap.lines.filter((l) => l.component === 'audit' && l.event === event);
const flush = () => new Promise((r) => setImmediate(r));

test('password login: the right password gives the user and its roles; a wrong one, an unknown user or half the credentials are refused alike', async () => {
  const { m } = await manager();
  try {
    assert.equal(m.enabled, true);
    const s = subjectOf(await m.login(req({ user: 'alice', password: 'alice-pw', clientId: 'c1' })));
    assert.equal(s.user, 'alice');
    assert.deepEqual([...s.roles], ['admin', 'ops']);
    assert.equal(s.clientId, 'c1');
    const wrong = await m.login(req({ user: 'alice', password: 'nope' }));
    const unknown = await m.login(req({ user: 'mallory', password: 'nope' }));
    assert.equal(refusal(wrong), 'credentials');
    assert.equal(refusal(unknown), 'credentials');
    assert.equal(!wrong.ok && wrong.message, !unknown.ok && unknown.message, 'the answer does not tell whether the user exists');
    assert.equal(refusal(await m.login(req({ user: 'device1', password: 'x' }))), 'credentials', 'a certificate-only user has no password');
    assert.equal(refusal(await m.login(req({ user: 'alice' }))), 'credentials');
    assert.equal(refusal(await m.login(req({ password: 'alice-pw' }))), 'credentials');
  } finally {
    m.close();
  }
});

test('anonymous: refused while anonymousRoles is empty; with roles, a subject without user holding them', async () => {
  const closed = await manager();
  try {
    assert.equal(closed.m.anonymousAllowed, false);
    const r = await closed.m.login(req({}));
    assert.equal(refusal(r), 'credentials');
  } finally {
    closed.m.close();
  }
  const open = await manager({ anonymousRoles: ['guest'] });
  try {
    assert.equal(open.m.anonymousAllowed, true);
    const s = subjectOf(await open.m.login(req({ clientId: 'x' })));
    assert.equal(s.user, undefined);
    assert.deepEqual([...s.roles], ['guest']);
    assert.equal(s.clientId, 'x');
  } finally {
    open.m.close();
  }
});

test('certificate login by subject DN or SAN; an unmapped certificate, or one sent with another user name, is refused', async () => {
  const { m } = await manager();
  try {
    const cert = (subject: string, subjectAltNames: string[] = []) => ({ subject, subjectAltNames, fingerprint256: 'AA' });
    assert.equal(subjectOf(await m.login(req({ certificate: cert('CN=device1,O=Acme') }))).user, 'device1');
    assert.equal(subjectOf(await m.login(req({ certificate: cert('CN=other', ['DNS:device1.acme.example']) }))).user, 'device1');
    assert.equal(subjectOf(await m.login(req({ user: 'device1', certificate: cert('CN=device1,O=Acme') }))).user, 'device1');
    assert.equal(refusal(await m.login(req({ certificate: cert('CN=device2,O=Acme') }))), 'credentials');
    assert.equal(refusal(await m.login(req({ user: 'alice', certificate: cert('CN=device1,O=Acme') }))), 'credentials');
    // A password with a certificate is a password login.
    assert.equal(subjectOf(await m.login(req({ user: 'alice', password: 'alice-pw', certificate: cert('CN=device1,O=Acme') }))).user, 'alice');
  } finally {
    m.close();
  }
});

test('MQTT client id rule: equals and prefix refuse as not-authorized; other protocols are not checked', async () => {
  const eq = await manager({ mqttClientId: 'equals' });
  try {
    assert.equal(refusal(await eq.m.login(req({ protocol: 'mqtt', user: 'bob', password: 'bob-pw', clientId: 'bob' }))), 'ok');
    assert.equal(refusal(await eq.m.login(req({ protocol: 'mqtt', user: 'bob', password: 'bob-pw', clientId: 'bob-2' }))), 'not-authorized');
    assert.equal(refusal(await eq.m.login(req({ protocol: 'mqtt', user: 'bob', password: 'bob-pw' }))), 'not-authorized');
    assert.equal(refusal(await eq.m.login(req({ protocol: 'stomp', user: 'bob', password: 'bob-pw', clientId: 'other' }))), 'ok');
    // ...but a client id that breaks the rule is not bound to the subject: `%c` never matches it.
    assert.equal(subjectOf(await eq.m.login(req({ protocol: 'stomp', user: 'bob', password: 'bob-pw', clientId: 'other' }))).clientId, undefined);
    assert.equal(subjectOf(await eq.m.login(req({ protocol: 'stomp', user: 'bob', password: 'bob-pw', clientId: 'bob' }))).clientId, 'bob');
  } finally {
    eq.m.close();
  }
  const pre = await manager({ mqttClientId: 'prefix' });
  try {
    assert.equal(refusal(await pre.m.login(req({ protocol: 'mqtt', user: 'bob', password: 'bob-pw', clientId: 'bob-2' }))), 'ok');
    assert.equal(refusal(await pre.m.login(req({ protocol: 'mqtt', user: 'bob', password: 'bob-pw', clientId: 'alice-bob' }))), 'not-authorized');
  } finally {
    pre.m.close();
  }
});

test('failed logins per address: the address is locked out (the right password too) while others still log in; logged once, counted', async () => {
  const c = { t: 1_000_000 };
  const { m, cap } = await manager({ maxFailedLoginsPerAddress: 3, maxFailedLoginsPerUser: 0, failedLoginWindow: 60_000 }, { now: () => c.t });
  try {
    for (let i = 0; i < 3; i++) assert.equal(refusal(await m.login(req({ user: 'bob', password: `guess${i}` }))), 'credentials');
    assert.equal(refusal(await m.login(req({ user: 'bob', password: 'bob-pw' }))), 'throttled');
    assert.equal(refusal(await m.login(req({ user: 'alice', password: 'alice-pw' }))), 'throttled');
    assert.equal(refusal(await m.login(req({ remoteAddress: '10.0.0.2', user: 'bob', password: 'bob-pw' }))), 'ok');
    c.t += 60_000;
    assert.equal(refusal(await m.login(req({ user: 'bob', password: 'bob-pw' }))), 'ok');
    await flush();
    const lines = cap.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('too many failed logins for this address'));
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.remoteAddress, '10.0.0.1');
    const st = m.statistics();
    assert.equal(st.lockouts, 1);
    assert.equal(st.loginsThrottled, 2);
  } finally {
    m.close();
  }
});

test('failed logins per user: guesses from many addresses lock the user out, not the others', async () => {
  const { m, cap } = await manager({ maxFailedLoginsPerUser: 3, maxFailedLoginsPerAddress: 0 });
  try {
    for (let i = 0; i < 3; i++) await m.login(req({ remoteAddress: `10.1.0.${i}`, user: 'alice', password: 'x' }));
    assert.equal(refusal(await m.login(req({ remoteAddress: '10.2.0.1', user: 'alice', password: 'alice-pw' }))), 'throttled');
    assert.equal(refusal(await m.login(req({ remoteAddress: '10.1.0.0', user: 'bob', password: 'bob-pw' }))), 'ok');
    await flush();
    assert.equal(cap.lines.filter((l) => l.user === 'alice' && typeof l.msg === 'string' && l.msg.startsWith('too many failed logins for this user')).length, 1);
  } finally {
    m.close();
  }
});

test('connections per user: one over the cap is refused as limit; closing a session releases it, once', async () => {
  const { m } = await manager({ maxConnectionsPerUser: 2 });
  try {
    const a = await m.login(req({ user: 'bob', password: 'bob-pw' }));
    const b = await m.login(req({ user: 'bob', password: 'bob-pw' }));
    assert.equal(refusal(await m.login(req({ user: 'bob', password: 'bob-pw' }))), 'limit');
    assert.equal(refusal(await m.login(req({ user: 'alice', password: 'alice-pw' }))), 'ok');
    assert.ok(a.ok && b.ok);
    a.session.close();
    a.session.close();
    assert.equal(refusal(await m.login(req({ user: 'bob', password: 'bob-pw' }))), 'ok');
    assert.equal(refusal(await m.login(req({ user: 'bob', password: 'bob-pw' }))), 'limit', 'a second close of the same session released nothing more');
  } finally {
    m.close();
  }
});

test('connect rate: logins beyond maxConnectRate per second are refused as limit', async () => {
  const c = { t: 5_000_000 };
  const { m } = await manager({ maxConnectRate: 2, anonymousRoles: ['g'] }, { now: () => c.t });
  try {
    assert.equal(refusal(await m.login(req({}))), 'ok');
    assert.equal(refusal(await m.login(req({}))), 'ok');
    assert.equal(refusal(await m.login(req({}))), 'limit');
    c.t += 500;
    assert.equal(refusal(await m.login(req({}))), 'ok');
    assert.equal(m.statistics().loginsOverLimit, 1);
  } finally {
    m.close();
  }
});

test('pending logins: one more than maxPendingLogins waiting for the KDF is refused as limit', async () => {
  const { m } = await manager({ maxPendingLogins: 1 });
  try {
    const [first, second] = await Promise.all([m.login(req({ user: 'bob', password: 'bob-pw' })), m.login(req({ user: 'alice', password: 'alice-pw' }))]);
    assert.equal(refusal(first), 'ok');
    assert.equal(refusal(second), 'limit');
  } finally {
    m.close();
  }
});

test('auth cache: a repeated login is a cache hit; a reload empties it, and a changed password is checked anew', async () => {
  const { m, usersFile } = await manager();
  try {
    await m.login(req({ user: 'bob', password: 'bob-pw' }));
    await m.login(req({ user: 'bob', password: 'bob-pw' }));
    assert.equal(m.statistics().cacheHits, 1);
    assert.equal(refusal(await m.login(req({ user: 'bob', password: 'other' }))), 'credentials', 'the cache never answers another password');
    await writeUsersFile(usersFile, { users: { ...content.users, bob: { ...content.users.bob!, password: await hashPassword('new-pw', FAST) } } });
    await m.reload();
    assert.equal(refusal(await m.login(req({ user: 'bob', password: 'bob-pw' }))), 'credentials');
    assert.equal(refusal(await m.login(req({ user: 'bob', password: 'new-pw' }))), 'ok');
    assert.equal(m.statistics().cacheHits, 1);
  } finally {
    m.close();
  }
});

test('permissions and identity: allowed answers from security.permissions for the subject a login made', async () => {
  const { m } = await manager({ permissions: { 'orders.>': { send: ['dev'], consume: ['ops'] } } });
  try {
    const bob = subjectOf(await m.login(req({ user: 'bob', password: 'bob-pw' })));
    assert.equal(m.allowed(bob, 'orders.eu', 'send'), true);
    assert.equal(m.allowed(bob, 'orders.eu', 'consume'), false);
    assert.equal(m.allowed(bob, 'invoices', 'send'), false);
    const routeIdentity = m.identity('alice')!;
    assert.equal(m.allowed(routeIdentity, 'orders.eu', 'consume'), true);
    assert.equal(m.identity('nobody'), undefined);
  } finally {
    m.close();
  }
});

test('audit log: auth.success, auth.failure, permission.denied, users.changed on the audit component; never a password', async () => {
  const { m, cap, usersFile } = await manager();
  try {
    const bob = subjectOf(await m.login(req({ protocol: 'mqtt', user: 'bob', password: 'bob-pw', clientId: 'b1' })));
    await m.login(req({ user: 'alice', password: 'wrong-secret' }));
    m.denied(bob, 'orders', 'send');
    await writeUsersFile(usersFile, { users: { bob: content.users.bob! } });
    await m.reload();
    await flush();
    assert.deepEqual(audit(cap, 'auth.success').map((l) => [l.user, l.protocol, l.clientId, l.method]), [['bob', 'mqtt', 'b1', 'password']]);
    assert.deepEqual(audit(cap, 'auth.failure').map((l) => [l.user, l.reason, l.remoteAddress]), [['alice', 'credentials', '10.0.0.1']]);
    assert.deepEqual(audit(cap, 'permission.denied').map((l) => [l.user, l.address, l.permission]), [['bob', 'orders', 'send']]);
    assert.deepEqual(audit(cap, 'permissions.loaded').map((l) => [l.permissions, l.anonymousRoles]), [[{}, []]]);
    const changes = audit(cap, 'users.changed');
    assert.deepEqual(changes.at(-1)!.removed, ['alice', 'device1']);
    const all = JSON.stringify(cap.lines);
    for (const secret of ['bob-pw', 'wrong-secret', '$scrypt$']) assert.equal(all.includes(secret), false, secret);
  } finally {
    m.close();
  }
});

test('audit log: denial lines are limited per user per minute and the rest counted in one line; audit false writes none', async () => {
  const { m, cap } = await manager({ auditMaxDenialsPerMinute: 5 });
  const bob = subjectOf(await m.login(req({ user: 'bob', password: 'bob-pw' })));
  const alice = subjectOf(await m.login(req({ user: 'alice', password: 'alice-pw' })));
  for (let i = 0; i < 100; i++) m.denied(bob, `q.${i}`, 'send');
  m.denied(alice, 'q', 'send');
  m.close();
  await flush();
  assert.equal(audit(cap, 'permission.denied').filter((l) => l.user === 'bob').length, 5);
  assert.equal(audit(cap, 'permission.denied').filter((l) => l.user === 'alice').length, 1, "one user's flood does not hide another's denial");
  assert.deepEqual(audit(cap, 'audit.suppressed').map((l) => l.suppressed), [95]);

  const off = await manager({ audit: false });
  const s = subjectOf(await off.m.login(req({ user: 'bob', password: 'bob-pw' })));
  off.m.denied(s, 'q', 'send');
  await off.m.login(req({ user: 'bob', password: 'x' }));
  off.m.close();
  await flush();
  assert.deepEqual(off.cap.lines.filter((l) => l.component === 'audit'), []);
});

test('a hostile user name or password of protocol size is refused at once; audit lines carry at most 256 characters of it', async () => {
  const { m, cap } = await manager({ maxFailedLoginsPerUser: 1 });
  try {
    const long = 'u'.repeat(60_000);
    assert.equal(refusal(await m.login(req({ user: long, password: 'x', clientId: 'c'.repeat(60_000) }))), 'credentials');
    assert.equal(refusal(await m.login(req({ user: 'bob', password: 'p'.repeat(60_000) }))), 'credentials');
    assert.equal(refusal(await m.login(req({ user: 'bob', password: 'bob-pw' }))), 'ok', 'the over-long password was not counted against bob');
    await flush();
    const failures = audit(cap, 'auth.failure');
    assert.equal(failures.length, 2);
    assert.equal((failures[0]!.user as string).length, 257);
    assert.equal((failures[0]!.clientId as string).length, 257);
  } finally {
    m.close();
  }
});

test('identical logins in flight share one password check: a fleet of one account reconnecting at once is neither refused as over maxPendingLogins nor hashed once per client', async () => {
  const { m } = await manager({ maxPendingLogins: 2, maxConnectRate: 0 });
  try {
    const logins = await Promise.all(Array.from({ length: 50 }, (_, i) => m.login(req({ user: 'alice', password: 'alice-pw', remoteAddress: `10.0.1.${i}` }))));
    assert.deepEqual(new Set(logins.map(refusal)), new Set(['ok']));
    assert.equal(m.statistics().coalesced, 49, 'one KDF run for the 50');
    // A wrong password shared by several logins is one check too, but each counts as a failure of its own.
    const wrong = await Promise.all(Array.from({ length: 5 }, () => m.login(req({ user: 'bob', password: 'guess', remoteAddress: '10.0.2.1' }))));
    assert.deepEqual(wrong.map(refusal), ['credentials', 'credentials', 'credentials', 'credentials', 'credentials']);
    assert.equal(m.statistics().coalesced, 53);
    assert.equal(m.statistics().loginsRefused, 5);
    // Another password of the same user is never answered by the check in flight.
    const [right, other] = await Promise.all([m.login(req({ user: 'bob', password: 'bob-pw' })), m.login(req({ user: 'bob', password: 'not-bob' }))]);
    assert.deepEqual([refusal(right), refusal(other)], ['ok', 'credentials']);
  } finally {
    m.close();
  }
});
