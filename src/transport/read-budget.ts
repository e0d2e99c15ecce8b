/** A connection waiting for room in a {@link ReadBudget}. */
export interface ReadBudgetWaiter {
  /**
   * True once it may read again (it stays first in line until then). Without it, a waiter may go
   * on as soon as the budget is open.
   */
  budgetReady?(): boolean;
  /** Called when it is its turn: it goes on reading. */
  budgetGo(): void;
}

/**
 * Bytes that connections have read but not yet turned into a whole frame or message, shared by all
 * the connections of one broker that use it: unfinished STOMP frames (`stomp.maxPartialFrameBytes`,
 * charged by each STOMP session for what its parser holds) and unfinished WebSocket messages
 * (`connections.maxPartialMessageBytes`, charged by the transport for what ws buffers before any
 * protocol sees a byte). Once the total reaches `max`, a connection in the middle of a frame or
 * message stops being read and waits, first come first served, until finished ones, closed
 * connections or timed-out ones give bytes back: a large legitimate frame is delayed, not refused.
 * Without it every connection could hold its protocol's largest frame unfinished: 200 connections
 * held ~900 MB.
 */
export class ReadBudget {
  #max: number;
  #used = 0;
  /** In arrival order (a Set iterates in insertion order). */
  readonly #waiters = new Set<ReadBudgetWaiter>();
  #waking = false;

  constructor(max: number) {
    this.#max = max;
  }

  get max(): number {
    return this.#max;
  }

  get used(): number {
    return this.#used;
  }

  /** Whether the total is under `max`. */
  get open(): boolean {
    return this.#used < this.#max;
  }

  /** Raises `max` to `bytes` if lower, so that one frame or message of the largest size can always complete. */
  atLeast(bytes: number): void {
    if (this.#max < bytes) this.#max = bytes;
  }

  /** Adds `delta` (negative: gives bytes back, which lets waiters read again). */
  charge(delta: number): void {
    this.#used += delta;
    if (delta < 0 && this.#waiters.size > 0) this.#wake();
  }

  wait(w: ReadBudgetWaiter): void {
    this.#waiters.add(w);
  }

  /** Removes `w` from the line (its connection closed). */
  cancel(w: ReadBudgetWaiter): void {
    this.#waiters.delete(w);
  }

  #wake(): void {
    // A waiter that goes on reading may give bytes back (and so come here) or wait again (and be
    // added at the end of the line): one pass, in order, stopping at the first that cannot go.
    if (this.#waking) return;
    this.#waking = true;
    try {
      for (const w of this.#waiters) {
        if (!(w.budgetReady ? w.budgetReady() : this.open)) return;
        this.#waiters.delete(w);
        w.budgetGo();
      }
    } finally {
      this.#waking = false;
    }
  }
}
