import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { JournalStore } from '../../../src/store/journal/journal-store.ts';
import { storedMessage } from '../../helpers/store-fixtures.ts';

/*
 * A read (paging, the retained messages read at start) locates its records first and then reads
 * them one after another; compaction may move those records forward and delete their segment in
 * between. Since the journal compacts at open (issue 12 item 17), the core's read of the retained
 * messages at start meets it: the read must follow the records, not fail with "segment is gone"
 * (which fails the broker's start).
 */

let dir: string;
const errors: string[] = [];
const log = { debug: () => {}, info: () => {}, warn: () => {}, error: (_o: object, msg: string) => void errors.push(msg) };

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'junction-read-compaction-'));
  errors.length = 0;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a read started while compaction at open moves its records and deletes their segment returns every message', async () => {
  const kept: string[] = [];
  // No compaction while writing (threshold 0), so the next open finds it all to do.
  const j = new JournalStore({ dir, log, sync: { mode: 'never' }, segmentSize: 64 * 1024, compactThreshold: 0 });
  await j.open();
  // Segments of 64 KiB, one message in ten kept: many segments, each mostly dead.
  for (let n = 0; n < 400; n++) {
    const key = `k${n}`;
    await j.commit([{ op: 'addMessage', key, message: storedMessage(n, 1000) }, { op: 'addRef', queue: 'q', key }]);
    if (n % 10 === 0) kept.push(key);
    else await j.commit([{ op: 'removeRef', queue: 'q', key }]);
  }
  await j.close();

  const again = new JournalStore({ dir, log, sync: { mode: 'never' }, segmentSize: 64 * 1024 });
  await again.open();
  const before = again.statistics().segments;
  assert.ok(before >= 3, `expected several segments to compact, got ${before}`);
  // Newest first: the records of the oldest segments, compacted first, are read last.
  const wanted = [...kept].reverse();
  const messages = await again.read(wanted);
  assert.ok(again.statistics().compactedSegments > 0, 'compaction ran during the read');
  assert.deepEqual(
    messages.map((m) => m?.timestamp),
    wanted.map((k) => Number(k.slice(1))),
  );
  await again.idle();
  await again.close();
  assert.deepEqual(errors, []);
});
