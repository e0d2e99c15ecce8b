/** A connection waiting for room in a {@link PartialFrameBudget}. */
export interface BudgetWaiter {
  /** True once it may read again (it stays first in line until then). */
  budgetReady(): boolean;
  /** Called when it is its turn: it goes on reading. */
  budgetGo(): void;
}

/**
 * The bytes of partially received frames over all STOMP connections of one broker
 * (`stomp.maxPartialFrameBytes`). Each connection charges what its parser holds of the frame it is
 * reading, after each slice it parses. Once the total reaches `max`, a connection in the middle of
 * a frame stops being read and waits, first come first served, until finished frames, closed
 * connections or timed-out ones (`stomp.frameTimeout`) give bytes back; a connection between frames
 * still reads, in small slices, so other clients' small frames keep flowing (see StompSession.feed).
 * Without it, every connection could hold up to maxBodyBytes of an unfinished frame: 200
 * connections held ~800 MB.
 */
export class PartialFrameBudget {
  readonly max: number;
  #used = 0;
  /** In arrival order (a Set iterates in insertion order). */
  readonly #waiters = new Set<BudgetWaiter>();
  #waking = false;

  constructor(max: number) {
    this.max = max;
  }

  get used(): number {
    return this.#used;
  }

  /** Whether the total is under `max`. */
  get open(): boolean {
    return this.#used < this.max;
  }

  /** Adds `delta` (negative: gives bytes back, which lets waiters read again). */
  charge(delta: number): void {
    this.#used += delta;
    if (delta < 0 && this.#waiters.size > 0) this.#wake();
  }

  wait(w: BudgetWaiter): void {
    this.#waiters.add(w);
  }

  /** Removes `w` from the line (its connection closed). */
  cancel(w: BudgetWaiter): void {
    this.#waiters.delete(w);
  }

  #wake(): void {
    // A waiter that goes on reading may give bytes back (and so come here) or wait again (and be
    // added at the end of the line): one pass, in order, stopping at the first that cannot go.
    if (this.#waking) return;
    this.#waking = true;
    try {
      for (const w of this.#waiters) {
        if (!w.budgetReady()) return;
        this.#waiters.delete(w);
        w.budgetGo();
      }
    } finally {
      this.#waking = false;
    }
  }
}
