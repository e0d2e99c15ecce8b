import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filter } from '../../../patterns/filter.ts';
import { bodies, context, ex, pred, run } from './fixture.ts';

test('filter passes matching exchanges and acks the others', async () => {
  const ctx = context();
  const input = [ex({ t: 10 }), ex({ t: 40 }), ex({ t: 31 })];
  const out = await run(filter(pred({ '>': [{ var: 'body.t' }, 30] }), ctx), input);
  assert.deepEqual(bodies(out), [{ t: 40 }, { t: 31 }]);
  assert.deepEqual(input[0]!.outcome(), { kind: 'ack' });
  assert.equal(input[1]!.outcome(), undefined, 'passed exchanges are not settled by the filter');
});

test('filter: a predicate that throws goes to the error handler, the stream goes on', async () => {
  const ctx = context();
  const boom = ex('x');
  const out = await run(filter((e) => { if (e.body() === 'x') throw new Error('bad'); return true; }, ctx), [boom, ex('y')]);
  assert.deepEqual(bodies(out), ['y']);
  assert.equal(ctx.failures.length, 1);
  assert.equal(ctx.failures[0]!.error.message, 'bad');
  assert.equal(boom.outcome()?.kind, 'nack');
});
