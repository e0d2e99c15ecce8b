import type { StoreOp } from './ports/store.ts';
import type { Consumer } from './consumer.ts';
import { DeliverySchedule } from './delivery-schedule.ts';
import { Entry, EntryList } from './entry-list.ts';
import { ExpirySweep, type SweepBudget } from './expiry-sweep.ts';
import { LastValueIndex } from './last-value-index.ts';
import type { Message } from './message.ts';
import type { PagedAt, PagedRef } from './paged-list.ts';
import { queueBrowser, queueSnapshot, type QueueBrowser } from './queue-browser.ts';
import type { QueueHost, QueueInit } from './queue-host.ts';
import { QueuePager } from './queue-pager.ts';
import type { Subject } from './ports/security.ts';
import type { Origin } from './reserved.ts';
import type { Selector } from './selector/types.ts';
import { SelectorCursors } from './selector/selector-cursors.ts';
import type { AddressSettings } from './settings.ts';

/** Per-queue counters, as the management API and metrics show them. */
export interface QueueStats {
  name: string;
  kind: 'anycast' | 'subscription';
  topic?: string;
  durable: boolean;
  /** Messages held: ready, scheduled, in delivery and paged. */
  messages: number;
  /** Messages held only in the store (paged), read back ahead of delivery. */
  paged: number;
  inDelivery: number;
  scheduled: number;
  consumers: number;
  enqueued: number;
  acked: number;
  expired: number;
  deadLettered: number;
  bytes: number;
  /** Delivery paused by management (`Core.pauseQueue`): sends are still accepted and kept. */
  paused: boolean;
}

/** Message priorities (JMS 0-9): one ready list each. */
export const PRIORITIES = 10;
/** Messages a purge removes (and stores the removal of) per event-loop turn. */
const PURGE_SLICE = 2000;

/**
 * What a queue holds, apart from how it hands it out: ready entries in priority order (higher first,
 * FIFO within a priority), scheduled ones ({@link DeliverySchedule}), paged ones ({@link QueuePager}),
 * the last-value index, and their memory, expiry, purge, browsing and counters. {@link Queue} adds
 * the consumers' side (dispatch, acknowledgements, groups, exclusive consumers) on top; the split
 * is by job only, so the delivery path calls these members on the same object, with no indirection.
 */
export abstract class QueueContents {
  readonly name: string;
  readonly kind: 'anycast' | 'subscription';
  readonly persistent: boolean;
  readonly settings: AddressSettings;
  readonly autoCreated: boolean;
  readonly topic: string | undefined;
  /** Subscription-level selector: messages that do not match are never stored in this subscription. */
  readonly filter: Selector | null;
  readonly clientId: string | undefined;
  readonly subscriptionName: string | undefined;
  readonly shared: boolean;
  readonly durable: boolean;
  /** What the protocol that created this subscription keeps with it (stored with a durable one). */
  meta: Record<string, unknown> | undefined;
  /** The connection a temporary queue belongs to; undefined for every other queue. */
  readonly owner: Origin | undefined;
  /** The user a durable subscription belongs to (security on); undefined for every other queue. */
  readonly ownerUser: string | undefined;
  /**
   * A topic subscription whose wildcard filter is granted but not on every address beneath it
   * (`Authorizer.coverage` `some`, issue 14): only messages whose address each of these subjects may
   * `consume` are routed into it (empty: nothing, until its owner attaches again after a restart).
   * Undefined, the usual case and always with security off: no per-message check.
   */
  readers: Subject[] | undefined = undefined;
  readonly consumers: Consumer[] = [];
  deleted = false;
  /** Bytes of messages admitted to this queue whose store write is in flight (the core's bookkeeping). */
  reservedBytes = 0;
  /** Delivery paused by management (`Core.pauseQueue`): dispatch does nothing while set (one test per dispatch call). */
  paused = false;
  /** The pause is stored with the queue's record (`StoredQueue.paused`), so it survives a restart. */
  pauseStored = false;

