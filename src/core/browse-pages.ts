import { JunctionError } from '../errors.ts';
import type { Entry, EntryList } from './entry-list.ts';
import type { Message } from './message.ts';
import type { PagedAt } from './paged-list.ts';
import { PRIORITIES, type QueueContents } from './queue-contents.ts';

/**
 * Stateless keyset paging over a queue's messages for management (Artemis's QueueControl.browse
 * with a page, without its server-side iterator): a position is a key in the queue's order, handed
 * out as an opaque token, and the next page starts after it. The order, in four phases:
 * 1. ready in memory: priority 9 first, arrival order (`Entry.seq`) within a priority: delivery order;
 * 2. paged (only in the store, read back in arrival order after what is ready): by their place in
 *    the pager, read from the store a batch at a time;
 * 3. scheduled (a delivery time or a redelivery delay): by the time they become ready, then arrival;
 * 4. in delivery to a consumer (not settled yet): by arrival.
 * Not a snapshot (as JMS browsing): a message that leaves between pages is not shown; one that
 * moves between phases (read back, returned, come due) may be shown twice or not at all.
 *
 * Cost: finding where a ready page starts is O(1) from a checkpoint (the last entry of a page
 * handed out, kept weakly per queue and priority, at most CHECKPOINTS of each) and a walk forward of the
 * entries since; a paged position is found by division (see `PagedList`). So each page costs
 * O(limit) plus what the selector skips, and walking a queue page by page is linear in its size.
 * Phases 3 and 4 are collected and sorted per page: O(scheduled) or O(in delivery), both small.
 */

/** The most messages one page holds. */
export const MAX_PAGE_LIMIT = 1000;
/** Messages one call looks at, at most (with a selector that matches little, the page comes back short with `next`). */
const VISIT_BUDGET = 20_000;
/** And the time one call may spend evaluating a selector, ms (as a dispatch pass, queue.ts). */
const SLICE_MS = 10;
/** Paged messages read from the store per read. */
const READ_BATCH = 200;
/** Checkpoints kept per queue and priority; past it every other one is dropped. */
const CHECKPOINTS = 1024;

/** Where a page starts: after `a`/`b` of `phase` (0 ready: priority, seq; 1 paged: position, -; 2 scheduled: ready time, seq; 3 in delivery: seq, -). */
export interface PagePosition {
  readonly phase: 0 | 1 | 2 | 3;
  readonly a: number;
  readonly b: number;
}

/** The start of a queue: before the first ready entry of priority 9. */
export const FIRST: PagePosition = { phase: 0, a: PRIORITIES - 1, b: 0 };

/** One message found: a ready, scheduled or in-delivery entry, or a paged reference (read from the store). */
export type Found = { readonly message: Message; readonly entry: Entry; readonly paged?: undefined } | { readonly message: Message; readonly entry?: undefined; readonly paged: PagedAt };

/** What one scan may take and how far it goes. */
export interface ScanOptions {
  /** Messages to return at most. */
  max: number;
  /** Which messages count (a selector, an id); all when omitted. */
  accept?: (m: Message) => boolean;
  /** Reads paged messages from the store, in the order asked. */
  read: (keys: string[]) => Promise<Array<Message | undefined>>;
  now: number;
  /** Bounds for a management operation (message-operations.ts); omitted for browsing. */
  bounds?: ScanBounds;
}

/** Limits a management operation puts on a scan so that it ends: only what the queue held when it started. */
export interface ScanBounds {
  /** Ready entries from this seq on arrived later (or were read back later: paged ones are scanned as paged). */
  seqLimit: number;
  /** Paged positions from this on arrived later. */
  pagedEnd: number;
  /** The entries scheduled when it started (their seqs are passed over among ready ones). */
  scheduled: readonly Entry[];
  scheduledSeqs: ReadonlySet<number>;
}

/** Counters for tests (entries and paged references looked at): proves the per-page cost without timing. */
export const scanCounters = { visited: 0 };

/**
 * Checkpoints per queue (a WeakMap: they go with the queue), per priority: sorted seqs and their
 * entries, held weakly so that a checkpoint never keeps a consumed message in memory.
 */
const checkpoints = new WeakMap<QueueContents, Array<{ seqs: number[]; entries: Array<WeakRef<Entry>> }>>();

/**
 * Looks at the queue from after `from` on, in the order above, and returns up to `max` messages
 * `accept` takes, and where to go on (undefined: the end was reached). Stops early after
 * VISIT_BUDGET messages looked at or SLICE_MS of selector time, with a `next` to go on from.
 */
