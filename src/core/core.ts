/**
 * The broker core's facade: what protocols, routing and the broker call. Each job is in its own file
 * and this class only delegates (Artemis's PostOffice / ServerSession line):
 * - `post-office.ts`: normalise, route, store and enqueue a send; dead-letter and expiry moves.
 * - `addresses.ts`: queues, topics, temporary ones, auto-create/delete, reserved names, resource caps.
 * - `subscriptions.ts`: subscription queues (temporary, shared, durable) and consumers.
 * - `transactions.ts`, `protocol-state.ts`, `recovery.ts`, `expiry-sweeper.ts`; shared state in `core-context.ts`.
 * It is near 300 lines, not 150, because it keeps every call adapters, routing and tests made before
 * the split (39 members, each a documented one-line delegate); nothing here does a job of its own.
 *
 * Public surface: files outside `src/core` import only this file, `handles.ts` (what the facade
 * hands out: consumer and transaction handles, queue views, browse cursors, subscription info),
 * `message.ts`, `credit-window.ts`, `ports/*.ts`, and the pure helpers `reserved.ts` (reserved names,
 * `Origin`), `address.ts` and `wildcard.ts` (address validation and matching); every other file of
 * `src/core` is internal (.dependency-cruiser.cjs keeps it so). The facade never returns a `Queue` or
 * a `Consumer`: the handle is the same object seen through an interface, so it costs nothing per message.
 */
import type { Permission } from './ports/security.ts';
import type { StateValue, StoredState } from './ports/store.ts';
import type { JunctionError } from '../errors.ts';
import { Addresses } from './addresses.ts';
import { CoreContext, type CoreContextOptions } from './core-context.ts';
import { ExpirySweeper } from './expiry-sweeper.ts';
import type { Destination, Message, MessageInput } from './message.ts';
import { PostOffice, type SendOptions } from './post-office.ts';
import { ProtocolState } from './protocol-state.ts';
import { browsePage, findMessage, type PageHost } from './browse-pages.ts';
import { QueueAdmin } from './queue-admin.ts';
import { createOperation } from './message-operations.ts';
import { selectorResolver } from './selector-resolver.ts';
import type { AddressInfo, BrokerTotals, BrowseCursor, ConsumerHandle, MessageFilter, MessageOperation, MessagePage, QueueStats, QueueView, SubscriptionInfo, TransactionHandle } from './handles.ts';
import type { Consumer } from './consumer.ts';
import { recover } from './recovery.ts';
import { BROKER_ORIGIN, type Origin } from './reserved.ts';
import { Subscriptions, type ConsumerSpec, type DurableSubscriptionInfo } from './subscriptions.ts';
import type { Transaction } from './transaction.ts';
import { Transactions } from './transactions.ts';

export { DEFAULT_MAX_SCHEDULED_DELAY, TEMPORARY_PREFIX, type ResourceLimits } from './core-context.ts';
export type { SendOptions } from './post-office.ts';
export type { ConsumerSpec, DurableSubscriptionInfo, SubscriptionSpec } from './subscriptions.ts';

export interface CoreOptions extends CoreContextOptions {
  /** Used in message ids: `ID:<brokerName>-<boot>-<n>`, boot being the start time in base 36. */
  brokerName?: string;
  /** Queues and topics that exist from the start (the only ones when auto-create is off). */
  queues?: string[];
  topics?: string[];
  /** How often expired messages are swept out of queues, in ms. */
  expiryScanPeriod?: number;
}

/**
 * The broker core: addresses, queues, subscriptions, routing, delivery, acknowledgement,
 * dead-letter and expiry, transactions. It knows no protocol; adapters call it.
 */
export class Core {
  readonly brokerName: string;
  private readonly ctx: CoreContext;
  private readonly addresses: Addresses;
  private readonly subscriptions: Subscriptions;
  private readonly postOffice: PostOffice;
  private readonly protocolState: ProtocolState;
  private readonly transactions: Transactions;
  private readonly sweeper: ExpirySweeper;
  private readonly admin: QueueAdmin;
  private readonly pageHost: PageHost;

