import type { Message } from './message.ts';
import type { Consumer } from './consumer.ts';

/** One message's place in one queue: the per-queue state (delivery count, who holds it). */
export class Entry {
  readonly key: string;
  readonly message: Message;
  readonly size: number;
  /** Order of arrival in this queue; returned messages go back to their place by it. */
  seq = 0;
  deliveryCount: number;
  state: 'ready' | 'scheduled' | 'delivering' | 'done' = 'ready';
  /** While delivering: the consumer holding it and the delivery id it was given. */
  consumer: Consumer | null = null;
  deliveryId = 0;
  /** Consumers that refused it for good (AMQP undeliverable-here): it never goes to them again. */
  refusedBy: Set<number> | null = null;
  /** While scheduled: when it becomes ready (epoch ms). */
  readyAt = 0;
  prev: Entry | null = null;
  next: Entry | null = null;
  list: EntryList | null = null;

  /** Whether the store holds this message for this queue (its removal must be stored too). */
  readonly stored: boolean;

  constructor(key: string, message: Message, size: number, deliveryCount: number, stored: boolean) {
    this.key = key;
    this.message = message;
    this.size = size;
    this.deliveryCount = deliveryCount;
    this.stored = stored;
  }
}

/** An intrusive doubly-linked list of entries: O(1) append and removal, ordered insertion by seq. */
export class EntryList {
  head: Entry | null = null;
  tail: Entry | null = null;
  length = 0;

  push(e: Entry): void {
    e.list = this;
    e.prev = this.tail;
    e.next = null;
    if (this.tail) this.tail.next = e;
    else this.head = e;
    this.tail = e;
    this.length++;
  }

  /** Inserts by `seq`, so a returned message takes its original place ahead of later arrivals. */
  insertOrdered(e: Entry): void {
    // Returned messages are usually near the head, so search from there.
    let before = this.head;
    while (before && before.seq < e.seq) before = before.next;
    const after = before ? before.prev : this.tail;
    e.list = this;
    e.prev = after;
    e.next = after ? after.next : this.head;
    if (e.next) e.next.prev = e;
    else this.tail = e;
    if (after) after.next = e;
    else this.head = e;
    this.length++;
  }

  remove(e: Entry): void {
    if (e.list !== this) return;
    if (e.prev) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.tail = e.prev;
    e.prev = e.next = null;
    e.list = null;
    this.length--;
  }
}
