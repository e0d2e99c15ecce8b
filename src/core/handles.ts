/**
 * What the core hands out (see core.ts): read-only views and handles, never a `Queue` or a
 * `Consumer`. The objects behind them are the core's own (a handle is the core object seen through
 * an interface), so using one costs nothing per message; only the core may reach past the interface.
 */
import type { NackOptions } from './consumer.ts';
import type { StateValue } from './ports/store.ts';
import type { Message } from './message.ts';
import type { QueueStats } from './queue-contents.ts';

export type { ConsumerSink, Delivery, NackOptions } from './consumer.ts';
export type { QueueStats } from './queue-contents.ts';

/** A delivery handed out and not yet settled, as a {@link ConsumerHandle} lists them. */
export interface UnsettledDelivery {
  readonly message: Message;
}

/**
 * A consumer as its protocol sees it: credit, the deliveries it has not settled, and the calls that
 * settle them. The protocol maps its flow control onto `grant`/`setCredit` (STOMP prefetch, AMQP link
 * credit, MQTT receive maximum).
 */
export interface ConsumerHandle {
  readonly id: number;
  /** The queue it consumes from (a topic subscription's queue for a topic consumer). */
  readonly queueName: string;
  readonly autoAck: boolean;
  readonly credit: number;
  /** Closed by its protocol or by the broker (its queue deleted, the broker stopping). */
  readonly closed: boolean;
  /** Deliveries not yet settled, by delivery id, in delivery order. */
  readonly unacked: ReadonlyMap<number, UnsettledDelivery>;
  /** Adds credit and lets the queue deliver. */
  grant(n: number): void;
  /** Sets the credit to an absolute value (AMQP flow). */
  setCredit(n: number): void;
  /** Acknowledges one delivery; resolves when the removal is stored. */
  ack(deliveryId: number): Promise<void>;
  /** Acknowledges a delivery and every earlier one to this consumer (STOMP `client`). */
  ackCumulative(deliveryId: number): Promise<void>;
  /** Returns a delivery to the queue (redelivery policy applies) or dead-letters it. */
  nack(deliveryId: number, opts?: NackOptions): Promise<void>;
  /** Closes the consumer; its unsettled deliveries return to the queue, redelivered. */
  close(): void;
}

/** A queue as management and tests see it: counters and contents, no way to change it but through the core. */
export interface QueueView {
  readonly name: string;
  readonly kind: 'anycast' | 'subscription';
  readonly durable: boolean;
  readonly shared: boolean;
  readonly topic: string | undefined;
  readonly messageCount: number;
  readonly groupCount: number;
  readonly consumers: readonly ConsumerHandle[];
  statistics(): QueueStats;
  /** Messages held, highest priority first (one array: for management and tests; protocols browse with a cursor). */
  browse(): Message[];
}

/** A cursor over a queue's messages (`Core.browser`), read a batch at a time. */
export interface BrowseCursor {
  /**
   * More messages: up to `max`, from at most `max` of the queue's (with a selector, those of them it
   * matches, so possibly none before the end; and only as many as it evaluates in about 10 ms, the
   * rest on later calls). Not a snapshot (JMS 2.0 4.1.2).
   */
  next(max: number): Message[];
  /** True once every message of the queue has been looked at. */
  readonly done: boolean;
}

/** A topic subscription as `Core.findSubscription` describes it: a plain copy of what it was made with. */
export interface SubscriptionInfo {
  /** The subscription queue's name. */
  name: string;
  topic: string;
  durable: boolean;
  shared: boolean;
  clientId: string | undefined;
  subscriptionName: string | undefined;
  /** The selector it filters by, if any. */
  selector: string | undefined;
  meta: Record<string, unknown> | undefined;
  /** Consumers attached now. */
  consumers: number;
}

