import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import pino from 'pino';
import { Core } from '../../../src/core/core.ts';
import type { Subject } from '../../../src/core/ports/security.ts';
import { RouteManager } from '../../../src/routing/route-manager.ts';
import { MemoryStore } from '../../../src/store/memory-store.ts';
import { FakeAuthorizer, subjectOf, type Grants } from '../../helpers/fake-authorizer.ts';
import { consume, msg, queue, topic } from '../core/core-fixture.ts';

// Issue 14 part 8: a route runs as a user (`runAs`, else the configured default) and the core checks
// its consumer and its sends like a client's; with security off nothing changes.

const log = pino({ level: 'silent' });
const open: Array<{ core: Core; routes: RouteManager }> = [];

afterEach(async () => {
  for (const { core, routes } of open.splice(0)) {
    await routes.close();
    await core.close();
  }
});

/** A core with `grants` (none: security off) and a route manager resolving `users` (`default` for a route without runAs). */
async function setUp(grants?: Grants, users: string[] = [], defaultUser?: string): Promise<{ core: Core; routes: RouteManager; authz: FakeAuthorizer | undefined }> {
  const authz = grants ? new FakeAuthorizer(grants) : undefined;
  // Configured queues: the broker makes them, so no create permission is involved.
  const core = await Core.open({ store: new MemoryStore(), log, queues: ['in', 'in2', 'out', 'dlq'], ...(authz ? { authorizer: authz } : {}) });
  const resolve = (user: string | undefined): Subject | undefined => {
    const name = user ?? defaultUser;
    return name !== undefined && users.includes(name) ? subjectOf(name) : undefined;
  };
  const routes = new RouteManager(core, log, undefined, authz ? resolve : undefined);
  open.push({ core, routes });
  return { core, routes, authz };
}

const copy = (id: string, from: string, to: string, extra: Record<string, unknown> = {}) => ({ id, from, steps: [{ to }], ...extra });

describe('routes run under an identity', () => {
  test('security off: no identity needed, the route works as before', async () => {
    const { core, routes } = await setUp();
    await routes.deploy(copy('r', 'queue:in', 'queue:out'));
    await core.send(msg(queue('in'), 'x'));
    const { sink } = await consume(core, { destination: queue('out') });
    assert.deepEqual((await sink.count(1)).map((d) => d.message.body.toString()), ['x']);
  });

  test('security on: a route whose identity cannot be resolved is not deployed (ERR_ROUTE_INVALID, saying why)', async () => {
    const { routes } = await setUp({}, ['known']);
    await assert.rejects(routes.deploy(copy('r1', 'queue:in', 'queue:out', { runAs: 'ghost' })), {
      code: 'ERR_ROUTE_INVALID',
      message: "runAs: route r1 cannot run as 'ghost': no such user (security is on: a route runs as a user whose permissions are checked)",
    });
    await assert.rejects(routes.deploy(copy('r2', 'queue:in', 'queue:out')), { code: 'ERR_ROUTE_INVALID', message: /^runAs: route r2 has no identity: set its runAs, or security\.routes\.defaultUser to a known user/ });
    assert.deepEqual(routes.list(), []);
  });

  test('a route whose identity may send to its target works; one that may not sees ERR_SECURITY_UNAUTHORIZED in its error handling', async () => {
    const grants: Grants = {
      writer: ['consume in', 'send out', 'send dlq'],
      limited: ['consume in2', 'send dlq'],
    };
    const { core, routes, authz } = await setUp(grants, ['writer', 'limited'], 'writer');
    const out = await consume(core, { destination: queue('out') });
    const dlq = await consume(core, { destination: queue('dlq') });
    // Runs as the default user.
    await routes.deploy(copy('ok', 'queue:in', 'queue:out'));
    await routes.deploy(copy('denied', 'queue:in2', 'queue:out', { runAs: 'limited', errorHandler: { deadLetter: 'queue:dlq', maxRedeliveries: 0 } }));
    await core.send(msg(queue('in'), 'allowed'));
    await core.send(msg(queue('in2'), 'refused'));
    assert.equal((await out.sink.count(1))[0]!.message.body.toString(), 'allowed');
    const dead = (await dlq.sink.count(1))[0]!.message;
    assert.equal(dead.body.toString(), 'refused');
    assert.equal(dead.properties.junctionRouteError, 'User limited is not authorized to send on out');
    assert.equal(out.sink.deliveries.length, 1, 'nothing of the refused route reached out');
    assert.deepEqual(authz!.denials, [['limited', 'out', 'send']]);
  });

  test("a route whose identity may not consume its source does not start; its topic subscription is its user's, removed at undeploy", async () => {
    const grants: Grants = { reader: ['consume t', 'createDurableQueue t', 'send out'], other: ['* #'] };
    const { core, routes } = await setUp(grants, ['reader', 'other']);
    await core.send(msg(topic('t'), 'makes the topic'));
    await assert.rejects(routes.deploy(copy('blind', 'queue:secret', 'queue:out', { runAs: 'reader' })), { code: 'ERR_ROUTE_STATE', message: /User reader is not authorized to consume on secret/ });
    await routes.deploy(copy('sub', 'topic:t', 'queue:out', { runAs: 'reader' }));
    assert.equal(core.findSubscription('route.sub')?.durable, true);
    // The same route id redeployed as another user would read the first user's subscription: refused,
    // and the running version stays.
    await assert.rejects(routes.deploy(copy('sub', 'topic:t', 'queue:out', { runAs: 'other' })), { code: 'ERR_ROUTE_STATE', message: /User other is not authorized to consume on t/ });
    assert.equal(routes.list()[0]!.state, 'started');
    // Undeploying is the operator's act: the subscription goes though reader may not delete queues.
    await routes.undeploy('sub');
    assert.equal(core.findSubscription('route.sub'), undefined);
  });
});
