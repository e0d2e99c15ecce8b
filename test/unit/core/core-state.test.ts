import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { MemoryStore } from '../../../src/store/memory-store.ts';
import type { Store, StoreOp } from '../../../src/core/ports/store.ts';
import { closeCores, consume, msg, openCore, rejection, topic } from './core-fixture.ts';

/* Protocol state in the core (`putState`, `send(.., { state })`, a transaction's `putState`) and the per-client index behind `durableSubscriptions`. */

afterEach(closeCores);

/** A MemoryStore that records every batch and can be told to fail the next commit. */
class Recording extends MemoryStore {
  readonly batches: StoreOp[][] = [];
  failNext = false;
  override async commit(batch: StoreOp[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    this.batches.push(batch);
    return super.commit(batch);
  }
}

test('putState stores, replaces and deletes a value; state(prefix) lists the live ones; they survive a reopen', async () => {
  const store = new MemoryStore();
  const core = await openCore({ store });
  await core.putState('mqtt.session.a', { c: 'a' });
  await core.putState('mqtt.session.b', { c: 'b' });
  await core.putState('other.x', 1);
  await core.putState('mqtt.session.a', { c: 'a', n: 2 });
  await core.putState('mqtt.session.b', null);
  assert.deepEqual(core.getState('mqtt.session.a'), { c: 'a', n: 2 });
  assert.equal(core.getState('mqtt.session.b'), undefined);
  assert.deepEqual(core.state('mqtt.'), [{ key: 'mqtt.session.a', value: { c: 'a', n: 2 } }]);
  await core.close();
  const again = await openCore({ store: store as Store });
  assert.deepEqual(again.state(''), [
    { key: 'mqtt.session.a', value: { c: 'a', n: 2 } },
    { key: 'other.x', value: 1 },
  ]);
});

test('send with state: the state is in the message batch; it is stored even when no queue keeps the message', async () => {
  const store = new Recording();
  const core = await openCore({ store });
  await consume(core, { destination: topic('t'), subscription: { name: 's', clientId: 'c', durable: true } });
  store.batches.length = 0;
  await core.send(msg(topic('t'), 'one', { durable: true }), { state: { key: 'k1', value: true } });
  assert.deepEqual(store.batches.map((b) => b.map((op) => op.op)), [['addMessage', 'addRef', 'putState']]);
  // No subscription on `nobody`: nothing keeps the message, the state is still stored.
  await core.send(msg(topic('nobody'), 'two', { durable: true }), { state: { key: 'k2', value: 2 } });
  assert.deepEqual(store.batches[1], [{ op: 'putState', key: 'k2', value: 2 }]);
  assert.equal(core.getState('k2'), 2);
});

test('a send whose batch fails leaves no state behind', async () => {
  const store = new Recording();
  const core = await openCore({ store });
  store.failNext = true;
  const err = await rejection(core.send(msg(topic('t'), 'x', { durable: true }), { state: { key: 'k', value: 1 } }));
  assert.equal(err.code, 'ERR_STORE_FAILED');
  assert.equal(core.getState('k'), undefined);
  store.failNext = true;
  await rejection(core.putState('k', 1));
  assert.equal(core.getState('k'), undefined);
});

test('a transaction stores its acks and its states in one batch', async () => {
  const store = new Recording();
  const core = await openCore({ store });
  const { consumer, sink } = await consume(core, { destination: topic('t'), subscription: { name: 's', clientId: 'c', durable: true } });
  await core.send(msg(topic('t'), 'm', { durable: true }));
  const [d] = await sink.count(1);
  store.batches.length = 0;
  const tx = core.createTransaction();
  tx.addAck(consumer, d!.id, false);
  tx.putState('pubrel.c.7', { p: 7 });
  await core.commit(tx);
  assert.deepEqual(store.batches.map((b) => b.map((op) => op.op)), [['removeRef', 'putState']]);
  assert.deepEqual(core.getState('pubrel.c.7'), { p: 7 });
  assert.equal(core.getQueue('c.s')!.messageCount, 0);
});

test('durableSubscriptions lists a client id\'s own subscriptions, kept current on create, delete and recovery', async () => {
  const store = new MemoryStore();
  const core = await openCore({ store });
  const a1 = await consume(core, { destination: topic('x'), subscription: { name: 's1', clientId: 'a', durable: true, meta: { f: 1 } } });
  await consume(core, { destination: topic('y'), subscription: { name: 's2', clientId: 'a', durable: true } });
  await consume(core, { destination: topic('x'), subscription: { name: 's1', clientId: 'b', durable: true } });
  // Not durable: not listed.
  await consume(core, { destination: topic('x'), subscription: { name: 'tmp', clientId: 'a', durable: false } });
  assert.deepEqual(core.durableSubscriptions('a').map((s) => [s.name, s.topic, s.consumers, s.meta]), [
    ['a.s1', 'x', 1, { f: 1 }],
    ['a.s2', 'y', 1, undefined],
  ]);
  a1.consumer.close();
  await core.deleteSubscription('s1', 'a');
  assert.deepEqual(core.durableSubscriptions('a').map((s) => s.name), ['a.s2']);
  assert.deepEqual(core.durableSubscriptions('b').map((s) => s.name), ['b.s1']);
  assert.deepEqual(core.durableSubscriptions('nobody'), []);
  await core.close();
  const again = await openCore({ store });
  assert.deepEqual(again.durableSubscriptions('a').map((s) => [s.name, s.consumers]), [['a.s2', 0]]);
  assert.deepEqual(again.durableSubscriptions('b').map((s) => s.name), ['b.s1']);
});
