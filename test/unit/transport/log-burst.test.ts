import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogBurst } from '../../../src/transport/log-burst.ts';

test('LogBurst: the first events of a burst in full, the rest counted by kind and summed up each period; a quiet period starts afresh', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const summaries: Array<{ counts: Record<string, number>; total: number }> = [];
  const burst = new LogBurst(3, 10_000, (counts, total) => summaries.push({ counts: Object.fromEntries(counts), total }));
  const admitted = ['a', 'a', 'b', 'a', 'b', 'b', 'b'].map((k) => burst.admit(k));
  assert.deepEqual(admitted, [true, true, true, false, false, false, false]);
  t.mock.timers.tick(10_000);
  assert.deepEqual(summaries, [{ counts: { a: 1, b: 3 }, total: 4 }]);
  // Still in the burst: nothing more in full.
  assert.equal(burst.admit('a'), false);
  t.mock.timers.tick(10_000);
  assert.deepEqual(summaries[1], { counts: { a: 1 }, total: 1 });
  // A period without events ends it; the next event is logged in full again.
  t.mock.timers.tick(10_000);
  t.mock.timers.tick(10_000);
  assert.equal(summaries.length, 2);
  assert.equal(burst.admit('a'), true);
  burst.close();
});
