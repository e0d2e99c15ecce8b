import type { StoreOp } from './ports/store.ts';
import type { Entry } from './entry-list.ts';
import type { Message } from './message.ts';
import type { Queue } from './queue.ts';
import type { Origin } from './reserved.ts';
import type { AddressSettings } from './settings.ts';
import type { Selector } from './selector/types.ts';

/** What a queue needs from the core around it. */
export interface QueueHost {
  now(): number;
  nextDeliveryId(): number;
  persist(batch: StoreOp[]): Promise<void>;
  /** Moves an entry already removed from `queue` to the dead-letter address. */
  deadLetter(queue: Queue, entry: Entry, cause: string): Promise<void>;
  /** Moves an entry already removed from `queue` to the expiry address. */
  expire(queue: Queue, entry: Entry): Promise<void> | void;
  consumerRemoved(queue: Queue): void;
  /** Reads paged messages back from the store. */
  read(keys: string[]): Promise<Array<Message | undefined>>;
  /** Bytes of messages held in memory changed by `delta`. */
  memoryChanged(delta: number): void;
  /** Whether the broker-wide memory limit is reached. */
  memoryFull(): boolean;
  /** A store write that nobody awaits failed: report it (never swallow). */
  backgroundError(err: unknown, what: string): void;
}

export interface QueueInit {
  name: string;
  kind: 'anycast' | 'subscription';
  /** Stores durable messages (anycast queues and durable subscriptions). */
  persistent: boolean;
  settings: AddressSettings;
  host: QueueHost;
  autoCreated?: boolean;
  topic?: string;
  filter?: Selector | null;
  clientId?: string;
  subscriptionName?: string;
  shared?: boolean;
  durable?: boolean;
  meta?: Record<string, unknown>;
  /** Entries nobody takes that one dispatch call looks at before it continues on the next turn (default 1,000; tests set it low). */
  dispatchScanLimit?: number;
  /** The connection a temporary queue belongs to (only it may consume from the queue). */
  owner?: Origin;
  /** The user a durable subscription belongs to (see `StoredQueue.ownerUser`). */
  ownerUser?: string;
}
