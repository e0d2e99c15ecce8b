import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api, basic, writeUsersFile } from '../helpers/management-http.ts';
import { TestMqttClient } from '../helpers/mqtt-client.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';

// Users through the API: added, given a new password and removed, the users file written and in
// force when the API answers: the new user logs in over STOMP and MQTT at once, the old password
// and the removed user no longer do. A view-only user lists but may not change.

const PERMISSIONS = {
  '#': { send: ['admin', 'app'], consume: ['admin', 'app'], createAddress: ['admin', 'app'], createNonDurableQueue: ['admin', 'app'], view: ['admin', 'viewer'], manage: ['admin'] },
  '$sys.mgmt.#': { view: ['admin', 'viewer'], manage: ['admin'] },
};

let broker: TestBroker;
let dir: string;
let usersFile: string;
let call: ReturnType<typeof api>;
const admin = { authorization: basic('admin', 'admin-pw') };

before(async () => {
  const u = await writeUsersFile({ admin: ['admin-pw', ['admin']], viewer: ['viewer-pw', ['viewer']] });
  dir = u.dir;
  usersFile = u.usersFile;
  broker = await startBroker({ security: { usersFile, permissions: PERMISSIONS } });
  call = api(`http://127.0.0.1:${broker.ports.http}`);
});
after(async () => {
  await broker?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function stompLogin(user: string, passcode: string): Promise<string> {
  const c = await RawStomp.open(broker.ports.stomp!);
  try {
    c.send('CONNECT', { 'accept-version': '1.2', host: 'localhost', login: user, passcode });
    return (await c.nextFrame()).command;
  } finally {
    c.destroy();
  }
}

async function mqttLogin(username: string, password: string): Promise<boolean> {
  try {
    const c = await TestMqttClient.connect(broker, { username, password, clientId: `${username}-${Date.now()}` });
    await c.client.endAsync();
    return true;
  } catch {
    return false;
  }
}

test('list, add, passwd and remove through the API; STOMP and MQTT logins follow at once', async () => {
  const listed = await call('GET', '/api/v1/users', { headers: admin });
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.json.items.map((u: { name: string }) => u.name), ['admin', 'viewer']);
  assert.ok(!listed.text.includes('$scrypt$'), 'never a password hash');

  const added = await call('POST', '/api/v1/users', { headers: admin, body: { name: 'app1', password: 'first-pw', roles: ['app'] } });
  assert.equal(added.status, 201, added.text);
  assert.deepEqual(added.json, { name: 'app1', roles: ['app'], certificates: [], password: true });
  const file = JSON.parse(await readFile(usersFile, 'utf8'));
  assert.match(file.users.app1.password, /^\$scrypt\$/);
  assert.equal((await call('POST', '/api/v1/users', { headers: admin, body: { name: 'app1', password: 'x', roles: [] } })).status, 409);

  assert.equal(await stompLogin('app1', 'first-pw'), 'CONNECTED');
  assert.equal(await mqttLogin('app1', 'first-pw'), true);

  const changed = await call('PUT', '/api/v1/users/app1', { headers: admin, body: { password: 'second-pw' } });
  assert.equal(changed.status, 200, changed.text);
  assert.deepEqual(changed.json.roles, ['app'], 'roles left out stay');
  assert.equal(await stompLogin('app1', 'first-pw'), 'ERROR');
  assert.equal(await stompLogin('app1', 'second-pw'), 'CONNECTED');
  assert.equal(await mqttLogin('app1', 'second-pw'), true);
  // The new password over HTTP too, as basic auth.
  assert.equal((await call('GET', '/api/v1/auth/session', { headers: { authorization: basic('app1', 'second-pw') } })).json.user, 'app1');

  assert.equal((await call('DELETE', '/api/v1/users/app1', { headers: admin })).status, 204);
  assert.equal(await stompLogin('app1', 'second-pw'), 'ERROR');
  assert.equal(await mqttLogin('app1', 'second-pw'), false);
  assert.equal((await call('DELETE', '/api/v1/users/app1', { headers: admin })).status, 404);
});

test('a removed user\'s console session ends with it; a role change applies to the next request', async () => {
  await call('POST', '/api/v1/users', { headers: admin, body: { name: 'temp', password: 'temp-pw', roles: ['viewer'] } });
  const login = await call('POST', '/api/v1/auth/login', { body: { user: 'temp', password: 'temp-pw' } });
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const csrf = login.json.csrfToken;
  assert.equal((await call('POST', '/api/v1/users', { headers: { cookie, 'x-csrf-token': csrf }, body: { name: 'x1', password: 'p', roles: [] } })).status, 403);
  await call('PUT', '/api/v1/users/temp', { headers: admin, body: { roles: ['admin'] } });
  const asAdmin = await call('POST', '/api/v1/users', { headers: { cookie, 'x-csrf-token': csrf }, body: { name: 'x1', password: 'p', roles: [] } });
  assert.equal(asAdmin.status, 201, asAdmin.text);
  await call('DELETE', '/api/v1/users/temp', { headers: admin });
  assert.equal((await call('GET', '/api/v1/users', { headers: { cookie } })).status, 401);
});

test('a view-only user lists users and permissions but may not change them (403)', async () => {
  const viewer = { authorization: basic('viewer', 'viewer-pw') };
  assert.equal((await call('GET', '/api/v1/users', { headers: viewer })).status, 200);
  const perms = await call('GET', '/api/v1/permissions', { headers: viewer });
  assert.equal(perms.status, 200);
  assert.deepEqual(perms.json.permissions['$sys.mgmt.#'], PERMISSIONS['$sys.mgmt.#']);
  const denied = await call('POST', '/api/v1/users', { headers: viewer, body: { name: 'sneaky', password: 'p', roles: ['admin'] } });
  assert.equal(denied.status, 403);
  assert.equal(denied.json.error.code, 'ERR_SECURITY_UNAUTHORIZED');
  assert.equal((await call('DELETE', '/api/v1/users/admin', { headers: viewer })).status, 403);
  const file = JSON.parse(await readFile(usersFile, 'utf8'));
  assert.equal(file.users.sneaky, undefined);
  assert.ok(file.users.admin);
});

test('a bad user name or an empty body is a 400 by path', async () => {
  const r = await call('POST', '/api/v1/users', { headers: admin, body: { name: 'has space', password: 'p' } });
  assert.equal(r.status, 400);
  assert.deepEqual(r.json.error.issues.map((i: { path: string }) => i.path), ['name']);
  const none = await call('POST', '/api/v1/users', { headers: admin, body: { name: 'nopw' } });
  assert.equal(none.status, 400);
});
