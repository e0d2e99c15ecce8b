import type { Message } from '../core/message.ts';

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
  | { op: 'deleteQueue'; queue: string };

export interface RecoveredRef {
  queue: string;
  deliveryCount: number;
}

/** What a store hands back at open: queues, then messages in original send order with their queue references. */
export interface RecoveredState {
  queues: StoredQueue[];
  messages: Array<{ key: string; message: Message; refs: RecoveredRef[] }>;
}

/**
 * Persistence behind one interface. The core awaits `commit` before it confirms a durable
 * message to its producer, so an implementation resolves only once the batch is durable under its
 * sync policy, and rejects (never resolves) when it was not stored.
 *
 * A message is stored once under its `key` however many queues reference it; the store drops it
 * when its last reference is removed. The key names one stored instance: a dead-lettered copy keeps
 * the message id but is a new instance with a key of its own.
 */
export interface Store {
  readonly kind: string;
  open(): Promise<RecoveredState>;
  commit(batch: StoreOp[]): Promise<void>;
  close(): Promise<void>;
}
