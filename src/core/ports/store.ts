import type { Message } from '../message.ts';

/** A queue the store must remember across restarts (anycast queues are implied by their messages). */
export interface StoredQueue {
  name: string;
  kind: 'anycast' | 'subscription';
  /** Subscriptions: the topic pattern they follow. */
  topic?: string;
  selector?: string;
  clientId?: string;
  subscriptionName?: string;
  shared?: boolean;
  /** Protocol-neutral extra state a protocol keeps with a durable subscription (e.g. MQTT's granted QoS); JSON. */
  meta?: Record<string, unknown>;
  /** The user that created a durable subscription with security on: only that user may attach to, browse or delete it (issue 14). */
  ownerUser?: string;
  /**
   * The subscription's filter was granted to its subscriber only in part (a more specific pattern
   * under it withholds `consume`): after a restart it routes nothing until a subscriber attaches
   * again and its subject is known (issue 14, docs/security.md#permissions).
   */
  readFiltered?: boolean;
  /** Delivery paused by management with `persist` (Artemis stores a queue's pause the same way): paused again at recovery. */
  paused?: boolean;
}

/** A JSON value a protocol keeps with `putState` (no `undefined`, no functions). */
export type StateValue = string | number | boolean | null | StateValue[] | { [key: string]: StateValue };

/** A live piece of protocol state, as recovery hands it back. */
export interface StoredState {
  key: string;
  value: StateValue;
}

/**
 * One persistent change. A batch of operations is applied atomically: a transaction commit,
 * a send to several durable queues, or a single ack is one batch.
 */
export type StoreOp =
  | { op: 'addMessage'; key: string; message: Message }
  | { op: 'addRef'; queue: string; key: string }
  | { op: 'removeRef'; queue: string; key: string }
  | { op: 'deliveryCount'; queue: string; key: string; count: number }
  | { op: 'createQueue'; queue: StoredQueue }
  | { op: 'deleteQueue'; queue: string }
  /**
   * Protocol-neutral state under a key (e.g. MQTT's inbound QoS 2 packet ids of a persistent
   * session), written in the same batch as the message it belongs to when it has one. The latest
   * value of a key wins; `null` deletes it.
   */
  | { op: 'putState'; key: string; value: StateValue | null };

export interface RecoveredRef {
  queue: string;
  deliveryCount: number;
}

/** A stored message as recovery sees it: its key, approximate size and queue references; read it with `Store.read`. */
export interface RecoveredMessage {
  key: string;
  size: number;
  refs: RecoveredRef[];
}

/**
 * What a store hands back at open: queues, then durable messages in original send order with their
 * queue references. Message bodies stay in the store until a queue reads them (paging), so recovery
 * of a large backlog does not need it in memory. `messages` may be produced lazily as it is iterated
 * (the journal does, so a backlog of millions is never one array of objects): the core iterates it
 * once, right after `open`, before it commits anything.
 */
export interface RecoveredState {
  queues: StoredQueue[];
  messages: Iterable<RecoveredMessage>;
  /** The live `putState` values (deleted keys are absent). */
  states: StoredState[];
}

/**
 * Persistence behind one interface. The core awaits `commit` before it confirms a durable
 * message to its producer, so an implementation resolves only once the batch is durable under its
 * sync policy, and rejects (never resolves) when it was not stored.
 *
 * Non-durable messages are written only when a queue pages them; they are not recovered.
 *
 * A message is stored once under its `key` however many queues reference it; the store drops it
 * when its last reference is removed. The key names one stored instance: a dead-lettered copy keeps
 * the message id but is a new instance with a key of its own.
 */
export interface Store {
  readonly kind: string;
  open(): Promise<RecoveredState>;
  commit(batch: StoreOp[]): Promise<void>;
  /**
   * Reads stored messages back by key, in the order asked (paging and recovery). A key the store
   * does not hold (any more) yields `undefined` at its position.
   */
  read(keys: string[]): Promise<Array<Message | undefined>>;
  close(): Promise<void>;
}