  protected readonly host: QueueHost;
  /** Ready entries, one list per priority (index = priority). */
  protected readonly levels: EntryList[] = Array.from({ length: PRIORITIES }, () => new EntryList());
  /** Selector consumers' progress over the ready entries (kept as entries leave and return): each message is evaluated once per consumer. */
  protected readonly cursors = new SelectorCursors(PRIORITIES);
  /** Only with a `lastValueKey` in the settings. */
  protected readonly lastValues: LastValueIndex | null;
  protected ready = 0;
  protected deliveringCount = 0;
  protected expiringCount = 0;
  protected readonly stats = { enqueued: 0, acked: 0, expired: 0, deadLettered: 0 };
  /** Made on the first entry with a delivery time or a redelivery delay. */
  protected schedule: DeliverySchedule | null = null;
  /** Made on the first paged message. */
  protected pager: QueuePager | null = null;
  private nextSeq = 1;
  /** Bytes of the messages this queue holds in memory. */
  private memBytes = 0;
  /** The purge in progress, if any (paged messages are not read back meanwhile). */
  private purging: Promise<void> | null = null;
  /** An expiry sweep in progress, spread over calls (see expireSweep). */
  private sweep: ExpirySweep | null = null;

  constructor(init: QueueInit) {
    this.name = init.name;
    this.kind = init.kind;
    this.persistent = init.persistent;
    this.settings = init.settings;
    this.host = init.host;
    this.autoCreated = init.autoCreated ?? false;
    this.topic = init.topic;
    this.filter = init.filter ?? null;
    this.clientId = init.clientId;
    this.subscriptionName = init.subscriptionName;
    this.shared = init.shared ?? false;
    this.durable = init.durable ?? init.kind === 'anycast';
    this.meta = init.meta;
    this.owner = init.owner;
    this.ownerUser = init.ownerUser;
    this.lastValues = init.settings.lastValueKey !== undefined ? new LastValueIndex(init.settings.lastValueKey) : null;
  }

  /** Delivers ready entries to consumers with credit (see {@link Queue.dispatch}). */
  abstract dispatch(): void;

  /** Takes an expired entry (ready or scheduled) out and moves it to the expiry address. */
  protected abstract expireEntry(e: Entry): Promise<void> | void;

  get messageCount(): number {
    return this.ready + this.scheduledCount + this.deliveringCount + this.pagedCount;
  }

  /** Entries ready in memory (for the pager). */
  get readyCount(): number {
    return this.ready;
  }

  private get scheduledCount(): number {
    return this.schedule !== null ? this.schedule.count : 0;
  }

  protected get pagedCount(): number {
    return this.pager !== null ? this.pager.length : 0;
  }

  /** Bytes of messages held in memory (paged ones excluded): what address limits count. */
  get bytes(): number {
    return this.memBytes;
  }

  /** While messages are paged, new ones are paged behind them, so order is kept. */
  get paging(): boolean {
    return this.pager !== null && this.pager.length > 0;
  }

  /** Whether this queue would keep a durable message in the store. */
  stores(message: Message): boolean {
    return this.persistent && message.durable;
  }

  /** Adds a message (already stored when durable). */
  enqueue(key: string, message: Message, size: number): void {
    this.stats.enqueued++;
    this.hold(new Entry(key, message, size, 0, this.stores(message)));
  }

  /** Adds a message that only the store holds (paged, or recovered); it is read back ahead of delivery. */
  page(key: string, size: number, deliveryCount: number): void {
    this.stats.enqueued++;
    const pager = (this.pager ??= new QueuePager(this, this.host));
    pager.push(key, size, deliveryCount);
    pager.readBack();
  }

  /** A paged message read back (for the pager). */
  holdPaged(ref: PagedRef, message: Message): void {
    this.hold(new Entry(ref.key, message, ref.size, ref.deliveryCount, true));
  }

  /** Whether this queue's `maxSizeBytes` or the broker's memory limit is reached (for the pager). */
  overMemoryLimit(): boolean {
    return (this.settings.maxSizeBytes >= 0 && this.memBytes >= this.settings.maxSizeBytes) || this.host.memoryFull();
  }

  private hold(e: Entry): void {
    const message = e.message;
    const size = e.size;
    e.seq = this.nextSeq++;
    this.memBytes += size;
    this.host.memoryChanged(size);
    if (message.expiration > 0) this.expiringCount++;
    if (this.lastValues !== null) {
      const old = this.lastValues.replace(e);
      if (old !== undefined) this.replaced(old);
    }
    const now = this.host.now();
    if (message.deliveryTime !== undefined && message.deliveryTime > now) this.scheduler().schedule(e, message.deliveryTime);
    else this.makeReady(e, false);
  }

