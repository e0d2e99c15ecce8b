/**
 * The queues and messages areas over real HTTP on a throwaway fastify app, with a fake core and a
 * fake authorizer (the server, the auth hook and the core facade are other modules': see
 * test/e2e/management-queues*.test.ts for the whole broker). Checks routing, schemas, authorization
 * order, error mapping, the raw body download and the job flow.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import pino from 'pino';
import type { Core } from '../../../src/core/core.ts';
import type { MessageOperation, QueueStats, QueueView } from '../../../src/core/handles.ts';
import type { Message } from '../../../src/core/message.ts';
import type { Permission, Subject } from '../../../src/core/ports/security.ts';
import { JunctionError } from '../../../src/errors.ts';
import { messagesApi } from '../../../src/management/http/api-messages.ts';
import { queuesApi } from '../../../src/management/http/api-queues.ts';
import { errorReply } from '../../../src/management/http/errors.ts';
import { ApiError, type ApiDeps, type Caller } from '../../../src/management/http/api-types.ts';
import type { ManagementContext } from '../../../src/management/context.ts';

function stats(name: string, messages: number, over: Partial<QueueStats> = {}): QueueStats {
  return { name, kind: 'anycast', durable: true, messages, paged: 0, inDelivery: 0, scheduled: 0, consumers: 0, enqueued: messages, acked: 0, expired: 0, deadLettered: 0, bytes: 0, paused: false, ...over };
}

const binary = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 10, 13]);
const messages: Message[] = Array.from({ length: 5 }, (_, i) => ({
  id: `ID:b/x-${i}`,
  destination: { type: 'queue', name: 'orders' },
  body: i === 0 ? binary : Buffer.from(`body ${i}`),
  bodyType: i === 0 ? 'bytes' : 'text',
  durable: true,
  priority: 4,
  expiration: 0,
  timestamp: 1000 + i,
  properties: { n: i },
}));

const queueStats = [stats('orders', 5), stats('secret.q', 2), stats('big', 50_000), stats('t.sub', 1, { kind: 'subscription', topic: 'secret.topic' })];
const calls: string[] = [];

function view(s: QueueStats): QueueView {
  return { name: s.name, kind: s.kind, durable: s.durable, shared: false, topic: s.topic, messageCount: s.messages, groupCount: 0, consumers: [], statistics: () => s, browse: () => [] };
}

function fakeOp(action: MessageOperation['action'], total: number): MessageOperation {
  let processed = 0;
  return {
    action,
    total,
    skipped: 0,
    get processed() {
      return processed;
    },
    get done() {
      return processed >= total;
    },
    async step(max) {
      const n = Math.min(max, total - processed);
      processed += n;
      return n;
    },
  };
}

const core = {
  getQueue: (name: string) => {
    const s = queueStats.find((q) => q.name === name);
    return s && view(s);
  },
  queueStats: () => queueStats,
  addressList: () => [
    { name: 'orders', routing: 'anycast', queues: ['orders'], temporary: false, autoCreated: false },
    { name: 'secret.q', routing: 'anycast', queues: ['secret.q'], temporary: false, autoCreated: false },
    { name: 'secret.topic', routing: 'multicast', queues: ['t.sub'], temporary: false, autoCreated: false },
  ],
  findSubscription: () => undefined,
  browsePage: (name: string, opts: { after?: string; limit: number; selector?: string }) => {
    calls.push(`browsePage ${name} ${opts.after ?? '-'} ${opts.limit} ${opts.selector ?? '-'}`);
    if (opts.selector === 'bad') throw new JunctionError('ERR_SELECTOR_SYNTAX', 'bad selector');
    const from = opts.after === undefined ? 0 : Number(opts.after);
    const page = messages.slice(from, from + opts.limit);
    return { messages: page, next: from + opts.limit < messages.length ? String(from + opts.limit) : undefined };
  },
  findMessage: async (_q: string, id: string) => messages.find((m) => m.id === id),
  messageOperation: (queue: string, action: MessageOperation['action'], filter: unknown, opts: { target?: string }) => {
    calls.push(`op ${queue} ${action} ${JSON.stringify(filter)} ${opts.target ?? '-'}`);
    return fakeOp(action, core.getQueue(queue)!.messageCount);
  },
  send: async (input: { destination: { name: string }; body: Buffer; properties: Record<string, unknown> }) => {
    calls.push(`send ${input.destination.name} ${input.body.toString('hex')} ${JSON.stringify(input.properties)}`);
    return { id: 'ID:sent-1' };
  },
  createQueue: (name: string) => {
    if (name === 'orders') throw new JunctionError('ERR_ADDRESS_EXISTS', 'exists');
    return view(stats(name, 0));
  },
} as unknown as Core;

/**
 * Users by the `x-user` header (none: `admin`, who may do anything); `viewer` may view and browse
 * `orders` only; `x-user: -` is a caller that is not logged in.
 */