  private constructor(opts: CoreOptions) {
    const ctx = (this.ctx = new CoreContext(opts));
    this.brokerName = ctx.brokerName;
    this.addresses = new Addresses(ctx);
    this.subscriptions = new Subscriptions(ctx, this.addresses);
    this.protocolState = new ProtocolState(ctx);
    const po = (this.postOffice = new PostOffice(ctx, this.addresses, this.protocolState));
    this.transactions = new Transactions(ctx, po, this.protocolState);
    this.sweeper = new ExpirySweeper(ctx);
    this.admin = new QueueAdmin(ctx, this.addresses, this.subscriptions);
    this.pageHost = { read: (keys) => ctx.store.read(keys), now: ctx.now };
    let deliverySeq = 0;
    ctx.host = {
      now: ctx.now,
      nextDeliveryId: () => ++deliverySeq,
      persist: (batch) => ctx.persist(batch),
      deadLetter: (q, e, cause) => po.moveTo(q, e, q.settings.deadLetterAddress, cause),
      expire: (q, e) => po.moveTo(q, e, q.settings.expiryAddress ?? q.settings.deadLetterAddress, 'Message expired').catch((err) => ctx.backgroundError(err, 'expiry move')),
      consumerRemoved: (q) => this.addresses.consumerRemoved(q),
      read: (keys) => ctx.store.read(keys),
      memoryChanged: (delta) => ctx.limits.changed(delta),
      memoryFull: () => ctx.limits.full(),
      backgroundError: (err, what) => ctx.backgroundError(err, what),
    };
    for (const name of opts.topics ?? []) {
      ctx.topics.add(name);
      ctx.configuredTopics.add(name);
    }
    for (const name of opts.queues ?? []) this.addresses.createQueue(name, false);
  }

  /** Opens the store, rebuilds queues and durable subscriptions from it, and starts the expiry sweep. */
  static async open(opts: CoreOptions): Promise<Core> {
    const core = new Core(opts);
    await recover(core.ctx, core.addresses, core.subscriptions, core.protocolState);
    core.sweeper.start(opts.expiryScanPeriod ?? 1000);
    return core;
  }

  /** Sends a message; resolves once every queue that keeps it has it (durable: once stored under the sync policy). */
  send(input: MessageInput, opts: SendOptions = {}): Promise<Message> {
    return this.postOffice.send(input, opts);
  }

  /**
   * As {@link send}, but synchronous when nothing has to wait: no transaction, retain or state, no
   * queue that stores the message, and room in every target. Then the message is enqueued (delivered
   * to consumers with credit) before this returns; otherwise the promise of `send`. A bad or unknown
   * address throws here, synchronously. For a protocol's producer fast path (MQTT QoS 0).
   */
  sendNow(input: MessageInput, opts: SendOptions = {}): Message | Promise<Message> {
    return this.postOffice.sendNow(input, opts);
  }

  /**
   * Throws ERR_ADDRESS_NOT_FOUND when `d` neither exists nor may be auto-created (AMQP refuses such a
   * link at attach), and ERR_SECURITY_UNAUTHORIZED when `origin` may not create what the first send would.
   */
  assertAddress(d: Destination, origin?: Origin): void {
    this.addresses.assertAddress(d, origin);
  }

  /**
   * Throws ERR_SECURITY_UNAUTHORIZED unless `origin` may `permission` on `address` (security on; the broker
   * origin may do anything): for a protocol that answers before it calls the core (MQTT SUBACK per
   * filter, AMQP sender attach: `send`). Every core call checks again on its own.
   */
  authorize(origin: Origin | undefined, address: string, permission: Permission): void {
    this.ctx.access.check(origin, address, permission);
  }

  /** Whether sends to `d` are waiting for room under BLOCK (AMQP withholds producer credit then). */
  isBlocked(d: Destination): boolean {
    return this.addresses.isBlocked(d);
  }

  /** A temporary queue (AMQP dynamic node) `$tmp.<suffix>`: never stored; its owner deletes it with `deleteQueue`. */
  createTemporaryQueue(suffix: string, origin: Origin = BROKER_ORIGIN): QueueView {
    return this.addresses.createTemporaryQueue(suffix, origin);
  }

