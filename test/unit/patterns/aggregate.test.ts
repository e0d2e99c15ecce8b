import assert from 'node:assert/strict';
import { test } from 'node:test';
import { map, Subject, toArray, lastValueFrom } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { aggregate } from '../../../patterns/aggregate.ts';
import type { Exchange } from '../../../src/routing/types.ts';
import { bodies, context, ex, rule, run } from './fixture.ts';

test('aggregate by size: collect; inputs stay unacked until the aggregate is settled', async () => {
  const ctx = context();
  const ins = [ex({ o: 1, v: 'a' }), ex({ o: 2, v: 'x' }), ex({ o: 1, v: 'b' })];
  const out = await run(aggregate({ correlation: rule({ var: 'body.o' }), completionSize: () => 2, strategy: 'collect' }, ctx), ins);
  assert.equal(out.length, 1, 'group 2 incomplete: released when the stream ended');
  assert.deepEqual(out[0]!.body(), [{ o: 1, v: 'a' }, { o: 1, v: 'b' }]);
  assert.equal(out[0]!.properties.aggregatedBy, 'size');
  assert.equal(out[0]!.properties.aggregatedSize, 2);
  assert.equal(ins[0]!.outcome(), undefined);
  assert.deepEqual(ins[1]!.outcome(), { kind: 'release' }, 'incomplete group handed back on completion');
  out[0]!.ack();
  assert.deepEqual(ins[0]!.outcome(), { kind: 'ack' });
  assert.deepEqual(ins[2]!.outcome(), { kind: 'ack' });
});

test('aggregate: a nacked aggregate nacks every input', async () => {
  const ctx = context();
  const ins = [ex({ o: 1 }), ex({ o: 1 })];
  const [agg] = await run(aggregate({ correlation: rule({ var: 'body.o' }), completionSize: () => 2 }, ctx), ins);
  agg!.nack(new Error('downstream failed'));
  assert.equal(ins[0]!.outcome()?.kind, 'nack');
  assert.equal(ins[1]!.outcome()?.kind, 'nack');
});

test('aggregate strategies: merge objects, concat with a separator', async () => {
  const merged = await run(aggregate({ correlation: () => 'k', completionSize: () => 2, strategy: 'merge' }, context()), [ex({ a: 1 }), ex({ b: 2 })]);
  assert.deepEqual(merged[0]!.body(), { a: 1, b: 2 });
  const joined = await run(aggregate({ correlation: () => 'k', completionSize: () => 3, strategy: 'concat', separator: ',' }, context()), [ex('x'), ex('y'), ex('z')]);
  assert.equal(joined[0]!.body(), 'x,y,z');
});

test('aggregate: completion size from an expression (split size) and a completion predicate', async () => {
  const bySplit = await run(aggregate({ correlation: rule({ var: 'body.o' }), completionSize: rule({ var: 'body.of' }) }, context()), [ex({ o: 1, of: 3 }), ex({ o: 1, of: 3 }), ex({ o: 1, of: 3 })]);
  assert.equal(bySplit.length, 1);
  const byPredicate = await run(
    aggregate({ correlation: () => 'k', completionPredicate: (agg) => (agg.body() as unknown[]).includes('end') }, context()),
    [ex('a'), ex('end'), ex('b')],
  );
  assert.deepEqual(bodies(byPredicate), [['a', 'end']]);
  assert.equal(byPredicate[0]!.properties.aggregatedBy, 'predicate');
});

test('aggregate: completion timeout (virtual time, inactivity since the last input)', () => {
  const scheduler = new TestScheduler((a, b) => assert.deepEqual(a, b));
  scheduler.run(({ cold, expectObservable }) => {
    const ctx = context({ scheduler });
    const values = { a: ex('a'), b: ex('b'), c: ex('c') };
    const source = cold('a 50ms b 200ms c', values);
    const out = source.pipe(aggregate({ correlation: () => 'k', completionTimeout: 100, strategy: 'collect' }, ctx), map((e: Exchange) => JSON.stringify(e.body())));
    // b at 51ms: timeout 100ms after it -> 151ms; c at 252ms -> 352ms.
    expectObservable(out).toBe('151ms x 200ms y', { x: '["a","b"]', y: '["c"]' });
  });
});

