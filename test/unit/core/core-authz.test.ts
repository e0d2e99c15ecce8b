import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import pino from 'pino';
import type { Core } from '../../../src/core/core.ts';
import type { Permission } from '../../../src/core/ports/security.ts';
import { FakeAuthorizer, subjectOf, type Grants } from '../../helpers/fake-authorizer.ts';
import type { Store } from '../../../src/core/ports/store.ts';
import type { Origin } from '../../../src/core/reserved.ts';
import { JournalStore } from '../../../src/store/journal/journal-store.ts';
import { MemoryStore } from '../../../src/store/memory-store.ts';
import { closeCores, Collector, consume, msg, openCore, queue, rejection, topic } from './core-fixture.ts';

// Issue 14 part 2: the core checks every operation of a client or route origin against its
// subject's permissions (Artemis's names and semantics), and a durable subscription belongs to the
// user that created it. The fake authorizer grants per user a list of `permission address` lines.

function client(user: string, connectionId = user, component: Origin['component'] = 'stomp'): Origin {
  return { component, connectionId, subject: subjectOf(user) };
}

/** Every permission on every address. */
const ALL = ['* #'];

async function secured(grants: Grants, store?: Store): Promise<{ core: Core; authz: FakeAuthorizer }> {
  const authz = new FakeAuthorizer(grants);
  const core = await openCore({ authorizer: authz, ...(store ? { store } : {}) });
  return { core, authz };
}

const denied = (perm: Permission, address: string, user = 'u') => ({ code: 'ERR_SECURITY_UNAUTHORIZED', message: `User ${user} is not authorized to ${perm} on ${address}` });

afterEach(closeCores);

