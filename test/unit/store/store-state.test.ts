import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import type { Message } from '../../../src/core/message.ts';
import { JournalStore, type JournalOptions } from '../../../src/store/journal/journal-store.ts';
import { MemoryStore } from '../../../src/store/memory-store.ts';
import { storedMessage } from '../../helpers/store-fixtures.ts';
import type { StoredState, StoreOp } from '../../../src/core/ports/store.ts';

/* The protocol-neutral `putState` op: the journal writes it as part of a batch record, recovery returns the live values, compaction keeps them; the memory store keeps them across close/open. */

let dir: string;
const log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'junction-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function journal(opts: Partial<JournalOptions> = {}): JournalStore {
  return new JournalStore({ dir, log, sync: { mode: 'always' }, ...opts });
}

function msg(n: number, size = 16): Message {
  return storedMessage(n, size, { type: 'topic', name: 't' });
}

function send(n: number, queue = 'q', size = 16): StoreOp[] {
  return [
    { op: 'addMessage', key: `k${n}`, message: msg(n, size) },
    { op: 'addRef', queue, key: `k${n}` },
  ];
}

const sorted = (s: StoredState[]): StoredState[] => [...s].sort((a, b) => a.key.localeCompare(b.key));

for (const kind of ['journal', 'memory'] as const) {
  test(`${kind}: the latest value of each key is recovered; null deletes it`, async () => {
    const memory = new MemoryStore();
    const make = () => (kind === 'journal' ? journal() : memory);
    const s = make();
    assert.deepEqual((await s.open()).states, []);
    await s.commit([{ op: 'putState', key: 'a', value: { n: 1, list: [1, 2], ok: true, none: null } }]);
    await s.commit([{ op: 'putState', key: 'b', value: 'x' }]);
    await s.commit([{ op: 'putState', key: 'a', value: { n: 2 } }]);
    await s.commit([{ op: 'putState', key: 'c', value: 3 }]);
    await s.commit([{ op: 'putState', key: 'c', value: null }]);
    await s.commit([{ op: 'putState', key: 'never', value: null }]);
    await s.close();
    const again = make();
    assert.deepEqual(sorted((await again.open()).states), [
      { key: 'a', value: { n: 2 } },
      { key: 'b', value: 'x' },
    ]);
    await again.close();
  });

  test(`${kind}: a state stored in a message's batch is recovered with it`, async () => {
    const memory = new MemoryStore();
    const make = () => (kind === 'journal' ? journal() : memory);
    const s = make();
    await s.open();
    await s.commit([...send(1), { op: 'putState', key: 'mqtt.in.c.1', value: { c: 'c', p: 1 } }]);
    await s.close();
    const again = make();
    const state = await again.open();
    assert.deepEqual([...state.messages].map((m) => m.key), ['k1']);
    assert.deepEqual(state.states, [{ key: 'mqtt.in.c.1', value: { c: 'c', p: 1 } }]);
    await again.close();
  });
}

test('journal: a batch cut off by a crash loses its message and its state together', async () => {
  const j = journal();
  await j.open();
  await j.commit([{ op: 'putState', key: 'kept', value: 1 }]);
  await j.commit([...send(1), { op: 'putState', key: 'torn', value: 1 }]);
  await j.close();
  // Cut the last record short: a write the process died in.
  const { readdir, stat, truncate } = await import('node:fs/promises');
  const seg = path.join(dir, (await readdir(dir)).find((f) => f.endsWith('.seg'))!);
  await truncate(seg, (await stat(seg)).size - 3);
  const again = journal();
  const state = await again.open();
  assert.deepEqual([...state.messages], []);
  assert.deepEqual(state.states, [{ key: 'kept', value: 1 }]);
  await again.close();
});

test('journal: dead segments holding only replaced states are deleted; live states pin theirs until compaction moves them', async () => {
  const j = journal({ segmentSize: 64 * 1024, compactThreshold: 0.5 });
  await j.open();
  // A state that stays, in the first segment, then traffic that fills several segments and dies.
  await j.commit([{ op: 'putState', key: 'session.a', value: { c: 'a' } }]);
  await j.commit([{ op: 'putState', key: 'gone', value: 1 }]);
  for (let i = 1; i < 80; i++) await j.commit(send(i, 'q', 4096));
  await j.commit([{ op: 'putState', key: 'gone', value: null }]);
  for (let i = 1; i < 80; i++) await j.commit([{ op: 'removeRef', queue: 'q', key: `k${i}` }]);
  for (let i = 0; i < 20 && j.statistics().segments > 2; i++) {
    await j.commit([{ op: 'putState', key: `tick`, value: i }]);
    await j.idle();
  }
  const st = j.statistics();
  assert.ok(st.compactedSegments >= 1, 'compaction ran');
  assert.ok(st.segments <= 2, `old segments deleted (left ${st.segments})`);
  await j.close();
  const again = journal();
  const state = await again.open();
  assert.deepEqual(
    sorted(state.states.filter((s) => s.key !== 'tick')),
    [{ key: 'session.a', value: { c: 'a' } }],
    'the live state survived compaction; the deleted one stays deleted',
  );
  await again.close();
});

test('memory: a stored value is a copy (later changes by the caller do not reach the store)', async () => {
  const s = new MemoryStore();
  await s.open();
  const v = { ids: [1] };
  await s.commit([{ op: 'putState', key: 'k', value: v }]);
  v.ids.push(2);
  await s.close();
  assert.deepEqual((await s.open()).states, [{ key: 'k', value: { ids: [1] } }]);
});
