import type { StoreOp } from './ports/store.ts';
import type { Consumer, NackOptions } from './consumer.ts';
import type { Entry } from './entry-list.ts';
import { PRIORITIES, QueueContents } from './queue-contents.ts';
import type { QueueInit } from './queue-host.ts';
import { selectorResolver } from './selector-resolver.ts';

/**
 * One dispatch call looks at most this many entries that go to nobody (turned down by every
 * consumer's selector, held for a busy group owner, ...), then continues on the next turn, so a
 * consumer whose selector matches nothing of a 100,000-message queue never holds the event loop.
 * Entries delivered do not count: credit bounds those.
 */
const DISPATCH_SCAN_LIMIT = 1000;
/**
 * With selector consumers, a dispatch call also yields after this much time: one evaluation may cost
 * about 40-60 ms under the default `selectors` limits (a 1 MiB property against a 256-character LIKE
 * stretch with `_`), so counting entries alone would not bound the turn.
 */
const DISPATCH_SLICE_MS = 10;
/**
 * Message groups (JMSXGroupID) a queue remembers the consumer of: ActiveMQ Classic's default
 * (CachedMessageGroupMap, cacheSize 1024). Past it the group used longest ago is forgotten.
 */
const MAX_MESSAGE_GROUPS = 1024;

/**
 * A queue dispatches the entries it holds ({@link QueueContents}: priority order, scheduled, paged,
 * last-value) round-robin to consumers with credit, honouring selectors, message groups and
 * exclusive consumers, and settles them as consumers acknowledge or return them. Topic subscriptions
 * are queues of this same kind.
 */
export class Queue extends QueueContents {
  private readonly groups = new Map<string, Consumer>();
  private rr = 0;
  private dispatching = false;
  private redispatch = false;
  /** A dispatch that ran out of its scan budget continues here on the next turn (level, entry). */
  private resumeLevel = -1;
  private resumeAt: Entry | null = null;
  private continuation: NodeJS.Immediate | null = null;
  /** What the current dispatch call may still spend: entries nobody takes, and time (with selector consumers). */
  private readonly scanLimit: number;
  private scanLeft = 0;
  private scanUntil = Infinity;

  constructor(init: QueueInit) {
    super(init);
    this.scanLimit = init.dispatchScanLimit ?? DISPATCH_SCAN_LIMIT;
  }

  addConsumer(c: Consumer): void {
    this.consumers.push(c);
    this.cursors.add(c);
    this.dispatch();
  }

  removeConsumer(c: Consumer): void {
    const i = this.consumers.indexOf(c);
    if (i >= 0) this.consumers.splice(i, 1);
    c.closed = true;
    c.credit = 0;
    this.cursors.remove(c);
    let heldGroups = false;
    for (const [gid, owner] of this.groups) {
      if (owner === c) {
        this.groups.delete(gid);
        heldGroups = true;
      }
    }
    // Entries the others passed over because this consumer held their group or the whole queue are open to them now.
    if (this.cursors.size > 0 && (heldGroups || c.exclusive)) this.cursors.resetAll();
    // Unsettled deliveries go back with the count they were delivered with (raised at delivery).
    const held = [...c.unacked.values()];
    c.unacked.clear();
    for (const e of held) this.returnEntry(e, {}).catch((err) => this.host.backgroundError(err, 'dead-letter on consumer close'));
    this.host.consumerRemoved(this);
    this.dispatch();
  }

  /**
   * Delivers ready messages to consumers with credit until either runs out. Re-entrant calls are
   * folded. A call that has looked at {@link DISPATCH_SCAN_LIMIT} entries nobody takes (or spent
   * {@link DISPATCH_SLICE_MS} on selectors) stops there and continues on the next turn; calls in
   * between only ask for another pass, so the continuation always makes progress.
   */
  override dispatch(): void {
    if (this.dispatching || this.continuation !== null) {
      this.redispatch = true;
      return;
    }
    this.dispatching = true;
    // Calls made while a continuation waited are owed a full pass once the resumed one is done.
    let owed = this.redispatch;
    this.scanLeft = this.scanLimit;
    this.scanUntil = this.cursors.size > 0 ? performance.now() + DISPATCH_SLICE_MS : Infinity;
    try {
      for (;;) {
        const resuming = this.resumeLevel >= 0;
        this.redispatch = false;
        if (!this.dispatchPass()) {
          this.redispatch ||= owed;
          this.continuation = setImmediate(() => {
            this.continuation = null;
            if (!this.deleted) this.dispatch();
          });
          break;
        }
        if (resuming && owed) owed = false;
        else if (!this.redispatch) break;
      }
    } finally {
      this.dispatching = false;
    }
    if (this.pager !== null) this.pager.readBack();
  }

