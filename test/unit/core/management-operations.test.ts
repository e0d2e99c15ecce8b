import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import pino from 'pino';
import type { Core } from '../../../src/core/core.ts';
import type { MessageOperation } from '../../../src/core/handles.ts';
import type { Origin } from '../../../src/core/reserved.ts';
import { JournalStore } from '../../../src/store/journal/journal-store.ts';
import { MemoryStore } from '../../../src/store/memory-store.ts';
import { FakeAuthorizer, subjectOf } from '../../helpers/fake-authorizer.ts';
import { closeCores, consume, msg, openCore, queue, rejection, sendAll, topic } from './core-fixture.ts';

// Issue 15: bulk operations on a queue's messages (Core.messageOperation), a step at a time.

const silent = pino({ level: 'silent' });
afterEach(closeCores);

/** Runs an operation to its end in steps of `max`; returns the steps' counts. */
async function runAll(op: MessageOperation, max = 2000): Promise<number[]> {
  const steps: number[] = [];
  while (!op.done) steps.push(await op.step(max));
  return steps;
}

const bodies = (core: Core, name: string) => core.getQueue(name)!.browse().map((m) => m.body.toString());
const stat = (core: Core, name: string) => core.queueStats().find((s) => s.name === name)!;

describe('remove', () => {
  test('by selector and by ids; in delivery skipped; counted as acknowledged; the store is cleaned', async () => {
    const store = new MemoryStore();
    const core = await openCore({ store });
    for (let i = 0; i < 10; i++) await core.send(msg(queue('q'), `m${i}`, { durable: true, properties: { n: i } }));
    const { sink } = await consume(core, { destination: queue('q') }, 1);
    await sink.count(1); // m0 in delivery
    const op = core.messageOperation('q', 'remove', { selector: 'n < 5' });
    assert.equal(op.total, 10);
    await runAll(op);
    assert.equal(op.processed, 4);
    assert.equal(op.skipped, 1, 'm0 is in delivery');
    assert.deepEqual(bodies(core, 'q'), ['m0', 'm5', 'm6', 'm7', 'm8', 'm9']);
    assert.equal(stat(core, 'q').acked, 4);
    const ids = core.getQueue('q')!.browse().filter((m) => ['m6', 'm8'].includes(m.body.toString())).map((m) => m.id);
    const byIds = core.messageOperation('q', 'remove', { ids: [...ids, 'ID:none'] });
    assert.equal(byIds.total, 3);
    await runAll(byIds);
    assert.equal(byIds.processed, 2);
    assert.deepEqual(bodies(core, 'q'), ['m0', 'm5', 'm7', 'm9']);
    assert.equal(store.size, 4);
  });
});

