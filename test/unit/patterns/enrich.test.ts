import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enrich } from '../../../patterns/enrich.ts';
import { messageOf } from '../../../src/routing/exchange.ts';
import { context, ex, RecordingProducer, run } from './fixture.ts';

test('enrich replaces the body with the reply', async () => {
  const p = new RecordingProducer('queue:prices');
  p.reply = (e) => messageOf({ price: 9, for: (e.body() as { sku: string }).sku });
  const [out] = await run(enrich(p, {}, context()), [ex({ sku: 'a' })]);
  assert.deepEqual(out!.body(), { price: 9, for: 'a' });
});

test('enrich merge and property strategies', async () => {
  const p = new RecordingProducer('queue:prices');
  p.reply = () => messageOf({ price: 9 });
  const [merged] = await run(enrich(p, { strategy: 'merge' }, context()), [ex({ sku: 'a' })]);
  assert.deepEqual(merged!.body(), { sku: 'a', price: 9 });
  const [prop] = await run(enrich(p, { property: 'quote' }, context()), [ex({ sku: 'a' })]);
  assert.deepEqual(prop!.body(), { sku: 'a' });
  assert.deepEqual(prop!.properties.quote, { price: 9 });
});

test('enrich: a failing request goes to the error handler', async () => {
  const ctx = context();
  const p = new RecordingProducer('queue:prices');
  const out = await run(enrich(p, {}, ctx), [ex('x')]);
  assert.equal(out.length, 0);
  assert.match(ctx.failures[0]!.error.message, /no reply/);
});
