import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Subject } from 'rxjs';
import type { Exchange } from '../../../src/routing/types.ts';
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
  const done: unknown[] = [];
  for (const body of ['a', 'b', 'c', 'a']) {
    for (const e of await run(step, [ex(body)])) {
      done.push(e.body());
      e.ack();
    }
  }
  assert.deepEqual(done, ['a', 'b', 'c', 'a']);
});

test('idempotent: a key that cannot be stored is logged; the exchange and the route go on', async () => {
  const repo = memoryRepository(100);
  const flaky = { ...repo, add: () => Promise.reject(new Error('disk full')) };
  const errors: unknown[] = [];
  const ctx = { ...context(), log: { debug() {}, info() {}, warn() {}, error: (o: object) => errors.push(o) } };
  const first = ex('a', { id: 'k1' });
  const out = await run(idempotent(rule({ var: 'headers.id' }), flaky, ctx), [first, ex('b', { id: 'k2' })]);
  assert.deepEqual(bodies(out), ['a', 'b']);
  out[0]!.ack();
  assert.deepEqual(first.outcome(), { kind: 'ack' });
  await new Promise((r) => setImmediate(r));
  assert.equal(errors.length, 1);
});

test('idempotent: a key is stored only once its exchange completes, so a message back from a stopped route or a crash is processed', async () => {
  // A persisted repository outlives the step (a redeploy, a restart).
  const repo = memoryRepository(100);
  const key = rule({ var: 'headers.id' });
  const before = new Subject<Exchange>();
  const seen: Exchange[] = [];
  const sub = before.pipe(idempotent(key, repo, context())).subscribe((e) => seen.push(e));
  before.next(ex('order', { id: 'k' }));
  // 1. A duplicate while the first is in flight is skipped.
  const dup = ex('order again', { id: 'k' });
  before.next(dup);
  assert.equal(seen.length, 1);
  assert.deepEqual(dup.outcome(), { kind: 'ack' });
  // 2. The route stops before the exchange settles (drain timeout, kill -9): the broker redelivers it.
  sub.unsubscribe();
  assert.equal(repo.has('k'), false, 'not recorded: it was never done');
  const after = await run(idempotent(key, repo, context()), [ex('order', { id: 'k' })]);
  assert.equal(after.length, 1, 'the redelivery is processed, not dropped as a duplicate');
  // 3. Done: now it is a duplicate for good.
  after[0]!.ack();
  await new Promise((r) => setImmediate(r));
  assert.equal(repo.has('k'), true);
  const again = ex('order', { id: 'k' });
  assert.deepEqual(await run(idempotent(key, repo, context()), [again]), []);
  assert.deepEqual(again.outcome(), { kind: 'ack' });
});