  /** A ready entry of a last-value queue is replaced by a newer one with its value: removed as acknowledged. */
  private replaced(old: Entry): void {
    this.unlink(old);
    this.ready--;
    this.stats.acked++;
    this.drop(old);
    const ops = this.removalOps([old]);
    if (ops.length > 0) this.host.persist(ops).catch((err) => this.host.backgroundError(err, 'last-value replace'));
  }

  protected scheduler(): DeliverySchedule {
    if (this.schedule === null) {
      this.schedule = new DeliverySchedule(
        () => this.host.now(),
        (e) => this.makeReady(e, true),
      );
      if (this.deleted) this.schedule.stop();
    }
    return this.schedule;
  }

  protected makeReady(e: Entry, ordered: boolean): void {
    e.state = 'ready';
    const list = this.levels[e.message.priority]!;
    if (ordered) {
      list.insertOrdered(e);
      // Back in its old place: new for every selector consumer again.
      if (this.cursors.size > 0) this.cursors.returned(e, e.message.priority);
    } else list.push(e);
    this.ready++;
    if (this.consumers.length > 0) this.dispatch();
  }

  /** Takes a ready entry out of its level's list. */
  protected unlink(e: Entry): void {
    if (this.cursors.size > 0) this.cursors.leaving(e, e.message.priority);
    this.levels[e.message.priority]!.remove(e);
  }

  protected drop(e: Entry): void {
    e.state = 'done';
    e.consumer = null;
    this.memBytes -= e.size;
    this.host.memoryChanged(-e.size);
    if (e.message.expiration > 0) this.expiringCount--;
  }

  removalOps(entries: Entry[]): StoreOp[] {
    const ops: StoreOp[] = [];
    for (const e of entries) if (e.stored) ops.push({ op: 'removeRef', queue: this.name, key: e.key });
    return ops;
  }

  /**
   * Moves expired messages to the expiry address; called periodically by the core. Looks at no more
   * than `budget.visits` entries (counting them down) and returns false when it stopped there: the
   * next call resumes at that place, so a sweep over a queue of any size is spread over event-loop
   * turns. True once the queue has been swept to its end (the next call starts a new sweep).
   */
  expireSweep(now: number, budget: SweepBudget): boolean {
    if (this.expiringCount === 0) {
      this.sweep = null;
      return true;
    }
    this.sweep ??= new ExpirySweep(this.levels, (e) => this.expireEntry(e));
    if (!this.sweep.run(now, this.schedule, budget)) return false;
    this.sweep = null;
    return true;
  }

  /** A cursor over the messages held in memory; see {@link queueBrowser}. */
  browser(): QueueBrowser {
    return queueBrowser(this.levels, () => this.waitingEntries());
  }

  /**
   * Messages held, highest priority first, in arrival order within a priority (ready, scheduled, in
   * delivery), as one array: for management and tests. Protocols browse with {@link browser}.
   */
  browse(): Message[] {
    return queueSnapshot(this.levels, this.waitingEntries());
  }

  /** Entries not ready: scheduled, then in delivery. */
  private waitingEntries(): Entry[] {
    const out = this.schedule !== null ? this.schedule.live() : [];
    for (const c of this.consumers) for (const e of c.unacked.values()) out.push(e);
    return out;
  }

  /**
   * Removes every message not in delivery that the queue held when the purge began (ready, scheduled
   * and paged; later arrivals stay), PURGE_SLICE per event-loop turn, each slice's removal stored
   * before the next: a queue of a million messages neither holds the loop nor builds one huge store
   * batch. Reading paged messages back waits meanwhile; purges run one after another. Returns how
   * many were removed.
   */
  async purge(): Promise<number> {
    while (this.purging) await this.purging;
    const run = this.purgeSlices();
    this.purging = run.then(
      () => undefined,
      () => undefined,
    );
    try {
      return await run;
    } finally {
      this.purging = null;
      this.pager?.resume();
    }
  }

