import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import pino from 'pino';
import type { Core } from '../../../src/core/core.ts';
import type { Store } from '../../../src/core/ports/store.ts';
import type { Origin } from '../../../src/core/reserved.ts';
import { MAX_SHARED_READERS } from '../../../src/core/subscriptions.ts';
import { JournalStore } from '../../../src/store/journal/journal-store.ts';
import { MemoryStore } from '../../../src/store/memory-store.ts';
import { FakeAuthorizer, subjectOf, type Grants } from '../../helpers/fake-authorizer.ts';
import { closeCores, Collector, consume, msg, openCore, topic } from './core-fixture.ts';

// Issue 14, wildcard read: a topic subscription whose wildcard filter is granted but not on every
// address beneath it (`-consume secret.#` under `consume #`) gets only the messages its subscriber
// may consume, as Mosquitto's per-message read check; one granted everywhere costs nothing per message.

function client(user: string, connectionId = user): Origin {
  return { component: 'mqtt', connectionId, subject: subjectOf(user) };
}

const grants: Grants = {
  dev: ['* #', '-consume secret.#'],
  ops: ['* #'],
};

async function secured(store?: Store): Promise<{ core: Core; authz: FakeAuthorizer }> {
  const authz = new FakeAuthorizer(grants);
  const core = await openCore({ authorizer: authz, ...(store ? { store } : {}) });
  return { core, authz };
}

/** Sends `public.x`, `secret.x`, `public.y` as the broker; the subscriber should then see `expected`. */
async function publishThree(core: Core, durable = false): Promise<void> {
  for (const [t, body] of [['public.x', 'p1'], ['secret.x', 's'], ['public.y', 'p2']] as const) await core.send(msg(topic(t), body, { durable }));
}

afterEach(closeCores);

