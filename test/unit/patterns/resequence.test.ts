import assert from 'node:assert/strict';
import { test } from 'node:test';
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { resequence } from '../../../patterns/resequence.ts';
import type { Exchange } from '../../../src/routing/types.ts';
import { bodies, context, ex, rule, run } from './fixture.ts';

test('resequence emits a batch sorted by key when the batch is full', async () => {
  const out = await run(resequence({ by: rule({ var: 'headers.seq' }), size: 4 }, context()), [ex('c', { seq: 3 }), ex('a', { seq: 1 }), ex('d', { seq: 4 }), ex('b', { seq: 2 })]);
  assert.deepEqual(bodies(out), ['a', 'b', 'c', 'd']);
});

test('resequence emits a partial batch after the timeout (virtual time), reverse order', () => {
  const scheduler = new TestScheduler((a, b) => assert.deepEqual(a, b));
  scheduler.run(({ cold, expectObservable }) => {
    const ctx = context({ scheduler });
    const src = cold('a 9ms b', { a: ex('x', { seq: 1 }), b: ex('y', { seq: 2 }) });
    const out = src.pipe(resequence({ by: rule({ var: 'headers.seq' }), size: 10, timeout: 50, reverse: true }, ctx), map((e: Exchange) => e.body()));
    expectObservable(out).toBe('50ms (yx)', { x: 'x', y: 'y' });
  });
});
