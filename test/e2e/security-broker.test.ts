import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { LoginRequest, Subject } from '../../src/core/ports/security.ts';
import { hashPassword } from '../../src/security/password-hash.ts';
import type { SecurityManager } from '../../src/security/security-manager.ts';
import { writeUsersFile, type UsersFileContent } from '../../src/security/users-file.ts';
import { startBroker } from '../helpers/broker.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';

const FAST = { ln: 10, r: 8, p: 1 };
let dir: string;
let users: UsersFileContent;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'security-broker-'));
  users = { users: { alice: { password: await hashPassword('alice-pw', FAST), roles: ['producer'], certificates: [] } } };
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const req = (r: Partial<LoginRequest>): LoginRequest => ({ protocol: 'amqp', remoteAddress: '127.0.0.1', ...r });

/** A raw STOMP CONNECT with these headers; resolves with the command of the server's answer. */
async function stompConnect(port: number, headers: Record<string, string>): Promise<string> {
  const c = await RawStomp.open(port);
  try {
    c.send('CONNECT', { 'accept-version': '1.2', host: 'localhost', ...headers });
    return (await c.nextFrame()).command;
  } finally {
    c.destroy();
  }
}

test('security.usersFile: the broker logs clients in against it and decides permissions from security.permissions', async () => {
  const usersFile = path.join(dir, 'users-a.json');
  await writeUsersFile(usersFile, users);
  const b = await startBroker({ security: { usersFile, permissions: { 'orders.>': { send: ['producer'] } } } });
  try {
    const sec = b.security!;
    assert.equal(sec.enabled, true);
    assert.equal(sec.anonymousAllowed, false);
    const ok = await sec.login(req({ user: 'alice', password: 'alice-pw' }));
    assert.ok(ok.ok);
    assert.equal(sec.allowed(ok.session.subject, 'orders.eu', 'send'), true);
    assert.equal(sec.allowed(ok.session.subject, 'orders.eu', 'consume'), false);
    ok.session.close();
    assert.deepEqual(await sec.login(req({ user: 'alice', password: 'wrong' })), { ok: false, reason: 'credentials', message: 'Invalid user name or password' });
    assert.equal((await sec.login(req({}))).ok, false);
    // The protocols got the same authenticator: a real STOMP client over a socket.
    assert.equal(await stompConnect(b.ports.stomp!, { login: 'alice', passcode: 'alice-pw' }), 'CONNECTED');
    assert.equal(await stompConnect(b.ports.stomp!, { login: 'alice', passcode: 'wrong' }), 'ERROR');
    assert.equal(await stompConnect(b.ports.stomp!, {}), 'ERROR');
  } finally {
    await b.stop();
  }
});

test('users file changes are picked up by themselves and by reload(); a bad file keeps the users and makes reload() reject', async () => {
  const usersFile = path.join(dir, 'users-b.json');
  await writeUsersFile(usersFile, users);
  const b = await startBroker({ security: { usersFile } });
  try {
    const sec = b.security!;
    const bob = { password: await hashPassword('bob-pw', FAST), roles: [], certificates: [] };
    await writeUsersFile(usersFile, { users: { ...users.users, bob } });
    const deadline = Date.now() + 10_000;
    while (!(await sec.login(req({ user: 'bob', password: 'bob-pw' }))).ok) {
      assert.ok(Date.now() < deadline, 'the watcher did not load the changed file');
      await new Promise((r) => setTimeout(r, 50));
    }
    await writeFile(usersFile, '{"users": ');
    await assert.rejects(b.reload(), { code: 'ERR_CONFIG_INVALID' });
    assert.equal((await sec.login(req({ user: 'bob', password: 'bob-pw' }))).ok, true, 'the users loaded before are kept');
    await writeUsersFile(usersFile, users);
    await b.reload();
    assert.equal((await sec.login(req({ user: 'bob', password: 'bob-pw' }))).ok, false, 'bob is gone after the reload');
  } finally {
    await b.stop();
  }
});

test('an embedding application passes its own SecurityManager; the broker uses it and closes it', async () => {
  const subject: Subject = { user: 'hooked', roles: new Set(['r']) };
  const calls: string[] = [];
  const custom: SecurityManager = {
    enabled: true,
    anonymousAllowed: false,
    login: async (r) => (calls.push(`login:${r.user}`), r.password === 'hook' ? { ok: true, session: { subject, close() {} } } : { ok: false, reason: 'credentials', message: 'no' }),
    allowed: () => true,
    identity: () => undefined,
    reload: async () => void calls.push('reload'),
    close: () => void calls.push('close'),
  };
  // A non-loopback host is allowed: security is on.
  const b = await startBroker({ host: '0.0.0.0' }, { securityManager: custom });
  try {
    assert.equal(b.security, custom);
    assert.equal(await stompConnect(b.ports.stomp!, { login: 'x', passcode: 'hook' }), 'CONNECTED');
    assert.equal(await stompConnect(b.ports.stomp!, { login: 'x', passcode: 'nope' }), 'ERROR');
    await b.reload();
  } finally {
    await b.stop();
  }
  assert.deepEqual(calls, ['login:x', 'login:x', 'reload', 'close']);
});

test('safe defaults: security off on a non-loopback host, or permissions without users, refuse to start; loopback stays open', async () => {
  await assert.rejects(startBroker({ host: '0.0.0.0' }), (e: Error & { code?: string }) => e.code === 'ERR_CONFIG_INVALID' && /--allow-anonymous/.test(e.message) && /security\.usersFile/.test(e.message));
  await assert.rejects(startBroker({ host: '::' }), { code: 'ERR_CONFIG_INVALID' });
  await assert.rejects(startBroker({ security: { permissions: { '#': { send: ['x'] } } } }), /security\.permissions take effect only with security on/);
  const open = await startBroker({ host: '0.0.0.0', security: { allowAnonymous: true } });
  try {
    assert.equal(open.security, undefined);
    assert.equal(await stompConnect(open.ports.stomp!, { login: 'any', passcode: 'thing' }), 'CONNECTED');
  } finally {
    await open.stop();
  }
  const loopback = await startBroker({});
  try {
    assert.equal(loopback.security, undefined);
    await loopback.reload();
  } finally {
    await loopback.stop();
  }
});

test('a bad users file at start stops the start (and leaves the data dir usable)', async () => {
  const usersFile = path.join(dir, 'users-bad.json');
  await writeFile(usersFile, '{"users": {"a": {"roles": "x"}}}');
  const dataDir = path.join(dir, 'data-bad');
  await assert.rejects(startBroker({ dataDir, security: { usersFile } }), (e: Error & { code?: string }) => e.code === 'ERR_CONFIG_INVALID' && e.message.includes(usersFile));
  await writeUsersFile(usersFile, users);
  const b = await startBroker({ dataDir, security: { usersFile } });
  await b.stop();
});
