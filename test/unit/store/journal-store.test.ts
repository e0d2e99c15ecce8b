import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import type { Message } from '../../../src/core/message.ts';
import { JournalStore, type JournalOptions } from '../../../src/store/journal/journal-store.ts';
import { HEADER_SIZE } from '../../../src/store/journal/record.ts';
import { storedMessage } from '../../helpers/store-fixtures.ts';
import type { RecoveredMessage, RecoveredState, StoreOp } from '../../../src/core/ports/store.ts';

let dir: string;
const warnings: Array<Record<string, unknown>> = [];
const log = {
  debug: () => {},
  info: () => {},
  warn: (o: object) => void warnings.push(o as Record<string, unknown>),
  error: (o: object) => void warnings.push(o as Record<string, unknown>),
};

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'junction-journal-'));
  warnings.length = 0;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function journal(opts: Partial<JournalOptions> = {}): JournalStore {
  return new JournalStore({ dir, log, sync: { mode: 'always' }, ...opts });
}

function msg(n: number, size = 16): Message {
  return storedMessage(n, size, { type: 'queue', name: 'q' }, { n });
}

function send(n: number, queues = ['q'], size = 16): StoreOp[] {
  return [{ op: 'addMessage', key: `k${n}`, message: msg(n, size) }, ...queues.map((queue) => ({ op: 'addRef' as const, queue, key: `k${n}` }))];
}

/** The recovered state with its (lazily made) messages as an array. */
function materialised(s: RecoveredState): { queues: RecoveredState['queues']; messages: RecoveredMessage[] } {
  return { queues: s.queues, messages: [...s.messages] };
}

async function segmentFiles(): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.seg')).sort();
}

test('messages committed are recovered in order with their references and delivery counts', async () => {
  const j = journal();
  assert.deepEqual(materialised(await j.open()), { queues: [], messages: [] });
  for (let i = 1; i <= 5; i++) await j.commit(send(i, ['a', 'b']));
  await j.commit([{ op: 'removeRef', queue: 'a', key: 'k2' }]);
  await j.commit([{ op: 'removeRef', queue: 'a', key: 'k3' }, { op: 'removeRef', queue: 'b', key: 'k3' }]);
  await j.commit([{ op: 'deliveryCount', queue: 'b', key: 'k4', count: 3 }]);
  await j.close();

  const again = journal();
  const state = materialised(await again.open());
  assert.deepEqual(state.messages.map((m) => m.key), ['k1', 'k2', 'k4', 'k5']);
  assert.deepEqual(state.messages[1]!.refs, [{ queue: 'b', deliveryCount: 0 }]);
  assert.deepEqual(state.messages[2]!.refs, [{ queue: 'a', deliveryCount: 0 }, { queue: 'b', deliveryCount: 3 }]);
  const [m1, m5] = await again.read(['k1', 'k5']);
  assert.deepEqual(m1!.body, msg(1).body);
  assert.deepEqual(m1!.properties, { n: 1 });
  assert.deepEqual(m5!.body, msg(5).body);
  assert.deepEqual(await again.read(['k3']), [undefined], 'a removed message cannot be read back');
  await again.close();
});

test('durable subscriptions are recovered; deleting one drops its references', async () => {
  const j = journal();
  await j.open();
  await j.commit([{ op: 'createQueue', queue: { name: 'c.s', kind: 'subscription', topic: 't', clientId: 'c', subscriptionName: 's' } }]);
  await j.commit([{ op: 'createQueue', queue: { name: 'c.x', kind: 'subscription', topic: 't' } }]);
  await j.commit(send(1, ['c.s', 'c.x']));
  await j.commit([{ op: 'deleteQueue', queue: 'c.x' }]);
  await j.close();
  const state = materialised(await journal().open());
  assert.deepEqual(state.queues.map((q) => q.name), ['c.s']);
  assert.deepEqual(state.messages[0]!.refs.map((r) => r.queue), ['c.s']);
});

test('commits of one event-loop turn share one write and one fsync (group commit)', async () => {
  const j = journal();
  await j.open();
  const before = j.statistics();
  await Promise.all(Array.from({ length: 100 }, (_, i) => j.commit(send(i))));
  const after = j.statistics();
  assert.equal(after.writes - before.writes, 1);
  assert.equal(after.syncs - before.syncs, 1);
  await j.close();
});

