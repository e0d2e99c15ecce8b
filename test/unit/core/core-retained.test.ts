import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import pino from 'pino';
import { RETAINED_QUEUE } from '../../../src/core/retained.ts';
import { JournalStore } from '../../../src/store/journal/journal-store.ts';
import { MemoryStore } from '../../../src/store/memory-store.ts';
import type { StoreOp } from '../../../src/core/ports/store.ts';
import { closeCores, consume, msg, openCore, topic } from './core-fixture.ts';

// Retained messages (MQTT's, kept in the core) and the protocol `meta` of durable subscriptions.

afterEach(closeCores);

/** A MemoryStore that records every batch it commits. */
class RecordingStore extends MemoryStore {
  readonly batches: StoreOp[][] = [];
  override commit(batch: StoreOp[]): Promise<void> {
    this.batches.push(batch);
    return super.commit(batch);
  }
}

describe('retained messages', () => {
  test('set, replace and clear; matched by wildcard patterns', async () => {
    const core = await openCore();
    await core.send(msg(topic('a.b'), 'one', { durable: true }), { retain: true });
    await core.send(msg(topic('a.c'), 'other', { durable: true }), { retain: true });
    assert.deepEqual(core.retained('a.b').map((m) => m.body.toString()), ['one']);
    await core.send(msg(topic('a.b'), 'two', { durable: true }), { retain: true });
    assert.deepEqual(core.retained('a.b').map((m) => m.body.toString()), ['two']);
    assert.deepEqual(core.retained('a.*').map((m) => m.body.toString()).sort(), ['other', 'two']);
    assert.deepEqual(core.retained('a.>').length, 2);
    assert.deepEqual(core.retained('x.>'), []);
    await core.send(msg(topic('a.b'), ''), { retain: true });
    assert.deepEqual(core.retained('a.b'), []);
    assert.equal(core.retainedCount, 1);
  });

  test('a retained send still reaches live subscribers, and a send without retain leaves the retained one alone', async () => {
    const core = await openCore();
    const { sink } = await consume(core, { destination: topic('t.>') });
    await core.send(msg(topic('t.1'), 'kept', { durable: true }), { retain: true });
    await core.send(msg(topic('t.1'), 'live only', { durable: true }));
    assert.deepEqual(sink.bodies, ['kept', 'live only']);
    assert.deepEqual(core.retained('t.1').map((m) => m.body.toString()), ['kept']);
  });

  test('the message is stored once with the subscription reference and the retained reference in one batch', async () => {
    const store = new RecordingStore();
    const core = await openCore({ store });
    await consume(core, { destination: topic('s.1'), subscription: { clientId: 'c', name: 'd', durable: true } });
    await core.send(msg(topic('s.1'), 'r1', { durable: true }), { retain: true });
    const batch = store.batches.at(-1)!;
    assert.deepEqual(batch.map((o) => o.op), ['addMessage', 'addRef', 'addRef']);
    assert.deepEqual(batch.filter((o) => o.op === 'addRef').map((o) => (o as { queue: string }).queue), ['c.d', RETAINED_QUEUE]);
    await core.send(msg(topic('s.1'), 'r2', { durable: true }), { retain: true });
    const replace = store.batches.at(-1)!;
    assert.deepEqual(replace.map((o) => o.op), ['addMessage', 'addRef', 'removeRef', 'addRef']);
  });

  test('retained messages, durable and not, survive a restart; a cleared one does not', async () => {
    const store = new MemoryStore();
    const first = await openCore({ store });
    await first.send(msg(topic('r.durable'), 'd', { durable: true }), { retain: true });
    await first.send(msg(topic('r.transient'), 'q0', { durable: false, properties: { q: 0 } }), { retain: true });
    await first.send(msg(topic('r.cleared'), 'x', { durable: true }), { retain: true });
    await first.send(msg(topic('r.cleared'), '', { durable: true }), { retain: true });
    await first.close();
    const second = await openCore({ store });
    const got = second.retained('r.>').map((m) => `${m.destination.name}=${m.body.toString()}`).sort();
    assert.deepEqual(got, ['r.durable=d', 'r.transient=q0']);
    assert.equal(second.retained('r.transient')[0]!.properties.q, 0);
    // Nothing but the two retained instances is left in the store.
    assert.equal(store.size, 2);
  });

  test('survive a restart of the journal', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'junction-retained-'));
    const log = pino({ level: 'silent' });
    try {
      const first = await openCore({ store: new JournalStore({ dir, log, sync: { mode: 'never' } }) });
      await first.send(msg(topic('j.1'), 'one', { durable: true }), { retain: true });
      await first.send(msg(topic('j.1'), 'two', { durable: true }), { retain: true });
      await first.close();
      const second = await openCore({ store: new JournalStore({ dir, log, sync: { mode: 'never' } }) });
      assert.deepEqual(second.retained('j.1').map((m) => m.body.toString()), ['two']);
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a failed store write leaves the previous retained message in place', async () => {
    const store = new MemoryStore();
    const core = await openCore({ store });
    await core.send(msg(topic('f.1'), 'old', { durable: true }), { retain: true });
    store.commit = () => Promise.reject(new Error('disk gone'));
    await assert.rejects(core.send(msg(topic('f.1'), 'new', { durable: true }), { retain: true }));
    assert.deepEqual(core.retained('f.1').map((m) => m.body.toString()), ['old']);
  });
});

