/**
 * Security on (issue 15): a `view`-only user reads lists and statistics (200) and is refused purge,
 * move, pause, browse and test messages (403); a `manage` user may; no credentials is a 401.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { hashPassword } from '../../src/security/password-hash.ts';
import { writeUsersFile } from '../../src/security/users-file.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { QueuesApi } from '../helpers/queues-api.ts';

const FAST = { ln: 10, r: 8, p: 1 };
let dir: string;
let broker: TestBroker;
let viewer: QueuesApi;
let admin: QueuesApi;
let anonymous: QueuesApi;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mgmt-queues-sec-'));
  const usersFile = path.join(dir, 'users.json');
  await writeUsersFile(usersFile, {
    users: {
      vera: { password: await hashPassword('vera-pw', FAST), roles: ['viewer'], certificates: [] },
      adam: { password: await hashPassword('adam-pw', FAST), roles: ['admin'], certificates: [] },
    },
  });
  const all = ['send', 'consume', 'browse', 'createAddress', 'createDurableQueue', 'deleteDurableQueue', 'createNonDurableQueue', 'deleteNonDurableQueue', 'manage', 'view'];
  broker = await startBroker({
    security: {
      usersFile,
      permissions: {
        '#': Object.fromEntries(all.map((p) => [p, ['admin']])),
        // The most specific pattern decides alone (Artemis): it repeats the admin's grants.
        'sec.>': { ...Object.fromEntries(all.map((p) => [p, ['admin']])), view: ['viewer', 'admin'] },
        '$sys.mgmt.broker': { view: ['viewer', 'admin'] },
      },
    },
  });
  viewer = new QueuesApi(broker, { user: 'vera', password: 'vera-pw' });
  admin = new QueuesApi(broker, { user: 'adam', password: 'adam-pw' });
  anonymous = new QueuesApi(broker);
  for (const name of ['sec.a', 'sec.b', 'hidden.c']) assert.equal((await admin.call('POST', '/queues', { name })).status, 201);
  for (let i = 0; i < 3; i++) await broker.core.send({ destination: { type: 'queue', name: 'sec.a' }, body: Buffer.from(`m${i}`) });
});
after(async () => {
  await broker.stop();
  await rm(dir, { recursive: true, force: true });
});

test('security: a view-only user gets 200 on lists and statistics, and only what it may view', async () => {
  const list = await viewer.call('GET', '/queues');
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.items.map((q: { name: string }) => q.name), ['sec.a', 'sec.b']);
  assert.equal((await viewer.get('/queues/sec.a')).messages, 3);
  assert.deepEqual((await viewer.get('/addresses')).items.map((a: { name: string }) => a.name), ['sec.a', 'sec.b']);
  assert.equal((await viewer.call('GET', '/jobs')).status, 200);
  assert.equal((await viewer.call('GET', '/queues/hidden.c')).status, 403);
  const all = (await admin.get('/queues')).items.map((q: { name: string }) => q.name);
  assert.ok(all.includes('hidden.c'));
});

test('security: a view-only user gets 403 on purge, move, pause, browse, create and a test message; the queue is unchanged', async () => {
  const refused = [
    await viewer.call('DELETE', '/queues/sec.a/messages'),
    await viewer.call('POST', '/queues/sec.a/messages/actions', { action: 'move', target: 'sec.b' }),
    await viewer.call('POST', '/queues/sec.a/pause'),
    await viewer.call('POST', '/queues/sec.a/resume'),
    await viewer.call('GET', '/queues/sec.a/messages'),
    await viewer.call('POST', '/queues', { name: 'sec.new' }),
    await viewer.call('DELETE', '/queues/sec.b'),
    await viewer.call('POST', '/messages', { address: 'sec.a', body: 'x' }),
  ];
  for (const r of refused) {
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'ERR_SECURITY_UNAUTHORIZED');
  }
  const q = await admin.get('/queues/sec.a');
  assert.equal(q.messages, 3);
  assert.equal(q.paused, false);
  assert.equal((await admin.call('GET', '/queues/sec.new')).status, 404);
});

test('security: the manage user may; no credentials is a 401', async () => {
  assert.equal((await anonymous.call('GET', '/queues')).status, 401);
  const paused = await admin.call('POST', '/queues/sec.a/pause');
  assert.equal(paused.status, 200);
  assert.equal((await admin.call('POST', '/queues/sec.a/resume')).status, 200);
  const move = await admin.call('POST', '/queues/sec.a/messages/actions', { action: 'move', target: 'sec.b' });
  assert.equal(move.status, 202);
  const states = await admin.waitJob(move.body.job.id);
  assert.equal(states[states.length - 1].state, 'done');
  // The job is readable by who started it; the viewer may view the queue, so it may read it too.
  assert.equal((await viewer.get(`/jobs/${move.body.job.id}`)).processed, 3);
  assert.equal((await viewer.call('DELETE', `/jobs/${move.body.job.id}`)).status, 403);
  assert.deepEqual((await admin.call('DELETE', '/queues/sec.b/messages')).body, { removed: 3, skipped: 0 });
});