describe('permissions in the core (security on)', () => {
  test('no authorizer: nothing is checked, a client origin without a subject does everything as before', async () => {
    const core = await openCore();
    const o: Origin = { component: 'stomp', connectionId: '1' };
    await core.send(msg(queue('q'), 'a'), { origin: o });
    const { sink } = await consume(core, { destination: queue('q'), origin: o });
    assert.deepEqual(sink.bodies, ['a']);
    await consume(core, { destination: topic('t'), subscription: { name: 's', clientId: 'c', durable: true }, origin: o });
    await core.send(msg(queue('b'), 'b'), { origin: o });
    assert.equal(core.browser('b', o).next(10).length, 1);
    assert.equal(await core.purge('b', o), 1);
  });

  test('send: allowed with `send` on the address, else ERR_SECURITY_UNAUTHORIZED (Artemis AMQ229032 wording) and the authorizer is told', async () => {
    const { core, authz } = await secured({ u: ['send orders', 'createAddress orders', 'createDurableQueue orders'] });
    await core.send(msg(queue('orders'), 'x'), { origin: client('u') });
    const err = await rejection(core.send(msg(queue('billing'), 'x'), { origin: client('u') }));
    assert.equal(err.code, 'ERR_SECURITY_UNAUTHORIZED');
    assert.equal(err.message, 'User u is not authorized to send on billing');
    assert.deepEqual(authz.denials, [['u', 'billing', 'send']]);
    assert.equal(core.getQueue('billing'), undefined, 'a denied send creates nothing');
    // sendNow (the QoS 0 fast path) refuses synchronously.
    assert.throws(() => core.sendNow(msg(topic('t.x'), 'x'), { origin: client('u') }), denied('send', 't.x'));
    assert.equal(core.getQueue('orders')!.messageCount, 1);
  });

  test('send per message is one authorizer call; the broker origin and no origin are never checked', async () => {
    const { core, authz } = await secured({ u: ['send orders', 'createAddress orders', 'createDurableQueue orders'] });
    const o = client('u');
    await core.send(msg(queue('orders'), '1'), { origin: o }); // auto-creates: three checks
    authz.calls.length = 0;
    for (let i = 0; i < 5; i++) core.sendNow(msg(queue('orders'), 'n'), { origin: o });
    for (let i = 0; i < 5; i++) await core.send(msg(queue('orders'), 'p', { durable: true }), { origin: o });
    assert.equal(authz.calls.length, 10);
    assert.deepEqual(new Set(authz.calls.map((c) => c.join(' '))), new Set(['u orders send']));
    authz.calls.length = 0;
    await core.send(msg(queue('elsewhere'), 'b'));
    await core.send(msg(queue('elsewhere'), 'b'), { origin: { component: 'broker' } });
    await consume(core, { destination: topic('any.>'), subscription: { name: 'x', clientId: 'b', durable: true } });
    assert.deepEqual(core.browser('elsewhere', { component: 'broker' }).next(10).length, 2);
    assert.equal(await core.purge('elsewhere'), 2);
    assert.equal(authz.calls.length, 0);
  });

  test('a client or route origin without a subject is denied everything', async () => {
    const { core, authz } = await secured({ '': ALL });
    for (const o of [{ component: 'stomp', connectionId: '1' }, { component: 'route' }] as Origin[]) {
      const err = await rejection(core.send(msg(queue('q'), 'x'), { origin: o }));
      assert.equal(err.code, 'ERR_SECURITY_UNAUTHORIZED');
      assert.match(err.message, /^User \(not logged in\) is not authorized to send on q$/);
      await assert.rejects(core.createConsumer({ destination: queue('q'), sink: new Collector(), origin: o }), { code: 'ERR_SECURITY_UNAUTHORIZED' });
      assert.throws(() => core.authorize(o, 'q', 'browse'), { code: 'ERR_SECURITY_UNAUTHORIZED' });
    }
    assert.equal(authz.calls.length, 0, 'no subject: the authorizer is not asked');
    assert.equal(authz.denials[0]![0], undefined);
  });

  test('transactional sends are checked at send time, not at commit', async () => {
    const { core } = await secured({ u: ['send q', 'createAddress q', 'createDurableQueue q'] });
    const tx = core.createTransaction();
    await core.send(msg(queue('q'), 'in-tx'), { tx, origin: client('u') });
    await assert.rejects(core.send(msg(queue('other'), 'x'), { tx, origin: client('u') }), denied('send', 'other'));
    await core.commit(tx);
    assert.equal(core.getQueue('q')!.messageCount, 1);
  });

  test('a retained send needs `send` on its topic', async () => {
    const { core } = await secured({ u: ['send t.ok', 'createAddress t.ok'] });
    await core.send(msg(topic('t.ok'), 'r'), { origin: client('u'), retain: true });
    await assert.rejects(core.send(msg(topic('t.no'), 'r'), { origin: client('u'), retain: true }), denied('send', 't.no'));
    assert.deepEqual(core.retained('t.>').map((m) => m.destination.name), ['t.ok']);
  });

  test('auto-create on send: a queue needs createAddress and createDurableQueue, a topic createAddress', async () => {
    const { core } = await secured({ u: ['send #', 'createAddress made', 'createDurableQueue made', 'createAddress half'] });
    await core.send(msg(queue('made'), 'x'), { origin: client('u') });
    assert.equal(core.getQueue('made')!.messageCount, 1);
    await assert.rejects(core.send(msg(queue('half'), 'x'), { origin: client('u') }), denied('createDurableQueue', 'half'));
    await assert.rejects(core.send(msg(queue('none'), 'x'), { origin: client('u') }), denied('createAddress', 'none'));
    assert.equal(core.getQueue('half'), undefined);
    await assert.rejects(core.send(msg(topic('new.topic'), 'x'), { origin: client('u') }), denied('createAddress', 'new.topic'));
    await core.send(msg(topic('half'), 'x'), { origin: client('u') }); // createAddress is enough for a topic
    // An existing address needs no create permission.
    await core.send(msg(queue('existing'), 'x'));
    await core.send(msg(queue('existing'), 'x'), { origin: client('u') });
  });

  test('a queue consumer needs consume, and createAddress + createDurableQueue when it auto-creates the queue', async () => {
    const { core } = await secured({ u: ['consume #', 'createAddress auto', 'createDurableQueue auto'], v: ['createAddress #', 'createDurableQueue #'] });
    await core.send(msg(queue('q'), 'x'));
    const { sink } = await consume(core, { destination: queue('q'), origin: client('u') });
    assert.deepEqual(sink.bodies, ['x']);
    await consume(core, { destination: queue('auto'), origin: client('u') });
    assert.ok(core.getQueue('auto'));
    await assert.rejects(core.createConsumer({ destination: queue('fresh'), sink: new Collector(), origin: client('u') }), denied('createAddress', 'fresh'));
    await assert.rejects(core.createConsumer({ destination: queue('q'), sink: new Collector(), origin: client('v') }), denied('consume', 'q', 'v'));
    assert.equal(core.getQueue('fresh'), undefined);
  });

  test('topic consumers: consume on the topic, plus createNonDurableQueue (temporary, shared) or createDurableQueue (durable, shared durable)', async () => {
    const grants: Grants = {
      temp: ['consume #', 'createNonDurableQueue #'],
      dur: ['consume #', 'createDurableQueue #'],
      read: ['consume #'],
    };
    const { core } = await secured(grants);
    await core.send(msg(topic('t'), 'x')); // the broker makes the topic
    const sub = (name: string, durable: boolean, shared = false) => ({ name, durable, shared, ...(shared ? {} : { clientId: 'c' }) });
    const attempt = (user: string, s?: ReturnType<typeof sub>) => core.createConsumer({ destination: topic('t'), sink: new Collector(), origin: client(user), ...(s ? { subscription: s } : {}) });

    (await attempt('temp')).close();
    (await attempt('temp', sub('shared-nd', false, true))).close();
    await assert.rejects(attempt('temp', sub('d1', true)), denied('createDurableQueue', 't', 'temp'));
    await assert.rejects(attempt('dur'), denied('createNonDurableQueue', 't', 'dur'));
    (await attempt('dur', sub('d1', true))).close();
    (await attempt('dur', sub('shared-d', true, true))).close();
    await assert.rejects(attempt('read', sub('d2', true)), denied('createDurableQueue', 't', 'read'));
    // Attaching again to a shared durable subscription that exists needs consume only.
    (await attempt('read', sub('shared-d', true, true))).close();
    await assert.rejects(attempt('nobody'), denied('consume', 't', 'nobody'));
  });

  test('an auto-created topic needs createAddress; a wildcard filter is checked as written', async () => {
    const { core, authz } = await secured({ u: ['consume a.#', 'createNonDurableQueue a.#', 'createAddress a.new'] });
    (await core.createConsumer({ destination: topic('a.new'), sink: new Collector(), origin: client('u') })).close();
    await assert.rejects(core.createConsumer({ destination: topic('a.other'), sink: new Collector(), origin: client('u') }), denied('createAddress', 'a.other'));
    authz.calls.length = 0;
    (await core.createConsumer({ destination: topic('a.*'), sink: new Collector(), origin: client('u') })).close();
    assert.deepEqual(authz.calls, [
      ['u', 'a.*', 'consume'],
      ['u', 'a.*', 'createNonDurableQueue'],
    ]);
    await assert.rejects(core.createConsumer({ destination: topic('>'), sink: new Collector(), origin: client('u') }), denied('consume', '>'));
  });

  test('deleteSubscription needs deleteDurableQueue on the topic; replacing a subscription needs the delete and the create', async () => {
    const { core } = await secured({ u: ['consume #', 'createDurableQueue #', 'createAddress #'], admin: ALL });
    const spec = { name: 's', clientId: 'c', durable: true };
    (await core.createConsumer({ destination: topic('t'), sink: new Collector(), subscription: spec, origin: client('u') })).close();
    await assert.rejects(core.deleteSubscription('s', 'c', client('u')), denied('deleteDurableQueue', 't'));
    // Another selector replaces the subscription: a delete u may not do.
    await assert.rejects(core.createConsumer({ destination: topic('t'), selector: 'a = 1', sink: new Collector(), subscription: spec, origin: client('u') }), denied('deleteDurableQueue', 't'));
    assert.equal(core.findSubscription('c.s')?.selector, undefined, 'the old subscription is still there');
    const { core: c2 } = await secured({ u: ['consume #', 'createDurableQueue #', 'createAddress #', 'deleteDurableQueue #'] });
    (await c2.createConsumer({ destination: topic('t'), sink: new Collector(), subscription: spec, origin: client('u') })).close();
    await c2.deleteSubscription('s', 'c', client('u'));
    assert.equal(c2.findSubscription('c.s'), undefined);
  });

  test('browse needs browse; purge is management (manage); both on the queue name', async () => {
    const { core } = await secured({ u: ['browse q'], m: ['manage q'] });
    await core.send(msg(queue('q'), 'x'));
    assert.equal(core.browser('q', client('u')).next(10).length, 1);
    assert.equal(core.browse('q', client('u')).length, 1);
    assert.throws(() => core.browser('q', client('m')), denied('browse', 'q', 'm'));
    assert.throws(() => core.browser('missing', client('u')), denied('browse', 'missing'));
    await assert.rejects(core.purge('q', client('u')), denied('manage', 'q'));
    assert.equal(await core.purge('q', client('m')), 1);
  });

  test('temporary queues and topics need createNonDurableQueue on the $tmp name; deleteQueue by a client needs delete(Non)DurableQueue', async () => {
    const { core } = await secured({ u: ['createNonDurableQueue $tmp.#', 'consume $tmp.#', 'deleteNonDurableQueue $tmp.#', 'deleteDurableQueue q'], v: ['consume #'] });
    const a = client('u', '1', 'amqp');
    const tmp = core.createTemporaryQueue('amqp.1', a);
    assert.equal(core.createTemporaryTopic('amqp.2', a), '$tmp.amqp.2');
    const b = client('v', '2', 'amqp');
    assert.throws(() => core.createTemporaryQueue('amqp.3', b), denied('createNonDurableQueue', '$tmp.amqp.3', 'v'));
    assert.throws(() => core.createTemporaryTopic('amqp.4', b), denied('createNonDurableQueue', '$tmp.amqp.4', 'v'));
    (await core.createConsumer({ destination: queue(tmp.name), sink: new Collector(), origin: a })).close();
    // Another user's temporary queue stays its connection's, whatever the permissions.
    await assert.rejects(core.createConsumer({ destination: queue(tmp.name), sink: new Collector(), origin: b }), { code: 'ERR_ADDRESS_RESERVED' });
    await assert.rejects(core.deleteQueue(tmp.name, b), { code: 'ERR_ADDRESS_RESERVED' });
    await core.deleteQueue(tmp.name, a);
    assert.equal(core.getQueue(tmp.name), undefined);
    await core.send(msg(queue('q'), 'x'));
    await core.send(msg(queue('r'), 'x'));
    await core.deleteQueue('q', a);
    await assert.rejects(core.deleteQueue('r', a), denied('deleteDurableQueue', 'r'));
    // Without an origin (a protocol cleaning up on its own) nothing is checked.
    await core.deleteQueue('r');
    assert.equal(core.getQueue('r'), undefined);
  });

  test('assertMayConsume, assertAddress and authorize refuse synchronously what the call would', async () => {
    const { core } = await secured({ u: ['consume q', 'consume t', 'send q'] });
    await core.send(msg(queue('q'), 'x'));
    await core.send(msg(topic('t'), 'x'));
    const o = client('u', '1', 'amqp');
    core.assertMayConsume({ destination: queue('q'), origin: o });
    assert.throws(() => core.assertMayConsume({ destination: queue('z'), origin: o }), denied('consume', 'z'));
    assert.throws(() => core.assertMayConsume({ destination: topic('t'), origin: o }), denied('createNonDurableQueue', 't'));
    assert.throws(() => core.assertMayConsume({ destination: topic('t'), subscription: { name: 's', clientId: 'c', durable: true }, origin: o }), denied('createDurableQueue', 't'));
    const { core: c2 } = await secured({ u: ['consume #'] });
    assert.throws(() => c2.assertMayConsume({ destination: queue('auto'), origin: o }), denied('createAddress', 'auto'));
    core.assertAddress(queue('q'), o);
    assert.throws(() => core.assertAddress(queue('new'), o), denied('createAddress', 'new'));
    assert.throws(() => core.assertAddress(topic('new.t'), o), denied('createAddress', 'new.t'));
    core.assertAddress(queue('new')); // the broker
    core.authorize(o, 'q', 'send');
    assert.throws(() => core.authorize(o, 'q', 'browse'), denied('browse', 'q'));
    core.authorize({ component: 'broker' }, 'q', 'manage');
    core.authorize(undefined, 'q', 'manage');
  });
});

