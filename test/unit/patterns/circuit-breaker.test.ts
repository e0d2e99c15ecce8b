import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asyncScheduler, map, Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { circuitBreaker } from '../../../patterns/circuit-breaker.ts';
import { to } from '../../../patterns/to.ts';
import type { Exchange } from '../../../src/routing/types.ts';
import { context, ex } from './fixture.ts';

test('circuit breaker opens after the threshold, uses the fallback, half-opens after the reset timeout', () => {
  const scheduler = new TestScheduler((a, b) => assert.deepEqual(a, b));
  scheduler.run(({ cold, expectObservable }) => {
    const ctx = context({ scheduler });
    let up = false;
    let calls = 0;
    const remote = { uri: 'amqp://x/y', send: (e: Exchange) => { calls++; if (!up) throw new Error('down'); e.properties.via = 'remote'; } } as never;
    const fallback = map((e: Exchange) => { e.properties.via = e.properties.via ?? 'fallback'; return e; });
    const step = circuitBreaker((errors) => to(remote, { ...ctx, errors }), fallback, { failureThreshold: 2, resetTimeout: 100 }, ctx);
    const values = { a: ex('a'), b: ex('b'), c: ex('c'), d: ex('d') };
    // a, b fail (circuit opens after b); c at 50 goes to the fallback without a call; d at 150 is the half-open trial.
    const src = cold('a b 48ms c 99ms d', values);
    scheduler.schedule(() => (up = true), 140);
    const out = src.pipe(step, map((e: Exchange) => `${e.body()}:${e.properties.via}`));
    expectObservable(out).toBe('a b 48ms c 99ms d', { a: 'a:fallback', b: 'b:fallback', c: 'c:fallback', d: 'd:remote' });
    scheduler.flush();
    assert.equal(calls, 3, 'c never reached the remote endpoint');
  });
});

test('circuit breaker without fallback sends failures to the error handler', async () => {
  const ctx = context();
  const remote = { uri: 'queue:x', send: async () => { throw new Error('down'); } } as never;
  const step = circuitBreaker((errors) => to(remote, { ...ctx, errors }), undefined, { failureThreshold: 1, resetTimeout: 60_000 }, ctx);
  const input = new Subject<Exchange>();
  const out: Exchange[] = [];
  input.pipe(step).subscribe((e) => out.push(e));
  input.next(ex('a'));
  await new Promise((r) => setImmediate(r));
  input.next(ex('b'));
  await new Promise((r) => setImmediate(r));
  assert.equal(out.length, 0);
  assert.deepEqual(ctx.failures.map((f) => f.error.message), ['down', 'circuit breaker is open']);
});

test('circuit breaker half open lets one trial through; the others take the fallback until it settles', async () => {
  let clock = 0;
  const ctx = context({ scheduler: { now: () => clock, schedule: asyncScheduler.schedule.bind(asyncScheduler) } });
  let calls = 0;
  let trialDone: () => void = () => {};
  const remote = {
    uri: 'amqp://x/y',
    send: () => {
      calls++;
      if (calls === 1) throw new Error('down');
      if (calls === 2) return new Promise<void>((resolve) => (trialDone = resolve));
      return Promise.resolve();
    },
  } as never;
  const fallback = map((e: Exchange) => { e.properties.via = 'fallback'; return e; });
  const step = circuitBreaker((errors) => to(remote, { ...ctx, errors }), fallback, { failureThreshold: 1, resetTimeout: 100 }, ctx);
  const input = new Subject<Exchange>();
  const out: string[] = [];
  input.pipe(step).subscribe((e) => out.push(`${e.body()}:${String(e.properties.via ?? 'remote')}`));
  input.next(ex('a')); // 1. fails: the circuit opens
  clock = 200;
  input.next(ex('b')); // 2. the reset timeout has passed: b is the half-open trial
  input.next(ex('c')); // 3. the trial is still out: c does not go to the remote endpoint
  assert.equal(calls, 2);
  assert.deepEqual(out, ['a:fallback', 'c:fallback']);
  trialDone();
  await new Promise((r) => setImmediate(r));
  input.next(ex('d')); // 4. the trial succeeded: closed again
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(out, ['a:fallback', 'c:fallback', 'b:remote', 'd:remote']);
  assert.equal(calls, 3);
});
