/**
 * The overview area and its event stream over real HTTP on a throwaway fastify app, with a fake
 * context, a fake authorizer and the real sampler driven by hand (sampleNow): the server, its auth
 * hook and the broker are other modules' (test/e2e/management-metrics*.test.ts runs the whole broker).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Permission, Subject } from '../../../src/core/ports/security.ts';
import { overviewApi } from '../../../src/management/http/api-overview.ts';
import { ApiError, type ApiDeps, type Caller } from '../../../src/management/http/api-types.ts';
import { createTelemetry, type SamplingTelemetry } from '../../../src/management/telemetry.ts';
import { openEvents } from '../../helpers/sse.ts';
import { fakeContext, fakeQueue, fakeTotals, type FakeState } from './fake-context.ts';

/** Users by the `x-user` header: `admin` may do anything; `limited` may not view `secret.*` nor the routes area. */
const users: Record<string, Subject> = { admin: { user: 'admin', roles: new Set(['admin']) }, limited: { user: 'limited', roles: new Set(['l']) } };
function allowed(subject: Subject, address: string, permission: Permission): boolean {
  if (subject.user === 'admin') return true;
  return permission === 'view' && !address.startsWith('secret') && address !== '$sys.mgmt.routes';
}

let app: FastifyInstance;
let base: string;
let state: FakeState;
let logs: ReturnType<typeof fakeContext>['logs'];
let telemetry: SamplingTelemetry;

before(async () => {
  const f = fakeContext({
    totals: fakeTotals({ sent: 10, messages: 3 }),
    connections: { stomp: 1, mqtt: 2, amqp: 0 },
    queues: [fakeQueue('orders', { messages: 3 }), fakeQueue('secret.q', { messages: 1 }), fakeQueue('s.sub', { kind: 'subscription', topic: 'secret.topic' })],
    routes: [{ id: 'r1', state: 'started', stats: { completed: 1, failed: 0, released: 0, inFlight: 0, deadLettered: 0, redeliveries: 0, meanMs: 0, maxMs: 0 }, steps: [{ id: 'from', entered: 1, completed: 1, failed: 0, inFlight: 0, buckets: [], count: 1, sumSeconds: 0.001 }] }],
  });
  state = f.state;
  logs = f.logs;
  Object.assign(f.ctx, { security: { allowed } });
  telemetry = createTelemetry(f.ctx);
  const callerOf = (req: FastifyRequest): Caller => {
    const subject = users[String(req.headers['x-user'])];
    return { subject, user: subject?.user, via: subject ? 'basic' : 'none', origin: { component: 'management', subject } };
  };
  const deps: ApiDeps = {
    ctx: f.ctx,
    telemetry,
    caller: callerOf,
    authorize(req, permission, address) {
      const caller = callerOf(req);
      if (!caller.subject) throw new ApiError(401, 'ERR_AUTHENTICATION_REQUIRED', 'log in');
      if (!allowed(caller.subject, address, permission)) throw new ApiError(403, 'ERR_SECURITY_UNAUTHORIZED', `may not ${permission} on ${address}`);
      return caller;
    },
  };
  app = Fastify().withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err instanceof ApiError ? err.status : (err.statusCode ?? 500);
    return reply.code(status).send({ error: { code: err instanceof ApiError ? err.code : 'ERR', message: err.message } });
  });
  await app.register(async (scope) => overviewApi(scope as never, deps), { prefix: '/api/v1' });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});

after(async () => {
  telemetry.close();
  await app.close();
});

const admin = { 'x-user': 'admin' };
const limited = { 'x-user': 'limited' };

test('GET /overview: version, uptime, totals, rates, connections, memory, alarms, ports', async () => {
  const res = await fetch(`${base}/api/v1/overview`, { headers: admin });
  assert.equal(res.status, 200);
  const o = (await res.json()) as Record<string, unknown>;
  assert.equal(o.version, '0.0.0-test');
  assert.ok((o.uptimeSeconds as number) >= 5);
  assert.equal((o.totals as { sent: number }).sent, 10);
  assert.deepEqual(o.connections, { stomp: 1, mqtt: 2, amqp: 0 });
  assert.deepEqual(o.ports, { stomp: 61613 });
  assert.deepEqual(o.alarms, []);
  for (const k of ['startedAt', 'rates', 'memory']) assert.ok(k in o, k);
  assert.equal((await fetch(`${base}/api/v1/overview`)).status, 401);
});

test('GET /overview/history: the last N samples, oldest first; seconds capped at 900', async () => {
  for (let i = 0; i < 4; i++) telemetry.sampleNow();
  const res = await fetch(`${base}/api/v1/overview/history?seconds=3`, { headers: admin });
  const { samples } = (await res.json()) as { samples: Array<{ at: number }> };
  assert.equal(samples.length, 3);
  assert.ok(samples[0]!.at <= samples[2]!.at);
  assert.equal((await fetch(`${base}/api/v1/overview/history?seconds=901`, { headers: admin })).status, 400);
  assert.equal((await fetch(`${base}/api/v1/overview/history?seconds=abc`, { headers: admin })).status, 400);
});