describe('move, copy, retry', () => {
  test('move keeps id, body, headers, properties, priority, expiration; copy gets a new id and leaves the source', async () => {
    const core = await openCore();
    const expiration = Date.now() + 3_600_000;
    const sent = await core.send(msg(queue('src'), 'payload', { priority: 7, expiration, correlationId: 'c-1', type: 't', properties: { k: 'v' }, durable: true }));
    const copy = core.messageOperation('src', 'copy', {}, { target: 'dst' });
    await runAll(copy);
    assert.equal(copy.processed, 1);
    const copied = core.getQueue('dst')!.browse()[0]!;
    assert.notEqual(copied.id, sent.id);
    assert.equal(core.getQueue('src')!.messageCount, 1);
    const move = core.messageOperation('src', 'move', {}, { target: 'dst' });
    await runAll(move);
    const moved = core.getQueue('dst')!.browse().find((m) => m.id === sent.id)!;
    assert.ok(moved, 'the move keeps the id');
    for (const m of [moved, copied]) {
      assert.equal(m.body.toString(), 'payload');
      assert.equal(m.priority, 7);
      assert.equal(m.expiration, expiration);
      assert.equal(m.correlationId, 'c-1');
      assert.equal(m.type, 't');
      assert.deepEqual(m.properties, { k: 'v' });
      assert.deepEqual(m.destination, { type: 'queue', name: 'dst' });
    }
    assert.deepEqual(moved.originalDestination, { type: 'queue', name: 'src' });
    assert.equal(core.getQueue('src')!.messageCount, 0);
    assert.equal(stat(core, 'src').acked, 1);
  });

  test('a move to a topic reaches its subscriptions; to a topic nobody follows it stops and keeps the message', async () => {
    const core = await openCore({ topics: ['empty'] });
    const a = await consume(core, { destination: topic('news') });
    const b = await consume(core, { destination: topic('news'), selector: 'keep = true' });
    await core.send(msg(queue('src'), 'x', { properties: { keep: true } }));
    await core.send(msg(queue('src'), 'y', { properties: { keep: false } }));
    const stopped = core.messageOperation('src', 'move', {}, { target: 'empty' });
    assert.equal((await rejection(stopped.step(10))).code, 'ERR_ADDRESS_NOT_FOUND');
    assert.equal(stopped.done, true);
    assert.equal(core.getQueue('src')!.messageCount, 2);
    await runAll(core.messageOperation('src', 'move', {}, { target: 'news' }));
    assert.deepEqual(a.sink.bodies, ['x', 'y']);
    assert.deepEqual(b.sink.bodies, ['x']);
  });

  test('retry sends a dead-lettered message back to its origin, where a consumer gets it', async () => {
    const core = await openCore({ addressSettings: { '#': { deadLetterAddress: 'DLQ', maxDeliveryAttempts: 1 } } });
    await core.send(msg(queue('orders'), 'poison', { durable: true }));
    await core.send(msg(queue('DLQ'), 'no origin'));
    const first = await consume(core, { destination: queue('orders') }, 1);
    const [d] = await first.sink.count(1);
    await first.consumer.nack(d!.id);
    first.consumer.close();
    assert.equal(core.getQueue('DLQ')!.messageCount, 2);
    const op = core.messageOperation('DLQ', 'retry', {});
    await runAll(op);
    assert.equal(op.processed, 1);
    assert.equal(op.skipped, 1, 'the message with no original destination');
    assert.deepEqual(bodies(core, 'DLQ'), ['no origin']);
    const again = await consume(core, { destination: queue('orders') });
    const [back] = await again.sink.count(1);
    assert.equal(back!.message.body.toString(), 'poison');
    assert.equal(back!.message.id, d!.message.id);
    assert.equal(back!.message.originalDestination, undefined);
    await again.consumer.ack(back!.id);
    assert.equal(core.getQueue('orders')!.messageCount, 0);
  });

  test('50,000 messages moved in slices: each step takes at most its max, one store batch each', async () => {
    const store = new MemoryStore();
    const core = await openCore({ store });
    let commits = 0;
    const commit = store.commit.bind(store);
    store.commit = (batch) => {
      commits++;
      return commit(batch);
    };
    for (let i = 0; i < 50_000; i += 1000) {
      await Promise.all(Array.from({ length: 1000 }, (_, k) => core.send({ destination: queue('big'), body: Buffer.from(String(i + k)), durable: true })));
    }
    const op = core.messageOperation('big', 'move', {}, { target: 'moved' });
    assert.equal(op.total, 50_000);
    const before = commits;
    const steps = await runAll(op, 2000);
    assert.ok(steps.every((n) => n <= 2000));
    assert.equal(op.processed, 50_000);
    assert.equal(steps.filter((n) => n > 0).length, 25);
    assert.equal(commits - before, 25, 'one store batch per step');
    assert.equal(store.size, 50_000, 'each message stored once, in its new queue');
    assert.equal(core.getQueue('big')!.messageCount, 0);
    const moved = core.getQueue('moved')!.browse();
    assert.equal(moved.length, 50_000);
    assert.equal(moved[49_999]!.body.toString(), '49999');
  });

  test('paged messages are moved too, in order, and the journal agrees after a restart', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'junction-mgmt-op-'));
    try {
      const store = () => new JournalStore({ dir, log: silent, sync: { mode: 'never' } });
      const core = await openCore({ store: store(), globalMaxSizeBytes: 30_000 });
      for (let i = 0; i < 300; i++) await core.send(msg(queue('src'), `m${String(i).padStart(3, '0')}`.padEnd(400, '.'), { durable: true, properties: { n: i } }));
      assert.ok(stat(core, 'src').paged > 200);
      const op = core.messageOperation('src', 'move', { selector: 'n >= 100' }, { target: 'dst' });
      const steps = await runAll(op, 64);
      assert.equal(op.processed, 200);
      assert.ok(steps.every((n) => n <= 64));
      assert.equal(stat(core, 'src').messages, 100);
      assert.equal(stat(core, 'dst').messages, 200);
      await core.close();
      const again = await openCore({ store: store() });
      const src = await consume(again, { destination: queue('src') }, 1000);
      const dst = await consume(again, { destination: queue('dst') }, 1000);
      const got = await src.sink.count(100);
      assert.deepEqual(
        got.map((d) => d.message.properties.n),
        Array.from({ length: 100 }, (_, i) => i),
      );
      const moved = await dst.sink.count(200);
      assert.deepEqual(
        moved.map((d) => d.message.properties.n),
        Array.from({ length: 200 }, (_, i) => i + 100),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('messages arriving during the operation are not taken, and it ends', async () => {
    const core = await openCore();
    await sendAll(core, queue('q'), ['a', 'b', 'c']);
    const op = core.messageOperation('q', 'copy', {}, { target: 'q2' });
    await op.step(1);
    await sendAll(core, queue('q'), ['d', 'e']);
    await runAll(op, 1);
    assert.equal(op.processed, 3);
    assert.deepEqual(bodies(core, 'q2'), ['a', 'b', 'c']);
  });

  test('a queue deleted mid-operation ends it cleanly', async () => {
    const core = await openCore();
    await sendAll(core, queue('q'), ['a', 'b', 'c', 'd']);
    const op = core.messageOperation('q', 'remove', {});
    assert.equal(await op.step(2), 2);
    await core.deleteQueue('q');
    assert.equal(await op.step(2), 0);
    assert.equal(op.done, true);
    assert.equal(core.memory().usedBytes, 0);
  });

  test('a full target stops the operation with an error; what was not moved stays', async () => {
    const core = await openCore({ addressSettings: { 'full.#': { maxSizeBytes: 1000, addressFullPolicy: 'FAIL' }, 'paging.#': { maxSizeBytes: 1000, addressFullPolicy: 'PAGE' } } });
    for (let i = 0; i < 30; i++) await core.send(msg(queue('src'), 'x'.repeat(100)));
    const op = core.messageOperation('src', 'move', {}, { target: 'full.q' });
    const err = await rejection(runAll(op, 5));
    assert.equal(err.code, 'ERR_ADDRESS_FULL');
    assert.equal(op.done, true);
    const moved = stat(core, 'full.q').messages;
    assert.ok(moved > 0 && moved < 30, `moved ${moved}`);
    assert.equal(stat(core, 'src').messages, 30 - moved);
    const paging = core.messageOperation('src', 'move', {}, { target: 'paging.q' });
    await runAll(paging);
    assert.equal(stat(core, 'paging.q').messages, 30 - moved);
    assert.ok(stat(core, 'paging.q').paged > 0);
  });

  test('permissions: manage on the queue, send (and a first send\'s create permissions) on the target', async () => {
    const authz = new FakeAuthorizer({
      ops: ['manage src', 'send dst', 'send new.#', 'createAddress new.#', 'createDurableQueue new.#'],
      nosend: ['manage src'],
      viewer: ['browse src'],
    });
    const core = await openCore({ authorizer: authz });
    await sendAll(core, queue('src'), ['a', 'b']);
    await core.send(msg(queue('dst'), 'z'));
    const as = (user: string): Origin => ({ component: 'management', subject: subjectOf(user) });
    assert.throws(() => core.messageOperation('src', 'remove', {}, {}, as('viewer')), { code: 'ERR_SECURITY_UNAUTHORIZED' });
    assert.throws(() => core.messageOperation('src', 'move', {}, { target: 'dst' }, as('nosend')), { code: 'ERR_SECURITY_UNAUTHORIZED' });
    assert.throws(() => core.messageOperation('src', 'copy', {}, { target: 'other' }, as('ops')), { code: 'ERR_SECURITY_UNAUTHORIZED' });
    assert.throws(() => core.messageOperation('src', 'move', {}, { target: 'src' }, as('ops')), { code: 'ERR_ADDRESS_INVALID' });
    assert.throws(() => core.messageOperation('src', 'move', {}, {}, as('ops')), { code: 'ERR_ADDRESS_INVALID' });
    assert.throws(() => core.messageOperation('src', 'remove', { selector: 'a =' }, {}, as('ops')), { code: 'ERR_SELECTOR_SYNTAX' });
    await runAll(core.messageOperation('src', 'copy', {}, { target: 'new.q' }, as('ops')));
    await runAll(core.messageOperation('src', 'move', {}, { target: 'dst' }, as('ops')));
    assert.deepEqual(bodies(core, 'dst'), ['z', 'a', 'b']);
    assert.deepEqual(bodies(core, 'new.q'), ['a', 'b']);
  });

  test('paged messages wait while an operation runs, and are delivered once it is cancelled; a purge meanwhile is not disturbed', async () => {
    const core = await openCore({ globalMaxSizeBytes: 20_000 });
    for (let i = 0; i < 200; i++) await core.send(msg(queue('src'), `m${i}`.padEnd(500, '.'), { durable: true, properties: { n: i } }));
    const paged = stat(core, 'src').paged;
    assert.ok(paged > 100);
    const op = core.messageOperation('src', 'copy', { selector: 'n = 199' }, { target: 'dst' });
    const { consumer, sink } = await consume(core, { destination: queue('src') }, 1000);
    await sink.count(200 - paged);
    for (const d of sink.deliveries) await consumer.ack(d.id);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(sink.deliveries.length, 200 - paged, 'paged ones are held back while the operation runs');
    op.cancel!();
    assert.equal(op.done, true);
    assert.equal(await op.step(10), 0);
    await sink.count(200);
    assert.deepEqual(
      sink.deliveries.map((d) => d.message.properties.n),
      Array.from({ length: 200 }, (_, i) => i),
    );
    // Two holds at once (an operation and a purge): the purge's end does not release the operation's.
    for (let i = 0; i < 100; i++) await core.send(msg(queue('other'), `o${i}`.padEnd(500, '.'), { durable: true }));
    assert.ok(stat(core, 'other').paged > 0);
    const held = core.messageOperation('other', 'copy', {}, { target: 'copies' });
    assert.equal(await core.purge('other'), 100);
    await runAll(held);
    assert.equal(stat(core, 'other').messages, 0);
  });
});
