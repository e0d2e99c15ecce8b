import type { Consumer } from '../consumer.ts';
import type { Entry } from '../entry-list.ts';

/** Where one selector consumer's scan of one queue has got to, per priority level. */
interface Cursor {
  /**
   * Per level: no ready entry of that level with `seq <= seen` can go to this consumer (its selector
   * rejected it, the entry refused it, or another consumer holds its group or the queue
   * exclusively). Entries of a level are in `seq` order, so this is a prefix of the level's list.
   */
  readonly seen: Float64Array;
  /** Per level: the last ready entry with `seq <= seen`, or null when there is none (start at the head). */
  readonly last: Array<Entry | null>;
}

/**
 * The queue's memory of which ready messages each selector consumer has already turned down, so a
 * message is evaluated against a consumer's selector once, not again on every later dispatch (issue
 * 11: with a consumer whose selector matched nothing, every send re-evaluated the whole queue, and
 * ten sends took 12-24 s). Modelled on Artemis, where each consumer iterates the queue with its own
 * cursor and a message that comes back to the queue resets the cursors.
 *
 * Memory: two small arrays per selector consumer, nothing per message; a queue whose consumers
 * have no selector holds no cursor and pays one `size` check where a message leaves a level.
 * Invariants, per consumer and level: `seen` covers a prefix of the level's list (in `seq` order);
 * `last` is the last live entry in it. They hold because new messages get a higher `seq` than any
 * seen, an entry leaving the list moves `last` back to its predecessor, and an entry put back in
 * its place (`returned`) moves `seen` back to just before it: it is new for every consumer again.
 */
export class SelectorCursors {
  readonly #cursors = new Map<Consumer, Cursor>();
  readonly #levels: number;

  constructor(levels: number) {
    this.#levels = levels;
  }

  /** Selector consumers tracked; 0 means every consumer takes whatever its credit allows. */
  get size(): number {
    return this.#cursors.size;
  }

  add(c: Consumer): void {
    if (c.selector === null) return;
    this.#cursors.set(c, { seen: new Float64Array(this.#levels), last: new Array<Entry | null>(this.#levels).fill(null) });
  }

  remove(c: Consumer): void {
    this.#cursors.delete(c);
  }

  /**
   * Forgets every consumer's progress: a group owner or an exclusive consumer went away, so entries
   * passed over because another consumer held them may now be for anyone. Each is evaluated once more.
   */
  resetAll(): void {
    for (const cur of this.#cursors.values()) {
      cur.seen.fill(0);
      cur.last.fill(null);
    }
  }

  /** Whether `c` (with a selector) has already turned `e` down: then its selector is not run again. */
  passed(c: Consumer, e: Entry, level: number): boolean {
    const cur = this.#cursors.get(c);
    return cur !== undefined && e.seq <= (cur.seen[level] as number);
  }

  /**
   * `e` was offered and went to no consumer: every selector consumer with credit has turned it
   * down (or is kept from it by a group or an exclusive consumer). Each whose cursor reaches the
   * entry just before `e` moves past it; one that has a gap (it had no credit when an earlier entry
   * went by) keeps its place and evaluates the gap when it is offered again.
   */
  rejected(e: Entry, level: number): void {
    const prevSeq = e.prev === null ? 0 : e.prev.seq;
    for (const [c, cur] of this.#cursors) {
      if (c.credit <= 0) continue;
      const seen = cur.seen[level] as number;
      if (e.seq > seen && prevSeq <= seen) {
        cur.seen[level] = e.seq;
        cur.last[level] = e;
      }
    }
  }

  /** `e` is about to leave its level's list (delivered, expired, replaced). */
  leaving(e: Entry, level: number): void {
    for (const cur of this.#cursors.values()) if (cur.last[level] === e) cur.last[level] = e.prev;
  }

  /** `e` was put back in its place in the level's list (redelivery, or a scheduled message now due). */
  returned(e: Entry, level: number): void {
    for (const cur of this.#cursors.values()) {
      if (e.seq <= (cur.seen[level] as number)) {
        cur.seen[level] = e.seq - 1;
        cur.last[level] = e.prev;
      }
    }
  }

  /**
   * Where a dispatch pass over `head`'s level should start when every consumer with credit has a
   * selector: after the entries all of them have turned down. `undefined` when one with credit has
   * no selector (or none has credit): then the cursors cannot say, and the pass starts at the head
   * (or where a sliced pass stopped). Starting here is always progress: the consumer with the
   * lowest cursor evaluates from just after it, so its cursor moves on with every entry it turns
   * down; a sliced pass needs no other place to resume from.
   */
  start(head: Entry | null, level: number, consumers: readonly Consumer[]): Entry | null | undefined {
    let from: Cursor | undefined;
    for (const c of consumers) {
      if (c.credit <= 0) continue;
      const cur = this.#cursors.get(c);
      if (cur === undefined) return undefined;
      if (from === undefined || (cur.seen[level] as number) < (from.seen[level] as number)) from = cur;
    }
    if (from === undefined) return undefined;
    const last = from.last[level] as Entry | null;
    return last === null ? head : last.next;
  }
}
