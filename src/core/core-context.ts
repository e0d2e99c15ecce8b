import { JunctionError } from '../errors.ts';
import { Access } from './access.ts';
import type { Log } from './ports/log.ts';
import type { Authorizer } from './ports/security.ts';
import type { Store, StoreOp } from './ports/store.ts';
import { MemoryLimits } from './memory-limits.ts';
import type { Queue } from './queue.ts';
import type { QueueHost } from './queue-host.ts';
import { RetainedMessages, DEFAULT_RETAINED_LIMITS, type RetainedLimits, type RetainedRefusal } from './retained.ts';
import { compileSelector, MAX_SELECTOR_DEPTH } from './selector/index.ts';
import type { Selector, SelectorLimits } from './selector/types.ts';
import { DEFAULT_ADDRESS_SETTINGS, SettingsResolver, type AddressSettings } from './settings.ts';
import { DEFAULT_TRANSACTION_LIMITS, TransactionBudget, type TransactionLimits } from './transaction.ts';
import { WildcardIndex } from './wildcard.ts';
import type { Origin } from './reserved.ts';

/** One year: see `scheduler.maxScheduledDelay` in the config schema. */
export const DEFAULT_MAX_SCHEDULED_DELAY = 365 * 24 * 3600 * 1000;

/** Names of temporary queues (AMQP dynamic nodes) start with this. */
export const TEMPORARY_PREFIX = '$tmp.';

/** Broker-wide caps (config `core.maxQueues`, `core.maxConsumers`); what the store recovers is never refused. */
export interface ResourceLimits {
  maxQueues: number;
  maxConsumers: number;
}

/** What {@link CoreContext} is built from: the part of `CoreOptions` every core component shares. */
export interface CoreContextOptions {
  store: Store;
  log: Log;
  brokerName?: string;
  addressSettings?: Record<string, Partial<AddressSettings>>;
  globalMaxSizeBytes?: number;
  maxScheduledDelay?: number;
  selectorLimits?: SelectorLimits;
  retainedLimits?: Partial<RetainedLimits>;
  transactionLimits?: Partial<TransactionLimits>;
  resourceLimits?: Partial<ResourceLimits>;
  /** Permission checks for client and route origins (issue 14); omitted: security off, nothing is checked. */
  authorizer?: Authorizer;
  now?: () => number;
}

/**
 * The state the core's components share (Artemis keeps it in its PostOffice and server): the queue
 * and topic tables, memory accounting, counters, the store. One long-lived object per broker, built
 * once: the components keep a reference to it (and to its long-lived tables), so the hot paths pay
 * no lookup for having been split into files.
 */
export class CoreContext {
  readonly brokerName: string;
  readonly store: Store;
  readonly log: Log;
  readonly settings: SettingsResolver;
  readonly queues = new Map<string, Queue>();
  readonly topics = new Set<string>();
  readonly subscriptionIndex = new WildcardIndex<Queue>();
  /** Durable subscriptions by client id, for `durableSubscriptions` (a MQTT CONNECT asks for its own). */
  readonly durableByClient = new Map<string, Set<Queue>>();
  /** Live temporary topics with the connection each belongs to. */
  readonly temporaryTopics = new Map<string, Origin>();
  readonly selectorLimits: SelectorLimits | undefined;
  readonly maxScheduledDelay: number;
  readonly now: () => number;
  /** The start time in base 36: in message ids, store keys and temporary subscription names. */
  readonly bootId: string;
  readonly limits: MemoryLimits;
  readonly retainedMessages: RetainedMessages;
  readonly txBudget: TransactionBudget;
  readonly resourceLimits: ResourceLimits;
  /** Permission checks; `access.authorizer` undefined: security off. */
  readonly access: Access;
  /** Set by the core once its components exist: the queues' callbacks into them. */
  host!: QueueHost;
  closed = false;
  /** Messages sent to a topic no subscription matched. */
  unrouted = 0;
  /** Sends the post office accepted (`BrokerTotals.sent`): one increment per send, where it already counts `unrouted`. */
  sent = 0;
  /**
   * The counters of queues deleted since start (folded in once, at delete), so `Core.totals` keeps
   * them without a broker-wide increment per message next to each queue's own.
   */
  readonly retired = { enqueued: 0, acked: 0, expired: 0, deadLettered: 0 };
  /** Topics named in the configuration (`CoreOptions.topics`); every other topic was auto-created (or is temporary). */
  readonly configuredTopics = new Set<string>();
  /** Consumers attached now (queues are `queues.size`): checked against `resourceLimits`. */
  consumers = 0;
  /** Consumer ids and temporary subscription numbers. */
  subSeq = 0;
  private seq = 0;
  /** When a retained message refused for a limit was last logged at warn (at most once a minute). */
  private retainedWarnedAt = -Infinity;