const grants: Record<string, ReadonlyArray<readonly [Permission, string]>> = {
  viewer: [
    ['view', 'orders'],
    ['browse', 'orders'],
  ],
};
const userOf = (req: FastifyRequest) => (req.headers['x-user'] as string | undefined) ?? 'admin';
const allowed = (subject: Subject, address: string, permission: Permission) => subject.user === 'admin' || grants[subject.user!]?.some(([p, a]) => p === permission && a === address) === true;
const callerOf = (req: FastifyRequest): Caller => {
  const user = userOf(req);
  return { subject: user === '-' ? undefined : { user, roles: new Set<string>() }, user, via: 'basic', origin: { component: 'management' } };
};
const deps: ApiDeps = {
  ctx: { core, connections: { list: () => [] }, security: { allowed }, log: pino({ level: 'silent' }) } as unknown as ManagementContext,
  telemetry: undefined as never,
  caller: callerOf,
  authorize(req, permission, address) {
    const caller = callerOf(req);
    if (caller.subject === undefined) throw new ApiError(401, 'ERR_AUTHENTICATION_REQUIRED', 'log in');
    if (!allowed(caller.subject, address, permission)) throw new ApiError(403, 'ERR_SECURITY_UNAUTHORIZED', 'no');
    return caller;
  },
};

let app: FastifyInstance;
let base: string;

before(async () => {
  const f = Fastify().withTypeProvider<ZodTypeProvider>();
  f.setValidatorCompiler(validatorCompiler);
  f.setSerializerCompiler(serializerCompiler);
  // The server's own error mapping (server.ts uses the same function).
  f.setErrorHandler((err, _req, reply) => {
    const { status, body } = errorReply(err);
    return reply.code(status).send(body);
  });
  await f.register(
    async (api) => {
      await queuesApi(api, deps);
      await messagesApi(api, deps);
    },
    { prefix: '/api/v1' },
  );
  app = f;
  base = await f.listen({ port: 0, host: '127.0.0.1' });
});
after(() => app.close());

async function json(path: string, init: RequestInit & { user?: string } = {}) {
  const headers: Record<string, string> = { ...(init.body !== undefined && { 'content-type': 'application/json' }), ...(init.user !== undefined && { 'x-user': init.user }) };
  const res = await fetch(base + '/api/v1' + path, { ...init, headers });
  return { status: res.status, body: (await res.json()) as any };
}

test('queues api (fake core): lists filter, sort and page, and leave out what the caller may not view', async () => {
  const all = await json('/queues?sort=-messages&limit=2');
  assert.equal(all.status, 200);
  assert.deepEqual(all.body.items.map((q: QueueStats) => q.name), ['big', 'orders']);
  assert.equal(all.body.total, 4);
  const rest = await json(`/queues?sort=-messages&limit=2&cursor=${all.body.next}`);
  assert.deepEqual(rest.body.items.map((q: QueueStats) => q.name), ['secret.q', 't.sub']);
  assert.equal(rest.body.next, undefined);
  assert.deepEqual((await json('/queues?filter=secret')).body.items.map((q: QueueStats) => q.name), ['secret.q']);
  assert.deepEqual((await json('/queues?kind=subscription')).body.items.map((q: QueueStats) => q.name), ['t.sub']);
  const viewer = await json('/queues', { user: 'viewer' });
  assert.deepEqual(viewer.body.items.map((q: QueueStats) => q.name), ['orders']);
  assert.equal((await json('/addresses?kind=multicast')).body.items[0].messages, 1);
  assert.deepEqual((await json('/addresses', { user: 'viewer' })).body.items.map((a: { name: string }) => a.name), ['orders']);
  assert.deepEqual((await json('/queues?filter=nothing-matches', { user: 'viewer' })).body.items, []);
  const anonymous = await json('/queues?filter=nothing-matches', { user: '-' });
  assert.equal(anonymous.status, 401, 'not logged in: a 401, even for a list that would be empty');
  assert.equal((await json('/queues?sort=bogus')).status, 400);
  assert.equal((await json('/queues?limit=1001')).status, 400);
});

