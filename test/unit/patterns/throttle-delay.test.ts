import assert from 'node:assert/strict';
import { test } from 'node:test';
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { delay } from '../../../patterns/delay.ts';
import { throttle } from '../../../patterns/throttle.ts';
import type { Exchange } from '../../../src/routing/types.ts';
import { context, ex, rule } from './fixture.ts';

const body = map((e: Exchange) => e.body() as string);

test('throttle: at most 2 per 100ms, in order, none dropped (virtual time)', () => {
  const scheduler = new TestScheduler((a, b) => assert.deepEqual(a, b));
  scheduler.run(({ cold, expectObservable }) => {
    const ctx = context({ scheduler });
    const src = cold('(abcde)', { a: ex('a'), b: ex('b'), c: ex('c'), d: ex('d'), e: ex('e') });
    expectObservable(src.pipe(throttle(2, 100, ctx), body)).toBe('(ab) 96ms (cd) 96ms e', { a: 'a', b: 'b', c: 'c', d: 'd', e: 'e' });
  });
});

test('delay holds each exchange for the expression ms (virtual time)', () => {
  const scheduler = new TestScheduler((a, b) => assert.deepEqual(a, b));
  scheduler.run(({ cold, expectObservable }) => {
    const ctx = context({ scheduler });
    const src = cold('a b', { a: ex({ d: 30 }), b: ex({ d: 5 }) });
    const out = src.pipe(delay(rule({ var: 'body.d' }), ctx), map((e: Exchange) => (e.body() as { d: number }).d));
    // b arrives at 1 (spaces are not frames) and waits 5 -> 6; a arrives at 0 and waits 30.
    expectObservable(out).toBe('6ms b 23ms a', { a: 30, b: 5 });
  });
});
