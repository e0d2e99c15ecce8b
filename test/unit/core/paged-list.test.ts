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
