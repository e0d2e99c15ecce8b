import { JunctionError } from '../errors.ts';
import type { Log } from './ports/log.ts';
import type { StateValue, Store, StoreOp, StoredQueue, StoredState } from './ports/store.ts';
import { Consumer, type ConsumerSink } from './consumer.ts';
import type { Entry } from './entry-list.ts';
import { messageSize, type Destination, type Message, type MessageInput, type Mutable } from './message.ts';
import { Queue, type QueueBrowser, type QueueHost, type QueueStats } from './queue.ts';
import { selectorResolver } from './selector-resolver.ts';
import { compileSelector, MAX_SELECTOR_DEPTH } from './selector/index.ts';
import type { Selector, SelectorLimits } from './selector/types.ts';
import { DEFAULT_ADDRESS_SETTINGS, SettingsResolver, type AddressSettings } from './settings.ts';
import { DEFAULT_TRANSACTION_LIMITS, Transaction, TransactionBudget, type TransactionLimits } from './transaction.ts';
import { isWildcard, WildcardIndex } from './wildcard.ts';
import { validateAddress } from './address.ts';
import { MemoryLimits, type Target } from './memory-limits.ts';
import { DEFAULT_RETAINED_LIMITS, RETAINED_QUEUE, RetainedMessages, type RetainedLimits, type RetainedRefusal } from './retained.ts';
import { BROKER_ORIGIN, reservedOwner, type Origin, type ReservedOwner } from './reserved.ts';

/** Recovered messages indexed per event-loop turn at start. */
const RECOVER_SLICE = 50_000;

/** Entries the expiry sweep looks at per event-loop turn. */
const SWEEP_SLICE = 10_000;

/** One year: see `scheduler.maxScheduledDelay` in the config schema. */
export const DEFAULT_MAX_SCHEDULED_DELAY = 365 * 24 * 3600 * 1000;

/** Names of temporary queues (AMQP dynamic nodes) start with this. */
export const TEMPORARY_PREFIX = '$tmp.';

function reserved(name: string, owner: ReservedOwner | 'temporary', what: string): JunctionError {
  const whose = owner === 'temporary' ? 'the connection that created this temporary queue' : owner === 'core' ? 'the broker' : owner === 'mqtt' ? 'MQTT sessions' : 'routes';
  return new JunctionError('ERR_ADDRESS_RESERVED', `${what} ${name.slice(0, 200)} refused: the name is reserved for ${whose}`);
}

const EMPTY_BROWSER: QueueBrowser = { next: () => [] };

export interface CoreOptions {
  store: Store;
  log: Log;
  /** Used in message ids: `ID:<brokerName>-<boot>-<n>`, boot being the start time in base 36. */
  brokerName?: string;
  addressSettings?: Record<string, Partial<AddressSettings>>;
  /** Queues and topics that exist from the start (the only ones when auto-create is off). */
  queues?: string[];
  topics?: string[];
  /** Bytes of messages all queues may hold in memory before address-full policies apply; -1 = unbounded. */
  globalMaxSizeBytes?: number;
  /** How often expired messages are swept out of queues, in ms. */
  expiryScanPeriod?: number;
  /** Furthest ahead a message may be scheduled, ms (default one year); beyond it the send is refused. */
  maxScheduledDelay?: number;
  selectorLimits?: SelectorLimits;
  /** How many retained messages, and bytes of them, the broker keeps (config `mqtt.maxRetainedMessages`, `mqtt.maxRetainedBytes`). */
  retainedLimits?: Partial<RetainedLimits>;
  /** What open transactions may hold (config `transactions`); their bytes count against `globalMaxSizeBytes`. */
  transactionLimits?: Partial<TransactionLimits>;
  /** Broker-wide caps on queues and consumers (config `core`); default unbounded. */
  resourceLimits?: Partial<ResourceLimits>;
  now?: () => number;
}

/** Broker-wide caps (config `core.maxQueues`, `core.maxConsumers`); what the store recovers is never refused. */
export interface ResourceLimits {
  maxQueues: number;
  maxConsumers: number;
}

/** A topic subscription: durable ones are named by client id + name; shared ones by name alone. */
export interface SubscriptionSpec {
  name: string;
  clientId?: string;
  durable: boolean;
  shared?: boolean;
  /** Kept with the subscription (and stored with a durable one); replaced when it differs on a later attach. */
  meta?: Record<string, unknown>;
}

export interface ConsumerSpec {
  destination: Destination;
  sink: ConsumerSink;
  selector?: string;
  exclusive?: boolean;
  autoAck?: boolean;
  subscription?: SubscriptionSpec;
  /** Who asks (reserved names are refused to others, see reserved.ts); omitted: the broker itself. */
  origin?: Origin;
}

export interface SendOptions {
  tx?: Transaction;
  /** Also make this the retained message of its topic (an empty body clears it), in the same store batch. */
  retain?: boolean;
  /**
   * Also store this protocol state (see `putState`) in the message's own store batch: both survive a
   * crash or neither does. Stored even when no queue keeps the message.
   */
  state?: { key: string; value: StateValue | null };
}

/** A durable subscription as `durableSubscriptions` lists it. */
export interface DurableSubscriptionInfo {
  name: string;
  subscriptionName: string | undefined;
  topic: string;
  consumers: number;
  meta: Record<string, unknown> | undefined;
}

/**
 * The broker core: addresses, queues, subscriptions, routing, delivery, acknowledgement,
 * dead-letter and expiry, transactions. It knows no protocol; adapters call it.
 */
