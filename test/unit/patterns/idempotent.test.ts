import assert from 'node:assert/strict';
import { test } from 'node:test';
import { idempotent, memoryRepository } from '../../../patterns/idempotent.ts';
import { bodies, context, ex, rule, run } from './fixture.ts';

test('idempotent drops (acks) a key seen before', async () => {
  const repo = memoryRepository(100);
  const dup = ex('second', { id: 'k1' });
  const out = await run(idempotent(rule({ var: 'headers.id' }), repo, context()), [ex('first', { id: 'k1' }), ex('other', { id: 'k2' }), dup]);
  assert.deepEqual(bodies(out), ['first', 'other']);
  assert.deepEqual(dup.outcome(), { kind: 'ack' });
});

test('idempotent forgets the key of a failed exchange so its redelivery is processed', async () => {
  const repo = memoryRepository(100);
  const step = idempotent(rule({ var: 'headers.id' }), repo, context());
  const [first] = await run(step, [ex('a', { id: 'k' })]);
  first!.nack(new Error('failed downstream'));
  const again = await run(step, [ex('a', { id: 'k' })]);
  assert.equal(again.length, 1);
});

test('idempotent window: the oldest key is forgotten', async () => {
  const repo = memoryRepository(2);
  const step = idempotent(rule({ var: 'body' }), repo, context());
  const out = await run(step, [ex('a'), ex('b'), ex('c'), ex('a')]);
  assert.deepEqual(bodies(out), ['a', 'b', 'c', 'a']);
});

test('idempotent: a repository that cannot store a key fails that exchange, not the route', async () => {
  let calls = 0;
  const repo = memoryRepository(100);
  const flaky = { ...repo, add: (k: string) => (++calls === 1 ? Promise.reject(new Error('disk full')) : repo.add(k)) };
  const ctx = context();
  const first = ex('a', { id: 'k1' });
  const out = await run(idempotent(rule({ var: 'headers.id' }), flaky, ctx), [first, ex('b', { id: 'k2' })]);
  assert.deepEqual(bodies(out), ['b']);
  assert.equal(first.outcome()?.kind, 'nack');
  assert.match(ctx.failures[0]!.error.message, /disk full/);
  assert.equal(repo.has('k1'), false, 'the key of the failed exchange is not kept');
});