test('a torn tail (cut mid-record) is truncated with a warning naming file and offset', async () => {
  const j = journal();
  await j.open();
  for (let i = 1; i <= 3; i++) await j.commit(send(i));
  await j.close();
  const [file] = await segmentFiles();
  const full = (await stat(path.join(dir, file!))).size;
  await truncate(path.join(dir, file!), full - 7);

  const state = materialised(await journal().open());
  assert.deepEqual(state.messages.map((m) => m.key), ['k1', 'k2']);
  const w = warnings.find((x) => x.file !== undefined);
  assert.ok(w, 'a warning names the file');
  assert.equal(w.file, path.join(dir, file!));
  assert.equal(typeof w.offset, 'number');
  assert.ok((await stat(path.join(dir, file!))).size < full - 7, 'the torn bytes are cut off the file');
});

test('flipped bytes in the last record are a torn tail: truncated, earlier records kept', async () => {
  const j = journal();
  await j.open();
  for (let i = 1; i <= 3; i++) await j.commit(send(i));
  await j.close();
  const [file] = await segmentFiles();
  const p = path.join(dir, file!);
  const buf = await readFile(p);
  buf[buf.length - 3]! ^= 0xff;
  await writeFile(p, buf);
  const state = materialised(await journal().open());
  assert.deepEqual(state.messages.map((m) => m.key), ['k1', 'k2']);
});

test('flipped bytes in the middle stop the start with a clear error, and --recover-skip-corrupt skips them', async () => {
  const j = journal();
  await j.open();
  for (let i = 1; i <= 3; i++) await j.commit(send(i));
  await j.close();
  const [file] = await segmentFiles();
  const p = path.join(dir, file!);
  const buf = await readFile(p);
  buf[HEADER_SIZE + 20]! ^= 0xff; // inside the first record
  await writeFile(p, buf);

  await assert.rejects(journal().open(), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'ERR_STORE_CORRUPT');
    assert.match(err.message, new RegExp(`${file}.*offset 0`));
    assert.match(err.message, /recover-skip-corrupt/);
    return true;
  });
  assert.equal((await readFile(p)).length, buf.length, 'nothing was truncated');

  const state = materialised(await journal({ skipCorrupt: true }).open());
  assert.deepEqual(state.messages.map((m) => m.key), ['k2', 'k3']);
});

test('segments roll at the configured size and dead ones are deleted from the oldest', async () => {
  const j = journal({ segmentSize: 64 * 1024 });
  await j.open();
  for (let i = 0; i < 40; i++) await j.commit(send(i, ['q'], 4096));
  const rolled = j.statistics().segments;
  assert.ok(rolled >= 3, `expected several segments, got ${rolled}`);
  for (let i = 0; i < 40; i++) await j.commit([{ op: 'removeRef', queue: 'q', key: `k${i}` }]);
  await j.idle();
  assert.equal(j.statistics().segments, 1, 'every dead segment but the head is gone');
  assert.equal((await segmentFiles()).length, 1);
  await j.close();
  assert.deepEqual(materialised(await journal().open()).messages, []);
});

test('compaction rewrites the live records of old segments forward and keeps recovery exact', async () => {
  const j = journal({ segmentSize: 64 * 1024, compactThreshold: 0.5 });
  await j.open();
  // One long-lived message at the very start pins the oldest segment.
  await j.commit(send(0, ['keep'], 1024));
  for (let i = 1; i < 80; i++) await j.commit(send(i, ['q'], 4096));
  for (let i = 1; i < 80; i++) await j.commit([{ op: 'removeRef', queue: 'q', key: `k${i}` }]);
  await compactDown(j, 10);
  await j.close();
  const again = journal();
  const state = materialised(await again.open());
  assert.deepEqual(state.messages.map((m) => m.key).slice(0, 1), ['k0']);
  assert.deepEqual(state.messages[0]!.refs, [{ queue: 'keep', deliveryCount: 0 }]);
  const [k0] = await again.read(['k0']);
  assert.equal(k0!.body.length, 1024);
  await again.close();
});

