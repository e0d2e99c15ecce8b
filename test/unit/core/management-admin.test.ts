import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import pino from 'pino';
import type { Origin } from '../../../src/core/reserved.ts';
import { JournalStore } from '../../../src/store/journal/journal-store.ts';
import { MemoryStore } from '../../../src/store/memory-store.ts';
import { FakeAuthorizer, subjectOf } from '../../helpers/fake-authorizer.ts';
import { closeCores, Collector, consume, msg, openCore, queue, rejection, sendAll, topic } from './core-fixture.ts';

// Issue 15: the core's management facade for addresses, queues, totals and memory.

const silent = pino({ level: 'silent' });
afterEach(closeCores);

function mgmt(user: string): Origin {
  return { component: 'management', subject: subjectOf(user) };
}

describe('addressList and durableSubscriptionList', () => {
  test('lists anycast queues, topics with their subscription queues, temporary ones flagged', async () => {
    const core = await openCore({ topics: ['configured'] });
    await core.send(msg(queue('orders'), 'x'));
    const durable = await consume(core, { destination: topic('prices'), subscription: { name: 's1', clientId: 'c1', durable: true } });
    const shared = await consume(core, { destination: topic('prices'), subscription: { name: 'sh', durable: true, shared: true } });
    await consume(core, { destination: topic('news') });
    core.createTemporaryQueue('reply-1');
    core.createTemporaryTopic('t-1');
    const list = core.addressList();
    const byName = new Map(list.map((a) => [a.name, a]));
    assert.deepEqual(byName.get('orders'), { name: 'orders', routing: 'anycast', queues: ['orders'], temporary: false, autoCreated: true });
    assert.deepEqual(byName.get('prices')?.queues, ['c1.s1', 'sh']);
    assert.equal(byName.get('prices')?.routing, 'multicast');
    assert.equal(byName.get('prices')?.autoCreated, true);
    assert.equal(byName.get('configured')?.autoCreated, false);
    assert.equal(byName.get('news')?.queues.length, 1, 'a temporary subscription appears under its topic');
    assert.equal(byName.get('$tmp.reply-1')?.temporary, true);
    assert.equal(byName.get('$tmp.t-1')?.temporary, true);
    assert.equal(byName.get('$tmp.t-1')?.routing, 'multicast');
    assert.deepEqual(
      list.map((a) => a.name),
      [...list.map((a) => a.name)].sort(),
    );
    const subs = core.durableSubscriptionList();
    assert.deepEqual(
      subs.map((s) => [s.name, s.clientId, s.shared, s.consumers]),
      [
        ['c1.s1', 'c1', false, 1],
        ['sh', undefined, true, 1],
      ],
    );
    durable.consumer.close();
    shared.consumer.close();
    assert.deepEqual(
      core.durableSubscriptionList().map((s) => s.consumers),
      [0, 0],
    );
  });
});

describe('totals and memory', () => {
  test('count over every queue, and a deleted queue keeps counting', async () => {
    const core = await openCore({ globalMaxSizeBytes: 1_000_000 });
    await sendAll(core, queue('a'), ['1', '2', '3']);
    await sendAll(core, queue('b'), ['1']);
    await core.send(msg(topic('nobody'), 'lost'));
    const { consumer, sink } = await consume(core, { destination: queue('a') });
    for (const d of await sink.count(3)) await consumer.ack(d.id);
    let t = core.totals();
    assert.equal(t.sent, 5);
    assert.equal(t.unrouted, 1);
    assert.equal(t.enqueued, 4);
    assert.equal(t.acked, 3);
    assert.equal(t.messages, 1);
    assert.equal(t.consumers, 1);
    assert.equal(t.queues, 2);
    assert.ok(t.bytes > 0);
    consumer.close();
    await core.deleteQueue('a');
    t = core.totals();
    assert.equal(t.enqueued, 4, 'the deleted queue still counts');
    assert.equal(t.acked, 3);
    assert.equal(t.queues, 1);
    const tx = core.createTransaction();
    await core.send(msg(queue('b'), 'tx'), { tx });
    assert.equal(core.totals().sent, 5, 'a transactional send counts at commit');
    await core.commit(tx);
    assert.equal(core.totals().sent, 6);
    const mem = core.memory();
    assert.equal(mem.limitBytes, 1_000_000);
    assert.equal(mem.usedBytes, core.brokerStats().memoryBytes);
    assert.ok(mem.usedBytes > 0);
    assert.equal(mem.blockedSends, 0);
    assert.equal(mem.dropped, 0);
  });

  test('memory without a limit reports 0', async () => {
    const core = await openCore();
    assert.equal(core.memory().limitBytes, 0);
  });
});