export class Core {
  readonly brokerName: string;
  private readonly store: Store;
  private readonly log: Log;
  private readonly settings: SettingsResolver;
  private readonly queues = new Map<string, Queue>();
  private readonly topics = new Set<string>();
  private readonly subscriptionIndex = new WildcardIndex<Queue>();
  private readonly selectorLimits: SelectorLimits | undefined;
  private readonly maxScheduledDelay: number;
  private readonly now: () => number;
  private readonly bootId: string;
  private readonly host: QueueHost;
  private expiryTimer: NodeJS.Timeout | null = null;
  private sweeping = false;
  /** Moves logged at debug since the last one logged at info/warn (see logMove). */
  private moveLoggedAt = -Infinity;
  private movesQuiet = 0;
  private seq = 0;
  private idSeq = 0;
  private deliverySeq = 0;
  private txSeq = 0;
  private readonly txBudget: TransactionBudget;
  private subSeq = 0;
  private closed = false;
  private unrouted = 0;
  private readonly limits: MemoryLimits;
  private readonly retainedMessages: RetainedMessages;
  /** When a retained message refused for a limit was last logged at warn (at most once a minute). */
  private retainedWarnedAt = -Infinity;
  private readonly resourceLimits: ResourceLimits;
  /** Consumers attached now (queues are `queues.size`): checked against `resourceLimits`. */
  private consumers = 0;
  /** When a refusal for a resource limit was last logged at warn (at most once a minute). */
  private resourceWarnedAt = -Infinity;
  /** Durable subscriptions by client id, for `durableSubscriptions` (a MQTT CONNECT asks for its own). */
  private readonly durableByClient = new Map<string, Set<Queue>>();
  /** Live temporary topics with the connection each belongs to. */
  private readonly temporaryTopics = new Map<string, Origin>();
  /** Protocol state stored with `putState`, by key. */
  private readonly stateValues = new Map<string, StateValue>();

  private constructor(opts: CoreOptions) {
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
    this.host = {
      now: this.now,
      nextDeliveryId: () => ++this.deliverySeq,
      persist: (batch) => this.persist(batch),
      deadLetter: (q, e, cause) => this.moveTo(q, e, q.settings.deadLetterAddress, cause),
      expire: (q, e) => {
        const target = q.settings.expiryAddress ?? q.settings.deadLetterAddress;
        return this.moveTo(q, e, target, 'Message expired').catch((err) => this.backgroundError(err, 'expiry move'));
      },
      consumerRemoved: (q) => this.consumerRemoved(q),
      read: (keys) => this.store.read(keys),
      memoryChanged: (delta) => this.limits.changed(delta),
      memoryFull: () => this.limits.full(),
      backgroundError: (err, what) => this.backgroundError(err, what),
    };
    for (const name of opts.topics ?? []) this.topics.add(name);
    for (const name of opts.queues ?? []) this.createQueue(name, false);
  }

  /** Opens the store, rebuilds queues and durable subscriptions from it, and starts the expiry sweep. */
  static async open(opts: CoreOptions): Promise<Core> {
    const core = new Core(opts);
    await core.recover();
    const period = opts.expiryScanPeriod ?? 1000;
    core.expiryTimer = setInterval(() => core.sweepExpired(), period);
    core.expiryTimer.unref();
    return core;
  }