  /** A temporary topic `$tmp.<suffix>`: only `origin`'s connection may subscribe, no wildcard sees it. */
  createTemporaryTopic(suffix: string, origin: Origin = BROKER_ORIGIN): string {
    return this.addresses.createTemporaryTopic(suffix, origin);
  }

  /** Ends a temporary topic: later sends and subscriptions are refused. */
  deleteTemporaryTopic(name: string): void {
    this.addresses.deleteTemporaryTopic(name);
  }

  /** Attaches a consumer with zero credit (the protocol registers it, then grants credit); a topic consumer gets a subscription queue. */
  createConsumer(spec: ConsumerSpec): Promise<ConsumerHandle> {
    return this.subscriptions.createConsumer(spec);
  }

  /** Throws, synchronously, the ERR_ADDRESS_RESERVED or ERR_RESOURCE_LIMIT `createConsumer` would (AMQP answers attach first). */
  assertMayConsume(spec: Pick<ConsumerSpec, 'destination' | 'subscription' | 'origin'>): void {
    this.subscriptions.assertMayConsume(spec);
  }

  /** The durable subscriptions of a client id, with what their protocol keeps with them. */
  durableSubscriptions(clientId: string): DurableSubscriptionInfo[] {
    return this.subscriptions.durableSubscriptions(clientId);
  }

  /** Deletes a durable subscription (STOMP UNSUBSCRIBE with `activemq.subscriptionName`, JMS unsubscribe). */
  deleteSubscription(name: string, clientId?: string, origin?: Origin): Promise<void> {
    return this.subscriptions.deleteSubscription(name, clientId, origin);
  }

  /**
   * Removes a queue or subscription (a temporary queue by its owner) with its messages; a queue
   * already gone is left. `origin`: a client asking (its permission to delete is checked); omitted:
   * the broker or a protocol cleaning up on its own (a dynamic node whose link closed).
   */
  async deleteQueue(queue: QueueView | string, origin?: Origin): Promise<void> {
    const q = this.ctx.queues.get(typeof queue === 'string' ? queue : queue.name);
    if (!q || (typeof queue !== 'string' && q !== queue)) return;
    if (origin !== undefined) this.addresses.authorizeDelete(q, origin, 'Delete');
    await this.addresses.deleteQueue(q);
  }

  /** The subscription queue `name` described, if it is one (what it was made with, consumers attached now). */
  findSubscription(name: string): SubscriptionInfo | undefined {
    return this.subscriptions.find(name);
  }

  /** Deletes the queue or subscription `name` when no consumer is attached; false when it is in use or gone. */
  deleteIfIdle(name: string): Promise<boolean> {
    return this.subscriptions.deleteIfIdle(name);
  }

  /** Whether `c`'s queue still exists (not deleted, nor replaced by another of its name). */
  consumerQueueExists(c: ConsumerHandle): boolean {
    const q = (c as Consumer).queue;
    return this.ctx.queues.get(q.name) === q;
  }

  /** Whether `name` is its own dead-letter address (a message dead-lettered there would be discarded). */
  isDeadLetterQueue(name: string): boolean {
    return this.ctx.queues.get(name)?.settings.deadLetterAddress === name;
  }

  /** Stores a protocol's own state under `key` (`null` deletes it); writes to one key apply in call order. */
  putState(key: string, value: StateValue | null): Promise<void> {
    return this.protocolState.put(key, value);
  }

  /** The stored state of `key`, if any. */
  getState(key: string): StateValue | undefined {
    return this.protocolState.get(key);
  }

  /** Every stored state whose key starts with `prefix` (a scan: for start-up, not per message). */
  state(prefix: string): StoredState[] {
    return this.protocolState.scan(prefix);
  }

