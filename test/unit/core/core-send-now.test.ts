import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { MemoryStore } from '../../../src/store/memory-store.ts';
import { closeCores, consume, msg, openCore, queue, rejection, topic } from './core-fixture.ts';

const body = (i: number) => `m${String(i).padStart(4, '0')}`.padEnd(1000, '.');

afterEach(closeCores);

describe('sendNow', () => {
  test('a non-durable message is routed and delivered before it returns, to every matching subscription', async () => {
    const core = await openCore();
    const a = await consume(core, { destination: topic('s.>') }, 10);
    const b = await consume(core, { destination: topic('s.1') }, 10);
    const sent = core.sendNow(msg(topic('s.1'), 'now'));
    assert.ok(!(sent instanceof Promise));
    assert.equal(sent.body.toString(), 'now');
    assert.deepEqual(a.sink.bodies, ['now']);
    assert.deepEqual(b.sink.bodies, ['now']);
  });

  test('a message no queue keeps is returned at once and counted unrouted', async () => {
    const core = await openCore();
    const sent = core.sendNow(msg(topic('nobody.here'), 'x', { durable: true }));
    assert.ok(!(sent instanceof Promise));
    assert.equal(core.brokerStats().unrouted, 1);
  });

  test('a durable message to non-durable subscriptions needs no store write: synchronous, nothing stored', async () => {
    const store = new MemoryStore();
    const core = await openCore({ store });
    const { sink } = await consume(core, { destination: topic('d.x') }, 10);
    const sent = core.sendNow(msg(topic('d.x'), 'p', { durable: true }));
    assert.ok(!(sent instanceof Promise));
    assert.deepEqual(sink.bodies, ['p']);
    assert.equal(store.size, 0);
  });

  test('a durable message to a durable subscription or a queue waits for the store (a promise), stored once', async () => {
    const store = new MemoryStore();
    const core = await openCore({ store });
    const { sink, consumer } = await consume(core, { destination: topic('d.y'), subscription: { clientId: 'c', name: 'n', durable: true } }, 10);
    const sent = core.sendNow(msg(topic('d.y'), 'kept', { durable: true }));
    assert.ok(sent instanceof Promise);
    assert.equal(sink.deliveries.length, 0, 'not delivered before it is stored');
    await sent;
    assert.deepEqual((await sink.count(1)).map((d) => d.message.body.toString()), ['kept']);
    assert.equal(store.size, 1);
    assert.equal(core.queueStats().find((s) => s.name === 'c.n')!.enqueued, 1);
    await consumer.ack(sink.deliveries[0]!.id);
    const q = core.sendNow(msg(queue('work'), 'q', { durable: true }));
    assert.ok(q instanceof Promise);
    await q;
    assert.equal(core.queueStats().find((s) => s.name === 'work')!.messages, 1);
  });

  test('retain, state and transactions go through send', async () => {
    const core = await openCore();
    assert.ok(core.sendNow(msg(topic('r.x'), 'r'), { retain: true }) instanceof Promise);
    const tx = core.createTransaction();
    assert.ok(core.sendNow(msg(queue('t'), 't'), { tx }) instanceof Promise);
    await core.commit(tx);
    assert.equal(core.retained('r.x').length, 1);
    assert.equal(core.queueStats().find((s) => s.name === 't')!.messages, 1);
  });

  test('under BLOCK, a send to a full queue waits (a promise) and is not enqueued until there is room; later ones queue behind it', async () => {
    const core = await openCore({ addressSettings: { blocked: { maxSizeBytes: 3000, addressFullPolicy: 'BLOCK' } } });
    for (let i = 0; i < 2; i++) assert.ok(!(core.sendNow(msg(queue('blocked'), body(i))) instanceof Promise));
    const third = core.sendNow(msg(queue('blocked'), body(2)));
    assert.ok(third instanceof Promise);
    assert.equal(core.isBlocked(queue('blocked')), true);
    const fourth = core.sendNow(msg(queue('blocked'), body(3)));
    assert.ok(fourth instanceof Promise, 'never overtakes a waiting send');
    assert.equal(core.queueStats().find((s) => s.name === 'blocked')!.messages, 2);
    const { consumer, sink } = await consume(core, { destination: queue('blocked') }, 10);
    for (let n = 1; n <= 4; n++) {
      const got = await sink.count(n);
      await consumer.ack(got[n - 1]!.id);
    }
    await Promise.all([third, fourth]);
    assert.deepEqual(sink.bodies.map((b) => b.slice(0, 5)), ['m0000', 'm0001', 'm0002', 'm0003']);
  });

  test('over a memory limit under PAGE the message is paged (a promise), order kept', async () => {
    const core = await openCore({ globalMaxSizeBytes: 3000 });
    const results = Array.from({ length: 6 }, (_, i) => core.sendNow(msg(queue('pg'), body(i))));
    assert.ok(!(results[0] instanceof Promise));
    assert.ok(results.some((r) => r instanceof Promise));
    await Promise.all(results);
    const { sink } = await consume(core, { destination: queue('pg') }, 10);
    assert.deepEqual((await sink.count(6)).map((d) => d.message.body.toString().slice(0, 5)), ['m0000', 'm0001', 'm0002', 'm0003', 'm0004', 'm0005']);
  });

  test('FAIL rejects; DROP leaves the full queue out synchronously and counts it', async () => {
    const core = await openCore({ addressSettings: { f: { maxSizeBytes: 1500, addressFullPolicy: 'FAIL' }, 'dr.>': { maxSizeBytes: 1500, addressFullPolicy: 'DROP' } } });
    core.sendNow(msg(queue('f'), body(0)));
    const failed = core.sendNow(msg(queue('f'), body(1)));
    assert.ok(failed instanceof Promise);
    assert.equal((await rejection(failed)).code, 'ERR_ADDRESS_FULL');
    const full = await consume(core, { destination: topic('dr.x') }, 0);
    const open = await consume(core, { destination: topic('dr.>'), autoAck: true }, 10);
    core.sendNow(msg(topic('dr.x'), body(0)));
    const second = core.sendNow(msg(topic('dr.x'), body(1)));
    assert.ok(!(second instanceof Promise));
    assert.equal(core.brokerStats().dropped, 1);
    assert.equal(open.sink.deliveries.length, 2);
    assert.equal(full.sink.deliveries.length, 0);
  });

  test('a bad or unknown address throws synchronously', async () => {
    const core = await openCore({ addressSettings: { 'closed.>': { autoCreate: false } } });
    assert.throws(() => core.sendNow(msg(topic('closed.x'), 'x')), { code: 'ERR_ADDRESS_NOT_FOUND' });
    assert.throws(() => core.sendNow(msg(topic('a..b'), 'x')));
  });
});
