import type { BrowseCursor } from './handles.ts';
import type { Message } from './message.ts';
import type { QueueBrowser } from './queue-browser.ts';
import { selectorResolver } from './selector-resolver.ts';
import type { Selector } from './selector/types.ts';

/**
 * How long one `next` call may spend evaluating the selector, ms: as a dispatch pass (queue.ts,
 * DISPATCH_SLICE_MS), since one evaluation may cost ~3 ms under the default `selectors` limits (a
 * 65,536-character AMQP property against a 256-character LIKE stretch with `_`), so a batch of 256
 * would otherwise hold the event loop for most of a second.
 */
const BROWSE_SLICE_MS = 10;

/**
 * A queue browser's cursor, filtered by a selector inside the core (JMS QueueBrowser with a message
 * selector; ActiveMQ applies a STOMP browser's `selector` header the same way). Each `next(max)`
 * looks at no more than `max` of the queue's messages, and with a selector for no more than
 * BROWSE_SLICE_MS (the rest of the batch is looked at by the next call), so a selector that matches
 * little of a large queue, or costs much per message, still costs a bounded amount per call: it
 * may return none before `done`.
 */
export class QueueCursor implements BrowseCursor {
  done = false;
  private readonly browser: QueueBrowser;
  private readonly selector: Selector | null;
  /** The batch read from the queue and not yet all looked at (selector only), and where to go on. */
  private batch: Message[] = [];
  private at = 0;
  /** The clock the slice is measured on (a unit test passes a virtual one). */
  private readonly now: () => number;

  constructor(browser: QueueBrowser, selector: Selector | null, now: () => number = () => performance.now()) {
    this.browser = browser;
    this.selector = selector;
    this.now = now;
  }

  next(max: number): Message[] {
    if (this.done) return [];
    const sel = this.selector;
    if (sel === null) {
      const batch = this.browser.next(max);
      if (batch.length === 0) this.done = true;
      return batch;
    }
    if (this.at === this.batch.length) {
      this.batch = this.browser.next(max);
      this.at = 0;
      if (this.batch.length === 0) {
        this.done = true;
        return [];
      }
    }
    const batch = this.batch;
    const out: Message[] = [];
    const end = Math.min(batch.length, this.at + max);
    const until = this.now() + BROWSE_SLICE_MS;
    // At least one message per call, so the cursor always moves on.
    do {
      const m = batch[this.at++]!;
      if (sel.matches(selectorResolver(m))) out.push(m);
    } while (this.at < end && this.now() < until);
    return out;
  }
}