  /**
   * Retained messages whose topic matches a pattern (`*`, `>` allowed). With `origin` (a subscriber,
   * security on) only those whose topic it may `consume`, when a more specific pattern under the
   * pattern withholds that (as its subscription's deliveries, see `Access.readerOf`).
   */
  retained(pattern: string, origin?: Origin): Message[] {
    const found = this.ctx.retainedMessages.match(pattern);
    const reader = this.ctx.access.readerOf(origin, pattern);
    if (reader === undefined) return found;
    const readers = [reader];
    return found.filter((m) => this.ctx.access.mayRead(readers, m.destination.name));
  }

  /** How many topics have a retained message. */
  get retainedCount(): number {
    return this.ctx.retainedMessages.size;
  }

  /** Bytes of retained messages held in memory (counted in `brokerStats().memoryBytes` too). */
  get retainedBytes(): number {
    return this.ctx.retainedMessages.bytes;
  }

  /** Queues that exist now, subscription and temporary ones included (capped by `core.maxQueues`). */
  get queueCount(): number {
    return this.ctx.queues.size;
  }

  /** Consumers attached now (capped by `core.maxConsumers`). */
  get consumerCount(): number {
    return this.ctx.consumers;
  }

  /** Whether `queues` more queues and `consumers` more consumers fit under the caps (config `core`), else the error to refuse them with. */
  resourceLimitError(queues: number, consumers: number, address?: string): JunctionError | undefined {
    return this.addresses.resourceLimitError(queues, consumers, address);
  }

  /** A local transaction; `owner` (the connection) counts it against `transactions.maxPerConnection`. */
  createTransaction(owner?: object): TransactionHandle {
    return this.transactions.create(owner);
  }

  /** Bytes all open transactions hold (counted in `brokerStats().memoryBytes` too). */
  get transactionBytes(): number {
    return this.ctx.txBudget.bytes;
  }

  /** Applies a transaction's sends and acks with one store batch. */
  commit(tx: TransactionHandle): Promise<void> {
    return this.transactions.commit(tx as Transaction);
  }

  rollback(tx: TransactionHandle): void {
    this.transactions.rollback(tx as Transaction);
  }

  /** A read-only view of a queue, for management and tests. */
  getQueue(name: string): QueueView | undefined {
    return this.ctx.queues.get(name);
  }

  browse(name: string, origin?: Origin): Message[] {
    return this.addresses.existing(name, origin, 'Browse', 'browse').browse();
  }

  /**
   * A cursor over a queue's messages, a batch at a time, only those `selector` matches (compiled
   * under the configured limits: a bad one throws). A queue that does not exist browses empty
   * (ActiveMQ); a reserved name of someone else is refused.
   */
  browser(name: string, origin?: Origin, selector?: string): BrowseCursor {
    return this.addresses.browser(name, origin, selector);
  }

  /** Removes every message of a queue; a management operation (Artemis: `manage`, on the queue's address). */
  async purge(name: string, origin?: Origin): Promise<number> {
    return this.addresses.existing(name, origin, 'Purge', 'manage').purge();
  }

  queueStats(): QueueStats[] {
    return [...this.ctx.queues.values()].map((q) => q.statistics());
  }

  brokerStats(): { queues: number; topics: number; unrouted: number; dropped: number; memoryBytes: number; blockedSends: number } {
    const { queues, topics, unrouted, limits } = this.ctx;
    return { queues: queues.size, topics: topics.size, unrouted, dropped: limits.dropped, memoryBytes: limits.memoryBytes, blockedSends: limits.blockedSends };
  }

  // ---- Management (issue 15): what the HTTP API, the console, /metrics and the CLI call. ----
  // `origin`: the management caller (its subject is checked like a client's, security on); omitted: the broker.

  /** Every address: topics and queues (subscription queues appear under their topic), temporary ones included; sorted by name. */
  addressList(): AddressInfo[] {
    return this.admin.addressList();
  }

  /**
   * Creates a queue (anycast; `durable`: stored, survives a restart) as an administrator would:
   * `createAddress` + `createDurableQueue` (or `createNonDurableQueue`) on it. ERR_ADDRESS_EXISTS
   * when a queue or topic of that name exists; reserved names are refused (ERR_ADDRESS_RESERVED).
   * Resolves once a durable one's record is stored. `durable` defaults to true.
   */
  createQueue(name: string, opts: { durable?: boolean } = {}, origin?: Origin): Promise<QueueView> {
    return this.admin.createQueue(name, opts.durable ?? true, origin);
  }

