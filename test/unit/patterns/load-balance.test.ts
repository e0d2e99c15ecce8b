import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadBalance } from '../../../patterns/load-balance.ts';
import { context, ex, RecordingProducer, run } from './fixture.ts';

test('round robin spreads exchanges over the endpoints in turn', async () => {
  const a = new RecordingProducer('queue:a');
  const b = new RecordingProducer('queue:b');
  await run(loadBalance([a, b], 'roundRobin', context()), [ex(1), ex(2), ex(3)]);
  assert.deepEqual(a.sent, [1, 3]);
  assert.deepEqual(b.sent, [2]);
});

test('failover tries the next endpoint when one fails', async () => {
  const a = new RecordingProducer('queue:a', 5);
  const b = new RecordingProducer('queue:b');
  const out = await run(loadBalance([a, b], 'failover', context()), [ex(1), ex(2)]);
  assert.equal(out.length, 2);
  assert.deepEqual(b.sent, [1, 2]);
});

test('failover with every endpoint down goes to the error handler', async () => {
  const ctx = context();
  const out = await run(loadBalance([new RecordingProducer('queue:a', 5), new RecordingProducer('queue:b', 5)], 'failover', ctx), [ex(1)]);
  assert.equal(out.length, 0);
  assert.match(ctx.failures[0]!.error.message, /queue:b is down/);
});