describe('durable subscriptions belong to the user that created them', () => {
  const grants: Grants = { alice: ALL, bob: ALL };
  const spec = { name: 'orders', clientId: 'device-1', durable: true };

  async function ownedBy(core: Core, user: string): Promise<void> {
    (await core.createConsumer({ destination: topic('t.a'), sink: new Collector(), subscription: spec, origin: client(user) })).close();
  }

  async function assertOnlyAlice(core: Core): Promise<void> {
    const bob = client('bob');
    await assert.rejects(core.createConsumer({ destination: topic('t.a'), sink: new Collector(), subscription: spec, origin: bob }), denied('consume', 't.a', 'bob'));
    assert.throws(() => core.assertMayConsume({ destination: topic('t.a'), subscription: spec, origin: bob }), denied('consume', 't.a', 'bob'));
    assert.throws(() => core.browser('device-1.orders', bob), denied('browse', 't.a', 'bob'));
    await assert.rejects(core.deleteSubscription('orders', 'device-1', bob), denied('deleteDurableQueue', 't.a', 'bob'));
    await assert.rejects(core.deleteQueue('device-1.orders', bob), denied('deleteDurableQueue', 't.a', 'bob'));
    await ownedBy(core, 'alice');
    core.browser('device-1.orders', client('alice'));
    assert.equal(core.getQueue('device-1.orders')!.messageCount, 1);
  }

  test('another user may not attach to, browse or delete it, whatever its permissions', async () => {
    const { core } = await secured(grants);
    await ownedBy(core, 'alice');
    await core.send(msg(topic('t.a'), 'kept', { durable: true }));
    await assertOnlyAlice(core);
    // The broker may, and a management purge is not an ownership matter.
    assert.equal(core.browser('device-1.orders').next(10).length, 1);
    await core.deleteSubscription('orders', 'device-1', client('alice'));
  });

  test('a shared subscription, or one made with security off or by the broker, belongs to nobody', async () => {
    const { core } = await secured(grants);
    const shared = { name: 'group', durable: true, shared: true };
    (await core.createConsumer({ destination: topic('t.a'), sink: new Collector(), subscription: shared, origin: client('alice') })).close();
    (await core.createConsumer({ destination: topic('t.a'), sink: new Collector(), subscription: shared, origin: client('bob') })).close();
    (await core.createConsumer({ destination: topic('t.a'), sink: new Collector(), subscription: spec })).close();
    await ownedBy(core, 'bob');
  });

  for (const kind of ['MemoryStore', 'JournalStore'] as const) {
    test(`the owner is stored with the subscription and survives a restart (${kind})`, async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'junction-authz-'));
      const log = pino({ level: 'silent' });
      const memory = new MemoryStore();
      const store = (): Store => (kind === 'MemoryStore' ? memory : new JournalStore({ dir, log, sync: { mode: 'never' } }));
      try {
        const { core: first } = await secured(grants, store());
        await ownedBy(first, 'alice');
        // A later meta update (MQTT stores its granted QoS there) keeps the owner.
        (await first.createConsumer({ destination: topic('t.a'), sink: new Collector(), subscription: { ...spec, meta: { qos: 1 } }, origin: client('alice') })).close();
        await first.send(msg(topic('t.a'), 'kept', { durable: true }));
        await first.close();
        const { core: second } = await secured(grants, store());
        assert.deepEqual(second.findSubscription('device-1.orders')?.meta, { qos: 1 });
        await assertOnlyAlice(second);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