export async function scanQueue(q: QueueContents, from: PagePosition, opts: ScanOptions): Promise<{ found: Found[]; next: PagePosition | undefined }> {
  const found: Found[] = [];
  const { accept, now, bounds } = opts;
  const started = performance.now();
  let visits = 0;
  const full = (): boolean => found.length >= opts.max || visits >= VISIT_BUDGET || (accept !== undefined && visits > 0 && performance.now() - started > SLICE_MS);
  const take = (m: Message): boolean => !(m.expiration > 0 && m.expiration <= now) && (accept === undefined || accept(m));
  try {
    let pos = from;
    if (pos.phase === 0) {
      const { levels } = q.parts;
      for (let p = pos.a; p >= 0; p--) {
        const list = levels[p]!;
        const afterSeq = p === pos.a ? pos.b : 0;
        let e = afterSeq > 0 ? startAfter(q, p, list, afterSeq) : list.head;
        let last: Entry | null = null;
        for (; e !== null; e = e.next) {
          if (bounds !== undefined && e.seq >= bounds.seqLimit) break;
          if (full()) {
            if (last !== null) remember(q, p, last);
            return { found, next: { phase: 0, a: p, b: last !== null ? last.seq : afterSeq } };
          }
          visits++;
          last = e;
          if (bounds !== undefined && bounds.scheduledSeqs.has(e.seq)) continue;
          if (take(e.message)) found.push({ message: e.message, entry: e });
        }
      }
      pos = { phase: 1, a: 0, b: 0 };
    }
    if (pos.phase === 1) {
      let at = pos.a;
      for (;;) {
        const pager = q.parts.pager;
        if (pager === null || q.deleted) break;
        if (full()) return { found, next: { phase: 1, a: at, b: 0 } };
        const end = bounds !== undefined ? bounds.pagedEnd : Infinity;
        const refs = pager.refsFrom(at, Math.min(READ_BATCH, accept === undefined ? opts.max - found.length : READ_BATCH)).filter((r) => r.at < end);
        if (refs.length === 0) break;
        const messages = await opts.read(refs.map((r) => r.key));
        for (let i = 0; i < refs.length; i++) {
          const ref = refs[i]!;
          const m = messages[i];
          at = ref.at + 1;
          visits++;
          if (m !== undefined && take(m)) found.push({ message: m, paged: ref });
          if (i + 1 < refs.length && full()) return { found, next: { phase: 1, a: at, b: 0 } };
        }
      }
      pos = { phase: 2, a: 0, b: 0 };
    }
    if (pos.phase === 2) {
      if (full()) return { found, next: pos };
      const { schedule } = q.parts;
      const source = bounds !== undefined ? bounds.scheduled : schedule !== null ? schedule.items() : [];
      const state = bounds !== undefined ? undefined : 'scheduled';
      const sorted = after(source, pos, state, (e) => e.readyAt).sort((x, y) => x.readyAt - y.readyAt || x.seq - y.seq);
      const r = walkSorted(sorted, found, full, take, () => visits++);
      if (r !== undefined) return { found, next: { phase: 2, a: r.readyAt, b: r.seq } };
      pos = { phase: 3, a: 0, b: 0 };
    }
    if (full()) return { found, next: pos };
    const delivering: Entry[] = [];
    for (const c of q.consumers) for (const e of c.unacked.values()) if (e.seq > pos.a && (bounds === undefined || e.seq < bounds.seqLimit)) delivering.push(e);
    const r = walkSorted(
      delivering.sort((x, y) => x.seq - y.seq),
      found,
      full,
      take,
      () => visits++,
    );
    return { found, next: r !== undefined ? { phase: 3, a: r.seq, b: 0 } : undefined };
  } finally {
    scanCounters.visited += visits;
  }
}

/** Entries of `source` after `pos` (by ready time then seq; in delivery: by seq), in `state` when given. */
function after(source: readonly Entry[], pos: PagePosition, state: Entry['state'] | undefined, key: (e: Entry) => number): Entry[] {
  const out: Entry[] = [];
  for (const e of source) {
    if (state !== undefined && e.state !== state) continue;
    const k = key(e);
    if (k > pos.a || (k === pos.a && e.seq > pos.b)) out.push(e);
  }
  return out;
}

/** Takes from a sorted run until full; returns the entry to go on after, or undefined at its end. */
function walkSorted(sorted: Entry[], found: Found[], full: () => boolean, take: (m: Message) => boolean, visit: () => void): Entry | undefined {
  let last: Entry | undefined;
  for (const e of sorted) {
    // The caller checked `full` before the first: each phase call takes at least one.
    if (last !== undefined && full()) return last;
    visit();
    last = e;
    if (take(e.message)) found.push({ message: e.message, entry: e });
  }
  return undefined;
}