/** A local transaction as its protocol holds it: sends join it through `SendOptions.tx`. */
export interface TransactionHandle {
  readonly id: number;
  /** The acks recorded so far, in order. */
  readonly acks: ReadonlyArray<{ readonly consumer: ConsumerHandle; readonly deliveryId: number; readonly cumulative: boolean }>;
  /** Records an ack of an unsettled delivery, applied at commit. */
  addAck(consumer: ConsumerHandle, deliveryId: number, cumulative: boolean): void;
  /** Records a `Core.putState` to store with the commit. */
  putState(key: string, value: StateValue | null): void;
}

/** An address as management lists it (`Core.addressList`): a topic, or a queue's own address. */
export interface AddressInfo {
  readonly name: string;
  /** `multicast`: a topic (its subscriptions are queues of kind `subscription`); `anycast`: a queue. */
  readonly routing: 'anycast' | 'multicast';
  /** The queues bound to it: the queue itself, or the topic's subscription queues. */
  readonly queues: readonly string[];
  readonly temporary: boolean;
  readonly autoCreated: boolean;
}

/** One page of a queue's messages (`Core.browsePage`), in delivery order (priority, then arrival). */
export interface MessagePage {
  readonly messages: readonly Message[];
  /** Opaque token for the page after this one; undefined at the end of the queue. */
  readonly next: string | undefined;
}

/** Which messages of a queue a bulk operation takes: every one, those `ids` name, or those `selector` matches. */
export interface MessageFilter {
  readonly ids?: readonly string[];
  readonly selector?: string;
}

/**
 * A bulk operation on a queue's messages (`Core.messageOperation`), run a slice at a time so a large
 * set never blocks the event loop: the management plane runs it as a job with progress.
 * - `remove`: delete them (acknowledged as removed; not dead-lettered).
 * - `move`: send each to `target` (a queue or topic name), then remove it; `copy`: send, keep it.
 * - `retry`: send each to its `originalDestination` (a dead-lettered or expired message), then remove
 *   it; a message with no original destination is skipped (counted in `skipped`).
 * Messages in delivery to a consumer are skipped (counted in `skipped`), as Artemis does.
 * A move or retry keeps the message id (the same message, relocated, as a dead-letter move); a
 * copy is a new message with a new id. Body, headers, properties, priority, expiration and a
 * delivery time are kept; a moved message's `originalDestination` is set (if unset) to where it
 * was, a retried one's is cleared. Removed and moved messages count as acknowledged in the source.
 * Only messages the queue held when the operation was made are taken; paged ones are not read
 * back for delivery until it is done, cancelled, or left without a step for a minute.
 */
export interface MessageOperation {
  readonly action: 'remove' | 'move' | 'copy' | 'retry';
  /**
   * Processes up to `max` (1-2000) more messages, with one store batch; resolves with how many it
   * processed (sent/removed) in this step, once stored. Rejects (and is done) when a target is full
   * (ERR_ADDRESS_FULL: under PAGE it pages, under any other policy the operation stops rather than
   * wait or drop), a move's target routes to no queue, or a retry's target is not permitted.
   * Steps run one after another (a call made while one runs waits for it).
   */
  step(max: number): Promise<number>;
  /**
   * Ends the operation (what is processed stays so); later steps do nothing. Optional in the type so
   * that test doubles need not have it; the core's operations always do: call it when a job is cancelled.
   */
  cancel?(): void;
  readonly done: boolean;
  /** Messages processed so far. */
  readonly processed: number;
  readonly skipped: number;
  /** Messages the filter could match when the operation started (the queue's count then, or `ids.length`): for progress. */
  readonly total: number;
}

/** Counters over the whole broker since start (`Core.totals`), for the overview, rates and metrics. */
export interface BrokerTotals {
  /** Messages held in every queue now, and their bytes in memory. */
  readonly messages: number;
  readonly bytes: number;
  readonly paged: number;
  readonly inDelivery: number;
  /** Since start, over every queue (a queue deleted keeps counting here). */
  readonly enqueued: number;
  readonly acked: number;
  readonly expired: number;
  readonly deadLettered: number;
  /** Sends accepted by the post office (one per send, whatever the queues it reached). */
  readonly sent: number;
  readonly unrouted: number;
  readonly queues: number;
  readonly topics: number;
  readonly consumers: number;
}
