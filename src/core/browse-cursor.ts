import type { BrowseCursor } from './handles.ts';
import type { Message } from './message.ts';
import type { QueueBrowser } from './queue-browser.ts';
import { selectorResolver } from './selector-resolver.ts';
import type { Selector } from './selector/types.ts';

/**
 * A queue browser's cursor, filtered by a selector inside the core (JMS QueueBrowser with a message
 * selector; ActiveMQ applies a STOMP browser's `selector` header the same way). Each `next(max)`
 * looks at no more than `max` of the queue's messages, so a selector that matches little of a large
 * queue still costs a bounded amount per call: it may return none before `done`.
 */
export class QueueCursor implements BrowseCursor {
  done = false;
  private readonly browser: QueueBrowser;
  private readonly selector: Selector | null;

  constructor(browser: QueueBrowser, selector: Selector | null) {
    this.browser = browser;
    this.selector = selector;
  }

  next(max: number): Message[] {
    if (this.done) return [];
    const batch = this.browser.next(max);
    if (batch.length === 0) {
      this.done = true;
      return batch;
    }
    const sel = this.selector;
    return sel === null ? batch : batch.filter((m) => sel.matches(selectorResolver(m)));
  }
}