  /**
   * One pass over the ready entries, highest priority first. Returns false when the budget ran out
   * (the place is kept in resumeLevel/resumeAt for the continuation), true otherwise. Selector
   * consumers' cursors let the pass skip what every consumer with credit has already turned down.
   */
  private dispatchPass(): boolean {
    const resumeLevel = this.resumeLevel;
    const resumeAt = this.resumeAt;
    this.resumeLevel = -1;
    this.resumeAt = null;
    if (this.ready === 0 || this.consumers.length === 0 || this.paused) return true;
    const now = this.host.now();
    for (let p = resumeLevel >= 0 ? resumeLevel : PRIORITIES - 1; p >= 0; p--) {
      const list = this.levels[p]!;
      // With only selector consumers to serve, their cursors say where to start (resuming included:
      // one that got credit since the pass stopped must not evaluate past a gap). Otherwise the
      // head, or where a sliced pass stopped.
      const fromCursors = this.cursors.size > 0 ? this.cursors.start(list.head, p, this.consumers) : undefined;
      let e = fromCursors !== undefined ? fromCursors : p === resumeLevel && resumeAt !== null && resumeAt.list === list ? resumeAt : list.head;
      while (e) {
        if (!this.hasCredit()) return true;
        const next = e.next;
        if (e.message.expiration > 0 && e.message.expiration <= now) {
          this.expireEntry(e);
        } else {
          const c = this.pickConsumer(e);
          if (c) this.deliver(e, c);
          else {
            if (this.cursors.size > 0) this.cursors.rejected(e, p);
            if (--this.scanLeft <= 0 || (this.scanUntil !== Infinity && performance.now() > this.scanUntil)) {
              if (next !== null && next.list === list) {
                this.resumeLevel = p;
                this.resumeAt = next;
              } else if (p > 0) this.resumeLevel = p - 1;
              else return true; // that was the last entry: the pass is complete
              return false;
            }
          }
        }
        // A consumer callback may have changed the list (returned or purged messages): start over.
        if (next && next.list !== list) {
          this.redispatch = true;
          return true;
        }
        e = next;
      }
    }
    return true;
  }

  private hasCredit(): boolean {
    for (const c of this.consumers) if (c.credit > 0) return true;
    return false;
  }

  private pickConsumer(e: Entry): Consumer | null {
    const gid = e.message.groupId;
    if (gid !== undefined) {
      const owner = this.groups.get(gid);
      if (owner) {
        if (owner.credit <= 0 || !this.accepts(owner, e)) return null;
        // Most recently used last (an LRU, as CachedMessageGroupMap): the cap forgets idle groups,
        // not one in steady use. Two map operations per grouped delivery.
        this.groups.delete(gid);
        this.groups.set(gid, owner);
        return owner;
      }
    }
    const exclusive = this.consumers.find((c) => c.exclusive);
    if (exclusive) return exclusive.credit > 0 && this.accepts(exclusive, e) ? this.claimGroup(gid, exclusive) : null;
    const n = this.consumers.length;
    for (let k = 0; k < n; k++) {
      const i = (this.rr + k) % n;
      const c = this.consumers[i]!;
      if (c.credit > 0 && this.accepts(c, e)) {
        this.rr = (i + 1) % n;
        return this.claimGroup(gid, c);
      }
    }
    return null;
  }

  private claimGroup(gid: string | undefined, c: Consumer): Consumer {
    if (gid === undefined) return c;
    if (this.groups.size >= MAX_MESSAGE_GROUPS && !this.groups.has(gid)) {
      // A producer that names a new group per message would grow this map for as long as the
      // consumers live: the group used longest ago is forgotten (its next message picks a consumer
      // afresh), as ActiveMQ's CachedMessageGroupMap (an LRU) does. Selector cursors start over, as
      // when an owner leaves.
      this.groups.delete(this.groups.keys().next().value!);
      if (this.cursors.size > 0) this.cursors.resetAll();
    }
    this.groups.set(gid, c);
    return c;
  }

