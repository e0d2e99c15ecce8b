import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PagedList } from '../../../src/core/paged-list.ts';

test('paged list: keeps order, sizes and delivery counts across chunks while shifting and pushing', () => {
  const l = new PagedList();
  const n = 10_000; // several chunks of 4,096
  for (let i = 0; i < n; i++) l.push(`k${i}`, i + 1, i % 5);
  assert.equal(l.length, n);
  assert.equal(l.bytes, (n * (n + 1)) / 2);
  assert.deepEqual(l.peekKeys(3), ['k0', 'k1', 'k2']);
  assert.equal(l.peekKeys(n + 10).length, n);

  let next = 0;
  let pushed = n;
  let bytes = l.bytes;
  // Shift in odd batch sizes that straddle chunk boundaries, pushing more in between.
  for (const batch of [1, 999, 4096, 3000, 7]) {
    const got = l.shift(batch);
    assert.equal(got.length, batch);
    for (const r of got) {
      assert.deepEqual(r, { key: `k${next}`, size: next + 1, deliveryCount: next % 5 });
      bytes -= next + 1;
      next++;
    }
    l.push(`k${pushed}`, pushed + 1, pushed % 5);
    bytes += pushed + 1;
    pushed++;
    assert.equal(l.bytes, bytes);
    assert.equal(l.length, pushed - next);
    assert.equal(l.peekKeys(1)[0], `k${next}`);
  }
  const rest = l.shift(1_000_000);
  assert.equal(rest.length, pushed - next);
  assert.equal(rest.at(-1)!.key, `k${pushed - 1}`);
  assert.equal(l.length, 0);
  assert.equal(l.bytes, 0);
  assert.deepEqual(l.shift(5), []);
  assert.deepEqual(l.peekKeys(5), []);
  // Usable again after it emptied.
  l.push('again', 7, 2);
  assert.deepEqual(l.shift(1), [{ key: 'again', size: 7, deliveryCount: 2 }]);
});

test('paged list: clear returns the keys still listed and empties it', () => {
  const l = new PagedList();
  for (let i = 0; i < 5000; i++) l.push(`k${i}`, 10, 0);
  l.shift(4100);
  assert.deepEqual(l.clear(), Array.from({ length: 900 }, (_, i) => `k${4100 + i}`));
  assert.equal(l.length, 0);
  assert.equal(l.bytes, 0);
  assert.deepEqual(l.clear(), []);
});

test('paged list: absolute positions, refsFrom and removal from the middle (management)', () => {
  const l = new PagedList();
  const n = 9000; // three chunks
  for (let i = 0; i < n; i++) l.push(`k${i}`, 10, 0);
  assert.equal(l.end, n);
  assert.deepEqual(
    l.refsFrom(4095, 3).map((r) => [r.key, r.at]),
    [
      ['k4095', 4095],
      ['k4096', 4096],
      ['k4097', 4097],
    ],
  );
  const [gone] = l.refsFrom(5000, 1);
  assert.equal(l.remove(gone!.at, gone!.key), 10);
  assert.equal(l.remove(gone!.at, gone!.key), -1, 'already removed');
  assert.equal(l.length, n - 1);
  assert.equal(l.bytes, (n - 1) * 10);
  assert.deepEqual(
    l.refsFrom(4999, 2).map((r) => r.key),
    ['k4999', 'k5001'],
  );
  // Shifting steps over the removed slot, and positions stay stable as the front goes.
  const shifted = l.shift(5001);
  assert.equal(shifted.at(-1)!.key, 'k5001');
  assert.ok(!shifted.some((r) => r.key === 'k5000'));
  assert.deepEqual(l.refsFrom(0, 1)[0], { key: 'k5002', size: 10, deliveryCount: 0, at: 5002 });
  assert.equal(l.remove(10, 'k10'), -1, 'a shifted position');
  l.push('k9000', 10, 0);
  assert.equal(l.refsFrom(9000, 1)[0]!.key, 'k9000');
  assert.equal(l.end, 9001);
  l.clear();
  l.push('after-clear', 1, 0);
  assert.deepEqual(l.refsFrom(0, 5), [{ key: 'after-clear', size: 1, deliveryCount: 0, at: 9001 }]);
});
