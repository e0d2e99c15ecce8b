import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../../../src/management/http/api-types.ts';
import { pageList, parseSort, type SortOrder } from '../../../src/management/list-page.ts';

interface Row {
  name: string;
  messages: number;
}
const rows: Row[] = Array.from({ length: 250 }, (_, i) => ({ name: `q${String(i).padStart(3, '0')}`, messages: i % 7 }));
const opts = (order: SortOrder, cursor: string | undefined, limit = 40) => ({ order, cursor, limit, name: (r: Row) => r.name, value: (r: Row, k: string) => (k === 'messages' ? r.messages : r.name) });

/** Walks every page; returns the names in the order seen. */
function walk(items: readonly Row[], order: SortOrder, limit = 40): string[] {
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = pageList(items, opts(order, cursor, limit));
    assert.equal(page.total, items.length);
    seen.push(...page.items.map((r) => r.name));
    if (page.next === undefined) return seen;
    cursor = page.next;
  }
  assert.fail('paging never ended');
}

test('list page: sort by name pages every item once, in order, ascending and descending', () => {
  const asc = walk(rows, { key: 'name', desc: false });
  assert.deepEqual(asc, rows.map((r) => r.name));
  const desc = walk(rows, { key: 'name', desc: true });
  assert.deepEqual(desc, rows.map((r) => r.name).reverse());
  // Exact multiple of the limit: the last full page has no next.
  assert.equal(walk(rows.slice(0, 80), { key: 'name', desc: false }).length, 80);
  assert.equal(pageList(rows.slice(0, 80), opts({ key: 'name', desc: false }, undefined, 80)).next, undefined);
});

test('list page: a counter sort orders by value then name, and pages every item once', () => {
  const seen = walk(rows, { key: 'messages', desc: true });
  const expected = [...rows].sort((a, b) => b.messages - a.messages || (a.name < b.name ? -1 : 1)).map((r) => r.name);
  assert.deepEqual(seen, expected);
});

test('list page: by name, items created or deleted between pages neither shift nor repeat the others', () => {
  const order = { key: 'name', desc: false };
  const first = pageList(rows, opts(order, undefined));
  // Delete two already seen and one not yet seen, add one before the cursor and one after.
  const changed = rows.filter((r) => r.name !== 'q000' && r.name !== 'q010' && r.name !== 'q100').concat({ name: 'a-new', messages: 0 }, { name: 'q200b', messages: 0 });
  const rest: string[] = [];
  let cursor = first.next;
  while (cursor !== undefined) {
    const page = pageList(changed, opts(order, cursor));
    rest.push(...page.items.map((r) => r.name));
    cursor = page.next;
  }
  const firstNames = first.items.map((r) => r.name);
  assert.equal(rest[0], 'q040');
  assert.ok(!rest.some((n) => firstNames.includes(n)), 'nothing repeated');
  assert.ok(rest.includes('q200b') && !rest.includes('q100') && !rest.includes('a-new'));
  assert.equal(rest.length, 250 - 40 - 1 + 1);
});

test('list page: a cursor of another sort order or a forged one is a 400', () => {
  const page = pageList(rows, opts({ key: 'name', desc: false }, undefined));
  const isBadCursor = (e: unknown) => e instanceof ApiError && e.status === 400 && e.issues?.[0]?.path === 'cursor';
  assert.throws(() => pageList(rows, opts({ key: 'messages', desc: false }, page.next)), isBadCursor);
  assert.throws(() => pageList(rows, opts({ key: 'name', desc: true }, page.next)), isBadCursor);
  for (const forged of ['%%%', Buffer.from('{"a":1}').toString('base64url'), Buffer.from('["name",{},"x"]').toString('base64url')]) {
    assert.throws(() => pageList(rows, opts({ key: 'name', desc: false }, forged)), isBadCursor);
  }
});

test('list page: parseSort accepts the allowed keys with a leading - and refuses others', () => {
  assert.deepEqual(parseSort(undefined, ['name', 'messages']), { key: 'name', desc: false });
  assert.deepEqual(parseSort('-messages', ['name', 'messages']), { key: 'messages', desc: true });
  assert.throws(() => parseSort('constructor', ['name', 'messages']), (e: unknown) => e instanceof ApiError && e.status === 400);
});
