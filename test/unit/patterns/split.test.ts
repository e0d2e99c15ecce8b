import assert from 'node:assert/strict';
import { test } from 'node:test';
import { map } from 'rxjs';
import { split } from '../../../patterns/split.ts';
import type { Exchange } from '../../../src/routing/types.ts';
import { bodies, context, ex, rule, run } from './fixture.ts';

test('split: each element becomes an exchange; the source settles when every part is acked', async () => {
  const ctx = context();
  const order = ex({ id: 'o1', lines: [{ sku: 'a' }, { sku: 'b' }, { sku: 'c' }] });
  const parts = await run(split(rule({ var: 'body.lines' }), undefined, ctx), [order]);
  assert.deepEqual(bodies(parts), [{ sku: 'a' }, { sku: 'b' }, { sku: 'c' }]);
  assert.deepEqual(parts.map((p) => [p.properties.splitIndex, p.properties.splitSize, p.properties.splitComplete]), [[0, 3, false], [1, 3, false], [2, 3, true]]);
  assert.equal(order.outcome(), undefined, 'not settled while parts are open');
  parts[0]!.ack();
  parts[1]!.ack();
  assert.equal(order.outcome(), undefined);
  parts[2]!.ack();
  assert.deepEqual(order.outcome(), { kind: 'ack' });
});

test('split: one failed part nacks the source once all parts are settled', async () => {
  const ctx = context();
  const order = ex({ lines: [1, 2] });
  const parts = await run(split(rule({ var: 'body.lines' }), undefined, ctx), [order]);
  parts[0]!.nack(new Error('line 1 failed'));
  assert.equal(order.outcome(), undefined);
  parts[1]!.ack();
  assert.equal(order.outcome()?.kind, 'nack');
});

test('split with nested steps: parts go through them, the exchange continues', async () => {
  const ctx = context();
  const seen: unknown[] = [];
  const inner = map((e: Exchange) => {
    seen.push(e.body());
    return e;
  });
  const order = ex({ lines: ['x', 'y'] });
  const out = await run(split(rule({ var: 'body.lines' }), inner, ctx), [order]);
  assert.deepEqual(seen, ['x', 'y']);
  assert.deepEqual(bodies(out), [{ lines: ['x', 'y'] }]);
  out[0]!.ack();
  assert.deepEqual(order.outcome(), { kind: 'ack' }, 'parts were acked at the end of the nested steps');
});

test('split of an empty array completes the source', async () => {
  const ctx = context();
  const e = ex({ lines: [] });
  const out = await run(split(rule({ var: 'body.lines' }), undefined, ctx), [e]);
  assert.equal(out.length, 0);
  assert.deepEqual(e.outcome(), { kind: 'ack' });
});

test('split: an element that cannot be a message body (a TypeScript by) fails the exchange, which still settles', async () => {
  const ctx = context();
  const order = ex({ id: 'o1' });
  const parts = await run(split(() => [{ sku: 'a' }, 10n], undefined, ctx), [order]);
  assert.deepEqual(parts, []);
  assert.equal(ctx.failures.length, 1);
  assert.match(ctx.failures[0]!.error.message, /BigInt/);
  assert.equal(order.outcome()?.kind, 'nack', 'settled: no part made before the bad one holds it open');
});

test('split: a message of more parts than maxParts fails whole (no part is made); at the cap it splits', async () => {
  const ctx = context();
  const big = ex({ lines: Array.from({ length: 11 }, (_, i) => i) });
  assert.deepEqual(await run(split(rule({ var: 'body.lines' }), undefined, ctx, 10), [big]), []);
  assert.equal(ctx.failures.length, 1);
  assert.match(ctx.failures[0]!.error.message, /11 parts, more than maxParts 10/);
  const ok = await run(split(rule({ var: 'body.lines' }), undefined, context(), 10), [ex({ lines: Array.from({ length: 10 }, (_, i) => i) })]);
  assert.equal(ok.length, 10);
});

test('split: the default cap is 10,000 parts per message (a 4 MiB JSON array could make two million)', async () => {
  const ctx = context();
  const parts = await run(split(rule({ var: 'body' }), undefined, ctx), [ex(new Array(10_001).fill(0))]);
  assert.equal(parts.length, 0);
  assert.match(ctx.failures[0]!.error.message, /10001 parts, more than maxParts 10000/);
});