  /**
   * Pauses delivery from a queue (Artemis `pause()`): consumers stay attached, nothing more is
   * delivered until `resumeQueue`; sends are still accepted. `persist`: the pause survives a restart.
   * Needs `manage` on the queue's address.
   */
  pauseQueue(name: string, origin?: Origin, opts: { persist?: boolean } = {}): Promise<void> {
    return this.admin.pause(name, origin, opts.persist === true);
  }

  /** Ends a pause (a stored one too): delivery starts again at once. Needs `manage`. */
  resumeQueue(name: string, origin?: Origin): Promise<void> {
    return this.admin.resume(name, origin);
  }

  /**
   * A page of a queue's messages for management browsing: up to `limit` (at most 1000) after the
   * position `after` (a previous page's `next`), only those `selector` matches. Stateless between
   * calls (nothing held per caller); a message removed between pages is simply not seen. Needs `browse`.
   * Order and cost: see browse-pages.ts (ready by priority and arrival, then paged, scheduled, in
   * delivery). A page may come back short, even empty, with `next` set when a selector matched
   * little of what one call may look at. A bad selector throws the selector error; a bad `after`
   * ERR_CURSOR_INVALID. Async: paged messages are read from the store.
   */
  async browsePage(name: string, opts: { after?: string; limit: number; selector?: string }, origin?: Origin): Promise<MessagePage> {
    const q = this.admin.queue(name, origin, 'browse');
    const sel = opts.selector !== undefined && opts.selector.trim() !== '' ? this.ctx.compile(opts.selector) : undefined;
    return browsePage(q, this.pageHost, opts.after, opts.limit, sel !== undefined ? (m) => sel.matches(selectorResolver(m)) : undefined);
  }

  /** One message of a queue by its id (JMSMessageID), if the queue holds it (paged ones included). Needs `browse`. */
  async findMessage(queue: string, messageId: string, origin?: Origin): Promise<Message | undefined> {
    return findMessage(this.admin.queue(queue, origin, 'browse'), this.pageHost, messageId);
  }

  /**
   * A bulk operation on a queue's messages, run by the caller a slice at a time (see
   * {@link MessageOperation}). Checked at creation: `manage` on the queue's address, and for
   * move/copy `send` (and the create permissions of a first send) on the target.
   */
  messageOperation(queue: string, action: MessageOperation['action'], filter: MessageFilter, opts: { target?: string } = {}, origin?: Origin): MessageOperation {
    const q = this.admin.queue(queue, origin, 'manage');
    return createOperation({ ctx: this.ctx, postOffice: this.postOffice, addresses: this.addresses }, q, action, filter, opts.target, origin);
  }

  /** Every durable topic subscription (all client ids), as `findSubscription` describes one. */
  durableSubscriptionList(): SubscriptionInfo[] {
    return this.admin.durableSubscriptionList();
  }

  /** Counters over the whole broker (see {@link BrokerTotals}): O(queues), for sampling once a second, never per message. */
  totals(): BrokerTotals {
    return this.admin.totals();
  }

  /** Global memory limit (`globalMaxSizeBytes`, 0: none) and what counts against it now, for alarms and metrics. */
  memory(): { limitBytes: number; usedBytes: number; blockedSends: number; dropped: number } {
    return this.admin.memory();
  }

  /** Throws the error a consumer with this selector would get (configured limits): for AMQP, which answers attach first. */
  checkSelector(text: string): void {
    this.ctx.compile(text);
  }

  /** Stops timers and consumers (their unsettled deliveries stay stored) and closes the store. */
  async close(): Promise<void> {
    const { ctx } = this;
    if (ctx.closed) return;
    ctx.closed = true;
    this.sweeper.stop();
    ctx.limits.close();
    for (const q of ctx.queues.values()) {
      q.shutdown();
      for (const c of [...q.consumers]) c.closed = true;
    }
    await ctx.store.close();
  }
}
