import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startBroker } from '../helpers/broker.ts';
import { bodies, connectFor, eventually } from '../helpers/stompjs.ts';

/*
 * Deployment on a running broker: the routes directory is watched (add, change, invalid file,
 * delete), redeploys are transactional, and API deploys come back after a restart.
 */

const forward = (id: string, from: string, to: string, extra: object[] = []) => JSON.stringify({ id, from, steps: [...extra, { to }] }, null, 2);

test('routes directory: hot deploy, redeploy, invalid file, delete', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-routes-dir-'));
  const routesDir = path.join(dataDir, 'routes');
  await mkdir(routesDir);
  await writeFile(path.join(routesDir, 'first.route.json'), forward('first', 'queue:d.in', 'queue:d.out.v1'));
  const broker = await startBroker({ dataDir, routesDir, store: { type: 'memory' } });
  t.after(async () => {
    await broker.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  const c = await connectFor(t, broker);
  // Deployed at start.
  assert.deepEqual(broker.routes.list().map((r) => [r.id, r.state, r.origin]), [['first', 'started', path.join(routesDir, 'first.route.json')]]);
  const v1 = await c.subscribe('/queue/d.out.v1');
  await c.send('/queue/d.in', 'one');
  assert.deepEqual(bodies(await v1.take(1)), ['one']);

  // Add: a new file is live without a restart.
  await writeFile(path.join(routesDir, 'second.route.json'), forward('second', 'queue:d2.in', 'queue:d2.out'));
  await eventually(() => assert.equal(broker.routes.list().find((r) => r.id === 'second')?.state, 'started'));
  const d2 = await c.subscribe('/queue/d2.out');
  await c.send('/queue/d2.in', 'two');
  assert.deepEqual(bodies(await d2.take(1)), ['two']);

  // Change: a graceful redeploy, version 2 sends elsewhere.
  await writeFile(path.join(routesDir, 'first.route.json'), forward('first', 'queue:d.in', 'queue:d.out.v2', [{ setHeader: { name: 'v', value: 2 } }]));
  await eventually(() => assert.equal(broker.routes.list().find((r) => r.id === 'first')?.version, 2));
  const v2 = await c.subscribe('/queue/d.out.v2');
  await c.send('/queue/d.in', 'three');
  const m = await v2.one();
  assert.equal(m.body, 'three');
  assert.equal(m.headers.v, '2');

  // Invalid change: reported with the path and the error; version 2 keeps running, others too.
  const firstFile = path.join(routesDir, 'first.route.json');
  await writeFile(firstFile, JSON.stringify({ id: 'first', from: 'queue:d.in', steps: [{ to: 'queue:x' }, { choice: { when: [{ if: true, steps: [{ teleport: 1 }] }] } }] }));
  await eventually(() => assert.equal(broker.routes.problems().length, 1));
  const problem = broker.routes.problems()[0]!;
  assert.equal(problem.file, firstFile);
  assert.match(problem.error, /steps\[1\]\.choice\.when\[0\]\.steps\[0\]: unknown step 'teleport'/);
  assert.equal(broker.routes.list().find((r) => r.id === 'first')?.version, 2);
  await c.send('/queue/d.in', 'four');
  assert.deepEqual(bodies(await v2.take(1)), ['four']);
  await writeFile(path.join(routesDir, 'broken.route.json'), '{"id": "broken", ');
  await eventually(() => assert.equal(broker.routes.problems().length, 2));
  await c.send('/queue/d2.in', 'five');
  assert.deepEqual(bodies(await d2.take(1)), ['five'], 'other routes keep running');

  // A fix clears the problem.
  await writeFile(firstFile, forward('first', 'queue:d.in', 'queue:d.out.v2'));
  await eventually(() => assert.equal(broker.routes.list().find((r) => r.id === 'first')?.version, 3));
  await eventually(() => assert.deepEqual(broker.routes.problems().map((p) => path.basename(p.file)), ['broken.route.json']));

  // Delete: undeployed.
  await unlink(path.join(routesDir, 'second.route.json'));
  await eventually(() => assert.equal(broker.routes.has('second'), false));
  await c.send('/queue/d2.in', 'six');
  await d2.expectNone();
});

test('a TypeScript route file with a function step deploys and redeploys', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-routes-ts-'));
  const routesDir = path.join(dataDir, 'routes');
  await mkdir(routesDir);
  const builder = JSON.stringify(path.resolve(import.meta.dirname, '../../src/routing/builder.ts'));
  const file = path.join(routesDir, 'upper.route.ts');
  const source = (suffix: string) => `import { route } from ${builder};\nexport default route('upper').from('queue:ts.in').process((ex) => { ex.setBody(String(ex.body()).toUpperCase() + ${JSON.stringify(suffix)}); }).to('queue:ts.out');\n`;
  await writeFile(file, source('!'));
  const broker = await startBroker({ dataDir, routesDir, store: { type: 'memory' } });
  t.after(async () => {
    await broker.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  const c = await connectFor(t, broker);
  const out = await c.subscribe('/queue/ts.out');
  await c.send('/queue/ts.in', 'hello');
  assert.deepEqual(bodies(await out.take(1)), ['HELLO!']);
  await writeFile(file, source('?'));
  await eventually(() => assert.equal(broker.routes.list()[0]?.version, 2));
  await c.send('/queue/ts.in', 'again');
  assert.deepEqual(bodies(await out.take(1)), ['AGAIN?']);
});

test('a redeploy that fails to start keeps the previous version; API deploys survive a restart', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-routes-api-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const broker = await startBroker({ dataDir });
  await broker.routes.deploy({ id: 'api', from: 'queue:api.in', steps: [{ setHeader: { name: 'by', value: 'api' } }, { to: 'queue:api.out' }] });
  await broker.routes.deploy({ id: 'paused', from: 'queue:paused.in', steps: [{ to: 'queue:paused.out' }] });
  await broker.routes.suspend('paused');
  // Invalid: refused before the running version is touched.
  await assert.rejects(broker.routes.deploy({ id: 'api', from: 'queue:api.in', steps: [{ filter: { eval: 'x' } }] }), /steps\[0\]\.filter: operator 'eval' is not allowed/);
  // Fails to start (a queue consumer on a wildcard): the previous version runs again.
  await assert.rejects(broker.routes.deploy({ id: 'api', from: 'queue:api.*', steps: [] }), /failed to start/);
  assert.deepEqual(broker.routes.list().map((r) => [r.id, r.version, r.state]), [['api', 1, 'started'], ['paused', 1, 'suspended']]);
  await broker.stop();

  const again = await startBroker({ dataDir });
  t.after(() => again.stop());
  assert.deepEqual(again.routes.list().map((r) => [r.id, r.version, r.state]).sort(), [['api', 1, 'started'], ['paused', 1, 'suspended']]);
  const c = await connectFor(t, again);
  const out = await c.subscribe('/queue/api.out');
  await c.send('/queue/api.in', 'after restart', { persistent: 'true' });
  assert.equal((await out.one()).headers.by, 'api');
  await again.routes.undeploy('api');
  assert.deepEqual(again.routes.list().map((r) => r.id), ['paused']);
  // Restored suspended: it consumes nothing until resumed.
  await c.send('/queue/paused.in', 'waits', { persistent: 'true' });
  const q = again.core.queueStats().find((s) => s.name === 'paused.in')!;
  assert.deepEqual([q.messages, q.inDelivery], [1, 0]);
  const pausedOut = await c.subscribe('/queue/paused.out');
  await again.routes.resume('paused');
  assert.equal((await pausedOut.one()).body, 'waits');
});

test('routes directory: a route moved to another file (or the file renamed) is deployed from the new file', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-routes-move-'));
  const routesDir = path.join(dataDir, 'routes');
  await mkdir(routesDir);
  const a = path.join(routesDir, 'a.route.json');
  const b = path.join(routesDir, 'b.route.json');
  await writeFile(a, forward('moved', 'queue:mv.in', 'queue:mv.out.a'));
  const broker = await startBroker({ dataDir, routesDir, store: { type: 'memory' } });
  t.after(async () => {
    await broker.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  // 1. The new file first: its id is still a's, so it waits (reported).
  await writeFile(b, forward('moved', 'queue:mv.in', 'queue:mv.out.b'));
  await eventually(() => assert.match(broker.routes.problems()[0]?.error ?? '', /already deployed from .*a\.route\.json/));
  // 2. The old file goes: the route comes up from b, no problem left.
  await unlink(a);
  await eventually(() => assert.equal(broker.routes.list().find((r) => r.id === 'moved')?.origin, b));
  assert.deepEqual(broker.routes.problems(), []);
  const c = await connectFor(t, broker);
  const out = await c.subscribe('/queue/mv.out.b');
  await c.send('/queue/mv.in', 'after the move');
  assert.deepEqual(bodies(await out.take(1)), ['after the move']);
  // 3. A rename: undeployed under the old name, deployed under the new one.
  const renamed = path.join(routesDir, 'c.route.json');
  await rename(b, renamed);
  await eventually(() => assert.equal(broker.routes.list().find((r) => r.id === 'moved')?.origin, renamed));
  assert.deepEqual(broker.routes.problems(), []);
});

test('a route redeployed from a topic to a queue source drops its durable subscription (nothing piles up there)', async (t) => {
  const broker = await startBroker({ store: { type: 'memory' } });
  t.after(() => broker.stop());
  const subscriptions = () => broker.core.queueStats().filter((q) => q.name.includes('route.moves')).map((q) => q.name);
  await broker.routes.deploy({ id: 'moves', from: 'topic:moves.events', steps: [{ to: 'queue:moves.out' }] });
  assert.equal(subscriptions().length, 1);
  await broker.routes.deploy({ id: 'moves', from: 'queue:moves.in', steps: [{ to: 'queue:moves.out' }] });
  assert.deepEqual(subscriptions(), []);
  // Topic to topic keeps the one subscription (replaced for the new topic, JMS style).
  await broker.routes.deploy({ id: 'moves', from: 'topic:moves.a', steps: [{ to: 'queue:moves.out' }] });
  await broker.routes.deploy({ id: 'moves', from: 'topic:moves.b', steps: [{ to: 'queue:moves.out' }] });
  assert.equal(subscriptions().length, 1);
  const c = await connectFor(t, broker);
  const out = await c.subscribe('/queue/moves.out');
  await c.send('/topic/moves.b', 'on b');
  assert.deepEqual(bodies(await out.take(1)), ['on b']);
});

test('routes directory: renaming the file of a topic route keeps the messages waiting in its durable subscription', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-routes-rename-'));
  const routesDir = path.join(dataDir, 'routes');
  await mkdir(routesDir);
  const a = path.join(routesDir, 'a.route.json');
  // Deployed suspended: what is published waits in the subscription.
  await writeFile(a, JSON.stringify({ id: 'backlog', from: 'topic:bl.events', autoStart: false, steps: [{ to: 'queue:bl.out' }] }));
  const broker = await startBroker({ dataDir, routesDir, store: { type: 'memory' } });
  t.after(async () => {
    await broker.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  const waiting = () => broker.core.queueStats().find((q) => q.name.includes('route.backlog'))?.messages;
  const c = await connectFor(t, broker);
  for (let i = 0; i < 3; i++) await c.send('/topic/bl.events', `e${i}`, { persistent: 'true' });
  assert.equal(waiting(), 3);
  // 1. A rename: the route comes back from the new file with its backlog.
  const renamed = path.join(routesDir, 'b.route.json');
  await rename(a, renamed);
  await eventually(() => assert.equal(broker.routes.list().find((r) => r.id === 'backlog')?.origin, renamed));
  await broker.routes.idle();
  assert.equal(waiting(), 3, 'the messages published before the rename are still there');
  await broker.routes.resume('backlog');
  const out = await c.subscribe('/queue/bl.out');
  assert.deepEqual(bodies(await out.take(3)), ['e0', 'e1', 'e2']);
  // 2. A file deleted for good: the subscription goes with its route.
  await unlink(renamed);
  await eventually(() => assert.equal(waiting(), undefined));
  assert.equal(broker.routes.has('backlog'), false);
});
