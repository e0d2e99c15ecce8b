import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Message } from '../../../src/core/message.ts';
import type { RecoveredMessage, RecoveredState, StateValue, Store, StoreOp, StoredQueue } from '../../../src/core/ports/store.ts';
import { storedMessage } from '../../helpers/store-fixtures.ts';

/**
 * One set of tests every `Store` must pass (as aedes's abstract-persistence suite does for its
 * persistences): the contract the core relies on in `recover` and `persist`. A store file runs it
 * with `storeConformance(name, make)`.
 */

/** A store under test and the backing it keeps its state in. */
export interface StoreBacking {
  /**
   * A store over this backing. The tests close a store and call this again to check what it
   * recovers: a store that only survives a re-`open` of the same instance (the memory store)
   * returns that instance again; a persistent one returns a new instance over the same files.
   */
  store(): Store;
  /** Removes the backing (temp directory); called after each test. */
  dispose(): Promise<void>;
}

/** The retained-message queue (core/retained.ts): its references are recovered like any other. */
const RETAINED = '$retained';

/** Recovery as plain data: messages iterated into an array, states sorted by key. */
interface Recovered {
  queues: StoredQueue[];
  messages: RecoveredMessage[];
  states: Array<{ key: string; value: StateValue }>;
}

async function openAll(s: Store): Promise<Recovered> {
  const r: RecoveredState = await s.open();
  return { queues: r.queues, messages: [...r.messages], states: [...r.states].sort((a, b) => a.key.localeCompare(b.key)) };
}

function msg(n: number, extra: Partial<Message> = {}): Message {
  return { ...storedMessage(n, 16 + n, { type: 'queue', name: 'q' }, { n, tag: `m${n}` }), ...extra };
}

function send(n: number, queues: string[], m: Message = msg(n)): StoreOp[] {
  return [{ op: 'addMessage', key: `k${n}`, message: m }, ...queues.map((queue) => ({ op: 'addRef' as const, queue, key: `k${n}` }))];
}

/** Key → [queue, deliveryCount] pairs, refs sorted by queue (their order is not part of the contract). */
function refsOf(messages: RecoveredMessage[]): Array<[string, Array<[string, number]>]> {
  return messages.map((m) => [m.key, m.refs.map((r): [string, number] => [r.queue, r.deliveryCount]).sort((a, b) => a[0].localeCompare(b[0]))]);
}

