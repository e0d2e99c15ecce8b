import { JunctionError } from '../errors.ts';
import type { Entry } from './entry-list.ts';
import type { ConsumerHandle } from './handles.ts';
import type { Message } from './message.ts';
import type { Queue } from './queue.ts';
import type { Selector } from './selector/types.ts';

/** One message handed to one consumer. Settle it by `id` through the consumer. */
export interface Delivery {
  readonly id: number;
  readonly message: Message;
  /** 1 on first delivery; raised on every redelivery. */
  readonly deliveryCount: number;
  readonly redelivered: boolean;
  /** The queue it came from (a topic subscription is a queue too). */
  readonly queue: string;
}

export interface NackOptions {
  /** Send straight to the dead-letter address (a poison acknowledgement), whatever the attempt count. */
  deadLetter?: boolean;
  /** Why, for the dead-lettered copy's `dlqDeliveryFailureCause`. */
  cause?: string;
  /** Return without raising the delivery count (AMQP released). */
  undelivered?: boolean;
  /** Never deliver it to this consumer again (AMQP modified with undeliverable-here). */
  undeliverableHere?: boolean;
}

/** The core's callback into a protocol session (Artemis's SessionCallback). */
export interface ConsumerSink {
  deliver(delivery: Delivery): void;
  /** The broker closed this consumer on its own (e.g. its subscription was deleted). */
  closed?(reason: string): void;
}

export interface ConsumerInit {
  id: number;
  queue: Queue;
  sink: ConsumerSink;
  selector: Selector | null;
  exclusive: boolean;
  autoAck: boolean;
  credit: number;
}

/**
 * A consumer pulls from one queue with credit: the queue delivers while `credit > 0`. A protocol
 * maps its flow control onto `grant` (STOMP prefetch, AMQP link credit, MQTT receive maximum).
 */
export class Consumer implements ConsumerHandle {
  readonly id: number;
  readonly queue: Queue;
  readonly selector: Selector | null;
  readonly exclusive: boolean;
  /** Auto-ack consumers settle each message as it is delivered (at-most-once). */
  readonly autoAck: boolean;
  credit: number;
  closed = false;
  /** Deliveries not yet settled, in delivery order (cumulative acks rely on the order). */
  readonly unacked = new Map<number, Entry>();
  readonly sink: ConsumerSink;

  constructor(init: ConsumerInit) {
    this.id = init.id;
    this.queue = init.queue;
    this.sink = init.sink;
    this.selector = init.selector;
    this.exclusive = init.exclusive;
    this.autoAck = init.autoAck;
    this.credit = init.credit;
  }

  /** The name of the queue it consumes from. */
  get queueName(): string {
    return this.queue.name;
  }

  /** Adds credit and lets the queue deliver. */
  grant(n: number): void {
    if (this.closed || n <= 0) return;
    this.credit += n;
    this.queue.dispatch();
  }

  /** Sets the credit to an absolute value (AMQP flow). */
  setCredit(n: number): void {
    if (this.closed) return;
    this.credit = n;
    if (n > 0) this.queue.dispatch();
  }

  /** Acknowledges one delivery. Resolves when the removal is stored. */
  ack(deliveryId: number): Promise<void> {
    return this.queue.ack(this, [this.take(deliveryId)]);
  }

  /** Acknowledges a delivery and every earlier one to this consumer (STOMP `client`, JMS CLIENT_ACKNOWLEDGE). */
  ackCumulative(deliveryId: number): Promise<void> {
    this.take(deliveryId);
    const entries: Entry[] = [];
    for (const [id, e] of this.unacked) {
      entries.push(e);
      if (id === deliveryId) break;
    }
    return this.queue.ack(this, entries);
  }

  /** Returns a delivery to the queue (redelivery policy applies) or dead-letters it. */
  nack(deliveryId: number, opts: NackOptions = {}): Promise<void> {
    return this.queue.nack(this, this.take(deliveryId), opts);
  }

  /** The entry of an unsettled delivery; throws ERR_DELIVERY_UNKNOWN for an unknown or settled id. */
  take(deliveryId: number): Entry {
    const e = this.unacked.get(deliveryId);
    if (!e) throw new JunctionError('ERR_DELIVERY_UNKNOWN', `Unknown or already settled delivery ${deliveryId}`);
    return e;
  }

  /** Closes the consumer; its unsettled deliveries return to the queue with their delivery count raised. */
  close(): void {
    if (this.closed) return;
    this.queue.removeConsumer(this);
  }
}
