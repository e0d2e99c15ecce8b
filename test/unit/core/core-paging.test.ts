import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { MemoryStore } from '../../../src/store/memory-store.ts';
import { closeCores, consume, msg, openCore, queue, rejection, topic } from './core-fixture.ts';

const body = (i: number) => `m${String(i).padStart(4, '0')}`.padEnd(1000, '.');

afterEach(closeCores);

describe('paging', () => {
  test('over the broker memory limit, messages are paged: memory stays bounded and order is kept', async () => {
    const store = new MemoryStore();
    const core = await openCore({ store, globalMaxSizeBytes: 50_000 });
    for (let i = 0; i < 300; i++) await core.send(msg(queue('big'), body(i), { durable: true }));
    const stats = core.queueStats().find((s) => s.name === 'big')!;
    assert.equal(stats.messages, 300);
    assert.ok(stats.paged > 200, `most messages paged (${stats.paged})`);
    assert.ok(core.brokerStats().memoryBytes <= 50_000 + 2000, `memory bounded (${core.brokerStats().memoryBytes})`);
    const { consumer, sink } = await consume(core, { destination: queue('big') }, 1000);
    const got = await sink.count(300);
    assert.deepEqual(got.map((d) => d.message.body.toString().slice(0, 5)), Array.from({ length: 300 }, (_, i) => body(i).slice(0, 5)));
    for (const d of got) await consumer.ack(d.id);
    assert.equal(store.size, 0, 'every paged message removed from the store once acked');
  });

  test('a queue over its own maxSizeBytes pages while others stay in memory', async () => {
    const core = await openCore({ addressSettings: { 'small.>': { maxSizeBytes: 5000 } } });
    for (let i = 0; i < 20; i++) await core.send(msg(queue('small.q'), body(i), { durable: true }));
    for (let i = 0; i < 20; i++) await core.send(msg(queue('other'), body(i), { durable: true }));
    const byName = new Map(core.queueStats().map((s) => [s.name, s]));
    assert.ok(byName.get('small.q')!.paged > 0);
    assert.equal(byName.get('other')!.paged, 0);
  });

  test('non-durable messages are paged too, and are not recovered after a restart', async () => {
    const store = new MemoryStore();
    const core = await openCore({ store, globalMaxSizeBytes: 5000 });
    for (let i = 0; i < 30; i++) await core.send(msg(queue('nd'), body(i)));
    assert.ok(core.queueStats().find((s) => s.name === 'nd')!.paged > 0);
    const { sink } = await consume(core, { destination: queue('nd') }, 1000);
    assert.equal((await sink.count(30)).length, 30);
    await core.close();
    const again = await openCore({ store });
    assert.equal(again.getQueue('nd'), undefined);
  });

  test('a recovered backlog is read back in order', async () => {
    const store = new MemoryStore();
    const core = await openCore({ store });
    for (let i = 0; i < 1500; i++) await core.send(msg(queue('backlog'), body(i), { durable: true }));
    await core.close();
    const again = await openCore({ store });
    const { sink } = await consume(again, { destination: queue('backlog') }, 2000);
    const got = await sink.count(1500);
    assert.deepEqual(
      got.map((d) => Number(d.message.body.toString().slice(1, 5))),
      Array.from({ length: 1500 }, (_, i) => i),
    );
  });

  test('topic subscriptions page independently of each other', async () => {
    const core = await openCore({ globalMaxSizeBytes: 20_000 });
    const slow = await consume(core, { destination: topic('t'), subscription: { name: 's', clientId: 'c', durable: true } }, 0);
    const fast = await consume(core, { destination: topic('t') }, 1000);
    for (let i = 0; i < 100; i++) await core.send(msg(topic('t'), body(i), { durable: true }));
    assert.equal((await fast.sink.count(100)).length, 100);
    slow.consumer.grant(1000);
    const got = await slow.sink.count(100);
    assert.equal(got[99]!.message.body.toString().slice(0, 5), 'm0099');
  });

  test('purge removes paged messages too', async () => {
    const store = new MemoryStore();
    const core = await openCore({ store, globalMaxSizeBytes: 5000 });
    for (let i = 0; i < 50; i++) await core.send(msg(queue('p'), body(i), { durable: true }));
    assert.equal(await core.purge('p'), 50);
    assert.equal(core.queueStats().find((s) => s.name === 'p')!.messages, 0);
    assert.equal(store.size, 0);
  });

  test('BLOCK holds a send until a consumer makes room', async () => {
    const core = await openCore({ addressSettings: { blocked: { maxSizeBytes: 3000, addressFullPolicy: 'BLOCK' } } });
    for (let i = 0; i < 2; i++) await core.send(msg(queue('blocked'), body(i)));
    let sent = false;
    const third = core.send(msg(queue('blocked'), body(2))).then(() => (sent = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(sent, false, 'the third send waits');
    assert.equal(core.brokerStats().blockedSends, 1);
    const { consumer, sink } = await consume(core, { destination: queue('blocked') }, 1);
    const [first] = await sink.count(1);
    await consumer.ack(first!.id);
    await third;
    assert.equal(sent, true);
  });

  test('FAIL rejects a send over the broker memory limit', async () => {
    const core = await openCore({ globalMaxSizeBytes: 3000, addressSettings: { '>': { addressFullPolicy: 'FAIL' } } });
    for (let i = 0; i < 2; i++) await core.send(msg(queue('f'), body(i)));
    const err = await rejection(core.send(msg(queue('f'), body(2))));
    assert.equal(err.code, 'ERR_ADDRESS_FULL');
  });
});

describe('recovery of timed messages', () => {
  test('a scheduled message recovered from the store is still held until its time', async () => {
    const store = new MemoryStore();
    const core = await openCore({ store });
    await core.send(msg(queue('later'), 'x', { durable: true, deliveryTime: Date.now() + 400 }));
    await core.send(msg(queue('later'), 'now', { durable: true }));
    await core.close();
    const again = await openCore({ store });
    const { sink } = await consume(again, { destination: queue('later') }, 10);
    const [first] = await sink.count(1);
    assert.equal(first!.message.body.toString(), 'now');
    const got = await sink.count(2);
    assert.equal(got[1]!.message.body.toString(), 'x');
  });

  test('a message that expired while the broker was down is not delivered after recovery', async () => {
    const store = new MemoryStore();
    const core = await openCore({ store });
    await core.send(msg(queue('ttl'), 'old', { durable: true, expiration: Date.now() + 50 }));
    await core.send(msg(queue('ttl'), 'fresh', { durable: true }));
    await core.close();
    await new Promise((r) => setTimeout(r, 80));
    const again = await openCore({ store });
    const { sink } = await consume(again, { destination: queue('ttl') }, 10);
    const [first] = await sink.count(1);
    assert.equal(first!.message.body.toString(), 'fresh');
    const dlq = await consume(again, { destination: queue('ActiveMQ.DLQ') }, 10);
    assert.equal((await dlq.sink.count(1))[0]!.message.body.toString(), 'old');
  });
});
