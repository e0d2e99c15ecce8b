/** A WebSocket connection waiting for room in a {@link PartialMessageBudget}. */
export interface MessageBudgetWaiter {
  /** Called when it is its turn: it goes on reading. */
  budgetGo(): void;
}

/**
 * The raw bytes of unfinished WebSocket messages over all WebSocket connections of one broker
 * (`connections.maxPartialMessageBytes`). ws buffers a whole message (up to its protocol's
 * maxPayload, ~4 MiB for STOMP) before any protocol sees a byte, so no protocol's own budget can
 * count it; the transport counts the bytes read from each socket since its last complete message.
 * Once the total is over `max`, a connection in the middle of a message stops being read and
 * waits, first come first served, until finished messages, closed connections or timed-out ones
 * (`connections.messageTimeout`) give bytes back: a large message is delayed, not refused.
 * Without it, 200 connections each holding 4 MiB of an unfinished STOMP message took ~940 MB.
 */
export class PartialMessageBudget {
  #max: number;
  #used = 0;
  /** In arrival order (a Set iterates in insertion order). */
  readonly #waiters = new Set<MessageBudgetWaiter>();
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

  /** Whether the total is within `max`. */
  get open(): boolean {
    return this.#used <= this.#max;
  }

  /** Raises `max` to `bytes` if lower, so that one message of the largest size can always complete. */
  atLeast(bytes: number): void {
    if (this.#max < bytes) this.#max = bytes;
  }

  /** Adds `delta` (negative: gives bytes back, which lets waiters read again). */
  charge(delta: number): void {
    this.#used += delta;
    if (delta < 0 && this.#waiters.size > 0) this.#wake();
  }

  wait(w: MessageBudgetWaiter): void {
    this.#waiters.add(w);
  }

  /** Removes `w` from the line (its connection closed). */
  cancel(w: MessageBudgetWaiter): void {
    this.#waiters.delete(w);
  }

  #wake(): void {
    // A waiter that goes on reading may give bytes back (and so come here) or wait again (and be
    // added at the end of the line): one pass, in order, stopping once the budget is full again.
    if (this.#waking) return;
    this.#waking = true;
    try {
      for (const w of this.#waiters) {
        if (!this.open) return;
        this.#waiters.delete(w);
        w.budgetGo();
      }
    } finally {
      this.#waking = false;
    }
  }
}
