/**
 * Credit a receiver owes a sender while it may not send: the one rule every flow-controlled
 * delivery path shares (STOMP subscriptions, MQTT subscriptions, route sources on the broker and on
 * a remote AMQP peer). Credit flows back as messages settle (or are written, for auto-ack); while
 * the path is blocked (the connection congested, packet ids all taken, the route paused) it is
 * held here instead, along with any unused credit taken back from the sender, and it goes back
 * when the path opens. `size` bounds it: the sender never has more than the window outstanding
 * (granted and unused, plus delivered and unsettled).
 *
 * Pure bookkeeping: it returns how much to grant and the caller grants it, so the per-message path
 * costs a field update, no allocation and no callback.
 */
export class CreditWindow {
  /** The window: the most credit outstanding at once (prefetch, receive maximum, maxInflight). */
  readonly size: number;
  private heldBack = 0;

  constructor(size: number) {
    this.size = size;
  }

  /** Credit held back, to grant on {@link release}. */
  get held(): number {
    return this.heldBack;
  }

  /** `n` credits come back (messages settled or written): returns what to grant now, 0 while `blocked` (then held). */
  give(n: number, blocked: boolean): number {
    if (!blocked) return n;
    this.heldBack += n;
    return 0;
  }

  /** Holds `n` more credits back: unused credit taken back from the sender, or credit owed while blocked. */
  hold(n: number): void {
    this.heldBack += n;
  }

  /** The path opened: returns everything held, to grant now (none is held after). */
  release(): number {
    const n = this.heldBack;
    this.heldBack = 0;
    return n;
  }

  /** What tops the sender up to the window, given what it has `outstanding` (granted and unused, plus delivered and unsettled). */
  room(outstanding: number): number {
    return Math.max(0, this.size - outstanding);
  }

  /**
   * Holds at least the room left in the window (and no less than already held): after the sender
   * lost its credit (a drain, a re-attach), the window comes back on the next {@link release}.
   */
  refill(outstanding: number): void {
    this.heldBack = Math.max(this.heldBack, this.size - outstanding);
  }
}
