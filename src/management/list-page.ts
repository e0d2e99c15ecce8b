/**
 * Sorting and cursor paging of management lists (addresses, queues, subscriptions) held in memory:
 * the API's `?sort=`, `?limit=`, `?cursor=` convention (src/management/http/api-types.ts).
 *
 * The cursor is keyset, not an offset: it carries the sort key, the last item's sort value and its
 * name, and the next page starts strictly after that (value, name) pair in the same order. Under
 * `sort=name` (the default) that is stable: a name created or deleted between two requests neither
 * shifts nor repeats the others (as Artemis's `listQueues` paging is not). Under a counter sort
 * (`messages`, `consumers`...) the order is recomputed from the counters at each request, so an item
 * whose counter changed between two pages may be seen twice or not at all; names break ties, so a
 * quiet broker pages exactly. Each request sorts the filtered list (O(n log n) over at most
 * `core.maxQueues` items); nothing is held between requests.
 */
import { ApiError } from './http/api-types.ts';

/** The API's page size: default and cap (api-types.ts conventions). */
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/** How a list is sorted: a key the area allows, ascending or (a leading `-`) descending. */
export interface SortOrder {
  readonly key: string;
  readonly desc: boolean;
}

/** A page of a list: `next` is the cursor of the page after it (absent on the last page), `total` the filtered count. */
export interface ListPage<T> {
  items: T[];
  next?: string;
  total: number;
}

type SortValue = string | number;

/** Parses `?sort=` (`name`, `-messages`...) against the keys an area allows; 400 on another key. */
export function parseSort(text: string | undefined, allowed: readonly string[], fallback = 'name'): SortOrder {
  const raw = text ?? fallback;
  const desc = raw.startsWith('-');
  const key = desc ? raw.slice(1) : raw;
  if (!allowed.includes(key)) {
    throw new ApiError(400, 'ERR_HTTP_VALIDATION', `sort must be one of ${allowed.join(', ')} (a leading - for descending)`, [{ path: 'sort', message: `unknown sort key ${key}` }]);
  }
  return { key, desc };
}

/**
 * Sorts `items` by `value(item, key)` then name, and returns the page after `cursor`.
 * @param name the item's unique name (the tie-break and the cursor's anchor)
 * @param value the sort value of an item for `order.key` (`name` sorts by name alone)
 */
export function pageList<T>(
  items: readonly T[],
  opts: { order: SortOrder; limit: number; cursor: string | undefined; name: (t: T) => string; value: (t: T, key: string) => SortValue },
): ListPage<T> {
  const { order, name, value } = opts;
  const byName = order.key === 'name';
  const keyed = items.map((t) => ({ t, n: name(t), v: byName ? '' : value(t, order.key) }));
  const cmp = (a: { n: string; v: SortValue }, b: { n: string; v: SortValue }): number => {
    if (!byName) {
      const c = compareValues(a.v, b.v);
      if (c !== 0) return order.desc ? -c : c;
      return compareValues(a.n, b.n);
    }
    const c = compareValues(a.n, b.n);
    return order.desc ? -c : c;
  };
  keyed.sort(cmp);
  let start = 0;
  if (opts.cursor !== undefined) {
    const anchor = decodeCursor(opts.cursor, order);
    // First item strictly after the anchor (binary search: the list is sorted by `cmp`).
    let lo = 0;
    let hi = keyed.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp(keyed[mid]!, anchor) <= 0) lo = mid + 1;
      else hi = mid;
    }
    start = lo;
  }
  const slice = keyed.slice(start, start + opts.limit);
  const page: ListPage<T> = { items: slice.map((k) => k.t), total: keyed.length };
  const last = slice[slice.length - 1];
  if (last !== undefined && start + slice.length < keyed.length) page.next = encodeCursor(order, last.v, last.n);
  return page;
}

/** Numbers numerically, strings by code unit (locale-free: the same order in every process). */
function compareValues(a: SortValue, b: SortValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Opaque to clients: base64url of `[sortSpec, value, name]`. */
function encodeCursor(order: SortOrder, v: SortValue, n: string): string {
  return Buffer.from(JSON.stringify([(order.desc ? '-' : '') + order.key, v, n])).toString('base64url');
}

function decodeCursor(cursor: string, order: SortOrder): { v: SortValue; n: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || typeof parsed[2] !== 'string' || (typeof parsed[1] !== 'string' && typeof parsed[1] !== 'number')) {
    throw new ApiError(400, 'ERR_HTTP_VALIDATION', 'cursor is not one this API returned', [{ path: 'cursor', message: 'invalid cursor' }]);
  }
  if (parsed[0] !== (order.desc ? '-' : '') + order.key) {
    throw new ApiError(400, 'ERR_HTTP_VALIDATION', 'cursor belongs to another sort order: start again without it', [{ path: 'cursor', message: 'sort changed' }]);
  }
  return { v: parsed[1] as SortValue, n: parsed[2] };
}
