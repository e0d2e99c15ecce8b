/**
 * The routes area of the management API end to end over real HTTP (issue 15): a real broker with
 * security on and its management server, real MQTT (MQTT.js) and AMQP (rhea) clients. The headline use: a JSON route bridging MQTT sensor topics to a queue, deployed,
 * watched (step counters and graph), suspended, resumed, restarted, tested, undeployed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { RouteGraphModel, StepStats } from '../../src/routing/route-telemetry.ts';
import { hashPassword } from '../../src/security/password-hash.ts';
import { writeUsersFile } from '../../src/security/users-file.ts';
import { AmqpTestClient } from '../helpers/amqp-client.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { TestMqttClient } from '../helpers/mqtt-client.ts';
import { retryUntil } from '../helpers/retry.ts';

const ALL = ['send', 'consume', 'browse', 'createAddress', 'createDurableQueue', 'createNonDurableQueue', 'view', 'manage'];
const basic = (user: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${user}-pw`).toString('base64')}` });

let dir: string;
let broker: TestBroker;
let mqtt: TestMqttClient;
let amqp: AmqpTestClient;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'routes-e2e-'));
  const usersFile = path.join(dir, 'users.json');
  const user = async (name: string, roles: string[]) => ({ password: await hashPassword(`${name}-pw`, { ln: 10, r: 8, p: 1 }), roles, certificates: [] });
  await writeUsersFile(usersFile, { users: { admin: await user('admin', ['admin']), viewer: await user('viewer', ['viewer']), ops: await user('ops', ['ops']) } });
  broker = await startBroker({
    store: { type: 'memory' },
    security: {
      usersFile,
      // Routes deployed without runAs run as admin.
      routes: { defaultUser: 'admin' },
      permissions: {
        '#': { ...Object.fromEntries(ALL.map((p) => [p, ['admin']])), view: ['admin', 'viewer'] },
        // The most specific match applies (as in Artemis): this entry replaces '#' for the routes area.
        '$sys.mgmt.routes': { view: ['admin', 'viewer', 'ops'], manage: ['admin', 'ops'] },
      },
    },
  });
  mqtt = await TestMqttClient.connect(broker, { username: 'admin', password: 'admin-pw' });
  amqp = await AmqpTestClient.connect(broker.ports.amqp!, { username: 'admin', password: 'admin-pw' });
});

after(async () => {
  await mqtt?.client.endAsync();
  amqp?.connection.close();
  await broker?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = basic('admin')): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${broker.ports.http}/api/v1${path}`, { method, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

const bridge = {
  id: 'bridge',
  from: 'topic:sensors.*.temp',
  steps: [{ filter: { '>': [{ var: 'body.celsius' }, 30] } }, { setHeader: { name: 'alert', value: true } }, { to: 'queue:alerts' }],
};

const step = (steps: StepStats[], id: string) => steps.find((s) => s.id === id)!;
const publish = (sensor: number, celsius: number) => mqtt.client.publishAsync(`sensors/${sensor}/temp`, JSON.stringify({ celsius }), { qos: 1 });
const depth = (queue: string) => broker.core.queueStats().find((q) => q.name === queue)?.messages ?? 0;

test('deploy a JSON route bridging MQTT to a queue; step counters and edges rise; an AMQP client consumes', async () => {
  const created = await call('POST', '/routes', { definition: bridge });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  assert.equal(created.json.state, 'started');
  assert.equal((await call('POST', '/routes', { definition: bridge })).status, 409, 'POST does not replace');
  for (const c of [35, 20, 41]) await publish(1, c);
  await retryUntil(async () => assert.equal(step((await call('GET', '/routes/bridge/stats')).json.steps, 'from').completed, 3));
  const graph = (await call('GET', '/routes/bridge/graph')).json as { model: RouteGraphModel; steps: StepStats[]; mermaid: string };
  assert.deepEqual(graph.model.nodes.map((n) => n.id), ['from', 'steps.0', 'steps.1', 'steps.2']);
  assert.deepEqual(graph.model.edges.map((e) => `${e.from}>${e.to}`), ['from>steps.0', 'steps.0>steps.1', 'steps.1>steps.2']);
  // An edge's count is its target's entered: 3 reached the filter, 2 passed it.
  assert.deepEqual(graph.model.edges.map((e) => step(graph.steps, e.to).entered), [3, 2, 2]);
  assert.deepEqual([step(graph.steps, 'steps.0').completed, step(graph.steps, 'steps.2').completed, step(graph.steps, 'steps.2').inFlight], [3, 2, 0]);
  assert.match(graph.mermaid, /^flowchart LR/);
  const r = await amqp.receiver('alerts', 10);
  const got = [await r.next(), await r.next()];
  for (const m of got) m.delivery.accept();
  assert.deepEqual(got.map((m) => JSON.parse(Buffer.from(m.message.body.content ?? m.message.body).toString()).celsius), [35, 41]);
  assert.equal(got[0]!.message.application_properties?.alert, true);
  r.link.close();
  const list = await call('GET', '/routes');
  assert.deepEqual(list.json.items.map((i: { id: string; stats: { completed: number } }) => [i.id, i.stats.completed]), [['bridge', 3]]);
  const described = await call('GET', '/routes/bridge');
  assert.deepEqual(described.json.definition.steps, bridge.steps);
});

test('a definition with an error is refused with 400 and the issue at its step; validate is a dry run', async () => {
  const bad = { ...bridge, id: 'bad', steps: [{ to: 'queue:x' }, { choice: { when: [{ if: true, steps: [{ setHeader: { name: 'a' } }] }] } }] };
  const res = await call('POST', '/routes', { definition: bad });
  assert.equal(res.status, 400);
  assert.equal(res.json.error.code, 'ERR_ROUTE_INVALID');
  assert.equal(res.json.error.issues[0].path, 'steps.1.choice.when.0.steps.0.setHeader.value');
  const dry = await call('POST', '/routes/validate', { definition: bad });
  assert.deepEqual([dry.status, dry.json.valid, dry.json.issues[0].path], [200, false, 'steps.1.choice.when.0.steps.0.setHeader.value']);
  const ok = await call('POST', '/routes/validate', { definition: { ...bridge, id: 'dry' } });
  assert.deepEqual(ok.json, { valid: true, id: 'dry', issues: [] });
  assert.equal((await call('GET', '/routes/dry')).status, 404, 'a dry run deploys nothing');
  assert.equal((await call('POST', '/routes', { definition: bridge, extra: 1 })).status, 400, 'unknown body fields refused');
});

test('suspend: messages wait at the source; resume: they flow; restart: counters from zero', async () => {
  const suspended = await call('POST', '/routes/bridge/suspend');
  assert.equal(suspended.json.state, 'suspended');
  const before = step((await call('GET', '/routes/bridge/stats')).json.steps, 'from').entered;
  await publish(2, 50);
  await publish(2, 51);
  // The route's durable subscription holds them while it does not consume.
  await retryUntil(async () => assert.equal(depth('route.bridge'), 2));
  assert.equal(step((await call('GET', '/routes/bridge/stats')).json.steps, 'from').entered, before);
  assert.equal((await call('POST', '/routes/bridge/resume')).json.state, 'started');
  const r = await amqp.receiver('alerts', 10);
  const got = [await r.next(), await r.next()];
  for (const m of got) m.delivery.accept();
  r.link.close();
  assert.equal(depth('route.bridge'), 0);
  const restarted = await call('POST', '/routes/bridge/restart');
  assert.deepEqual([restarted.status, restarted.json.state, restarted.json.stats.completed], [200, 'started', 0]);
  assert.ok(step((await call('GET', '/routes/bridge/stats')).json.steps, 'steps.0').entered === 0);
  await publish(3, 60);
  await retryUntil(async () => assert.equal(step((await call('GET', '/routes/bridge/stats')).json.steps, 'steps.2').completed, 1));
  const r2 = await amqp.receiver('alerts', 1);
  (await r2.next()).delivery.accept();
  r2.link.close();
  await retryUntil(async () => assert.equal(depth('alerts'), 0));
});

test("run the route's test cases on a sandbox: the live queues see nothing", async () => {
  const alertsBefore = depth('alerts');
  const res = await call('POST', '/routes/bridge/test', {
    cases: [
      { name: 'hot', address: 'topic:sensors.9.temp', input: [{ body: { celsius: 35 } }, { body: { celsius: 10 } }], expect: { 'queue:alerts': [{ body: { celsius: 35 }, headers: { alert: true } }] } },
      { name: 'wrong', input: [{ body: { celsius: 99 } }], expect: { 'queue:alerts': [] }, timeout: 500 },
    ],
  });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  assert.equal(res.json.passed, false);
  assert.deepEqual(res.json.results.map((x: { name: string; passed: boolean }) => [x.name, x.passed]), [['hot', true], ['wrong', false]]);
  assert.match(res.json.results[1].problems[0], /queue:alerts: expected 0 message\(s\), got 1/);
  assert.equal(depth('alerts'), alertsBefore);
  assert.equal(step((await call('GET', '/routes/bridge/stats')).json.steps, 'from').entered, 1, 'the live route saw none of it');
  assert.equal((await call('POST', '/routes/bridge/test', { cases: Array.from({ length: 21 }, (_, i) => ({ name: `c${i}`, input: [], expect: {} })) })).status, 400, 'capped');
});

test('undeploy with drain waits for the exchange in flight; without drain hands it back', async () => {
  const slow = { id: 'slow', from: 'queue:slow.in', steps: [{ delay: 400 }, { to: 'queue:slow.out' }] };
  assert.equal((await call('POST', '/routes', { definition: slow })).status, 201);
  const sender = await amqp.sender('slow.in');
  await amqp.send(sender, { body: 'one' });
  await retryUntil(async () => assert.equal(step((await call('GET', '/routes/slow/stats')).json.steps, 'steps.0').inFlight, 1));
  assert.equal((await call('DELETE', '/routes/slow?drain=true&timeout=5000')).status, 204);
  assert.equal((await call('GET', '/routes/slow')).status, 404);
  assert.deepEqual([depth('slow.out'), depth('slow.in')], [1, 0], 'drained: it went through before the route went');
  assert.equal((await call('POST', '/routes', { definition: slow })).status, 201);
  await amqp.send(sender, { body: 'two' });
  await retryUntil(async () => assert.equal(step((await call('GET', '/routes/slow/stats')).json.steps, 'steps.0').inFlight, 1));
  assert.equal((await call('DELETE', '/routes/slow?drain=false')).status, 204);
  await retryUntil(async () => assert.equal(depth('slow.in'), 1, 'handed back to its queue'));
  assert.equal(depth('slow.out'), 1);
  assert.equal((await call('DELETE', '/routes/slow?timeout=-1')).status, 400);
  sender.close();
});

test('deploy from TypeScript source; a type error is a 400 at source:line:col', async () => {
  const source = "import { route } from 'junction';\nexport default route('ts-route').from('queue:ts.in').setHeader('via', 'ts').to('queue:ts.out');\n";
  const res = await call('POST', '/routes', { source, language: 'ts' });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  const sender = await amqp.sender('ts.in');
  await amqp.send(sender, { body: 'hello' });
  const r = await amqp.receiver('ts.out', 1);
  const m = await r.next();
  m.delivery.accept();
  assert.equal(m.message.application_properties?.via, 'ts');
  sender.close();
  r.link.close();
  const typeError = await call('PUT', '/routes/ts-route', { source: "import { route } from 'junction';\nexport default route('ts-route').from('queue:ts.in').setHeader(1).to('queue:ts.out');\n", language: 'ts' });
  assert.equal(typeError.status, 400);
  assert.match(typeError.json.error.issues[0].path, /^source:2:\d+$/);
  assert.equal((await call('GET', '/routes/ts-route')).json.state, 'started', 'the running version stays');
  assert.equal((await call('POST', '/routes', { source: 'x'.repeat(300 * 1024), language: 'ts' })).status, 400, 'source capped');
});

test('permissions: view reads, manage changes; a runAs of another user and TS source need more', async () => {
  const viewer = basic('viewer');
  const ops = basic('ops');
  assert.equal((await call('GET', '/routes', undefined, { authorization: 'Basic eDp5' })).status, 401);
  assert.equal((await call('GET', '/routes', undefined, viewer)).status, 200);
  assert.equal((await call('GET', '/routes/bridge/graph', undefined, viewer)).status, 200);
  assert.equal((await call('POST', '/routes/bridge/suspend', undefined, viewer)).status, 403);
  assert.equal((await call('DELETE', '/routes/bridge', undefined, viewer)).status, 403);
  assert.equal((await call('POST', '/routes', { definition: { ...bridge, id: 'x' } }, viewer)).status, 403);
  // ops manages routes but not users: it may not deploy a route that acts as another user.
  assert.equal((await call('POST', '/routes', { definition: { ...bridge, id: 'as-admin', runAs: 'admin' } }, ops)).status, 403, 'runAs another user');
  assert.equal((await call('POST', '/routes/validate', { definition: { ...bridge, id: 'as-default' } }, ops)).status, 403, 'the default user is another user');
  const self = await call('POST', '/routes/validate', { definition: { ...bridge, id: 'as-self', runAs: 'ops' } }, ops);
  assert.deepEqual([self.status, self.json.valid], [200, true]);
  assert.equal((await call('POST', '/routes/validate', { source: 'export default 1;', language: 'ts' }, ops)).status, 403, 'TS source is code run in the broker');
  assert.equal((await call('POST', '/routes/bridge/suspend', undefined, ops)).status, 200);
  assert.equal((await call('POST', '/routes/bridge/resume', undefined, ops)).status, 200);
  assert.deepEqual(broker.routes.list().map((r) => r.id).sort(), ['bridge', 'ts-route']);
});
