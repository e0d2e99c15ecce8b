import type { Message } from '../../core/message.ts';
import type { BrowseCursor } from '../../core/handles.ts';
import type { ConsumerLinkHost } from './consumer-link.ts';
import { amqpFromDelivery } from './mapping.ts';
import type { RheaSender } from './rhea-shapes.ts';

/** A queue browser reads the queue this many messages at a time, at most BROWSE_READS_PER_TURN times per turn. */
const BROWSE_BATCH = 256;
const BROWSE_READS_PER_TURN = 8;

/**
 * A queue browser link (Qpid JMS QueueBrowser: distribution-mode copy on a queue) browses the queue
 * through a core cursor: its messages go out pre-settled as credit allows, then drain ends it. Read a
 * batch at a time, a few batches per event-loop turn, so a large queue (or a selector that matches
 * little of it) never holds the loop. A reserved name is refused at attach (the core's browser).
 */
export class LinkBrowser {
  private readonly host: ConsumerLinkHost;
  private readonly link: RheaSender;
  /** The core's cursor, filtered by the link's selector inside the core. */
  private readonly cursor: BrowseCursor;
  /** Matching messages read ahead of credit. */
  private ahead: Message[] = [];
  /** Deliveries handed to rhea; rhea's own delivery_count counts those already transferred. */
  private sent = 0;

  constructor(host: ConsumerLinkHost, link: RheaSender, queue: string, selector: string | undefined) {
    this.host = host;
    this.link = link;
    this.cursor = host.core.browser(queue, host.origin, selector);
    link.local.attach.snd_settle_mode = 1;
  }

  /** Sends what the link's credit allows; `again` is called on a later turn when the reads of this one are used up. */
  flow(again: () => void): void {
    const outgoing = this.link.session.outgoing.deliveries as unknown as { available(): number };
    let reads = 0;
    while (this.link.credit - (this.sent - this.link.delivery_count) > 0 && outgoing.available() > 0) {
      if (this.ahead.length === 0) {
        if (this.cursor.done) break;
        if (reads++ === BROWSE_READS_PER_TURN) {
          setImmediate(again);
          return;
        }
        this.ahead = this.cursor.next(BROWSE_BATCH);
        continue;
      }
      const m = this.ahead.shift()!;
      let payload: Buffer;
      try {
        payload = amqpFromDelivery({ id: 0, message: m, deliveryCount: 1, redelivered: false, queue: m.destination.name }, Date.now());
      } catch (err) {
        // A browser consumes nothing: a message that cannot be mapped is skipped, and stays queued.
        this.host.log.warn({ link: this.link.name, messageId: m.id, cause: err instanceof Error ? err.message : String(err) }, 'amqp browse skipped a message that cannot be mapped');
        continue;
      }
      const rd = this.link.send(payload, Buffer.from(`b${this.sent}`), 0);
      rd.update(true);
      this.sent++;
    }
    if (this.link._draining && this.cursor.done && this.ahead.length === 0) this.link.set_drained(true);
  }
}