describe('createQueue', () => {
  test('durable: stored, survives a restart of the journal even empty; exists and reserved names refused', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'junction-mgmt-'));
    try {
      const store = () => new JournalStore({ dir, log: silent, sync: { mode: 'never' } });
      const first = await openCore({ store: store(), topics: ['t'] });
      const q = await first.createQueue('admin.q', { durable: true });
      assert.equal(q.name, 'admin.q');
      assert.equal(q.durable, true);
      assert.equal(q.kind, 'anycast');
      assert.equal((await rejection(first.createQueue('admin.q'))).code, 'ERR_ADDRESS_EXISTS');
      assert.equal((await rejection(first.createQueue('t'))).code, 'ERR_ADDRESS_EXISTS', 'a topic of that name');
      assert.equal((await rejection(first.createQueue('$x'))).code, 'ERR_ADDRESS_RESERVED');
      assert.equal((await rejection(first.createQueue('mqtt.x'))).code, 'ERR_ADDRESS_RESERVED');
      assert.equal((await rejection(first.createQueue('a.*'))).code, 'ERR_ADDRESS_INVALID');
      const nd = await first.createQueue('admin.temp', { durable: false });
      assert.equal(nd.durable, false);
      await first.send(msg(queue('admin.temp'), 'kept in memory only', { durable: true }));
      await first.close();
      const second = await openCore({ store: store() });
      assert.equal(second.getQueue('admin.q')?.messageCount, 0, 'the empty durable queue is back');
      assert.equal(second.getQueue('admin.temp'), undefined, 'the non-durable one is gone');
      await second.deleteQueue('admin.q');
      await second.close();
      const third = await openCore({ store: store() });
      assert.equal(third.getQueue('admin.q'), undefined, 'deleted for good');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('needs createAddress and createDurableQueue (or createNonDurableQueue); security off or the broker: allowed', async () => {
    const authz = new FakeAuthorizer({
      ops: ['createAddress ops.#', 'createDurableQueue ops.#'],
      half: ['createAddress ops.#'],
      nd: ['createAddress ops.#', 'createNonDurableQueue ops.#'],
    });
    const core = await openCore({ authorizer: authz, store: new MemoryStore() });
    await core.createQueue('ops.a', {}, mgmt('ops'));
    assert.equal((await rejection(core.createQueue('ops.b', {}, mgmt('half')))).code, 'ERR_SECURITY_UNAUTHORIZED');
    assert.equal((await rejection(core.createQueue('ops.b', { durable: true }, mgmt('nd')))).code, 'ERR_SECURITY_UNAUTHORIZED');
    await core.createQueue('ops.c', { durable: false }, mgmt('nd'));
    assert.equal((await rejection(core.createQueue('ops.d', {}, { component: 'management' }))).code, 'ERR_SECURITY_UNAUTHORIZED', 'no subject');
    await core.createQueue('ops.e');
    assert.ok(authz.denials.some(([user, address, perm]) => user === 'half' && address === 'ops.b' && perm === 'createDurableQueue'));
    const open = await openCore();
    await open.createQueue('x', {}, mgmt('anyone'));
  });
});

describe('pause and resume', () => {
  test('consumers stay attached and get nothing while paused; sends are accepted; resume delivers', async () => {
    const core = await openCore();
    const { consumer, sink } = await consume(core, { destination: queue('p') });
    await core.send(msg(queue('p'), 'before'));
    await sink.count(1);
    await core.pauseQueue('p');
    assert.equal(core.queueStats().find((s) => s.name === 'p')?.paused, true);
    await sendAll(core, queue('p'), ['1', '2']);
    consumer.grant(10);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(sink.deliveries.length, 1, 'nothing delivered while paused');
    assert.equal(core.getQueue('p')?.consumers.length, 1);
    await core.resumeQueue('p');
    assert.deepEqual((await sink.count(3)).map((d) => d.message.body.toString()), ['before', '1', '2']);
    assert.equal(core.queueStats().find((s) => s.name === 'p')?.paused, false);
  });

  for (const kind of ['MemoryStore', 'JournalStore'] as const) {
    test(`persist: the pause survives a restart, of a queue and of a durable subscription (${kind})`, async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'junction-mgmt-'));
      const memory = new MemoryStore();
      const store = () => (kind === 'MemoryStore' ? memory : new JournalStore({ dir, log: silent, sync: { mode: 'never' } }));
      try {
        const first = await openCore({ store: store() });
        await first.send(msg(queue('held'), 'a', { durable: true }));
        (await first.createConsumer({ destination: topic('t'), sink: new Collector(), subscription: { name: 's', clientId: 'c', durable: true } })).close();
        await first.pauseQueue('held', undefined, { persist: true });
        await first.pauseQueue('c.s', undefined, { persist: true });
        await first.send(msg(queue('unstored'), 'b', { durable: true }));
        await first.pauseQueue('unstored');
        await first.close();
        const second = await openCore({ store: store() });
        assert.equal(second.queueStats().find((s) => s.name === 'held')?.paused, true);
        assert.equal(second.queueStats().find((s) => s.name === 'c.s')?.paused, true);
        assert.equal(second.queueStats().find((s) => s.name === 'unstored')?.paused, false, 'a pause without persist is not stored');
        const { sink } = await consume(second, { destination: queue('held') });
        await new Promise((r) => setTimeout(r, 20));
        assert.equal(sink.deliveries.length, 0);
        await second.resumeQueue('held');
        await sink.count(1);
        await second.close();
        const third = await openCore({ store: store() });
        assert.equal(third.queueStats().find((s) => s.name === 'held')?.paused, false, 'resume is stored too');
        assert.equal(third.queueStats().find((s) => s.name === 'c.s')?.paused, true);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  test('needs manage on the queue (a subscription: on its topic)', async () => {
    const authz = new FakeAuthorizer({ ops: ['manage ops.#', 'manage t'], viewer: ['browse #'] });
    const core = await openCore({ authorizer: authz });
    await core.send(msg(queue('ops.q'), 'x'));
    (await core.createConsumer({ destination: topic('t'), sink: new Collector(), subscription: { name: 's', clientId: 'c', durable: true } })).close();
    await core.pauseQueue('ops.q', mgmt('ops'));
    await core.pauseQueue('c.s', mgmt('ops'));
    assert.equal((await rejection(core.resumeQueue('ops.q', mgmt('viewer')))).code, 'ERR_SECURITY_UNAUTHORIZED');
    assert.equal((await rejection(core.pauseQueue('missing', mgmt('ops')))).code, 'ERR_SECURITY_UNAUTHORIZED');
    assert.equal((await rejection(core.pauseQueue('ops.missing', mgmt('ops')))).code, 'ERR_ADDRESS_NOT_FOUND');
    await core.resumeQueue('ops.q', mgmt('ops'));
  });
});
