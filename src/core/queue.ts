import type { StoreOp } from './ports/store.ts';
import type { Consumer, NackOptions } from './consumer.ts';
import { Entry, EntryList } from './entry-list.ts';
import type { Message } from './message.ts';
import { SettingsResolver, type AddressSettings } from './settings.ts';
import { PagedList } from './paged-list.ts';
import { selectorResolver } from './selector-resolver.ts';
import { ScheduleHeap } from './schedule-heap.ts';
import type { Selector } from './selector/types.ts';
import { SelectorCursors } from './selector/selector-cursors.ts';
import type { Origin } from './reserved.ts';

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
}

/** A cursor over a queue's messages; see {@link Queue.browser}. */
export interface QueueBrowser {
  /** Up to `max` more messages; an empty array once every message has been shown. */
  next(max: number): Message[];
}

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
}

const PRIORITIES = 10;
/** Paged queues keep about this many messages ready in memory, read back ahead of delivery. */
const DEPAGE_WINDOW = 1000;
const DEPAGE_BATCH = 200;
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
/** What one expiry (a store write and a move) costs an expiry sweep's budget, in entries looked at. */
const EXPIRY_VISITS = 20;
/**
 * Message groups (JMSXGroupID) a queue remembers the consumer of: ActiveMQ Classic's default
 * (CachedMessageGroupMap, cacheSize 1024). Past it the group used longest ago is forgotten.
 */
const MAX_MESSAGE_GROUPS = 1024;
/** Messages a purge removes (and stores the removal of) per event-loop turn. */
const PURGE_SLICE = 2000;
/** The longest delay a Node timer takes (a signed 32-bit ms count). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A queue holds entries in priority order (higher first, FIFO within a priority) and dispatches
 * them round-robin to consumers with credit, honouring selectors, message groups and exclusive
 * consumers. Topic subscriptions are queues of this same kind.
 */
export class Queue {
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
  readonly consumers: Consumer[] = [];
  deleted = false;
  /** Bytes of messages admitted to this queue whose store write is in flight (the core's bookkeeping). */
  reservedBytes = 0;