describe('wildcard subscriptions read only what their subscriber may consume', () => {
  test('a temporary subscription on # granted in part skips the withheld addresses; one granted everywhere gets all', async () => {
    const { core, authz } = await secured();
    const dev = await consume(core, { destination: topic('#'), origin: client('dev') });
    const ops = await consume(core, { destination: topic('#'), origin: client('ops') });
    assert.deepEqual(authz.coverageCalls, [['dev', '#', 'consume'], ['ops', '#', 'consume']]);
    authz.calls.length = 0;
    await publishThree(core);
    await ops.sink.count(3);
    assert.deepEqual(ops.sink.bodies, ['p1', 's', 'p2']);
    assert.deepEqual(dev.sink.bodies, ['p1', 'p2']);
    // One consume check per message for dev's subscription; none for ops's (coverage `all`).
    assert.deepEqual(authz.calls, [['dev', 'public.x', 'consume'], ['dev', 'secret.x', 'consume'], ['dev', 'public.y', 'consume']]);
    assert.deepEqual(authz.denials, [], 'a message filtered out is not a denial');
  });

  test('the subscription is granted as before: the filter as written decides SUBSCRIBE; a literal or unrestricted filter is never filtered', async () => {
    const { core, authz } = await secured();
    const pub = await consume(core, { destination: topic('public.#'), origin: client('dev') });
    const lit = await consume(core, { destination: topic('public.x'), origin: client('dev') });
    authz.calls.length = 0;
    await publishThree(core);
    await pub.sink.count(2);
    assert.deepEqual(pub.sink.bodies, ['p1', 'p2']);
    assert.deepEqual(lit.sink.bodies, ['p1']);
    assert.deepEqual(authz.calls, [], 'no per-message check');
    await assert.rejects(consume(core, { destination: topic('secret.#'), origin: client('dev') }), { code: 'ERR_SECURITY_UNAUTHORIZED' });
  });

  test('security off: wildcard subscriptions get everything and nobody is asked', async () => {
    const core = await openCore();
    const s = await consume(core, { destination: topic('#'), origin: { component: 'mqtt', connectionId: '1' } });
    await publishThree(core);
    await s.sink.count(3);
    assert.deepEqual(s.sink.bodies, ['p1', 's', 'p2']);
  });

  test('a shared subscription routes only what every member granted in part may read', async () => {
    const { core } = await secured();
    const sub = { name: 'g', shared: true, durable: false };
    const a = await consume(core, { destination: topic('#'), subscription: sub, origin: client('ops', 'o1') });
    await core.send(msg(topic('secret.x'), 'before'));
    await a.sink.count(1);
    const b = await consume(core, { destination: topic('#'), subscription: sub, origin: client('dev', 'd1') });
    await publishThree(core);
    // Round robin between the members: wait for three deliveries in all, then nothing is left over.
    const got = () => [...a.sink.bodies, ...b.sink.bodies].sort();
    for (const deadline = Date.now() + 5000; got().length < 3 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(got(), ['before', 'p1', 'p2']);
    assert.equal(core.findSubscription('g')!.consumers, 2);
    assert.equal(core.getQueue('g')!.messageCount, 3, 'the three delivered (unacknowledged); secret.x was never routed into the group');
  });

  test(`a shared subscription keeps at most ${MAX_SHARED_READERS} members granted in part`, async () => {
    const { core } = await secured();
    const sub = { name: 'g', shared: true, durable: false };
    for (let i = 0; i < MAX_SHARED_READERS; i++) await consume(core, { destination: topic('#'), subscription: sub, origin: { component: 'mqtt', connectionId: `c${i}`, subject: { user: 'dev', roles: new Set(['dev']), clientId: `c${i}` } } });
    // The same user and client id again is the same reader.
    await consume(core, { destination: topic('#'), subscription: sub, origin: { component: 'mqtt', connectionId: 'again', subject: { user: 'dev', roles: new Set(['dev']), clientId: 'c0' } } });
    await assert.rejects(consume(core, { destination: topic('#'), subscription: sub, origin: { component: 'mqtt', connectionId: 'x', subject: { user: 'dev', roles: new Set(['dev']), clientId: 'x' } } }), { code: 'ERR_RESOURCE_LIMIT' });
  });

  test("the broker attaching a user's filtered durable subscription leaves its read check in place", async () => {
    const { core } = await secured();
    const sub = { name: 'all', clientId: 'dev-1', durable: true };
    (await core.createConsumer({ destination: topic('#'), subscription: sub, origin: client('dev'), sink: new Collector() })).close();
    (await core.createConsumer({ destination: topic('#'), subscription: sub, sink: new Collector() })).close();
    await publishThree(core);
    assert.equal(core.getQueue('dev-1.all')!.messageCount, 2);
  });

  test('retained messages under a filter granted in part: only what the subscriber may consume', async () => {
    const { core } = await secured();
    await core.send(msg(topic('public.x'), 'p'), { retain: true });
    await core.send(msg(topic('secret.x'), 's'), { retain: true });
    const bodies = (o?: Origin, f = '#') => core.retained(f, o).map((m) => m.body.toString()).sort();
    assert.deepEqual(bodies(client('dev')), ['p']);
    assert.deepEqual(bodies(client('ops')), ['p', 's']);
    assert.deepEqual(bodies(), ['p', 's'], 'the broker itself sees all');
    assert.deepEqual(bodies(client('dev'), 'secret.x'), ['s'], 'a literal filter is checked as written, at SUBSCRIBE');
  });

  for (const kind of ['MemoryStore', 'JournalStore'] as const) {
    test(`a durable subscription granted in part routes nothing after a restart until its owner attaches again (${kind})`, async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'junction-wildcard-read-'));
      const memory = new MemoryStore();
      const store = (): Store => (kind === 'MemoryStore' ? memory : new JournalStore({ dir, log: pino({ level: 'silent' }), sync: { mode: 'never' } }));
      const spec = (user: string) => ({ destination: topic('#'), subscription: { name: 'all', clientId: `${user}-1`, durable: true }, origin: client(user) });
      try {
        const { core: first } = await secured(store());
        (await first.createConsumer({ ...spec('dev'), sink: new Collector() })).close();
        (await first.createConsumer({ ...spec('ops'), sink: new Collector() })).close();
        await publishThree(first, true);
        assert.equal(first.getQueue('dev-1.all')!.messageCount, 2, 'offline, before the restart: filtered by the subject it had');
        assert.equal(first.getQueue('ops-1.all')!.messageCount, 3);
        await first.close();

        const { core: second } = await secured(store());
        await publishThree(second, true);
        // dev's: fail closed (its roles are unknown until it logs in again); ops's (granted everywhere) goes on.
        assert.equal(second.getQueue('dev-1.all')!.messageCount, 2);
        assert.equal(second.getQueue('ops-1.all')!.messageCount, 6);
        const dev = await consume(second, spec('dev'));
        await dev.sink.count(2);
        await publishThree(second, true);
        await dev.sink.count(4);
        assert.deepEqual(dev.sink.bodies, ['p1', 'p2', 'p1', 'p2']);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
