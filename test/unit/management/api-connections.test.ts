import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify, { type FastifyRequest } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import pino from 'pino';
import type { Permission } from '../../../src/core/ports/security.ts';
import { connectionsApi } from '../../../src/management/http/api-connections.ts';
import { ApiError, type ApiDeps, type Caller } from '../../../src/management/http/api-types.ts';
import type { ManagementContext } from '../../../src/management/context.ts';
import type { ConnectionDirectory } from '../../../src/transport/connection-directory.ts';
import type { ConnectionInfo } from '../../../src/transport/protocol-adapter.ts';

function conn(id: number, protocol: ConnectionInfo['protocol'], user: string, extra: Partial<ConnectionInfo> = {}): ConnectionInfo {
  return { id, protocol, transport: 'tcp', tls: false, remoteAddress: '127.0.0.1:1', user, clientId: `c${id}`, version: '1', connectedAt: 1, bytesIn: 10 * id, bytesOut: id, subscriptions: [], producers: [], ...extra };
}

/** A throwaway app with the area on it, as server.ts mounts it (zod compilers, ApiError answered as JSON). */
async function app(conns: ConnectionInfo[], allowed: Set<Permission>) {
  const closed: Array<[number, string | undefined]> = [];
  const dir: ConnectionDirectory = {
    list: (f = {}) => conns.filter((c) => (!f.protocol || c.protocol === f.protocol) && (f.user === undefined || c.user === f.user) && (f.clientId === undefined || c.clientId === f.clientId)),
    get: (id) => conns.find((c) => c.id === id),
    close: (id, reason) => (closed.push([id, reason]), conns.some((c) => c.id === id)),
    counts: () => ({ stomp: 0, mqtt: 0, amqp: 0 }),
    totals: () => ({ stomp: { opened: 0, closed: 0 }, mqtt: { opened: 0, closed: 0 }, amqp: { opened: 0, closed: 0 } }),
    onEvent: () => () => undefined,
  };
  const handles = new Map([['orders', [{ id: 41, credit: 7, unacked: new Map([[1, {}], [2, {}]]) }]]]);
  const ctx = { connections: dir, core: { getQueue: (q: string) => (handles.has(q) ? { consumers: handles.get(q) } : undefined) }, log: pino({ level: 'silent' }) } as unknown as ManagementContext;
  const caller: Caller = { subject: undefined, user: 'admin', via: 'none', origin: { component: 'management' } };
  const deps: ApiDeps = {
    ctx,
    telemetry: undefined as never,
    authorize(_req: FastifyRequest, perm: Permission, address: string) {
      assert.equal(address, '$sys.mgmt.connections');
      if (!allowed.has(perm)) throw new ApiError(403, 'ERR_SECURITY_UNAUTHORIZED', `no ${perm}`);
      return caller;
    },
    caller: () => caller,
  };
  const a = Fastify();
  a.setValidatorCompiler(validatorCompiler);
  a.setSerializerCompiler(serializerCompiler);
  a.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof ApiError) return reply.status(err.status).send({ error: { code: err.code, message: err.message } });
    return reply.status(err.statusCode ?? 500).send({ error: { code: 'ERR_VALIDATION', message: err.message } });
  });
  await a.register(async (s) => connectionsApi(s as never, deps), { prefix: '/api/v1' });
  return { a, closed };
}

test('connections are listed by filter, sorted and paged with a cursor; detail and close; 404 and 403', async () => {
  const sub = { id: 'sub-1', destination: 'orders', queue: 'orders', consumerId: 41, unacked: 2, durable: false };
  const conns = [conn(5, 'mqtt', 'bob'), conn(2, 'stomp', 'alice', { subscriptions: [sub] }), conn(9, 'amqp', 'alice', { producers: ['a.b'] })].sort((x, y) => x.id - y.id);
  const { a, closed } = await app(conns, new Set<Permission>(['view', 'manage']));
  try {
    const all = (await a.inject('/api/v1/connections')).json();
    assert.equal(all.total, 3);
    assert.deepEqual(all.items.map((c: { id: number }) => c.id), [2, 5, 9]);
    assert.equal(all.items[0].subscriptionCount, 1);
    assert.equal(all.items[0].subscriptions, undefined, 'lists carry counts, the detail the arrays');
    const p1 = (await a.inject('/api/v1/connections?limit=2')).json();
    assert.deepEqual(p1.items.map((c: { id: number }) => c.id), [2, 5]);
    const p2 = (await a.inject(`/api/v1/connections?limit=2&cursor=${p1.next}`)).json();
    assert.deepEqual(p2.items.map((c: { id: number }) => c.id), [9]);
    assert.equal(p2.next, undefined);
    assert.deepEqual((await a.inject('/api/v1/connections?user=alice&protocol=amqp')).json().items.map((c: { id: number }) => c.id), [9]);
    assert.deepEqual((await a.inject('/api/v1/connections?clientId=c5')).json().items.map((c: { id: number }) => c.id), [5]);
    assert.equal((await a.inject('/api/v1/connections?protocol=openwire')).statusCode, 400);
    assert.equal((await a.inject('/api/v1/connections?limit=5000')).statusCode, 400);
    assert.equal((await a.inject('/api/v1/connections?cursor=abc')).statusCode, 400);

    const d = (await a.inject('/api/v1/connections/2')).json();
    assert.deepEqual(d.subscriptions, [sub]);
    assert.equal(d.bytesIn, 20);
    assert.deepEqual((await a.inject('/api/v1/connections/9')).json().producers, ['a.b']);
    const missing = await a.inject('/api/v1/connections/77');
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'ERR_CONNECTION_NOT_FOUND');

    const del = await a.inject({ method: 'DELETE', url: '/api/v1/connections/5?reason=maintenance%20window' });
    assert.equal(del.statusCode, 200);
    assert.deepEqual(del.json(), { id: 5, protocol: 'mqtt', closed: true });
    assert.deepEqual(closed, [[5, 'maintenance window']]);
    assert.equal((await a.inject({ method: 'DELETE', url: '/api/v1/connections/77' })).statusCode, 404);
    assert.equal((await a.inject({ method: 'DELETE', url: '/api/v1/connections/5?reason=a%0Ab' })).statusCode, 400, 'no control characters in the reason');

    const consumers = (await a.inject('/api/v1/consumers?queue=orders')).json();
    assert.deepEqual(consumers.items, [{ consumerId: 41, queue: 'orders', connectionId: 2, protocol: 'stomp', user: 'alice', clientId: 'c2', subscription: 'sub-1', destination: 'orders', durable: false, credit: 7, unacked: 2 }]);
    assert.equal((await a.inject('/api/v1/consumers?queue=other')).json().total, 0);
  } finally {
    await a.close();
  }
});

test('a view-only caller reads but cannot close', async () => {
  const { a, closed } = await app([conn(1, 'stomp', 'x')], new Set<Permission>(['view']));
  try {
    assert.equal((await a.inject('/api/v1/connections')).statusCode, 200);
    const del = await a.inject({ method: 'DELETE', url: '/api/v1/connections/1' });
    assert.equal(del.statusCode, 403);
    assert.equal(closed.length, 0);
  } finally {
    await a.close();
  }
});