  private readonly host: QueueHost;
  private readonly levels: EntryList[] = Array.from({ length: PRIORITIES }, () => new EntryList());
  private readonly scheduledHeap = new ScheduleHeap();
  private scheduleTimer: NodeJS.Timeout | null = null;
  private scheduleTimerAt = 0;
  private readonly groups = new Map<string, Consumer>();
  private readonly lastValues = new Map<string, Entry>();
  private nextSeq = 1;
  private rr = 0;
  private dispatching = false;
  private redispatch = false;
  /** Selector consumers' progress over the ready entries: each message is evaluated once per consumer. */
  private readonly cursors = new SelectorCursors(PRIORITIES);
  /** A dispatch that ran out of its scan budget continues here on the next turn (level, entry). */
  private resumeLevel = -1;
  private resumeAt: Entry | null = null;
  private continuation: NodeJS.Immediate | null = null;
  /** What the current dispatch call may still spend: entries nobody takes, and time (with selector consumers). */
  private readonly scanLimit: number;
  private scanLeft = 0;
  private scanUntil = Infinity;
  private readyCount = 0;
  private scheduledCount = 0;
  private deliveringCount = 0;
  private expiringCount = 0;
  private stats = { enqueued: 0, acked: 0, expired: 0, deadLettered: 0 };
  /** Bytes of the messages this queue holds in memory. */
  private memBytes = 0;
  private readonly paged = new PagedList();
  private depaging = false;
  /** The purge in progress, if any (paged messages are not read back meanwhile). */
  private purging: Promise<void> | null = null;
  /** Where an expiry sweep stopped for the turn (see expireSweep). */
  private sweep: { level: number; next: Entry | null; lastSeq: number; scheduled: Entry[] | null; i: number } | null = null;
  /** Bumped by purge, so a read-back in flight is discarded. */
  private pageGeneration = 0;

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
    this.scanLimit = init.dispatchScanLimit ?? DISPATCH_SCAN_LIMIT;
  }

  get messageCount(): number {
    return this.readyCount + this.scheduledCount + this.deliveringCount + this.paged.length;
  }

  /** Bytes of messages held in memory (paged ones excluded): what address limits count. */
  get bytes(): number {
    return this.memBytes;
  }

  /** While messages are paged, new ones are paged behind them, so order is kept. */
  get paging(): boolean {
    return this.paged.length > 0;
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
    this.paged.push(key, size, deliveryCount);
    this.maybeDepage();
  }

  private hold(e: Entry): void {
    const message = e.message;
    const size = e.size;
    e.seq = this.nextSeq++;
    this.memBytes += size;
    this.host.memoryChanged(size);
    if (message.expiration > 0) this.expiringCount++;
    const lvKey = this.settings.lastValueKey;
    if (lvKey !== undefined) this.replaceLastValue(lvKey, e);
    const now = this.host.now();
    if (message.deliveryTime !== undefined && message.deliveryTime > now) this.schedule(e, message.deliveryTime);
    else this.makeReady(e, false);
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
  dispatch(): void {
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
    this.maybeDepage();
  }

  /** Reads the next paged messages back when the ready window runs low. */
  private maybeDepage(): void {
    if (this.depaging || this.purging || !this.paging || this.deleted || this.readyCount >= DEPAGE_WINDOW) return;
    // Over a memory limit, read back only when this queue has nothing ready, so it never starves.
    const overOwn = this.settings.maxSizeBytes >= 0 && this.memBytes >= this.settings.maxSizeBytes;
    if (this.readyCount > 0 && (overOwn || this.host.memoryFull())) return;
    this.depaging = true;
    const keys = this.paged.peekKeys(Math.min(DEPAGE_BATCH, DEPAGE_WINDOW - this.readyCount));
    const generation = this.pageGeneration;
    this.host.read(keys).then(
      (messages) => {
        if (this.deleted || generation !== this.pageGeneration) {
          this.depaging = false;
          return;
        }
        // Take the batch off the paged list before holding it: holding dispatches, which may read back more.
        const refs = this.paged.shift(keys.length);
        refs.forEach((ref, i) => {
          const m = messages[i];
          if (m) this.hold(new Entry(ref.key, m, ref.size, ref.deliveryCount, true));
          else this.host.backgroundError(new Error(`paged message ${ref.key} is missing from the store`), 'read back');
        });
        this.depaging = false;
        this.maybeDepage();
      },
      (err) => {
        this.depaging = false;
        this.host.backgroundError(err, 'read back of paged messages');
        // Try again later rather than spin on a failing disk.
        setTimeout(() => this.maybeDepage(), 1000).unref();
      },
    );
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
    if (this.readyCount === 0 || this.consumers.length === 0) return true;
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

  /** Takes a ready entry out of its level's list. */
  private unlink(e: Entry): void {
    if (this.cursors.size > 0) this.cursors.leaving(e, e.message.priority);
    this.levels[e.message.priority]!.remove(e);
  }

  private deliver(e: Entry, c: Consumer): void {
    this.unlink(e);
    if (this.settings.lastValueKey !== undefined) this.forgetLastValue(this.settings.lastValueKey, e);
    this.readyCount--;
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

  private drop(e: Entry): void {
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
    const delay = SettingsResolver.redeliveryDelay(this.settings, e.deliveryCount);
    if (delay > 0) this.schedule(e, this.host.now() + delay);
    else this.makeReady(e, true);
    return Promise.resolve();
  }

  private makeReady(e: Entry, ordered: boolean): void {
    e.state = 'ready';
    const list = this.levels[e.message.priority]!;
    if (ordered) {
      list.insertOrdered(e);
      // Back in its old place: new for every selector consumer again.
      if (this.cursors.size > 0) this.cursors.returned(e, e.message.priority);
    } else list.push(e);
    this.readyCount++;
    if (this.consumers.length > 0) this.dispatch();
  }

  private schedule(e: Entry, at: number): void {
    e.state = 'scheduled';
    e.readyAt = at;
    this.scheduledHeap.push(e);
    this.scheduledCount++;
    this.armScheduleTimer();
  }

  private armScheduleTimer(): void {
    const first = this.scheduledHeap.peek();
    if (!first || this.deleted) return;
    if (this.scheduleTimer && this.scheduleTimerAt <= first.readyAt) return;
    if (this.scheduleTimer) clearTimeout(this.scheduleTimer);
    // Node fires a timer of more than 2^31-1 ms after 1 ms (with a TimeoutOverflowWarning): a longer
    // wait is taken in steps of at most that, fireScheduled re-arming when nothing is due yet.
    const now = this.host.now();
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, first.readyAt - now));
    this.scheduleTimerAt = now + wait;
    this.scheduleTimer = setTimeout(() => this.fireScheduled(), wait);
    this.scheduleTimer.unref();
  }

  private fireScheduled(): void {
    this.scheduleTimer = null;
    const now = this.host.now();
    for (let e = this.scheduledHeap.peek(); e && e.readyAt <= now; e = this.scheduledHeap.peek()) {
      this.scheduledHeap.pop();
      if (e.state !== 'scheduled') continue;
      this.scheduledCount--;
      this.makeReady(e, true);
    }
    this.armScheduleTimer();
  }

  /**
   * Moves expired messages to the expiry address; called periodically by the core. Looks at no more
   * than `budget.visits` entries (counting them down) and returns false when it stopped there: the
   * next call resumes at that place, so a sweep over a queue of any size is spread over event-loop
   * turns. True once the queue has been swept to its end (the next call starts a new sweep).
   */
  expireSweep(now: number, budget: { visits: number; moves?: Array<Promise<void>> }): boolean {
    if (this.expiringCount === 0) {
      this.sweep = null;
      return true;
    }
    const s = (this.sweep ??= { level: PRIORITIES - 1, next: null, lastSeq: -1, scheduled: null, i: 0 });
    while (s.level >= 0) {
      if (budget.visits <= 0) return false;
      const list = this.levels[s.level]!;
      let e = s.next;
      if (e === null || e.list !== list) {
        // Where the sweep stopped left the list meanwhile: resume after its place by seq (a pointer
        // walk, not counted: counting it could keep a sweep from ever getting past it).
        e = list.head;
        while (e && e.seq <= s.lastSeq) e = e.next;
      }
      if (!e) {
        s.level--;
        s.next = null;
        s.lastSeq = -1;
        continue;
      }
      budget.visits--;
      s.next = e.next;
      s.lastSeq = e.seq;
      if (e.message.expiration > 0 && e.message.expiration <= now) this.sweepOut(e, budget);
    }
    s.scheduled ??= this.scheduledHeap.items().slice();
    while (s.i < s.scheduled.length) {
      if (budget.visits-- <= 0) return false;
      const e = s.scheduled[s.i++]!;
      if (e.state === 'scheduled' && e.message.expiration > 0 && e.message.expiration <= now) this.sweepOut(e, budget);
    }
    this.sweep = null;
    return true;
  }

  /** Expires an entry for the sweep: a move costs the budget EXPIRY_VISITS, and the caller awaits it. */
  private sweepOut(e: Entry, budget: { visits: number; moves?: Array<Promise<void>> }): void {
    if (e.state !== 'ready' && e.state !== 'scheduled') return;
    const move = this.expireEntry(e);
    budget.visits -= EXPIRY_VISITS;
    if (move) budget.moves?.push(move);
  }

  private expireEntry(e: Entry): Promise<void> | void {
    if (e.state === 'ready') {
      this.unlink(e);
      this.readyCount--;
      if (this.settings.lastValueKey !== undefined) this.forgetLastValue(this.settings.lastValueKey, e);
    } else if (e.state === 'scheduled') {
      this.scheduledCount--;
    } else return;
    this.stats.expired++;
    this.drop(e);
    return this.host.expire(this, e);
  }

  private replaceLastValue(key: string, e: Entry): void {
    const v = e.message.properties[key];
    if (v === undefined || v === null) return;
    const k = String(v);
    const old = this.lastValues.get(k);
    if (old && old.state === 'ready') {
      this.unlink(old);
      this.readyCount--;
      this.stats.acked++;
      this.drop(old);
      const ops = this.removalOps([old]);
      if (ops.length > 0) this.host.persist(ops).catch((err) => this.host.backgroundError(err, 'last-value replace'));
    }
    this.lastValues.set(k, e);
  }

  private forgetLastValue(key: string, e: Entry): void {
    const v = e.message.properties[key];
    if (v !== undefined && v !== null && this.lastValues.get(String(v)) === e) this.lastValues.delete(String(v));
  }

  /**
   * A cursor over the messages held in memory: ready ones highest priority first (arrival order
   * within a priority), then scheduled ones, then those in delivery. `next(max)` returns at most `max`
   * (an empty array at the end), so a protocol browses a queue of any size a batch per event-loop
   * turn. Not a snapshot (JMS 2.0 section 4.1.2: a browser's view may change as messages arrive and
   * leave): a message that leaves before the cursor reaches it is not shown. Each call costs O(max),
   * apart from one copy of the scheduled and in-delivery lists (pointers) when the ready ones are done.
   */
  browser(): QueueBrowser {
    let level = PRIORITIES - 1;
    let last: Entry | null = null;
    let lastSeq = -1;
    let rest: Entry[] | null = null;
    let i = 0;
    return {
      next: (max: number): Message[] => {
        const out: Message[] = [];
        while (out.length < max && level >= 0) {
          const list = this.levels[level]!;
          let e: Entry | null;
          if (last !== null && last.list === list) e = last.next;
          else {
            // The last one shown left the list (delivered, expired): resume after its place by seq.
            e = list.head;
            while (e && e.seq <= lastSeq) e = e.next;
          }
          if (!e) {
            level--;
            last = null;
            lastSeq = -1;
            continue;
          }
          out.push(e.message);
          last = e;
          lastSeq = e.seq;
        }
        if (out.length < max && level < 0 && rest === null) {
          rest = [];
          for (const e of this.scheduledHeap.items()) if (e.state === 'scheduled') rest.push(e);
          for (const c of this.consumers) for (const e of c.unacked.values()) rest.push(e);
        }
        while (rest !== null && out.length < max && i < rest.length) {
          const e = rest[i++]!;
          if (e.state === 'scheduled' || e.state === 'delivering') out.push(e.message);
        }
        return out;
      },
    };
  }

  /**
   * Messages held, highest priority first, in arrival order within a priority (ready, scheduled, in
   * delivery), as one array: for management and tests. Protocols browse with {@link browser}.
   */
  browse(): Message[] {
    return this.entries()
      .sort((a, b) => b.message.priority - a.message.priority || a.seq - b.seq)
      .map((e) => e.message);
  }

  private entries(): Entry[] {
    const out: Entry[] = [];
    for (const list of this.levels) for (let e = list.head; e; e = e.next) out.push(e);
    for (const e of this.scheduledHeap.items()) if (e.state === 'scheduled') out.push(e);
    for (const c of this.consumers) out.push(...c.unacked.values());
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
      this.maybeDepage();
    }
  }

  private async purgeSlices(): Promise<number> {
    // Ready entries are in seq order within a level, so those that arrive during the purge are at the tails.
    const limit = this.nextSeq;
    const scheduled = this.scheduledHeap.items().filter((e) => e.state === 'scheduled');
    let si = 0;
    let pagedLeft = this.paged.length;
    this.pageGeneration++; // a read-back in flight is discarded (its messages are purged as paged ones)
    this.depaging = false;
    const lvKey = this.settings.lastValueKey;
    let removed = 0;
    for (;;) {
      const batch: Entry[] = [];
      for (let p = PRIORITIES - 1; p >= 0 && batch.length < PURGE_SLICE; p--) {
        const list = this.levels[p]!;
        while (list.head && list.head.seq < limit && batch.length < PURGE_SLICE) {
          const e = list.head;
          this.unlink(e);
          this.readyCount--;
          if (lvKey !== undefined) this.forgetLastValue(lvKey, e);
          batch.push(e);
        }
      }
      while (si < scheduled.length && batch.length < PURGE_SLICE) {
        const e = scheduled[si++]!;
        if (e.state !== 'scheduled') continue;
        this.scheduledCount--;
        batch.push(e);
      }
      for (const e of batch) {
        this.stats.acked++;
        this.drop(e);
      }
      const ops = this.removalOps(batch);
      const refs = this.paged.shift(Math.min(pagedLeft, PURGE_SLICE - batch.length));
      pagedLeft -= refs.length;
      for (const r of refs) ops.push({ op: 'removeRef', queue: this.name, key: r.key });
      this.stats.acked += refs.length;
      removed += batch.length + refs.length;
      if (ops.length > 0) await this.host.persist(ops);
      if (batch.length + refs.length < PURGE_SLICE || this.deleted) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (scheduled.length > 0) this.scheduledHeap.compact();
    return removed;
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
    this.scheduledHeap.drain();
    this.lastValues.clear();
    this.groups.clear();
    this.paged.clear();
    this.readyCount = this.scheduledCount = this.expiringCount = 0;
    this.sweep = null;
  }

  /** Stops timers; the core has already closed the consumers. */
  shutdown(): void {
    this.deleted = true;
    if (this.scheduleTimer) clearTimeout(this.scheduleTimer);
    this.scheduleTimer = null;
    if (this.continuation) clearImmediate(this.continuation);
    this.continuation = null;
  }

  statistics(): QueueStats {
    const s: QueueStats = {
      name: this.name,
      kind: this.kind,
      durable: this.durable,
      messages: this.messageCount,
      paged: this.paged.length,
      inDelivery: this.deliveringCount,
      scheduled: this.scheduledCount,
      consumers: this.consumers.length,
      enqueued: this.stats.enqueued,
      acked: this.stats.acked,
      expired: this.stats.expired,
      deadLettered: this.stats.deadLettered,
      bytes: this.memBytes + this.paged.bytes,
    };
    if (this.topic !== undefined) s.topic = this.topic;
    return s;
  }
}