describe('subscription meta', () => {
  test('is stored with a durable subscription, listed by client id, replaced when it changes, and recovered', async () => {
    const store = new MemoryStore();
    const first = await openCore({ store });
    const spec = { destination: topic('m.>'), subscription: { clientId: 'mqtt.dev', name: 'm%2F%23', durable: true, meta: { qos: 1 } } };
    const { consumer } = await consume(first, spec);
    consumer.close();
    await consume(first, { ...spec, subscription: { ...spec.subscription, meta: { qos: 2 } } });
    assert.deepEqual(first.durableSubscriptions('mqtt.dev').map((s) => [s.name, s.subscriptionName, s.topic, s.meta]), [['mqtt.dev.m%2F%23', 'm%2F%23', 'm.>', { qos: 2 }]]);
    assert.deepEqual(first.durableSubscriptions('other'), []);
    await first.close();
    const second = await openCore({ store });
    assert.deepEqual(second.durableSubscriptions('mqtt.dev').map((s) => s.meta), [{ qos: 2 }]);
  });
});

describe('retained message limits and index', () => {
  test('at maxMessages a new topic is delivered but not retained; replacing and clearing still work; bytes count in memoryBytes', async () => {
    const core = await openCore({ retainedLimits: { maxMessages: 2 } });
    const { sink } = await consume(core, { destination: topic('r.>'), autoAck: true });
    await core.send(msg(topic('r.1'), 'one', { durable: true }), { retain: true });
    await core.send(msg(topic('r.2'), 'two', { durable: true }), { retain: true });
    const held = core.retainedBytes;
    assert.ok(held > 0);
    assert.equal(core.brokerStats().memoryBytes, held, 'retained bytes count against the memory limits');
    await core.send(msg(topic('r.3'), 'three', { durable: true }), { retain: true });
    assert.deepEqual(core.retained('r.>').map((m) => m.body.toString()), ['one', 'two']);
    await core.send(msg(topic('r.1'), 'one again', { durable: true }), { retain: true });
    await core.send(msg(topic('r.2'), ''), { retain: true });
    await core.send(msg(topic('r.3'), 'three', { durable: true }), { retain: true });
    assert.deepEqual(core.retained('r.>').map((m) => m.body.toString()), ['one again', 'three']);
    assert.equal(core.retainedCount, 2);
    // Every send reached the live subscriber, retained or not.
    assert.deepEqual(sink.bodies, ['one', 'two', 'three', 'one again', '', 'three']);
    await core.send(msg(topic('r.1'), ''), { retain: true });
    await core.send(msg(topic('r.3'), ''), { retain: true });
    assert.equal(core.retainedBytes, 0);
    assert.equal(core.brokerStats().memoryBytes, 0);
  });

  test('maxBytes: a message that would pass it is not retained, a smaller replacement is', async () => {
    const core = await openCore({ retainedLimits: { maxBytes: 1000 } });
    await core.send(msg(topic('b.1'), 'x'.repeat(600), { durable: true }), { retain: true });
    await core.send(msg(topic('b.2'), 'y'.repeat(600), { durable: true }), { retain: true });
    assert.equal(core.retainedCount, 1);
    await core.send(msg(topic('b.1'), 'small', { durable: true }), { retain: true });
    await core.send(msg(topic('b.2'), 'y'.repeat(600), { durable: true }), { retain: true });
    assert.deepEqual(core.retained('b.*').map((m) => m.body.length), [5, 600]);
    assert.ok(core.retainedBytes <= 1000);
  });

  test('wildcards walk the topic index: * one level, > (or #) zero or more, in order of first retention', async () => {
    const core = await openCore();
    for (const t of ['a', 'a.b', 'a.b.c', 'a.x.c', 'b.b', 'a.b.c.d']) await core.send(msg(topic(t), t, { durable: true }), { retain: true });
    const names = (p: string): string[] => core.retained(p).map((m) => m.body.toString());
    assert.deepEqual(names('a.>'), ['a', 'a.b', 'a.b.c', 'a.x.c', 'a.b.c.d']);
    assert.deepEqual(names('a.#'), names('a.>'));
    assert.deepEqual(names('a.*.c'), ['a.b.c', 'a.x.c']);
    assert.deepEqual(names('*.b'), ['a.b', 'b.b']);
    assert.deepEqual(names('*'), ['a']);
    assert.deepEqual(names('>'), ['a', 'a.b', 'a.b.c', 'a.x.c', 'b.b', 'a.b.c.d']);
    assert.deepEqual(names('a.b.c'), ['a.b.c']);
    assert.deepEqual(names('a.b.c.d.e'), []);
    // Cleared topics leave the index (and a re-retained one goes to the end).
    await core.send(msg(topic('a.b.c'), ''), { retain: true });
    await core.send(msg(topic('a.b.c.d'), ''), { retain: true });
    assert.deepEqual(names('a.b.>'), ['a.b']);
    await core.send(msg(topic('a.b.c'), 'again', { durable: true }), { retain: true });
    assert.deepEqual(names('a.b.>'), ['a.b', 'again']);
  });
});
