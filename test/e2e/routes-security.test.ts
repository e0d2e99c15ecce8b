import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Delivery } from '../../src/core/handles.ts';
import type { Message } from '../../src/core/message.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { eventually } from '../helpers/stompjs.ts';

// Issue 14 part 8 through createBroker and the real security manager: a route runs as a user of the
// users file (`runAs`, else `security.routes.defaultUser`) whose permissions the core checks like a
// client's; a route that may not send to an address fails its sends into its error handling.

async function securedBroker(t: { after(fn: () => Promise<void>): void }): Promise<TestBroker> {
  const dir = await mkdtemp(path.join(tmpdir(), 'junction-route-security-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const usersFile = path.join(dir, 'users.json');
  // Route users need no password: nobody logs in as them over a socket.
  await writeFile(usersFile, JSON.stringify({ users: { router: { roles: ['router'] }, limited: { roles: ['limited'] } } }));
  const broker = await startBroker({
    store: { type: 'memory' },
    queues: ['in', 'in2', 'out', 'dlq'],
    security: {
      usersFile,
      routes: { defaultUser: 'router' },
      permissions: {
        in: { consume: ['router'] },
        in2: { consume: ['limited'] },
        out: { send: ['router'] },
        dlq: { send: ['router', 'limited'] },
      },
    },
  });
  t.after(() => broker.stop());
  return broker;
}

/** What reaches `queue` from now on, read as the broker. */
async function collect(broker: TestBroker, queue: string): Promise<Message[]> {
  const got: Message[] = [];
  const c = await broker.core.createConsumer({ destination: { type: 'queue', name: queue }, autoAck: true, sink: { deliver: (d: Delivery) => void got.push(d.message) } });
  c.grant(100);
  return got;
}

test('a route runs as its user: allowed sends arrive, a denied one goes to its error handling with ERR_SECURITY_UNAUTHORIZED', async (t) => {
  const broker = await securedBroker(t);
  assert.ok(broker.security, 'security is on');
  const out = await collect(broker, 'out');
  const dlq = await collect(broker, 'dlq');
  await broker.routes.deploy({ id: 'ok', from: 'queue:in', steps: [{ to: 'queue:out' }] }); // the default user, router
  await broker.routes.deploy({ id: 'denied', runAs: 'limited', from: 'queue:in2', steps: [{ to: 'queue:out' }], errorHandler: { deadLetter: 'queue:dlq', maxRedeliveries: 0 } });
  await broker.core.send({ destination: { type: 'queue', name: 'in' }, body: Buffer.from('allowed') });
  await broker.core.send({ destination: { type: 'queue', name: 'in2' }, body: Buffer.from('refused') });
  await eventually(() => assert.equal(dlq.length, 1));
  await eventually(() => assert.equal(out.length, 1));
  assert.equal(out[0]!.body.toString(), 'allowed');
  assert.equal(dlq[0]!.body.toString(), 'refused');
  assert.equal(dlq[0]!.properties.junctionRouteError, 'User limited is not authorized to send on out');
  assert.equal(broker.routes.stats('denied').deadLettered, 1);
});

test('a route whose user is unknown, or may not consume its source, is not deployed', async (t) => {
  const broker = await securedBroker(t);
  await assert.rejects(broker.routes.deploy({ id: 'ghost', runAs: 'ghost', from: 'queue:in', steps: [{ to: 'queue:out' }] }), {
    code: 'ERR_ROUTE_INVALID',
    message: /^runAs: route ghost cannot run as 'ghost': no such user/,
  });
  await assert.rejects(broker.routes.deploy({ id: 'reader', runAs: 'limited', from: 'queue:in', steps: [{ to: 'queue:out' }] }), {
    code: 'ERR_ROUTE_STATE',
    message: /User limited is not authorized to consume on in/,
  });
  assert.deepEqual(broker.routes.list(), []);
});