/** Runs the conformance suite against the stores `make` gives (one fresh backing per test). */
export function storeConformance(name: string, make: () => Promise<StoreBacking>): void {
  describe(`Store conformance: ${name}`, () => {
    let backing: StoreBacking;
    let current: Store | null = null;

    /** Opens a store over the backing (closing the one before, if open) and returns it with what it recovered. */
    async function reopen(): Promise<{ s: Store; r: Recovered }> {
      if (current) await current.close();
      const s = backing.store();
      current = s;
      return { s, r: await openAll(s) };
    }

    beforeEach(async () => {
      backing = await make();
      current = null;
    });
    afterEach(async () => {
      if (current) await current.close();
      await backing.dispose();
    });

    test('a new store recovers nothing', async () => {
      const { r } = await reopen();
      assert.deepEqual(r, { queues: [], messages: [], states: [] });
    });

    test('committed messages are recovered in send order with their references, and read back field for field', async () => {
      const { s } = await reopen();
      const full = msg(3, {
        bodyType: 'json',
        body: Buffer.from('{"a":[1,2]}'),
        priority: 9,
        expiration: 1_900_000_000_000,
        timestamp: 1_800_000_000_000,
        correlationId: 'corr-1',
        replyTo: { type: 'topic', name: 'replies.x' },
        type: 'order',
        contentType: 'application/json',
        groupId: 'g1',
        groupSeq: 7,
        userId: 'alice',
        deliveryTime: 1_800_000_060_000,
        originalDestination: { type: 'queue', name: 'orig' },
        properties: { s: 'x', i: 42, f: 1.5, b: false, z: null },
      });
      await s.commit(send(1, ['a']));
      await s.commit(send(2, ['b', 'a']));
      await s.commit(send(3, ['a'], full));
      const { s: again, r } = await reopen();
      assert.deepEqual(refsOf(r.messages), [
        ['k1', [['a', 0]]],
        ['k2', [['a', 0], ['b', 0]]],
        ['k3', [['a', 0]]],
      ]);
      for (const m of r.messages) assert.ok(m.size > 0, `size of ${m.key}`);
      assert.deepEqual(await again.read(['k3', 'k1', 'k2']), [full, msg(1), msg(2)]);
    });

    test('read answers in the order asked, undefined for a key the store does not hold', async () => {
      const { s } = await reopen();
      await s.commit(send(1, ['a']));
      await s.commit(send(2, ['a']));
      assert.deepEqual(await s.read(['k2', 'nope', 'k1']), [msg(2), undefined, msg(1)]);
      assert.deepEqual(await s.read([]), []);
    });

    test('a message is stored once however many queues reference it, and dropped with its last reference', async () => {
      const { s } = await reopen();
      await s.commit(send(1, ['a', 'b', 'c']));
      await s.commit(send(2, ['a']));
      await s.commit([{ op: 'removeRef', queue: 'a', key: 'k1' }]);
      await s.commit([{ op: 'removeRef', queue: 'b', key: 'k1' }, { op: 'removeRef', queue: 'a', key: 'k2' }]);
      assert.deepEqual(await s.read(['k1', 'k2']), [msg(1), undefined]);
      const { s: again, r } = await reopen();
      assert.deepEqual(refsOf(r.messages), [['k1', [['c', 0]]]]);
      await again.commit([{ op: 'removeRef', queue: 'c', key: 'k1' }]);
      assert.deepEqual(await again.read(['k1']), [undefined]);
      assert.deepEqual((await reopen()).r.messages, []);
    });

    test('removing a reference the store does not have changes nothing', async () => {
      const { s } = await reopen();
      await s.commit(send(1, ['a']));
      await s.commit([{ op: 'removeRef', queue: 'b', key: 'k1' }, { op: 'removeRef', queue: 'a', key: 'unknown' }]);
      assert.deepEqual(refsOf((await reopen()).r.messages), [['k1', [['a', 0]]]]);
    });

    test('delivery counts are kept per queue reference; the latest count wins', async () => {
      const { s } = await reopen();
      await s.commit(send(1, ['a', 'b']));
      await s.commit(send(2, ['a']));
      await s.commit([{ op: 'deliveryCount', queue: 'a', key: 'k1', count: 1 }]);
      await s.commit([{ op: 'deliveryCount', queue: 'a', key: 'k1', count: 3 }, { op: 'deliveryCount', queue: 'a', key: 'k2', count: 2 }]);
      const { r } = await reopen();
      assert.deepEqual(refsOf(r.messages), [
        ['k1', [['a', 3], ['b', 0]]],
        ['k2', [['a', 2]]],
      ]);
    });

    test('queues are recovered with every field; deleteQueue forgets one and drops its references', async () => {
      const { s } = await reopen();
      const sub: StoredQueue = { name: '$sub.c1.s1', kind: 'subscription', topic: 'sensors.>', selector: "kind = 'temp'", clientId: 'c1', subscriptionName: 's1', shared: false, meta: { qos: 1, nested: { a: [1, 'x'] } } };
      const anycast: StoredQueue = { name: 'orders', kind: 'anycast' };
      const gone: StoredQueue = { name: '$sub.c2.s2', kind: 'subscription', topic: 'a.b' };
      await s.commit([{ op: 'createQueue', queue: sub }]);
      await s.commit([{ op: 'createQueue', queue: anycast }, { op: 'createQueue', queue: gone }]);
      await s.commit(send(1, [gone.name, sub.name]));
      await s.commit(send(2, [gone.name]));
      await s.commit([{ op: 'deleteQueue', queue: gone.name }]);
      const { s: again, r } = await reopen();
      assert.deepEqual([...r.queues].sort((a, b) => a.name.localeCompare(b.name)), [sub, anycast]);
      assert.deepEqual(refsOf(r.messages), [['k1', [[sub.name, 0]]]]);
      assert.deepEqual(await again.read(['k2']), [undefined]);
    });

    test('a queue created again (e.g. a subscription whose meta changed) is recovered as last written', async () => {
      const { s } = await reopen();
      await s.commit([{ op: 'createQueue', queue: { name: '$sub.c.s', kind: 'subscription', topic: 't', meta: { qos: 0 } } }]);
      await s.commit([{ op: 'createQueue', queue: { name: '$sub.c.s', kind: 'subscription', topic: 't', meta: { qos: 2 } } }]);
      assert.deepEqual((await reopen()).r.queues, [{ name: '$sub.c.s', kind: 'subscription', topic: 't', meta: { qos: 2 } }]);
    });

    test('a queue deleted and created again starts empty', async () => {
      const { s } = await reopen();
      await s.commit([{ op: 'createQueue', queue: { name: '$sub.c.s', kind: 'subscription', topic: 't' } }]);
      await s.commit(send(1, ['$sub.c.s']));
      await s.commit([{ op: 'deleteQueue', queue: '$sub.c.s' }]);
      await s.commit([{ op: 'createQueue', queue: { name: '$sub.c.s', kind: 'subscription', topic: 't' } }]);
      await s.commit(send(2, ['$sub.c.s']));
      const { r } = await reopen();
      assert.deepEqual(r.queues, [{ name: '$sub.c.s', kind: 'subscription', topic: 't' }]);
      assert.deepEqual(refsOf(r.messages), [['k2', [['$sub.c.s', 0]]]]);
    });

    test('protocol state: the latest value of a key wins, null deletes it, values are JSON', async () => {
      const { s } = await reopen();
      await s.commit([{ op: 'putState', key: 'mqtt.qos2.c1', value: [1, 2, 3] }]);
      await s.commit([{ op: 'putState', key: 'mqtt.qos2.c1', value: { ids: [4], nested: { on: true, n: null, s: 'x' } } }]);
      await s.commit([{ op: 'putState', key: 'gone', value: 'soon' }]);
      await s.commit([{ op: 'putState', key: 'gone', value: null }, { op: 'putState', key: 'n', value: 0 }]);
      const { s: again, r } = await reopen();
      assert.deepEqual(r.states, [
        { key: 'mqtt.qos2.c1', value: { ids: [4], nested: { on: true, n: null, s: 'x' } } },
        { key: 'n', value: 0 },
      ]);
      await again.commit([{ op: 'putState', key: 'n', value: null }]);
      assert.deepEqual((await reopen()).r.states, [{ key: 'mqtt.qos2.c1', value: { ids: [4], nested: { on: true, n: null, s: 'x' } } }]);
    });

    test('a state written in the same batch as its message is recovered with it', async () => {
      const { s } = await reopen();
      await s.commit([...send(1, ['a']), { op: 'putState', key: 'mqtt.qos2.c1', value: [7] }]);
      const { r } = await reopen();
      assert.deepEqual(refsOf(r.messages), [['k1', [['a', 0]]]]);
      assert.deepEqual(r.states, [{ key: 'mqtt.qos2.c1', value: [7] }]);
    });

    test('a value the caller changes after commit is not what the store keeps', async () => {
      const { s } = await reopen();
      const value = { ids: [1] };
      await s.commit([{ op: 'putState', key: 'k', value }]);
      value.ids.push(2);
      assert.deepEqual((await reopen()).r.states, [{ key: 'k', value: { ids: [1] } }]);
    });

    test('retained references are recovered like any queue reference, and replaced by remove + add', async () => {
      const { s } = await reopen();
      const retained = msg(1, { destination: { type: 'topic', name: 'sensors.1' } });
      await s.commit(send(1, [RETAINED], retained));
      const newer = msg(2, { destination: { type: 'topic', name: 'sensors.1' } });
      await s.commit([{ op: 'removeRef', queue: RETAINED, key: 'k1' }, ...send(2, [RETAINED], newer)]);
      const { s: again, r } = await reopen();
      assert.deepEqual(refsOf(r.messages), [['k2', [[RETAINED, 0]]]]);
      assert.deepEqual(await again.read(['k2', 'k1']), [newer, undefined]);
    });

    test('a scheduled message keeps its delivery time', async () => {
      const { s } = await reopen();
      const at = Date.now() + 3_600_000;
      await s.commit(send(1, ['a'], msg(1, { deliveryTime: at })));
      const { s: again } = await reopen();
      assert.equal((await again.read(['k1']))[0]?.deliveryTime, at);
    });

    test('non-durable messages (written when a queue pages them) are readable but not recovered', async () => {
      const { s } = await reopen();
      await s.commit(send(1, ['a'], msg(1, { durable: false })));
      await s.commit(send(2, ['a']));
      assert.deepEqual(await s.read(['k1']), [msg(1, { durable: false })]);
      const { s: again, r } = await reopen();
      assert.deepEqual(refsOf(r.messages), [['k2', [['a', 0]]]]);
      assert.deepEqual(await again.read(['k1']), [undefined]);
    });

    test('recovery keeps send order across many commits, removals and reopen cycles', async () => {
      let { s } = await reopen();
      const live: number[] = [];
      for (let i = 1; i <= 300; i++) {
        await s.commit(send(i, i % 3 === 0 ? ['a', 'b'] : ['a']));
        live.push(i);
        if (i % 7 === 0) {
          await s.commit([{ op: 'removeRef', queue: 'a', key: `k${i - 3}` }]);
          if ((i - 3) % 3 !== 0) live.splice(live.indexOf(i - 3), 1);
        }
        if (i === 150) s = (await reopen()).s;
      }
      const { r } = await reopen();
      assert.deepEqual(
        r.messages.map((m) => m.key),
        live.map((i) => `k${i}`),
      );
    });

    test('commit and read are refused once the store is closed', async () => {
      const { s } = await reopen();
      await s.commit(send(1, ['a']));
      await s.close();
      current = null;
      await assert.rejects(s.commit(send(2, ['a'])));
      await assert.rejects(s.read(['k1']));
    });
  });
}
