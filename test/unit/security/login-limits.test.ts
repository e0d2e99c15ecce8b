import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthCache } from '../../../src/security/auth-cache.ts';
import { FailureThrottle, MAX_THROTTLE_KEYS, RateLimit, Slots, UserConnections } from '../../../src/security/login-limits.ts';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

test('FailureThrottle: max failures in the window lock the key until a window passes; the lockout starts once', () => {
  const c = clock();
  const th = new FailureThrottle(3, 60_000, c.now);
  assert.equal(th.fail('1.2.3.4'), false);
  assert.equal(th.fail('1.2.3.4'), false);
  assert.equal(th.throttled('1.2.3.4'), false);
  assert.equal(th.fail('1.2.3.4'), true, 'the third failure starts the lockout');
  assert.equal(th.throttled('1.2.3.4'), true);
  assert.equal(th.throttled('5.6.7.8'), false, 'other keys are not affected');
  assert.equal(th.fail('1.2.3.4'), false, 'a failure while locked does not start another lockout');
  assert.equal(th.lockouts, 1);
  c.t += 59_999;
  assert.equal(th.throttled('1.2.3.4'), true);
  c.t += 1;
  assert.equal(th.throttled('1.2.3.4'), false);
});

test('FailureThrottle: failures spread over more than a window never lock; a success forgets the failures', () => {
  const c = clock();
  const th = new FailureThrottle(3, 1000, c.now);
  for (let i = 0; i < 10; i++) {
    th.fail('k');
    th.fail('k');
    c.t += 1001;
  }
  assert.equal(th.throttled('k'), false);
  th.fail('k');
  th.fail('k');
  th.succeed('k');
  th.fail('k');
  assert.equal(th.throttled('k'), false);
  assert.equal(th.lockouts, 0);
});

test('FailureThrottle: max 0 never throttles; keys are bounded', () => {
  const off = new FailureThrottle(0, 1000);
  for (let i = 0; i < 100; i++) off.fail('k');
  assert.equal(off.throttled('k'), false);
  assert.equal(off.size, 0);
  const th = new FailureThrottle(5, 60_000);
  for (let i = 0; i < MAX_THROTTLE_KEYS + 50; i++) th.fail(`10.0.${i >> 8}.${i & 255}`);
  assert.equal(th.size, MAX_THROTTLE_KEYS);
});

test('RateLimit: a burst of rate, then one per 1/rate s; 0 is no cap', () => {
  const c = clock();
  const r = new RateLimit(10, c.now);
  for (let i = 0; i < 10; i++) assert.equal(r.take(), true);
  assert.equal(r.take(), false);
  assert.equal(r.refused, 1);
  c.t += 100;
  assert.equal(r.take(), true);
  assert.equal(r.take(), false);
  c.t += 10_000;
  for (let i = 0; i < 10; i++) assert.equal(r.take(), true, 'the bucket holds at most rate tokens');
  assert.equal(r.take(), false);
  const off = new RateLimit(0, c.now);
  for (let i = 0; i < 10_000; i++) assert.equal(off.take(), true);
});

test('UserConnections: the cap per user, released by close; 0 counts without refusing', () => {
  const u = new UserConnections(2);
  assert.equal(u.acquire('a'), true);
  assert.equal(u.acquire('a'), true);
  assert.equal(u.acquire('a'), false);
  assert.equal(u.acquire('b'), true);
  u.release('a');
  assert.equal(u.count('a'), 1);
  assert.equal(u.acquire('a'), true);
  u.release('a');
  u.release('a');
  assert.equal(u.count('a'), 0);
  const off = new UserConnections(0);
  for (let i = 0; i < 1000; i++) assert.equal(off.acquire('a'), true);
  assert.equal(off.count('a'), 1000);
});

test('AuthCache: remembers a login for the TTL, by user and password together; bounded; cleared on demand', () => {
  const c = clock();
  const cache = new AuthCache(2, 5000, c.now);
  cache.add('alice', 'pw');
  assert.equal(cache.has('alice', 'pw'), true);
  assert.equal(cache.has('alice', 'pw2'), false);
  assert.equal(cache.has('bob', 'pw'), false);
  // The length-prefixed key: ("ab","c") is not ("a","bc").
  cache.add('ab', 'c');
  assert.equal(cache.has('a', 'bc'), false);
  c.t += 5000;
  assert.equal(cache.has('alice', 'pw'), false, 'expired');
  cache.add('x', '1');
  cache.add('y', '2');
  cache.add('z', '3');
  assert.equal(cache.length, 2);
  assert.equal(cache.has('x', '1'), false, 'the oldest made room');
  assert.equal(cache.has('z', '3'), true);
  cache.clear();
  assert.equal(cache.has('z', '3'), false);
  const off = new AuthCache(0, 5000, c.now);
  off.add('a', 'b');
  assert.equal(off.has('a', 'b'), false);
});

test('Slots: at most size tasks run at once, the rest in arrival order; a failing task frees its slot', async () => {
  const slots = new Slots(2);
  let running = 0;
  let most = 0;
  const order: number[] = [];
  const gates: Array<() => void> = [];
  const task = (i: number) =>
    slots.run(async () => {
      running++;
      most = Math.max(most, running);
      order.push(i);
      await new Promise<void>((r) => gates.push(r));
      running--;
      if (i === 1) throw new Error('boom');
      return i;
    });
  const all = [0, 1, 2, 3, 4].map((i) => task(i).catch((e: Error) => e.message));
  for (let k = 0; k < 5; k++) {
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    gates.shift()!();
  }
  assert.deepEqual(await Promise.all(all), [0, 'boom', 2, 3, 4]);
  assert.equal(most, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
});