test('aggregate: groups by key independently', async () => {
  const ctx = context();
  const input = new Subject<Exchange>();
  const all = lastValueFrom(input.pipe(aggregate({ correlation: rule({ var: 'body.k' }), completionSize: () => 2 }, ctx), toArray()));
  for (const k of ['a', 'b', 'b', 'a']) input.next(ex({ k }));
  input.complete();
  assert.deepEqual((await all).map((e) => e.properties.aggregatedKey), ['b', 'a']);
});

test('aggregate: the aggregate is its own original (what a dead-letter channel sends), not its first input', async () => {
  const ctx = context();
  const [collected] = await run(aggregate({ correlation: () => 'k', completionSize: () => 2 }, ctx), [ex({ v: 'a' }), ex({ v: 'b' })]);
  assert.deepEqual(JSON.parse(collected!.original.body.toString()), [{ v: 'a' }, { v: 'b' }]);
  assert.equal(collected!.original.contentType, 'application/json');
  const [joined] = await run(aggregate({ correlation: () => 'k', completionSize: () => 2, strategy: 'concat', separator: ',' }, context()), [ex('x'), ex('y')]);
  assert.equal(joined!.original.body.toString(), 'x,y');
  assert.deepEqual(bodies([joined!]), ['x,y']);
});

test('aggregate order: parts of a split in split order whatever order they come in; unrelated inputs in arrival order', async () => {
  const part = (of: string, i: number, size: number) => {
    const e = ex(`${of}${i}`);
    Object.assign(e.properties, { splitOf: of, splitIndex: i, splitSize: size });
    return e;
  };
  // Two split messages interleaved, each part arriving late; then unrelated inputs.
  const ins = [part('A', 2, 3), part('B', 1, 2), part('A', 0, 3), part('B', 0, 2), part('A', 1, 3)];
  const bySplit = await run(aggregate({ correlation: rule({ var: 'properties.splitOf' }), completionSize: rule({ var: 'properties.splitSize' }), strategy: 'collect' }, context()), ins);
  assert.deepEqual(bodies(bySplit), [['B0', 'B1'], ['A0', 'A1', 'A2']]);
  const unrelated = await run(aggregate({ correlation: () => 'k', completionSize: () => 3, strategy: 'concat' }, context()), [ex('z'), ex('x'), ex('y')]);
  assert.deepEqual(bodies(unrelated), ['zxy']);
});

test('aggregate order: one group holding parts of two splits and other inputs keeps each split in split order in its own places', async () => {
  const part = (of: string, i: number) => {
    const e = ex(`${of}${i}`);
    Object.assign(e.properties, { splitOf: of, splitIndex: i, splitSize: 3 });
    return e;
  };
  // One correlation key for everything: A's parts come last first, with B's parts and an unrelated input between them.
  const ins = [part('A', 2), ex('x'), part('B', 1), part('A', 1), part('B', 0), ex('y'), part('A', 0)];
  const [all] = await run(aggregate({ correlation: () => 'k', completionSize: () => ins.length, strategy: 'collect' }, context()), ins);
  assert.deepEqual(bodies([all!]), [['A0', 'x', 'B0', 'A1', 'B1', 'y', 'A2']]);
});

test('aggregate order: a large split arriving last part first is put in split order', async () => {
  const size = 50_000;
  const ins = Array.from({ length: size }, (_, k) => {
    const i = size - 1 - k;
    const e = ex(String(i));
    Object.assign(e.properties, { splitOf: 'S', splitIndex: i, splitSize: size });
    return e;
  });
  const [all] = await run(aggregate({ correlation: () => 'k', completionSize: () => size, strategy: 'collect' }, context()), ins);
  const body = bodies([all!])[0] as unknown[];
  assert.equal(body.length, size);
  const wrong = body.findIndex((b, i) => String(b) !== String(i));
  assert.equal(wrong, -1, `part ${wrong} is ${String(body[wrong])}`);
});