test('queues api (fake core): 403 comes before 404, and a JunctionError keeps its code', async () => {
  assert.equal((await json('/queues/none', { user: 'viewer' })).status, 403);
  assert.equal((await json('/queues/none')).status, 404);
  assert.equal((await json('/queues/orders', { user: 'viewer' })).body.name, 'orders');
  const created = await json('/queues', { method: 'POST', body: JSON.stringify({ name: 'fresh' }) });
  assert.equal(created.status, 201);
  assert.equal(created.body.name, 'fresh');
  const exists = await json('/queues', { method: 'POST', body: JSON.stringify({ name: 'orders' }) });
  assert.equal(exists.status, 409);
  assert.equal(exists.body.error.code, 'ERR_ADDRESS_EXISTS');
  assert.equal((await json('/queues/orders', { method: 'DELETE' })).status, 409, 'holds messages: needs force');
});

test('messages api (fake core): pages pass the cursor through, a bad selector is a 400, ids with / and : route', async () => {
  const p1 = await json('/queues/orders/messages?limit=2');
  assert.equal(p1.status, 200);
  assert.deepEqual(p1.body.items.map((m: Message) => m.id), ['ID:b/x-0', 'ID:b/x-1']);
  assert.equal(p1.body.items[0].preview.encoding, 'base64');
  assert.equal(p1.body.total, 5);
  const p2 = await json(`/queues/orders/messages?limit=2&cursor=${p1.body.next}`);
  assert.deepEqual(p2.body.items.map((m: Message) => m.id), ['ID:b/x-2', 'ID:b/x-3']);
  const bad = await json('/queues/orders/messages?selector=bad');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'ERR_SELECTOR_SYNTAX');
  const one = await json(`/queues/orders/messages/${encodeURIComponent('ID:b/x-3')}`, { user: 'viewer' });
  assert.equal(one.status, 200);
  assert.deepEqual(one.body.body, { encoding: 'utf8', data: 'body 3', truncated: false });
  assert.equal((await json(`/queues/orders/messages/nope`)).status, 404);
  const raw = await fetch(`${base}/api/v1/queues/orders/messages/${encodeURIComponent('ID:b/x-0')}/body`);
  assert.equal(raw.status, 200);
  assert.equal(raw.headers.get('content-type'), 'application/octet-stream');
  assert.match(raw.headers.get('content-disposition') ?? '', /^attachment; filename="ID_b_x-0\.bin"$/);
  assert.deepEqual(Buffer.from(await raw.arrayBuffer()), binary);
});

test('messages api (fake core): purge and actions are manage-only; a large set runs as a job polled to done', async () => {
  assert.equal((await json('/queues/orders/messages', { method: 'DELETE', user: 'viewer' })).status, 403);
  assert.deepEqual((await json('/queues/orders/messages', { method: 'DELETE' })).body, { removed: 5, skipped: 0 });
  const act = (body: unknown, user?: string) => json('/queues/big/messages/actions', { method: 'POST', body: JSON.stringify(body), ...(user !== undefined && { user }) });
  assert.equal((await act({ action: 'move', target: 'other' }, 'viewer')).status, 403);
  assert.equal((await act({ action: 'move' })).status, 400, 'move needs a target');
  assert.equal((await act({ action: 'remove', ids: ['a'], selector: 'x > 1' })).status, 400, 'ids or selector');
  const started = await act({ action: 'move', target: 'other', selector: "color = 'red'" });
  assert.equal(started.status, 202);
  assert.equal(started.body.job.total, 50_000);
  assert.ok(calls.includes(`op big move {"selector":"color = 'red'"} other`));
  let job = started.body.job;
  for (let i = 0; i < 1000 && job.state === 'running'; i++) job = (await json(`/jobs/${job.id}`)).body;
  assert.equal(job.state, 'done');
  assert.equal(job.processed, 50_000);
  assert.equal((await json('/jobs')).body.items[0].id, job.id);
  const purge = await json('/queues/big/messages?selector=x%3E1', { method: 'DELETE' });
  assert.equal(purge.status, 202, 'over the synchronous limit: a job');
  assert.equal((await json('/jobs/unknown')).status, 404);
});

test('messages api (fake core): a test message decodes its body and refuses bad base64 and reserved properties', async () => {
  const send = (body: unknown) => json('/messages', { method: 'POST', body: JSON.stringify(body) });
  const ok = await send({ address: 'orders', body: Buffer.from([1, 2, 3]).toString('base64'), bodyEncoding: 'base64', properties: { a: 1, b: 'x', c: true } });
  assert.equal(ok.status, 201);
  assert.equal(ok.body.id, 'ID:sent-1');
  assert.ok(calls.includes('send orders 010203 {"a":1,"b":"x","c":true}'));
  assert.equal((await send({ address: 'orders', body: '@@@', bodyEncoding: 'base64' })).status, 400);
  assert.equal((await send({ address: 'orders', body: 'x', properties: { 'x-amqp-body': 'y' } })).status, 400);
  assert.equal((await send({ address: 'orders', body: 'x', priority: 12 })).status, 400);
});
