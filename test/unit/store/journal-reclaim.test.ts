import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { JournalStore, type JournalOptions } from '../../../src/store/journal/journal-store.ts';
import type { StoreOp } from '../../../src/core/ports/store.ts';
import { storedMessage } from '../../helpers/store-fixtures.ts';

/*
 * Issue 12 item 17: the journal gives disk space back after a drain even when everything sits in
 * one segment (segments far larger than what was written), and a file system too small for one
 * segment is reported at start with a smaller segment used instead.
 */

let dir: string;
const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
const log = {
  debug: () => {},
  info: () => {},
  warn: (o: object, msg: string) => void lines.push({ level: 'warn', obj: o as Record<string, unknown>, msg }),
  error: (o: object, msg: string) => void lines.push({ level: 'error', obj: o as Record<string, unknown>, msg }),
};

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'junction-reclaim-'));
  lines.length = 0;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function journal(opts: Partial<JournalOptions> = {}): JournalStore {
  return new JournalStore({ dir, log, sync: { mode: 'never' }, ...opts });
}

function send(n: number, queue = 'q', size = 4096): StoreOp[] {
  return [
    { op: 'addMessage', key: `k${n}`, message: storedMessage(n, size) },
    { op: 'addRef', queue, key: `k${n}` },
  ];
}

/** Bytes of every segment file in the journal dir, as the file system sees them. */
async function diskBytes(): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir)) {
    if (!f.endsWith('.seg')) continue;
    n += await stat(path.join(dir, f)).then(
      (s) => s.size,
      (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? 0 : Promise.reject(err)), // deleted between readdir and stat
    );
  }
  return n;
}

/**
 * Waits until the journal has one segment: compaction goes on in steps between idle periods (each
 * step is queued as a commit), so each round waits for the writer, then for the next step's turn.
 */
async function settled(j: JournalStore): Promise<void> {
  for (let i = 0; i < 1000 && j.statistics().segments > 1; i++) {
    await j.idle();
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(j.statistics().segments, 1, 'compaction emptied the rolled segment');
  await j.released();
}

/** Commits and removes `count` messages of `size` bytes, in batches so the writes group. */
async function fillAndDrain(j: JournalStore, count: number, size: number, first = 0): Promise<void> {
  await Promise.all(Array.from({ length: count }, (_, i) => j.commit(send(first + i, 'q', size))));
  await Promise.all(Array.from({ length: count }, (_, i) => j.commit([{ op: 'removeRef', queue: 'q', key: `k${first + i}` }])));
  await j.idle();
  await j.released();
}

test('a drain inside one large segment gives the space back (the dead head is rolled and deleted)', async () => {
  const j = journal(); // 32 MiB segments: 2 MiB of messages all sit in the first one
  await j.open();
  await fillAndDrain(j, 512, 4096);
  const s = j.statistics();
  assert.equal(s.messages, 0);
  assert.ok((await diskBytes()) < 64 * 1024, `journal files still hold ${await diskBytes()} bytes after the drain`);
  assert.equal(s.segments, 1, 'one (new, empty) head segment');
  // Still a working journal: later commits are stored and recovered.
  await j.commit(send(9999, 'q', 100));
  await j.close();
  const again = journal();
  const state = await again.open();
  assert.deepEqual([...state.messages].map((m) => m.key), ['k9999']);
  await again.close();
});

test('a drain with a durable subscription and protocol state still live compacts them forward and gives the rest back', async () => {
  const j = journal();
  await j.open();
  await j.commit([{ op: 'createQueue', queue: { name: 'sub', kind: 'subscription', topic: 't' } }]);
  await j.commit([{ op: 'putState', key: 'mqtt.session.c1', value: { n: 1 } }]);
  await j.commit(send(-1, 'keep', 1000));
  await fillAndDrain(j, 512, 4096);
  await settled(j);
  assert.ok(j.statistics().compactedSegments >= 1, 'the old head was compacted');
  assert.ok((await diskBytes()) < 64 * 1024, `journal files still hold ${await diskBytes()} bytes after the drain`);
  await j.close();
  const again = journal();
  const state = await again.open();
  assert.deepEqual(state.queues.map((q) => q.name), ['sub']);
  assert.deepEqual(state.states, [{ key: 'mqtt.session.c1', value: { n: 1 } }]);
  const messages = [...state.messages];
  assert.deepEqual(messages.map((m) => [m.key, m.refs]), [['k-1', [{ queue: 'keep', deliveryCount: 0 }]]]);
  assert.equal((await again.read(['k-1']))[0]!.body.length, 1000);
  await again.close();
});

test('a dead segment left by an earlier run is given back at the next start', async () => {
  // Below the running journal's threshold (it rolls a dead head only from 1 MiB on): left as it is.
  const j = journal();
  await j.open();
  await fillAndDrain(j, 50, 4096);
  await j.close();
  const before = await diskBytes();
  assert.ok(before > 200 * 1024, `expected the dead records on disk, got ${before} bytes`);
  const again = journal();
  await again.open();
  await again.idle();
  await again.released();
  assert.ok((await diskBytes()) < 1024, `journal files still hold ${await diskBytes()} bytes after a restart`);
  await again.close();
});

test('a file system with less free space than one segment: warned at start, and a smaller segment is used', async () => {
  const j = journal({ statfs: async () => ({ bavail: 512, bsize: 4096 }) }); // 2 MiB free, 32 MiB segments
  await j.open();
  const warning = lines.find((l) => l.level === 'warn' && /segment/.test(l.msg));
  assert.ok(warning, `no warning: ${JSON.stringify(lines)}`);
  assert.equal(warning.obj.free, 2 * 1024 * 1024);
  assert.equal(warning.obj.segmentSize, 32 * 1024 * 1024);
  assert.equal(warning.obj.using, 512 * 1024);
  assert.equal(j.statistics().segmentSize, 512 * 1024);
  // The smaller segment is the one rolled at.
  for (let b = 0; b < 15; b++) await Promise.all(Array.from({ length: 20 }, (_, i) => j.commit(send(b * 20 + i, 'q', 4096))));
  assert.ok(j.statistics().segments >= 2, `rolled at 512 KiB: ${j.statistics().segments} segments`);
  await j.close();
});

test('enough free space: no warning and the configured segment size', async () => {
  const j = journal({ statfs: async () => ({ bavail: 1 << 20, bsize: 4096 }) });
  await j.open();
  assert.deepEqual(lines, []);
  assert.equal(j.statistics().segmentSize, 32 * 1024 * 1024);
  await j.close();
});

test('a nearly full file system (less than the smallest segment free) still starts, with a warning naming the free space', async () => {
  const j = journal({ statfs: async () => ({ bavail: 4, bsize: 4096 }) });
  await j.open();
  const warning = lines.find((l) => l.level === 'warn');
  assert.ok(warning);
  assert.equal(warning.obj.free, 16 * 1024);
  assert.equal(j.statistics().segmentSize, 64 * 1024);
  await j.close();
});