  constructor(opts: CoreContextOptions) {
    this.store = opts.store;
    this.log = opts.log;
    this.brokerName = opts.brokerName ?? 'junction';
    this.settings = new SettingsResolver(opts.addressSettings ?? {}, DEFAULT_ADDRESS_SETTINGS);
    this.selectorLimits = opts.selectorLimits;
    this.limits = new MemoryLimits(opts.globalMaxSizeBytes ?? -1);
    // Retained messages are held in memory: their bytes count against the memory limits too.
    this.retainedMessages = new RetainedMessages(
      { ...DEFAULT_RETAINED_LIMITS, ...opts.retainedLimits },
      (delta) => this.limits.changed(delta),
      (r) => this.retainedRefused(r),
    );
    this.txBudget = new TransactionBudget({ ...DEFAULT_TRANSACTION_LIMITS, ...opts.transactionLimits }, opts.globalMaxSizeBytes ?? -1, (delta) => this.limits.changed(delta));
    this.now = opts.now ?? Date.now;
    this.maxScheduledDelay = opts.maxScheduledDelay ?? DEFAULT_MAX_SCHEDULED_DELAY;
    this.resourceLimits = { maxQueues: Infinity, maxConsumers: Infinity, ...opts.resourceLimits };
    this.bootId = this.now().toString(36);
    this.access = new Access(opts.authorizer);
  }

  /** The number in the last key {@link nextKey} handed out (management operations take only messages keyed up to it). */
  get keySeq(): number {
    return this.seq;
  }

  /** A new store key for a message. */
  nextKey(): string {
    return `${this.bootId}-${++this.seq}`;
  }

  persist(batch: StoreOp[]): Promise<void> {
    if (this.closed) return Promise.reject(new JunctionError('ERR_BROKER_CLOSED'));
    return this.store.commit(batch).catch((err: unknown) => {
      throw err instanceof JunctionError ? err : new JunctionError('ERR_STORE_FAILED', `Store failed: ${(err as Error)?.message ?? err}`, { cause: err });
    });
  }

  backgroundError(err: unknown, what: string): void {
    this.log.error({ err, what }, 'background store operation failed');
  }

  assertOpen(): void {
    if (this.closed) throw new JunctionError('ERR_BROKER_CLOSED');
  }

  /**
   * Compiles a selector under the configured limits. `stored`: a durable subscription's selector read
   * back at recovery. It was accepted when it was created; limits lowered since (or added since, as
   * `maxLikeSegment` and `maxLikes` were) must not stop the broker from starting, so only the stack
   * bound and the per-evaluation bound (`maxLikeValueLength`) apply.
   */
  compile(text: string, stored = false): Selector {
    if (!stored) return compileSelector(text, this.selectorLimits);
    return compileSelector(text, { ...this.selectorLimits, maxLength: Number.MAX_SAFE_INTEGER, maxDepth: MAX_SELECTOR_DEPTH, maxLikeSegment: Number.MAX_SAFE_INTEGER, maxLikes: Number.MAX_SAFE_INTEGER });
  }

  /**
   * A retained send over a retained-message limit: delivered, not retained. Logged at warn at most
   * once a minute, else at debug (a producer at the cap must not flood the log).
   */
  private retainedRefused(r: RetainedRefusal): void {
    const fields = { code: 'ERR_RETAINED_LIMIT', topic: r.topic, size: r.size, retained: r.count, retainedBytes: r.bytes, ...r.limits };
    const now = this.now();
    if (now - this.retainedWarnedAt < 60_000) {
      this.log.debug(fields, 'retained message not kept: retained-message limit reached');
      return;
    }
    this.retainedWarnedAt = now;
    this.log.warn(fields, 'retained message not kept: retained-message limit reached (delivered to live subscribers; further ones within a minute at debug)');
  }
}