test('events: stats, queues (all visible first, then only those changed, and removals), routes, connection', async () => {
  const s = await openEvents(`${base}/api/v1/events`, admin);
  try {
    assert.equal(s.retry, undefined);
    const first = await s.waitFor((e) => e.event === 'stats');
    assert.equal(s.retry, 5000);
    assert.equal(JSON.parse(first.data).totals.sent, 10);
    telemetry.sampleNow();
    const q1 = JSON.parse((await s.waitFor((e) => e.event === 'queues')).data);
    assert.deepEqual(q1.changed.map((q: { name: string }) => q.name), ['orders', 'secret.q', 's.sub']);
    assert.equal(q1.truncated, false);
    const r = JSON.parse((await s.waitFor((e) => e.event === 'routes')).data);
    assert.deepEqual(r.routes.map((x: { id: string; state: string; steps: unknown[] }) => [x.id, x.state, x.steps.length]), [['r1', 'started', 1]]);
    const seen = s.events.length;
    state.queues = [fakeQueue('orders', { messages: 4, enqueued: 1 }), fakeQueue('secret.q', { messages: 1 })];
    telemetry.sampleNow();
    const q2 = JSON.parse((await s.waitFor((e) => e.event === 'queues', 5000, seen)).data);
    assert.deepEqual(q2.changed.map((q: { name: string; messages: number }) => [q.name, q.messages]), [['orders', 4]], 'only the queue whose counters moved');
    assert.deepEqual(q2.removed, ['s.sub']);
    const before = s.events.length;
    for (const cb of state.listeners) cb({ type: 'opened', id: 7, protocol: 'mqtt', transport: 'tcp', remoteAddress: '127.0.0.1', at: Date.now() });
    const c = JSON.parse((await s.waitFor((e) => e.event === 'connection', 5000, before)).data);
    assert.deepEqual([c.type, c.id, c.protocol], ['opened', 7, 'mqtt']);
  } finally {
    s.close();
  }
});

test('events: a caller sees only the queues it may view; topics it may not watch are refused', async () => {
  const denied = await fetch(`${base}/api/v1/events?topics=stats,routes`, { headers: limited });
  assert.equal(denied.status, 403);
  await denied.body?.cancel();
  assert.equal((await fetch(`${base}/api/v1/events?topics=nope`, { headers: limited })).status, 400);
  const s = await openEvents(`${base}/api/v1/events?topics=queues`, limited);
  try {
    state.queues = [fakeQueue('orders', { messages: 5 }), fakeQueue('secret.q', { messages: 9 }), fakeQueue('t.sub', { kind: 'subscription', topic: 'secret.topic', messages: 2 })];
    telemetry.sampleNow();
    const q = JSON.parse((await s.waitFor((e) => e.event === 'queues')).data);
    assert.deepEqual(q.changed.map((x: { name: string }) => x.name), ['orders'], 'secret.q and the subscription of secret.topic are hidden');
    assert.equal(s.events.some((e) => e.event === 'stats'), false, 'not asked for');
  } finally {
    s.close();
  }
});

test('events: at most http.maxSseClients streams (429 beyond); a closed stream frees its slot', async () => {
  const a = await openEvents(`${base}/api/v1/events?topics=stats`, admin);
  const b = await openEvents(`${base}/api/v1/events?topics=stats`, admin);
  const refused = await fetch(`${base}/api/v1/events?topics=stats`, { headers: admin });
  assert.equal(refused.status, 429);
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'ERR_HTTP_TOO_MANY_STREAMS');
  a.close();
  b.close();
  // The server sees the close on its side shortly after.
  for (let i = 0; ; i++) {
    const res = await fetch(`${base}/api/v1/events?topics=stats`, { headers: admin });
    if (res.status === 200) {
      await res.body?.cancel();
      break;
    }
    await res.body?.cancel();
    assert.ok(i < 100, 'slot freed');
    await new Promise((r) => setTimeout(r, 20));
  }
});

test('events: a client that never reads is dropped once 1 MiB waits for it; the broker does not hold its backlog', async () => {
  // 400 queues whose counters change every tick: each `queues` event is ~100 KB.
  const port = Number(new URL(base).port);
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.write(`GET /api/v1/events?topics=queues HTTP/1.1\r\nHost: 127.0.0.1\r\nx-user: admin\r\n\r\n`);
  sock.pause(); // never reads
  const dropped = () => logs.some((l) => l.msg === 'event stream dropped: the client does not read it');
  let ticks = 0;
  for (; ticks < 2000 && !dropped(); ticks++) {
    state.queues = Array.from({ length: 400 }, (_, i) => fakeQueue(`load.${i}`, { messages: ticks, enqueued: ticks }));
    telemetry.sampleNow();
    await new Promise((r) => setImmediate(r));
  }
  assert.ok(dropped(), `dropped after ${ticks} ticks`);
  const line = logs.find((l) => l.msg === 'event stream dropped: the client does not read it')!;
  const buffered = (line.obj as { buffered: number }).buffered;
  assert.ok(buffered > 1024 * 1024 && buffered < 1024 * 1024 + 200_000, `dropped at ${buffered} bytes held: the cap plus one event at most`);
  sock.destroy();
});
