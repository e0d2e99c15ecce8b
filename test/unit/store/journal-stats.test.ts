import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { JournalStore } from '../../../src/store/journal/journal-store.ts';
import { JOURNAL_SYNC_SECONDS_BUCKETS } from '../../../src/store/journal/journal-types.ts';
import { storedMessage } from '../../helpers/store-fixtures.ts';

/*
 * Issue 15: the journal's statistics carry what /metrics exposes: bytes written and an fsync latency
 * histogram, one observation per fdatasync (group commit), never per message.
 */

const log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

test('every fsync is one histogram observation; bytes written match the segment files', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'junction-jstats-'));
  try {
    const j = new JournalStore({ dir, log, sync: { mode: 'always' } });
    await j.open();
    const before = j.statistics();
    assert.equal(before.syncSeconds.buckets.length, JOURNAL_SYNC_SECONDS_BUCKETS.length);
    // 50 commits in one turn go out as one group: one write, one fsync.
    await Promise.all(Array.from({ length: 50 }, (_, i) => j.commit([{ op: 'addMessage', key: `k${i}`, message: storedMessage(i, 100) }, { op: 'addRef', queue: 'q', key: `k${i}` }])));
    for (let i = 50; i < 53; i++) await j.commit([{ op: 'addMessage', key: `k${i}`, message: storedMessage(i, 100) }, { op: 'addRef', queue: 'q', key: `k${i}` }]);
    const s = j.statistics();
    assert.equal(s.syncs - before.syncs, 4, 'one group of 50, then 3 alone');
    assert.equal(s.syncSeconds.count - before.syncSeconds.count, 4);
    assert.equal(s.syncSeconds.count, s.syncs);
    assert.ok(s.syncSeconds.sumSeconds > 0);
    // Cumulative buckets: never decreasing, the last at most the count.
    for (let i = 1; i < s.syncSeconds.buckets.length; i++) assert.ok(s.syncSeconds.buckets[i]! >= s.syncSeconds.buckets[i - 1]!);
    assert.ok(s.syncSeconds.buckets.at(-1)! <= s.syncSeconds.count);
    const files = await Promise.all(j['segments'].map((seg: { file: string }) => stat(seg.file)));
    assert.equal(s.bytesWritten, files.reduce((n, f) => n + f.size, 0));
    assert.ok(s.bytesWritten > 53 * 100);
    await j.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('sync never: no fsync observed, bytes still counted', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'junction-jstats-'));
  try {
    const j = new JournalStore({ dir, log, sync: { mode: 'never' } });
    await j.open();
    await j.commit([{ op: 'addMessage', key: 'a', message: storedMessage(1, 1000) }]);
    const s = j.statistics();
    assert.equal(s.syncSeconds.count, 0);
    assert.ok(s.bytesWritten >= 1000);
    await j.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