test('compaction finds live messages behind scan steps that find none, with several references and counts', async () => {
  const j = journal({ segmentSize: 64 * 1024, compactThreshold: 0.5, compactScanSlots: 2 });
  await j.open();
  for (let i = 1; i <= 5; i++) await j.commit(send(i, ['q'], 1024));
  // The long-lived message sits behind five slots that will be free or elsewhere: the first steps find nothing.
  await j.commit(send(0, ['keep', 'also'], 1024));
  await j.commit([{ op: 'deliveryCount', queue: 'also', key: 'k0', count: 2 }]);
  for (let i = 6; i < 80; i++) await j.commit(send(i, ['q'], 4096));
  for (let i = 1; i < 80; i++) await j.commit([{ op: 'removeRef', queue: 'q', key: `k${i}` }]);
  await compactDown(j, 20);
  await j.close();
  const again = journal();
  const state = materialised(await again.open());
  assert.equal(state.messages[0]!.key, 'k0');
  assert.deepEqual(state.messages[0]!.refs, [{ queue: 'keep', deliveryCount: 0 }, { queue: 'also', deliveryCount: 2 }]);
  assert.equal((await again.read(['k0']))[0]!.body.length, 1024);
  await again.close();
});

test('non-durable messages written for paging are readable but not recovered', async () => {
  const j = journal();
  await j.open();
  await j.commit([{ op: 'addMessage', key: 'nd', message: { ...msg(1), durable: false } }, { op: 'addRef', queue: 'q', key: 'nd' }]);
  await j.commit(send(2));
  assert.equal((await j.read(['nd']))[0]!.durable, false);
  await j.close();
  const state = materialised(await journal().open());
  assert.deepEqual(state.messages.map((m) => m.key), ['k2']);
});

test('a failed write rejects its commits and later commits succeed once writes work again', async () => {
  const j = journal();
  await j.open();
  await j.commit(send(1));
  // Break the head file handle's writes by closing its descriptor underneath the store.
  const head = (j as unknown as { head: { write: (...a: unknown[]) => Promise<unknown> } }).head;
  const real = head.write.bind(head);
  head.write = () => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
  await assert.rejects(j.commit(send(2)), (err: Error & { code?: string }) => err.code === 'ERR_STORE_FAILED');
  head.write = real;
  await j.commit(send(3));
  await j.close();
  const state = materialised(await journal().open());
  assert.deepEqual(state.messages.map((m) => m.key), ['k1', 'k3']);
});

test('a commit made while close waits for the writer to be idle is stored, not written to a closed file', async () => {
  const j = journal();
  await j.open();
  await j.commit(send(1));
  let late: Promise<void> | undefined;
  // Runs in the microtask before close's own continuation after idle.
  void j.idle().then(() => {
    late = j.commit(send(2));
  });
  await j.close();
  assert.ok(late);
  await late;
  const state = materialised(await journal().open());
  assert.deepEqual(state.messages.map((m) => m.key), ['k1', 'k2']);
});

test('commit after close is refused', async () => {
  const j = journal();
  await j.open();
  await j.close();
  await assert.rejects(j.commit(send(1)), (err: Error & { code?: string }) => err.code === 'ERR_STORE_CLOSED');
});

test('sync never: commits are confirmed after the write without an fsync', async () => {
  const j = journal({ sync: { mode: 'never' } });
  await j.open();
  await Promise.all(Array.from({ length: 10 }, (_, i) => j.commit(send(i))));
  assert.equal(j.statistics().syncs, 0);
  await j.close();
  assert.equal(materialised(await journal().open()).messages.length, 10);
});

test('sync interval: an fsync follows within the interval, not per commit', async () => {
  const j = journal({ sync: { mode: 'interval', ms: 20 } });
  await j.open();
  for (let i = 0; i < 5; i++) await j.commit(send(i));
  const before = j.statistics();
  assert.equal(before.writes, 5);
  await new Promise<void>((resolve) => {
    const check = () => (j.statistics().syncs > 0 ? resolve() : setTimeout(check, 10));
    check();
  });
  assert.ok(j.statistics().syncs < 5);
  await j.close();
});

/**
 * Lets compaction steps run (each is kicked off after a flush) with up to `rounds` small commits,
 * then checks that compaction ran and the old segments are gone.
 */
async function compactDown(j: JournalStore, rounds: number): Promise<void> {
  for (let i = 0; i < rounds && j.statistics().segments > 2; i++) {
    await j.commit(send(1000 + i, ['q'], 16));
    await j.idle();
  }
  const s = j.statistics();
  assert.ok(s.compactedSegments >= 1, 'compaction ran');
  assert.ok(s.segments <= 2, `old segments deleted (left ${s.segments})`);
}