  private async recover(): Promise<void> {
    const state = await this.store.open();
    for (const s of state.states) this.stateValues.set(s.key, s.value);
    for (const sq of state.queues) {
      if (sq.kind === 'subscription' && sq.topic !== undefined) {
        const filter = sq.selector ? this.compile(sq.selector, true) : null;
        this.createSubscriptionQueue(sq.name, sq.topic, filter, sq, true);
      } else if (sq.kind === 'anycast') this.createQueue(sq.name, false);
    }
    let count = 0;
    const orphans: StoreOp[] = [];
    const retainedKeys: string[] = [];
    // Recovered messages start paged: each queue reads back only what it is about to deliver. The
    // loop yields every RECOVER_SLICE messages, so an embedding application's timers keep running.
    let seen = 0;
    for (const { key, size, refs } of state.messages) {
      if (++seen % RECOVER_SLICE === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      for (const ref of refs) {
        if (ref.queue === RETAINED_QUEUE) {
          retainedKeys.push(key);
          continue;
        }
        const q = this.queues.get(ref.queue) ?? (this.looksAnycast(ref.queue) ? this.createQueue(ref.queue, true) : undefined);
        if (!q) {
          // A temporary subscription's reference (written while paging) does not outlive the broker.
          if (!ref.queue.startsWith('$sub.')) this.log.warn({ queue: ref.queue, key }, 'recovered message references an unknown subscription; dropped');
          orphans.push({ op: 'removeRef', queue: ref.queue, key });
          continue;
        }
        q.page(key, size, ref.deliveryCount);
        count++;
      }
    }
    // Retained messages are held in memory (they are few and every new subscriber may need them).
    const retained = retainedKeys.length > 0 ? await this.store.read(retainedKeys) : [];
    retained.forEach((m, i) => {
      if (!m) return;
      const replaced = this.retainedMessages.recover(retainedKeys[i]!, m);
      if (replaced !== undefined) orphans.push({ op: 'removeRef', queue: RETAINED_QUEUE, key: replaced });
    });
    if (orphans.length > 0) await this.persist(orphans);
    if (count > 0 || state.queues.length > 0) this.log.info({ messages: count, queues: state.queues.length }, 'recovered from store');
  }

  private looksAnycast(name: string): boolean {
    return !name.startsWith('$sub.') && !name.startsWith(TEMPORARY_PREFIX) && name !== RETAINED_QUEUE;
  }

  // ---------------------------------------------------------------- sending

  /**
   * Sends a message. Resolves once every queue that keeps it has it (durable messages: once the
   * store has them under its sync policy), so a protocol may confirm to its producer then.
   */
  async send(input: MessageInput, opts: SendOptions = {}): Promise<Message> {
    this.assertOpen();
    const m = this.normalise(input);
    if (opts.tx) {
      this.route(m); // fail early on an unknown address
      opts.tx.addSend(m);
      if (opts.state) opts.tx.putState(opts.state.key, opts.state.value);
      return m;
    }
    return this.sendRouted(m, this.route(m), opts);
  }

  /** `send` after the message is normalised and routed (not in a transaction). */
  private async sendRouted(m: Message, queues: Queue[], opts: SendOptions): Promise<Message> {
    const size = messageSize(m);
    // Room now (the usual case) costs no Promise; else BLOCK, PAGE, FAIL and DROP decide as they wait.
    const targets = this.limits.admitNow(size, queues) ?? (await this.limits.admit(size, queues));
    const retain = opts.retain === true && m.destination.type === 'topic';
    const state = opts.state;
    if (targets.length === 0 && !retain && !state) return m;
    const key = this.nextKey();
    const ops = this.addOps(key, m, targets);
    const undoRetain = retain ? this.retainedMessages.update(key, m, ops) : undefined;
    if (state) ops.push({ op: 'putState', key: state.key, value: state.value });
    try {
      if (ops.length > 0) await this.persist(ops);
    } catch (err) {
      undoRetain?.();
      this.limits.release(size, targets);
      throw err;
    }
    if (state) this.applyState(state.key, state.value);
    this.enqueueAll(key, m, targets);
    return m;
  }

  /**
   * As {@link send}, but synchronous when nothing has to wait: no transaction, retain or state, no
   * queue that stores the message (non-durable, or no durable subscription), and room in every
   * target under its memory limits (DROP leaves a full one out). Then the message is routed and
   * enqueued (delivered to consumers with credit) before this returns, and is returned; otherwise
   * the promise of `send` (a store write, a BLOCK wait, paging, FAIL). A bad or unknown address
   * throws here, synchronously. For a protocol's producer fast path (MQTT QoS 0).
   */
  sendNow(input: MessageInput, opts: SendOptions = {}): Message | Promise<Message> {
    if (opts.tx !== undefined || opts.retain === true || opts.state !== undefined) return this.send(input, opts);
    this.assertOpen();
    const m = this.normalise(input);
    const queues = this.route(m);
    // Normalised and routed once: a message that must wait goes on from here, not through send again.
    if (m.durable) for (const q of queues) if (q.stores(m)) return this.sendRouted(m, queues, opts);
    const targets = this.limits.admitNow(messageSize(m), queues);
    if (targets === undefined) return this.sendRouted(m, queues, opts);
    if (targets.length > 0) this.enqueueAll(this.nextKey(), m, targets);
    return m;
  }

  private normalise(input: MessageInput): Message {
    validateAddress(input.destination.name, 'send');
    const settings = this.settings.resolve(input.destination.name);
    const priority = Math.max(0, Math.min(9, Math.trunc(input.priority ?? settings.defaultPriority)));
    // An explicit literal, not a spread of the input: this runs once per message and the spread costs ~50x.
    const m: Mutable<Message> = {
      id: input.id ?? `ID:${this.brokerName}-${this.bootId}-${++this.idSeq}`,
      destination: input.destination,
      body: input.body,
      bodyType: input.bodyType ?? 'bytes',
      durable: input.durable ?? false,
      priority: Number.isFinite(priority) ? priority : settings.defaultPriority,
      expiration: input.expiration ?? 0,
      timestamp: input.timestamp ?? this.now(),
      properties: input.properties ?? {},
    };
    if (input.correlationId !== undefined) m.correlationId = input.correlationId;
    if (input.replyTo !== undefined) m.replyTo = input.replyTo;
    if (input.type !== undefined) m.type = input.type;
    if (input.contentType !== undefined) m.contentType = input.contentType;
    if (input.groupId !== undefined) m.groupId = input.groupId;
    if (input.groupSeq !== undefined) m.groupSeq = input.groupSeq;
    if (input.userId !== undefined) m.userId = input.userId;
    if (input.deliveryTime !== undefined) {
      // Checked here, for every protocol: NaN or a time beyond the cap is refused, not scheduled for ever.
      const ahead = input.deliveryTime - this.now();
      if (!(ahead <= this.maxScheduledDelay)) throw this.tooFar(ahead);
      m.deliveryTime = input.deliveryTime;
    }
    if (input.originalDestination !== undefined) m.originalDestination = input.originalDestination;
    return m;
  }

  private tooFar(delay: number): JunctionError {
    return new JunctionError('ERR_SCHEDULE_TOO_FAR', `Scheduled delivery ${Number.isFinite(delay) ? `${Math.round(delay)} ms` : String(delay)} ahead exceeds the maximum of ${this.maxScheduledDelay} ms`);
  }

  private nextKey(): string {
    return `${this.bootId}-${++this.seq}`;
  }

  /** The queues a message goes to: the anycast queue, or every matching topic subscription. */
  private route(m: Message): Queue[] {
    const { type, name } = m.destination;
    if (type === 'queue') {
      const q = this.queues.get(name) ?? this.autoCreateQueue(name, undefined);
      // Subscription queues share the name map; only the topic may feed them.
      if (q.kind !== 'anycast') throw new JunctionError('ERR_ADDRESS_INVALID', `${name} is a subscription, not a queue`);
      return [q];
    }
    if (!this.topics.has(name)) {
      if (name.startsWith(TEMPORARY_PREFIX)) throw new JunctionError('ERR_ADDRESS_NOT_FOUND', `Temporary topic ${name} does not exist (any more)`);
      if (!this.settings.resolve(name).autoCreate) throw new JunctionError('ERR_ADDRESS_NOT_FOUND', `Topic ${name} does not exist`);
      this.topics.add(name);
    }
    // A temporary topic reaches only subscriptions naming it (its owner's), never a wildcard one such as `>`.
    const temporary = name.charCodeAt(0) === 0x24 && this.temporaryTopics.has(name);
    const out: Queue[] = [];
    for (const q of this.subscriptionIndex.match(name)) {
      if (temporary && q.topic !== name) continue;
      if (q.filter === null || q.filter.matches(selectorResolver(m))) out.push(q);
    }
    if (out.length === 0) this.unrouted++;
    return out;
  }

  private addOps(key: string, m: Message, targets: Target[]): StoreOp[] {
    const ops: StoreOp[] = [];
    for (const { q, paged } of targets) {
      // A paged message must be in the store even when it is not durable (it is not recovered then).
      if (!paged && !q.stores(m)) continue;
      if (ops.length === 0) ops.push({ op: 'addMessage', key, message: m });
      ops.push({ op: 'addRef', queue: q.name, key });
    }
    return ops;
  }

  private enqueueAll(key: string, m: Message, targets: Target[]): void {
    const size = messageSize(m);
    this.limits.release(size, targets);
    for (const { q, paged } of targets) {
      if (q.deleted) continue;
      if (paged) q.page(key, size, 0);
      else q.enqueue(key, m, size);
    }
  }

  // ---------------------------------------------------------------- queues and subscriptions

  /** Throws ERR_ADDRESS_NOT_FOUND when `d` neither exists nor may be auto-created (AMQP refuses such a link at attach). */
  assertAddress(d: Destination): void {
    if (d.type === 'queue' ? this.queues.has(d.name) : this.topics.has(d.name) || isWildcard(d.name)) return;
    if (d.name.startsWith(TEMPORARY_PREFIX)) throw new JunctionError('ERR_ADDRESS_NOT_FOUND', `Temporary ${d.type} ${d.name} does not exist (any more)`);
    if (!this.settings.resolve(d.name).autoCreate) {
      throw new JunctionError('ERR_ADDRESS_NOT_FOUND', `${d.type === 'queue' ? 'Queue' : 'Topic'} ${d.name} does not exist`);
    }
  }

  /** Whether sends to `d` are waiting for room under BLOCK (AMQP withholds producer credit then). */
  isBlocked(d: Destination): boolean {
    if (d.type === 'queue') {
      const q = this.queues.get(d.name);
      return q !== undefined && this.limits.isBlocking(q);
    }
    for (const q of this.subscriptionIndex.match(d.name)) if (this.limits.isBlocking(q)) return true;
    return false;
  }

  /**
   * A temporary queue (an AMQP dynamic node), named `$tmp.<suffix>`: nothing it holds is stored or
   * recovered, auto-create settings do not apply, and its owner deletes it with `deleteQueue`.
   */
  createTemporaryQueue(suffix: string, origin: Origin = BROKER_ORIGIN): Queue {
    this.assertOpen();
    const name = `${TEMPORARY_PREFIX}${suffix}`;
    validateAddress(name, 'queue');
    if (this.queues.has(name)) throw new JunctionError('ERR_ADDRESS_INVALID', `Queue ${name} already exists`);
    this.assertRoom(1, 0, name);
    const q = new Queue({ name, kind: 'anycast', persistent: false, durable: false, settings: this.settings.resolve(name), host: this.host, owner: origin });
    this.queues.set(name, q);
    return q;
  }

  /**
   * A temporary topic (an AMQP dynamic target with the temporary-topic capability), named
   * `$tmp.<suffix>`: only `origin`'s connection may subscribe to it, a wildcard subscription does not
   * see it, and sends to it are refused once its owner ends it with {@link deleteTemporaryTopic}.
   */
  createTemporaryTopic(suffix: string, origin: Origin = BROKER_ORIGIN): string {
    this.assertOpen();
    const name = `${TEMPORARY_PREFIX}${suffix}`;
    validateAddress(name, 'send');
    if (this.temporaryTopics.has(name)) throw new JunctionError('ERR_ADDRESS_INVALID', `Topic ${name} already exists`);
    this.temporaryTopics.set(name, origin);
    this.topics.add(name);
    return name;
  }

  /** Ends a temporary topic: later sends and subscriptions are refused (its subscriptions go with their consumers). */
  deleteTemporaryTopic(name: string): void {
    if (this.temporaryTopics.delete(name)) this.topics.delete(name);
  }

  /**
   * Creates a queue on first use. `origin` is the consumer asking, undefined for a send: a send never
   * creates a reserved name (each is made by its owner's own call: temporary queues by
   * createTemporaryQueue, MQTT and route subscriptions by subscribing), so a send to a temporary
   * queue that is gone is refused instead of being confirmed into a queue no restart recovers.
   */
  private autoCreateQueue(name: string, origin: Origin | undefined): Queue {
    const owner = reservedOwner(name);
    if (owner !== undefined && (origin === undefined || owner === 'core')) {
      if (name.startsWith(TEMPORARY_PREFIX)) throw new JunctionError('ERR_ADDRESS_NOT_FOUND', `Temporary queue ${name} does not exist (any more)`);
      throw reserved(name, owner, 'Create');
    }
    if (!this.settings.resolve(name).autoCreate) throw new JunctionError('ERR_ADDRESS_NOT_FOUND', `Queue ${name} does not exist`);
    this.assertRoom(1, 0, name);
    return this.createQueue(name, true);
  }

  private createQueue(name: string, autoCreated: boolean): Queue {
    validateAddress(name, 'queue');
    const existing = this.queues.get(name);
    if (existing) return existing;
    const q = new Queue({ name, kind: 'anycast', persistent: true, settings: this.settings.resolve(name), host: this.host, autoCreated });
    this.queues.set(name, q);
    this.log.debug({ queue: name }, 'queue created');
    return q;
  }

  private createSubscriptionQueue(name: string, topic: string, filter: Selector | null, spec: Partial<StoredQueue>, durable: boolean): Queue {
    const q = new Queue({
      name,
      kind: 'subscription',
      persistent: durable,
      durable,
      settings: this.settings.resolve(topic),
      host: this.host,
      topic,
      filter,
      ...(spec.clientId !== undefined ? { clientId: spec.clientId } : {}),
      ...(spec.subscriptionName !== undefined ? { subscriptionName: spec.subscriptionName } : {}),
      shared: spec.shared ?? false,
      ...(spec.meta !== undefined ? { meta: spec.meta } : {}),
    });
    this.queues.set(name, q);
    this.subscriptionIndex.add(topic, q);
    if (durable && spec.clientId !== undefined) {
      let mine = this.durableByClient.get(spec.clientId);
      if (!mine) this.durableByClient.set(spec.clientId, (mine = new Set()));
      mine.add(q);
    }
    return q;
  }

  /**
   * Attaches a consumer with zero credit: the protocol registers it, then grants credit.
   * Queues are auto-created; a topic consumer gets a subscription queue (temporary, shared or durable).
   */
  async createConsumer(spec: ConsumerSpec): Promise<Consumer> {
    this.assertOpen();
    this.assertRoom(0, 1, spec.destination.name);
    const selector = spec.selector !== undefined && spec.selector.trim() !== '' ? this.compile(spec.selector) : null;
    const { type, name } = spec.destination;
    let queue: Queue;
    let consumerSelector = selector;
    if (type === 'queue') {
      if (isWildcard(name)) throw new JunctionError('ERR_ADDRESS_INVALID', `Wildcard queue consumers are not supported: ${name}`);
      const existing = this.queues.get(name);
      this.assertMayUse(name, existing, spec.origin, 'Consume from');
      queue = existing ?? this.autoCreateQueue(name, spec.origin ?? BROKER_ORIGIN);
      if (queue.kind !== 'anycast') throw new JunctionError('ERR_ADDRESS_INVALID', `${name} is a subscription, not a queue`);
    } else {
      validateAddress(name, 'subscribe');
      if (name.charCodeAt(0) === 0x24) this.assertMayUseTopic(name, spec.origin);
      if (!isWildcard(name) && !this.topics.has(name)) {
        if (!this.settings.resolve(name).autoCreate) throw new JunctionError('ERR_ADDRESS_NOT_FOUND', `Topic ${name} does not exist`);
        this.topics.add(name);
      }
      queue = await this.subscriptionFor(name, selector, spec.subscription, spec.origin);
      consumerSelector = null; // the subscription filters before storing
    }
    const consumer = new Consumer({
      id: ++this.subSeq,
      queue,
      sink: spec.sink,
      selector: consumerSelector,
      exclusive: spec.exclusive ?? false,
      autoAck: spec.autoAck ?? false,
      credit: 0,
    });
    queue.addConsumer(consumer);
    this.consumers++; // one less in consumerRemoved, which Queue.removeConsumer calls once per consumer
    return consumer;
  }

  /**
   * Throws the ERR_ADDRESS_RESERVED that `createConsumer` would for this spec, synchronously: for a
   * protocol that answers an attach before its consumer exists (AMQP).
   */
  assertMayConsume(spec: Pick<ConsumerSpec, 'destination' | 'subscription' | 'origin'>): void {
    const { destination: d, subscription: sub, origin } = spec;
    if (d.type === 'queue') this.assertMayUse(d.name, this.queues.get(d.name), origin, 'Consume from');
    else if (d.name.charCodeAt(0) === 0x24) this.assertMayUseTopic(d.name, origin);
    // The queue it needs: none when it exists (a queue, a durable or shared subscription attached again).
    let queueName: string | undefined = d.type === 'queue' ? d.name : undefined;
    if (d.type === 'topic' && sub) {
      const name = sub.clientId !== undefined && !sub.shared ? `${sub.clientId}.${sub.name}` : sub.name;
      this.assertMayUse(name, this.queues.get(name), origin, 'Subscribe as');
      queueName = name;
    }
    this.assertRoom(queueName !== undefined && this.queues.has(queueName) ? 0 : 1, 1, d.name);
  }

  private async subscriptionFor(topic: string, filter: Selector | null, sub: SubscriptionSpec | undefined, origin: Origin | undefined): Promise<Queue> {
    if (!sub) {
      this.assertRoom(1, 0, topic);
      return this.createSubscriptionQueue(`$sub.${this.bootId}.${++this.subSeq}`, topic, filter, {}, false);
    }
    const name = sub.clientId !== undefined && !sub.shared ? `${sub.clientId}.${sub.name}` : sub.name;
    validateAddress(name, 'subscription');
    const existing = this.queues.get(name);
    // A client id or subscription name that makes a reserved name (STOMP client-id `mqtt.<victim>`) is refused.
    this.assertMayUse(name, existing, origin, 'Subscribe as');
    if (existing) {
      if (existing.kind !== 'subscription') throw new JunctionError('ERR_SUBSCRIPTION_IN_USE', `${name} is already a queue`);
      const same = existing.topic === topic && (existing.filter?.text ?? '') === (filter?.text ?? '') && existing.durable === sub.durable;
      if (same) {
        if (!existing.shared && existing.consumers.length > 0) {
          throw new JunctionError('ERR_SUBSCRIPTION_IN_USE', `Subscription ${name} already has an active consumer`);
        }
        if (sub.meta !== undefined && JSON.stringify(sub.meta) !== JSON.stringify(existing.meta ?? null)) await this.updateMeta(existing, sub.meta);
        return existing;
      }
      // JMS: a durable subscription resubscribed with another topic or selector is replaced.
      if (existing.consumers.length > 0) throw new JunctionError('ERR_SUBSCRIPTION_IN_USE', `Subscription ${name} is active with another topic or selector`);
      await this.deleteQueue(existing);
    }
    this.assertRoom(1, 0, topic);
    const stored: StoredQueue = {
      name,
      kind: 'subscription',
      topic,
      shared: sub.shared ?? false,
      ...(filter ? { selector: filter.text } : {}),
      ...(sub.clientId !== undefined ? { clientId: sub.clientId } : {}),
      subscriptionName: sub.name,
      ...(sub.meta !== undefined ? { meta: sub.meta } : {}),
    };
    if (sub.durable) await this.persist([{ op: 'createQueue', queue: stored }]);
    if (this.queues.has(name)) return this.subscriptionFor(topic, filter, sub, origin); // created meanwhile
    return this.createSubscriptionQueue(name, topic, filter, stored, sub.durable);
  }

  /** Replaces what a subscription keeps for its protocol; a durable one's definition is stored again. */
  private async updateMeta(q: Queue, meta: Record<string, unknown>): Promise<void> {
    q.meta = meta;
    if (!q.durable || q.topic === undefined) return;
    const stored: StoredQueue = {
      name: q.name,
      kind: 'subscription',
      topic: q.topic,
      shared: q.shared,
      ...(q.filter ? { selector: q.filter.text } : {}),
      ...(q.clientId !== undefined ? { clientId: q.clientId } : {}),
      ...(q.subscriptionName !== undefined ? { subscriptionName: q.subscriptionName } : {}),
      meta,
    };
    await this.persist([{ op: 'createQueue', queue: stored }]);
  }

  /** The durable subscriptions of a client id, with what their protocol keeps with them. */
  durableSubscriptions(clientId: string): DurableSubscriptionInfo[] {
    const out: DurableSubscriptionInfo[] = [];
    for (const q of this.durableByClient.get(clientId) ?? []) {
      if (q.topic === undefined) continue;
      out.push({ name: q.name, subscriptionName: q.subscriptionName, topic: q.topic, consumers: q.consumers.length, meta: q.meta });
    }
    return out;
  }

  // ---------------------------------------------------------------- protocol state

  /**
   * Stores a protocol's own state under `key` (`null` deletes it); resolves once the store has it.
   * Protocol-neutral: the core only keeps, stores and recovers it. Keys are namespaced by the
   * protocol (MQTT: `mqtt.`). Writes to one key are applied in call order.
   */
  async putState(key: string, value: StateValue | null): Promise<void> {
    this.assertOpen();
    await this.persist([{ op: 'putState', key, value }]);
    this.applyState(key, value);
  }

  /** The stored state of `key`, if any. */
  getState(key: string): StateValue | undefined {
    return this.stateValues.get(key);
  }

  /** Every stored state whose key starts with `prefix` (a scan: for start-up, not per message). */
  state(prefix: string): StoredState[] {
    const out: StoredState[] = [];
    for (const [key, value] of this.stateValues) if (key.startsWith(prefix)) out.push({ key, value });
    return out;
  }

  private applyState(key: string, value: StateValue | null): void {
    if (value === null) this.stateValues.delete(key);
    else this.stateValues.set(key, value);
  }

  /** Retained messages whose topic matches a pattern (`*`, `>` allowed). */
  retained(pattern: string): Message[] {
    return this.retainedMessages.match(pattern);
  }

  /** How many topics have a retained message. */
  get retainedCount(): number {
    return this.retainedMessages.size;
  }

  /** Bytes of retained messages held in memory (counted in `brokerStats().memoryBytes` too). */
  get retainedBytes(): number {
    return this.retainedMessages.bytes;
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

  /** Queues that exist now, subscription and temporary ones included (capped by `core.maxQueues`). */
  get queueCount(): number {
    return this.queues.size;
  }

  /** Consumers attached now (capped by `core.maxConsumers`). */
  get consumerCount(): number {
    return this.consumers;
  }

  /**
   * Whether `queues` more queues and `consumers` more consumers fit under the broker-wide caps (config
   * `core`), else the ERR_RESOURCE_LIMIT to refuse them with. A protocol that must answer before it
   * asks the core for the consumer (MQTT SUBACK) asks this first. Only client requests are checked:
   * configured queues and what the store recovers always count but are never refused (refusing them
   * would lose stored messages), so the counts may start above a lowered cap.
   */
  resourceLimitError(queues: number, consumers: number, address?: string): JunctionError | undefined {
    const { maxQueues, maxConsumers } = this.resourceLimits;
    let err: JunctionError | undefined;
    if (queues > 0 && this.queues.size + queues > maxQueues) {
      err = new JunctionError('ERR_RESOURCE_LIMIT', `The broker holds its limit of ${maxQueues} queues (core.maxQueues)`);
    } else if (consumers > 0 && this.consumers + consumers > maxConsumers) {
      err = new JunctionError('ERR_RESOURCE_LIMIT', `The broker holds its limit of ${maxConsumers} consumers (core.maxConsumers)`);
    } else return undefined;
    // One warn a minute: an attacker at the cap would otherwise write a line per refused request.
    const fields = { code: err.code, address: address?.slice(0, 200), queues: this.queues.size, consumers: this.consumers, maxQueues, maxConsumers };
    const now = this.now();
    if (now - this.resourceWarnedAt < 60_000) this.log.debug(fields, err.message);
    else {
      this.resourceWarnedAt = now;
      this.log.warn(fields, `${err.message}: refused (further refusals within a minute at debug)`);
    }
    return err;
  }

  private assertRoom(queues: number, consumers: number, address: string): void {
    const err = this.resourceLimitError(queues, consumers, address);
    if (err) throw err;
  }

  /** Deletes a durable subscription (STOMP UNSUBSCRIBE with `activemq.subscriptionName`, JMS unsubscribe). */
  async deleteSubscription(name: string, clientId?: string, origin?: Origin): Promise<void> {
    const qname = clientId !== undefined ? `${clientId}.${name}` : name;
    const q = this.queues.get(qname) ?? this.queues.get(name);
    if (q) this.assertMayUse(q.name, q, origin, 'Delete subscription');
    if (!q || q.kind !== 'subscription') throw new JunctionError('ERR_SUBSCRIPTION_NOT_FOUND', `No durable subscription ${qname}`);
    if (q.consumers.length > 0) throw new JunctionError('ERR_SUBSCRIPTION_IN_USE', `Subscription ${qname} has an active consumer`);
    await this.deleteQueue(q);
  }

  /** Removes a queue or subscription with its messages. */
  async deleteQueue(q: Queue): Promise<void> {
    if (q.deleted) return;
    q.shutdown();
    for (const c of [...q.consumers]) {
      c.close();
      c.sink.closed?.(`Queue ${q.name} was deleted`);
    }
    this.queues.delete(q.name);
    if (q.kind === 'subscription' && q.topic !== undefined) this.subscriptionIndex.remove(q.topic, q);
    if (q.clientId !== undefined) {
      const mine = this.durableByClient.get(q.clientId);
      if (mine?.delete(q) && mine.size === 0) this.durableByClient.delete(q.clientId);
    }
    q.discard();
    if (q.durable) await this.persist([{ op: 'deleteQueue', queue: q.name }]);
  }

  private consumerRemoved(q: Queue): void {
    this.consumers--;
    if (q.consumers.length > 0 || q.deleted) return;
    const temporary = q.kind === 'subscription' && !q.durable;
    const autoDelete = q.kind === 'anycast' && q.autoCreated && q.settings.autoDelete && q.messageCount === 0;
    if (temporary || autoDelete) this.deleteQueue(q).catch((err) => this.backgroundError(err, 'queue delete'));
  }

  // ---------------------------------------------------------------- dead letters and expiry

  /** Moves an entry, already removed from `from`, to a queue as a copy that keeps the message id. */
  private async moveTo(from: Queue, e: Entry, target: string, cause: string): Promise<void> {
    const remove = from.removalOps([e]);
    if (!target || target === from.name) {
      if (remove.length > 0) await this.persist(remove);
      this.logMove('warn', { queue: from.name, messageId: e.message.id, cause }, 'message discarded (no dead-letter address)');
      return;
    }
    const props = { ...e.message.properties, dlqDeliveryFailureCause: cause };
    const copy: Message = {
      ...e.message,
      destination: { type: 'queue', name: target },
      originalDestination: e.message.originalDestination ?? e.message.destination,
      expiration: 0,
      properties: props,
    };
    delete (copy as { deliveryTime?: number }).deliveryTime;
    const dlq = this.queues.get(target) ?? this.createQueue(target, true);
    const key = this.nextKey();
    // Dead letters are never refused for room; they are paged if the dead-letter queue is paging.
    const targets = [{ q: dlq, paged: dlq.paging }];
    if (!dlq.paging) this.limits.reserve(dlq, messageSize(copy));
    try {
      await this.persist([...remove, ...this.addOps(key, copy, targets)]);
    } catch (err) {
      this.limits.release(messageSize(copy), targets);
      throw err;
    }
    this.logMove('info', { queue: from.name, messageId: e.message.id, to: target, cause }, 'message moved');
    this.enqueueAll(key, copy, targets);
  }

  /**
   * Logs a dead-letter or expiry move: at `level` at most once a second (with how many went to debug
   * since), else at debug, so 200,000 messages expiring at once (or a client's flood of poison
   * messages) write a few lines, not one each.
   */
  private logMove(level: 'info' | 'warn', fields: Record<string, unknown>, msg: string): void {
    const now = this.now();
    if (now - this.moveLoggedAt < 1000) {
      this.movesQuiet++;
      this.log.debug(fields, msg);
      return;
    }
    const quiet = this.movesQuiet;
    this.moveLoggedAt = now;
    this.movesQuiet = 0;
    this.log[level](quiet > 0 ? { ...fields, movedSinceLastLog: quiet } : fields, msg);
  }

  /**
   * The periodic expiry sweep, SWEEP_SLICE entries per event-loop turn over all queues (a queue of a
   * million expiring messages used to be walked, and each expiry moved, in one turn). A sweep still
   * running when the timer fires again is left to finish.
   */
  private sweepExpired(): void {
    if (this.sweeping || this.closed) return;
    this.sweeping = true;
    this.sweepSlices()
      .catch((err: unknown) => this.backgroundError(err, 'expiry sweep'))
      .finally(() => (this.sweeping = false));
  }

  private async sweepSlices(): Promise<void> {
    const now = this.now();
    const budget = { visits: SWEEP_SLICE, moves: [] as Array<Promise<void>> };
    // A slice's moves are stored before the next slice starts, so the moves in flight stay bounded too.
    const next = async (): Promise<void> => {
      await Promise.all(budget.moves);
      budget.moves.length = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
      budget.visits = SWEEP_SLICE;
    };
    for (const q of [...this.queues.values()]) {
      while (!q.deleted && !this.closed && !q.expireSweep(now, budget)) await next();
      if (budget.visits <= 0) await next();
    }
    await Promise.all(budget.moves);
  }

  // ---------------------------------------------------------------- transactions

  /**
   * A new local transaction. `owner` (the adapter's connection object) counts it among that
   * connection's open transactions: over `transactions.maxPerConnection` this throws ERR_TX_LIMIT.
   * What it buffers counts against the transaction limits until commit or rollback.
   */
  createTransaction(owner?: object): Transaction {
    this.assertOpen();
    return new Transaction(++this.txSeq, this.txBudget, owner);
  }

  /** Bytes all open transactions hold (counted in `brokerStats().memoryBytes` too). */
  get transactionBytes(): number {
    return this.txBudget.bytes;
  }

  /** Applies a transaction's sends and acks with one store batch. */
  async commit(tx: Transaction): Promise<void> {
    if (tx.state !== 'active') throw new JunctionError('ERR_TX_UNKNOWN', `Transaction ${tx.id} is not active`);
    tx.state = 'committing';
    // Its messages are admitted to their queues below like any send: the transaction's hold ends here
    // (kept, it would count them twice and a BLOCK queue could wait on the transaction itself).
    tx.release();
    const ops: StoreOp[] = [];
    const sends: Array<{ key: string; m: Message; targets: Target[] }> = [];
    try {
      for (const m of tx.sends) {
        const targets = await this.limits.admit(messageSize(m), this.route(m));
        const key = this.nextKey();
        ops.push(...this.addOps(key, m, targets));
        sends.push({ key, m, targets });
      }
      for (const [consumer, entries] of tx.ackedEntries()) {
        // Settled now, so a consumer closing while the batch is stored cannot return these.
        ops.push(...consumer.queue.settle(consumer, entries));
      }
      for (const [key, value] of tx.states) ops.push({ op: 'putState', key, value });
      if (ops.length > 0) await this.persist(ops);
    } catch (err) {
      for (const { m, targets } of sends) this.limits.release(messageSize(m), targets);
      throw err;
    } finally {
      tx.state = 'done';
    }
    for (const [key, value] of tx.states) this.applyState(key, value);
    for (const { key, m, targets } of sends) this.enqueueAll(key, m, targets);
  }

  rollback(tx: Transaction): void {
    tx.state = 'done';
    tx.release();
  }

  // ---------------------------------------------------------------- management

  getQueue(name: string): Queue | undefined {
    return this.queues.get(name);
  }

  browse(name: string, origin?: Origin): Message[] {
    const q = this.queues.get(name);
    this.assertMayUse(name, q, origin, 'Browse');
    if (!q) throw new JunctionError('ERR_ADDRESS_NOT_FOUND', `Queue ${name} does not exist`);
    return q.browse();
  }

  /**
   * A cursor over a queue's messages, read a batch at a time (see {@link Queue.browser}): what a
   * protocol's queue browser uses, so browsing a large queue never holds the event loop. A queue that
   * does not exist browses empty (ActiveMQ); a reserved name of someone else is refused.
   */
  browser(name: string, origin?: Origin): QueueBrowser {
    const q = this.queues.get(name);
    this.assertMayUse(name, q, origin, 'Browse');
    return q ? q.browser() : EMPTY_BROWSER;
  }

  async purge(name: string, origin?: Origin): Promise<number> {
    const q = this.queues.get(name);
    this.assertMayUse(name, q, origin, 'Purge');
    if (!q) throw new JunctionError('ERR_ADDRESS_NOT_FOUND', `Queue ${name} does not exist`);
    return q.purge();
  }

  queueStats(): QueueStats[] {
    return [...this.queues.values()].map((q) => q.statistics());
  }

  brokerStats(): { queues: number; topics: number; unrouted: number; dropped: number; memoryBytes: number; blockedSends: number } {
    const { dropped, memoryBytes, blockedSends } = this.limits;
    return {
      queues: this.queues.size,
      topics: this.topics.size,
      unrouted: this.unrouted,
      dropped,
      memoryBytes,
      blockedSends,
    };
  }

  /** Stops timers and consumers (their unsettled deliveries stay stored) and closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    this.limits.close();
    for (const q of this.queues.values()) {
      q.shutdown();
      for (const c of [...q.consumers]) c.closed = true;
    }
    await this.store.close();
  }

  // ---------------------------------------------------------------- helpers

  /**
   * Refuses a temporary topic (`$tmp.`) to every connection but the one that created it, and a `$tmp.`
   * topic that is not live to every client. The broker itself (no origin) may use any.
   */
  private assertMayUseTopic(name: string, origin: Origin | undefined): void {
    if (!name.startsWith(TEMPORARY_PREFIX) || origin === undefined || origin.component === 'broker') return;
    const o = this.temporaryTopics.get(name);
    if (o !== undefined && o.component === origin.component && o.connectionId === origin.connectionId) return;
    throw reserved(name, o !== undefined ? 'temporary' : 'core', 'Subscribe to');
  }

  /**
   * Refuses a reserved queue name (see reserved.ts) to a caller it does not belong to: a temporary
   * queue to every connection but its own, `mqtt.`/`route.` names to other components, other `$`
   * names to every client. The broker itself (no origin) may use any. One character test for an
   * ordinary name.
   */
  private assertMayUse(name: string, q: Queue | undefined, origin: Origin | undefined, what: string): void {
    const owner = reservedOwner(name);
    if (owner === undefined || origin === undefined || origin.component === 'broker') return;
    if (owner === 'core') {
      const o = q?.owner;
      if (o !== undefined && o.component === origin.component && o.connectionId === origin.connectionId) return;
    } else if (owner === origin.component) return;
    throw reserved(name, q?.owner !== undefined ? 'temporary' : owner, what);
  }

  /**
   * Compiles a selector under the configured `selectors` limits, as a consumer's would be: for an
   * adapter that must check a selector before it creates a consumer (AMQP attach) or filters a browse.
   */
  compileSelector(text: string): Selector {
    return this.compile(text);
  }

  /**
   * `stored`: a durable subscription's selector read back at recovery. It was accepted when it was
   * created; limits lowered since (or added since, as `maxLikeSegment` and `maxLikes` were) must not stop the broker
   * from starting, so only the stack bound and the per-evaluation bound (`maxLikeValueLength`) apply.
   */
  private compile(text: string, stored = false): Selector {
    if (!stored) return compileSelector(text, this.selectorLimits);
    return compileSelector(text, { ...this.selectorLimits, maxLength: Number.MAX_SAFE_INTEGER, maxDepth: MAX_SELECTOR_DEPTH, maxLikeSegment: Number.MAX_SAFE_INTEGER, maxLikes: Number.MAX_SAFE_INTEGER });
  }

  private persist(batch: StoreOp[]): Promise<void> {
    if (this.closed) return Promise.reject(new JunctionError('ERR_BROKER_CLOSED'));
    return this.store.commit(batch).catch((err: unknown) => {
      throw err instanceof JunctionError ? err : new JunctionError('ERR_STORE_FAILED', `Store failed: ${(err as Error)?.message ?? err}`, { cause: err });
    });
  }

  private backgroundError(err: unknown, what: string): void {
    this.log.error({ err, what }, 'background store operation failed');
  }

  private assertOpen(): void {
    if (this.closed) throw new JunctionError('ERR_BROKER_CLOSED');
  }
}
