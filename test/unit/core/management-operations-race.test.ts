import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import type { MessageOperation } from '../../../src/core/handles.ts';
import { MemoryStore } from '../../../src/store/memory-store.ts';
import { closeCores, msg, openCore, queue } from './core-fixture.ts';

// Two operations that take messages out of the same queue at once (two jobs, or a job and a purge):
// a paged message both found must be taken by one only. Before the fix each stored its own copy, so
// the message ended up twice in the targets (and a paged ref whose removal the other had stored was
// still copied).

afterEach(closeCores);

async function runAll(op: MessageOperation): Promise<void> {
  while (!op.done) await op.step(50);
}

test('two moves of the same paged messages at once: each message ends up in exactly one target', async () => {
  const store = new MemoryStore();
  const core = await openCore({ store, globalMaxSizeBytes: 30_000 });
  for (let i = 0; i < 300; i++) await core.send(msg(queue('src'), `m${i}`.padEnd(400, '.'), { durable: true, properties: { n: i } }));
  const paged = core.queueStats().find((s) => s.name === 'src')!.paged;
  assert.ok(paged > 200, `paged ${paged}`);
  const a = core.messageOperation('src', 'move', {}, { target: 'a' });
  const b = core.messageOperation('src', 'move', {}, { target: 'b' });
  await Promise.all([runAll(a), runAll(b)]);
  const count = (name: string) => core.queueStats().find((s) => s.name === name)?.messages ?? 0;
  assert.equal(a.processed + b.processed, 300, `processed ${a.processed} + ${b.processed}`);
  assert.equal(count('src'), 0);
  assert.equal(count('a') + count('b'), 300, `a ${count('a')} b ${count('b')}`);
  assert.equal(store.size, 300, 'one stored message each');
});