  /** Message groups currently assigned to a consumer (at most MAX_MESSAGE_GROUPS). */
  get groupCount(): number {
    return this.groups.size;
  }

  private accepts(c: Consumer, e: Entry): boolean {
    if (e.refusedBy !== null && e.refusedBy.has(c.id)) return false;
    if (c.selector === null) return true;
    // Turned down before (and not returned since): the selector is not run again.
    if (this.cursors.passed(c, e, e.message.priority)) return false;
    return c.selector.matches(selectorResolver(e.message));
  }

  private deliver(e: Entry, c: Consumer): void {
    this.unlink(e);
    if (this.lastValues !== null) this.lastValues.forget(e);
    this.ready--;
    e.deliveryCount++;
    c.credit--;
    const id = this.host.nextDeliveryId();
    const delivery = { id, message: e.message, deliveryCount: e.deliveryCount, redelivered: e.deliveryCount > 1, queue: this.name };
    if (c.autoAck) {
      this.deliveringCount++;
      this.settleEntry(e);
      const ops = this.removalOps([e]);
      if (ops.length > 0) this.host.persist(ops).catch((err) => this.host.backgroundError(err, 'auto-ack removal'));
    } else {
      e.state = 'delivering';
      e.consumer = c;
      e.deliveryId = id;
      c.unacked.set(id, e);
      this.deliveringCount++;
    }
    c.sink.deliver(delivery);
  }

  /** Settles acknowledged entries and stores their removal. */
  ack(c: Consumer, entries: Entry[]): Promise<void> {
    const ops = this.settle(c, entries);
    return ops.length > 0 ? this.host.persist(ops) : Promise.resolve();
  }

  /** Settles acknowledged entries in memory; returns the store operations that record it. */
  settle(c: Consumer, entries: Entry[]): StoreOp[] {
    for (const e of entries) {
      c.unacked.delete(e.deliveryId);
      this.settleEntry(e);
    }
    return this.removalOps(entries);
  }

  nack(c: Consumer, e: Entry, opts: NackOptions): Promise<void> {
    c.unacked.delete(e.deliveryId);
    if (opts.undeliverableHere) (e.refusedBy ??= new Set()).add(c.id);
    const p = this.returnEntry(e, opts);
    this.dispatch();
    return p;
  }

  /** Removes an entry for good (acked): stats only; the caller stores the removal. */
  private settleEntry(e: Entry): void {
    this.deliveringCount--;
    this.stats.acked++;
    this.drop(e);
  }

  /** A delivered entry comes back: dead-lettered when out of attempts, else redelivered (after a delay if set). */
  private returnEntry(e: Entry, opts: NackOptions): Promise<void> {
    this.deliveringCount--;
    e.consumer = null;
    if (opts.undelivered && e.deliveryCount > 0) e.deliveryCount--;
    if (opts.deadLetter || e.deliveryCount >= this.settings.maxDeliveryAttempts) {
      const cause = opts.cause ?? `Delivery attempts exhausted (${e.deliveryCount} of ${this.settings.maxDeliveryAttempts})`;
      this.stats.deadLettered++;
      this.drop(e);
      return this.host.deadLetter(this, e, cause);
    }
    if (e.stored) {
      this.host
        .persist([{ op: 'deliveryCount', queue: this.name, key: e.key, count: e.deliveryCount }])
        .catch((err) => this.host.backgroundError(err, 'delivery count update'));
    }
    // No delay configured (the common case): no schedule is made for it.
    if (this.settings.redeliveryDelay <= 0 || !this.scheduler().redeliver(e, this.settings)) this.makeReady(e, true);
    return Promise.resolve();
  }

  protected expireEntry(e: Entry): Promise<void> | void {
    if (e.state === 'ready') {
      this.unlink(e);
      this.ready--;
      if (this.lastValues !== null) this.lastValues.forget(e);
    } else if (e.state === 'scheduled') {
      this.schedule!.forget();
    } else return;
    this.stats.expired++;
    this.drop(e);
    return this.host.expire(this, e);
  }

  /** Stops timers; the core has already closed the consumers. */
  override shutdown(): void {
    super.shutdown();
    if (this.continuation) clearImmediate(this.continuation);
    this.continuation = null;
  }

  /** Deleted with its queue (see {@link QueueContents.discard}); the groups' owners are forgotten too. */
  override discard(): void {
    super.discard();
    this.groups.clear();
  }
}