/** The first entry of `list` (priority `p`) after `seq`: from the nearest checkpoint still in the list, else from the head. */
function startAfter(q: QueueContents, p: number, list: EntryList, seq: number): Entry | null {
  const cps = checkpoints.get(q)?.[p];
  let e: Entry | null = null;
  if (cps !== undefined) {
    let i = upperBound(cps.seqs, seq) - 1;
    while (i >= 0) {
      const c = cps.entries[i]!.deref();
      if (c !== undefined && c.list === list && c.seq === cps.seqs[i]) {
        e = c;
        break;
      }
      // It left the list (delivered, removed): forget it.
      cps.seqs.splice(i, 1);
      cps.entries.splice(i, 1);
      i--;
    }
  }
  e ??= list.head;
  while (e !== null && e.seq <= seq) e = e.next;
  return e;
}

/** Keeps `e` (the last entry of a page) as a checkpoint of priority `p`. */
function remember(q: QueueContents, p: number, e: Entry): void {
  let all = checkpoints.get(q);
  if (all === undefined) checkpoints.set(q, (all = Array.from({ length: PRIORITIES }, () => ({ seqs: [], entries: [] }))));
  const cps = all[p]!;
  const i = upperBound(cps.seqs, e.seq);
  if (i > 0 && cps.seqs[i - 1] === e.seq) {
    cps.entries[i - 1] = new WeakRef(e);
    return;
  }
  cps.seqs.splice(i, 0, e.seq);
  cps.entries.splice(i, 0, new WeakRef(e));
  if (cps.seqs.length > CHECKPOINTS) {
    cps.seqs = cps.seqs.filter((_, k) => k % 2 === 0);
    cps.entries = cps.entries.filter((_, k) => k % 2 === 0);
  }
}

/** The index of the first element of sorted `a` greater than `x`. */
function upperBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A position as an opaque token (base64url of `1.<phase>.<a>.<b>`). */
export function encodePosition(p: PagePosition): string {
  return Buffer.from(`1.${p.phase}.${p.a}.${p.b}`).toString('base64url');
}

/** The position a token names; ERR_CURSOR_INVALID for anything this module did not hand out. */
export function decodePosition(token: string): PagePosition {
  const m = token.length <= 64 ? /^1\.([0-3])\.(\d{1,16})\.(\d{1,16})$/.exec(Buffer.from(token, 'base64url').toString('latin1')) : null;
  const phase = m ? (Number(m[1]) as 0 | 1 | 2 | 3) : 0;
  const a = m ? Number(m[2]) : 0;
  if (!m || (phase === 0 && a >= PRIORITIES)) throw new JunctionError('ERR_CURSOR_INVALID', 'Invalid paging cursor: pass the `next` of a previous page');
  return { phase, a, b: Number(m[3]) };
}

/** What {@link browsePage} and {@link findMessage} need from the core. */
export interface PageHost {
  read: (keys: string[]) => Promise<Array<Message | undefined>>;
  now: () => number;
}

/** See `Core.browsePage`: one bounded scan (`selector` already compiled to `accept`). */
export async function browsePage(q: QueueContents, host: PageHost, after: string | undefined, limit: number, accept: ((m: Message) => boolean) | undefined): Promise<{ messages: Message[]; next: string | undefined }> {
  const from = after !== undefined && after !== '' ? decodePosition(after) : FIRST;
  const max = Number.isFinite(limit) ? Math.max(1, Math.min(MAX_PAGE_LIMIT, Math.trunc(limit))) : MAX_PAGE_LIMIT;
  const { found, next } = await scanQueue(q, from, { max, read: host.read, now: host.now(), ...(accept !== undefined ? { accept } : {}) });
  return { messages: found.map((f) => f.message), next: next !== undefined ? encodePosition(next) : undefined };
}

/** See `Core.findMessage`: bounded scans one event-loop turn apart until the id is found or the queue ends. */
export async function findMessage(q: QueueContents, host: PageHost, id: string): Promise<Message | undefined> {
  let from: PagePosition | undefined = FIRST;
  while (from !== undefined && !q.deleted) {
    const r = await scanQueue(q, from, { max: 1, read: host.read, now: host.now(), accept: (m) => m.id === id });
    if (r.found.length > 0) return r.found[0]!.message;
    from = r.next;
    if (from !== undefined) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return undefined;
}
