import type { DeliverySchedule } from './delivery-schedule.ts';
import type { Entry, EntryList } from './entry-list.ts';

/** What one expiry (a store write and a move) costs a sweep's budget, in entries looked at. */
const EXPIRY_VISITS = 20;

/** What a sweep may spend: entries it may look at (counted down), and where it puts the moves it starts. */
export interface SweepBudget {
  visits: number;
  moves?: Array<Promise<void>>;
}

/**
 * One queue's expiry sweep, spread over calls: each call looks at no more than the budget's visits
 * and the next resumes where it stopped (ready entries by priority and arrival, then scheduled ones),
 * so a sweep over a queue of any size never holds the event loop. Entries that leave meanwhile are
 * stepped over by arrival order.
 */
export class ExpirySweep {
  private readonly levels: readonly EntryList[];
  /** Expires an entry (ready or scheduled) for the queue; returns the move to the expiry address. */
  private readonly expire: (e: Entry) => Promise<void> | void;
  private level: number;
  private next: Entry | null = null;
  private lastSeq = -1;
  private scheduled: Entry[] | null = null;
  private i = 0;

  constructor(levels: readonly EntryList[], expire: (e: Entry) => Promise<void> | void) {
    this.levels = levels;
    this.expire = expire;
    this.level = levels.length - 1;
  }

  /**
   * Sweeps on from where the last call stopped, expiring what has expired by `now`. False when the
   * budget ran out first (call again to go on); true once the queue has been swept to its end.
   */
  run(now: number, schedule: DeliverySchedule | null, budget: SweepBudget): boolean {
    while (this.level >= 0) {
      if (budget.visits <= 0) return false;
      const list = this.levels[this.level]!;
      let e = this.next;
      if (e === null || e.list !== list) {
        // Where the sweep stopped left the list meanwhile: resume after its place by seq (a pointer
        // walk, not counted: counting it could keep a sweep from ever getting past it).
        e = list.head;
        while (e && e.seq <= this.lastSeq) e = e.next;
      }
      if (!e) {
        this.level--;
        this.next = null;
        this.lastSeq = -1;
        continue;
      }
      budget.visits--;
      this.next = e.next;
      this.lastSeq = e.seq;
      if (e.message.expiration > 0 && e.message.expiration <= now) this.out(e, budget);
    }
    this.scheduled ??= schedule !== null ? schedule.items().slice() : [];
    while (this.i < this.scheduled.length) {
      if (budget.visits-- <= 0) return false;
      const e = this.scheduled[this.i++]!;
      if (e.state === 'scheduled' && e.message.expiration > 0 && e.message.expiration <= now) this.out(e, budget);
    }
    return true;
  }

  /** Expires an entry: a move costs the budget EXPIRY_VISITS, and the caller awaits it. */
  private out(e: Entry, budget: SweepBudget): void {
    if (e.state !== 'ready' && e.state !== 'scheduled') return;
    const move = this.expire(e);
    budget.visits -= EXPIRY_VISITS;
    if (move) budget.moves?.push(move);
  }
}