  private async purgeSlices(): Promise<number> {
    // Ready entries are in seq order within a level, so those that arrive during the purge are at the tails.
    const limit = this.nextSeq;
    const scheduled = this.schedule !== null ? this.schedule.live() : [];
    let si = 0;
    const pager = this.pager;
    let pagedLeft = pager !== null ? pager.length : 0;
    pager?.hold();
    let removed = 0;
    for (;;) {
      const batch: Entry[] = [];
      for (let p = PRIORITIES - 1; p >= 0 && batch.length < PURGE_SLICE; p--) {
        const list = this.levels[p]!;
        while (list.head && list.head.seq < limit && batch.length < PURGE_SLICE) {
          const e = list.head;
          this.unlink(e);
          this.ready--;
          if (this.lastValues !== null) this.lastValues.forget(e);
          batch.push(e);
        }
      }
      while (si < scheduled.length && batch.length < PURGE_SLICE) {
        const e = scheduled[si++]!;
        if (e.state !== 'scheduled') continue;
        this.schedule!.forget();
        batch.push(e);
      }
      for (const e of batch) {
        this.stats.acked++;
        this.drop(e);
      }
      const ops = this.removalOps(batch);
      const refs = pager !== null ? pager.shift(Math.min(pagedLeft, PURGE_SLICE - batch.length)) : [];
      pagedLeft -= refs.length;
      for (const r of refs) ops.push({ op: 'removeRef', queue: this.name, key: r.key });
      this.stats.acked += refs.length;
      removed += batch.length + refs.length;
      if (ops.length > 0) await this.host.persist(ops);
      if (batch.length + refs.length < PURGE_SLICE || this.deleted) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (scheduled.length > 0) this.schedule!.compact();
    return removed;
  }

  // ---- Management (browse-pages.ts, message-operations.ts): never on the delivery path. ----

  /** The ready lists (index = priority), the schedule and the pager, for management to page through. */
  get parts(): { readonly levels: readonly EntryList[]; readonly schedule: DeliverySchedule | null; readonly pager: QueuePager | null; readonly nextSeq: number } {
    return { levels: this.levels, schedule: this.schedule, pager: this.pager, nextSeq: this.nextSeq };
  }

  /**
   * Takes a ready or scheduled entry out for a management operation (it is no longer delivered);
   * {@link removed} ends the removal once it is stored, {@link restore} undoes it. False if it is
   * in neither state (delivered meanwhile, gone).
   */
  detach(e: Entry): boolean {
    if (e.state === 'ready') {
      this.unlink(e);
      this.ready--;
      if (this.lastValues !== null) this.lastValues.forget(e);
    } else if (e.state === 'scheduled') this.schedule!.forget();
    else return false;
    e.state = 'done';
    return true;
  }

  /** Detached entries whose removal is stored: counted as acknowledged (Artemis counts a management removal as acknowledged, reason KILLED). */
  removed(entries: readonly Entry[]): void {
    for (const e of entries) {
      this.stats.acked++;
      this.drop(e);
    }
  }

  /** A detached entry goes back (its removal could not be stored): ready in its place, or scheduled again. */
  restore(e: Entry): void {
    if (this.deleted) return;
    if (e.readyAt > this.host.now()) this.scheduler().schedule(e, e.readyAt);
    else this.makeReady(e, true);
  }

  /** Removes a paged message for a management operation (its removal is stored by the caller); false if it left the pager meanwhile. */
  removePaged(ref: PagedAt): boolean {
    if (this.pager === null || !this.pager.remove(ref)) return false;
    this.stats.acked++;
    return true;
  }

  /**
   * Deleted with its queue: the bytes it held leave the memory limits at once (they stayed counted,
   * so every create-fill-unsubscribe cycle of a durable subscription shrank the broker's room for
   * good), and its entries are let go for the collector. O(1): no walk over the messages. The core
   * stores the queue's deletion.
   */
  discard(): void {
    this.shutdown();
    this.host.memoryChanged(-this.memBytes);
    this.memBytes = 0;
    for (let p = 0; p < PRIORITIES; p++) this.levels[p] = new EntryList();
    this.schedule?.clear();
    this.lastValues?.clear();
    this.pager?.clear();
    this.ready = this.expiringCount = 0;
    this.sweep = null;
  }

  /** Stops timers; the core has already closed the consumers. */
  shutdown(): void {
    this.deleted = true;
    this.schedule?.stop();
  }

  statistics(): QueueStats {
    const s: QueueStats = {
      name: this.name,
      kind: this.kind,
      durable: this.durable,
      messages: this.messageCount,
      paged: this.pagedCount,
      inDelivery: this.deliveringCount,
      scheduled: this.scheduledCount,
      consumers: this.consumers.length,
      enqueued: this.stats.enqueued,
      acked: this.stats.acked,
      expired: this.stats.expired,
      deadLettered: this.stats.deadLettered,
      bytes: this.memBytes + (this.pager !== null ? this.pager.bytes : 0),
      paused: this.paused,
    };
    if (this.topic !== undefined) s.topic = this.topic;
    return s;
  }
}
