import { JunctionError } from '../errors.ts';
import type { StateValue, StoreOp } from './ports/store.ts';
import { validateAddress } from './address.ts';
import type { Addresses } from './addresses.ts';
import { TEMPORARY_PREFIX, type CoreContext } from './core-context.ts';
import type { Entry } from './entry-list.ts';
import type { Target } from './memory-limits.ts';
import { messageSize, type Message, type MessageInput, type Mutable } from './message.ts';
import type { ProtocolState } from './protocol-state.ts';
import type { Queue } from './queue.ts';
import { BROKER_ORIGIN, type Origin } from './reserved.ts';
import type { Access } from './access.ts';
import type { Authorizer } from './ports/security.ts';
import { selectorResolver } from './selector-resolver.ts';
import type { TransactionHandle } from './handles.ts';
import type { Transaction } from './transaction.ts';

export interface SendOptions {
  tx?: TransactionHandle;
  /** Who sends (its subject's `send` permission is checked when security is on); omitted: the broker itself. */
  origin?: Origin;
  /** Also make this the retained message of its topic (an empty body clears it), in the same store batch. */
  retain?: boolean;
  /**
   * Also store this protocol state (see `putState`) in the message's own store batch: both survive a
   * crash or neither does. Stored even when no queue keeps the message.
   */
  state?: { key: string; value: StateValue | null };
}

/**
 * Artemis's PostOffice: normalises a message, routes it to the queues that keep it, stores and
 * enqueues it, and moves messages to their dead-letter and expiry addresses. The per-message path
 * (`send`, `sendNow`, `route`, `enqueueAll`) is here in full; it calls out only to memory
 * accounting and, on a miss, to auto-create.
 */
export class PostOffice {
  private readonly ctx: CoreContext;
  private readonly addresses: Addresses;
  private readonly protocolState: ProtocolState;
  /** The context's long-lived tables, held here so the per-message path reads them directly. */
  private readonly queues: Map<string, Queue>;
  private readonly topics: Set<string>;
  /** Undefined with security off: the per-message check is then this one test. */
  private readonly authorizer: Authorizer | undefined;
  private readonly access: Access;
  private idSeq = 0;
  /** Moves logged at debug since the last one logged at info/warn (see logMove). */
  private moveLoggedAt = -Infinity;
  private movesQuiet = 0;

  constructor(ctx: CoreContext, addresses: Addresses, protocolState: ProtocolState) {
    this.ctx = ctx;
    this.addresses = addresses;
    this.protocolState = protocolState;
    this.queues = ctx.queues;
    this.topics = ctx.topics;
    this.access = ctx.access;
    this.authorizer = ctx.access.authorizer;
  }

  /** See `Core.send`. */
  async send(input: MessageInput, opts: SendOptions): Promise<Message> {
    this.ctx.assertOpen();
    const m = this.normalise(input);
    // Checked at send time, for a transactional send too (Artemis checks SEND as the message arrives).
    if (this.authorizer !== undefined) this.access.check(opts.origin, m.destination.name, 'send');
    if (opts.tx) {
      this.route(m, opts.origin); // fail early on an unknown address
      // Every TransactionHandle is a Transaction: the core makes them all (handles.ts).
      (opts.tx as Transaction).addSend(m);
      if (opts.state) opts.tx.putState(opts.state.key, opts.state.value);
      return m;
    }
    return this.sendRouted(m, this.route(m, opts.origin), opts);
  }

  /** `send` after the message is normalised and routed (not in a transaction). */
  private async sendRouted(m: Message, queues: Queue[], opts: SendOptions): Promise<Message> {
    const { ctx } = this;
    const size = messageSize(m);
    // Room now (the usual case) costs no Promise; else BLOCK, PAGE, FAIL and DROP decide as they wait.
    const targets = ctx.limits.admitNow(size, queues) ?? (await ctx.limits.admit(size, queues));
    const retain = opts.retain === true && m.destination.type === 'topic';
    const state = opts.state;
    if (targets.length === 0 && !retain && !state) {
      ctx.sent++;
      return m;
    }
    const key = ctx.nextKey();
    const ops = this.addOps(key, m, targets);
    const undoRetain = retain ? ctx.retainedMessages.update(key, m, ops) : undefined;
    if (state) ops.push({ op: 'putState', key: state.key, value: state.value });
    try {
      if (ops.length > 0) await ctx.persist(ops);
    } catch (err) {
      undoRetain?.();
      ctx.limits.release(size, targets);
      throw err;
    }
    if (state) this.protocolState.apply(state.key, state.value);
    ctx.sent++;
    this.enqueueAll(key, m, targets);
    return m;
  }

  /** See `Core.sendNow`. */
  sendNow(input: MessageInput, opts: SendOptions): Message | Promise<Message> {
    if (opts.tx !== undefined || opts.retain === true || opts.state !== undefined) return this.send(input, opts);
    this.ctx.assertOpen();
    const m = this.normalise(input);
    if (this.authorizer !== undefined) this.access.check(opts.origin, m.destination.name, 'send');
    const queues = this.route(m, opts.origin);
    // Normalised and routed once: a message that must wait goes on from here, not through send again.
    if (m.durable) for (const q of queues) if (q.stores(m)) return this.sendRouted(m, queues, opts);
    const targets = this.ctx.limits.admitNow(messageSize(m), queues);
    if (targets === undefined) return this.sendRouted(m, queues, opts);
    this.ctx.sent++;
    if (targets.length > 0) this.enqueueAll(this.ctx.nextKey(), m, targets);
    return m;
  }

  /** A new message id (a management copy is a new message). */
  newId(): string {
    return `ID:${this.ctx.brokerName}-${this.ctx.bootId}-${++this.idSeq}`;
  }

  private normalise(input: MessageInput): Message {
    const { ctx } = this;
    validateAddress(input.destination.name, 'send');
    const settings = ctx.settings.resolve(input.destination.name);
    const priority = Math.max(0, Math.min(9, Math.trunc(input.priority ?? settings.defaultPriority)));
    // An explicit literal, not a spread of the input: this runs once per message and the spread costs ~50x.
    const m: Mutable<Message> = {
      id: input.id ?? this.newId(),
      destination: input.destination,
      body: input.body,
      bodyType: input.bodyType ?? 'bytes',
      durable: input.durable ?? false,
      priority: Number.isFinite(priority) ? priority : settings.defaultPriority,
      expiration: input.expiration ?? 0,
      timestamp: input.timestamp ?? ctx.now(),
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
      const ahead = input.deliveryTime - ctx.now();
      if (!(ahead <= ctx.maxScheduledDelay)) throw this.tooFar(ahead);
      m.deliveryTime = input.deliveryTime;
    }
    if (input.originalDestination !== undefined) m.originalDestination = input.originalDestination;
    return m;
  }

  private tooFar(delay: number): JunctionError {
    return new JunctionError('ERR_SCHEDULE_TOO_FAR', `Scheduled delivery ${Number.isFinite(delay) ? `${Math.round(delay)} ms` : String(delay)} ahead exceeds the maximum of ${this.ctx.maxScheduledDelay} ms`);
  }

  /**
   * The queues a message goes to: the anycast queue, or every matching topic subscription. `origin`:
   * the sender, whose permission to create the address is checked when the send auto-creates it
   * (a transaction's commit routes again as the broker: it was checked when the message was sent).
   */
  route(m: Message, origin: Origin = BROKER_ORIGIN): Queue[] {
    const { type, name } = m.destination;
    if (type === 'queue') {
      const q = this.queues.get(name) ?? this.addresses.autoCreateQueue(name, origin, false);
      // Subscription queues share the name map; only the topic may feed them.
      if (q.kind !== 'anycast') throw new JunctionError('ERR_ADDRESS_INVALID', `${name} is a subscription, not a queue`);
      return [q];
    }
    const { ctx } = this;
    if (!this.topics.has(name)) {
      if (name.startsWith(TEMPORARY_PREFIX)) throw new JunctionError('ERR_ADDRESS_NOT_FOUND', `Temporary topic ${name} does not exist (any more)`);
      if (!ctx.settings.resolve(name).autoCreate) throw new JunctionError('ERR_ADDRESS_NOT_FOUND', `Topic ${name} does not exist`);
      // Artemis: an auto-created multicast address needs CREATE_ADDRESS (no queue is made by a send).
      if (this.authorizer !== undefined) this.access.check(origin, name, 'createAddress');
      this.topics.add(name);
    }
    // A temporary topic reaches only subscriptions naming it (its owner's), never a wildcard one such as `>`.
    const temporary = name.charCodeAt(0) === 0x24 && ctx.temporaryTopics.has(name);
    const out: Queue[] = [];
    for (const q of ctx.subscriptionIndex.match(name)) {
      if (temporary && q.topic !== name) continue;
      // A wildcard subscription granted only in part reads only what its subscriber may (issue 14):
      // one property test for every other subscription, and no work at all with security off.
      if (q.readers !== undefined && !this.access.mayRead(q.readers, name)) continue;
      if (q.filter === null || q.filter.matches(selectorResolver(m))) out.push(q);
    }
    if (out.length === 0) ctx.unrouted++;
    return out;
  }

  /** The store ops that add `m` under `key` to the targets that store it. */
  addOps(key: string, m: Message, targets: Target[]): StoreOp[] {
    const ops: StoreOp[] = [];
    for (const { q, paged } of targets) {
      // A paged message must be in the store even when it is not durable (it is not recovered then).
      if (!paged && !q.stores(m)) continue;
      if (ops.length === 0) ops.push({ op: 'addMessage', key, message: m });
      ops.push({ op: 'addRef', queue: q.name, key });
    }
    return ops;
  }

  /** Hands an admitted message to its targets (releasing its memory reservation). */
  enqueueAll(key: string, m: Message, targets: Target[]): void {
    const size = messageSize(m);
    this.ctx.limits.release(size, targets);
    for (const { q, paged } of targets) {
      if (q.deleted) continue;
      if (paged) q.page(key, size, 0);
      else q.enqueue(key, m, size);
    }
  }

  /** Moves an entry, already removed from `from`, to a queue as a copy that keeps the message id. */
  async moveTo(from: Queue, e: Entry, target: string, cause: string): Promise<void> {
    const { ctx } = this;
    const remove = from.removalOps([e]);
    if (!target || target === from.name) {
      if (remove.length > 0) await ctx.persist(remove);
      this.logMove('warn', { queue: from.name, messageId: e.message.id, cause }, 'message discarded (no dead-letter address)');
      return;
    }
    const props = { ...originalQueueProperty(from, e.message), dlqDeliveryFailureCause: cause };
    const copy: Message = {
      ...e.message,
      destination: { type: 'queue', name: target },
      originalDestination: e.message.originalDestination ?? e.message.destination,
      expiration: 0,
      properties: props,
    };
    delete (copy as { deliveryTime?: number }).deliveryTime;
    const dlq = this.queues.get(target) ?? this.addresses.createQueue(target, true);
    const key = ctx.nextKey();
    // Dead letters are never refused for room; they are paged if the dead-letter queue is paging.
    const targets = [{ q: dlq, paged: dlq.paging }];
    if (!dlq.paging) ctx.limits.reserve(dlq, messageSize(copy));
    try {
      await ctx.persist([...remove, ...this.addOps(key, copy, targets)]);
    } catch (err) {
      ctx.limits.release(messageSize(copy), targets);
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
    const { ctx } = this;
    const now = ctx.now();
    if (now - this.moveLoggedAt < 1000) {
      this.movesQuiet++;
      ctx.log.debug(fields, msg);
      return;
    }
    const quiet = this.movesQuiet;
    this.moveLoggedAt = now;
    this.movesQuiet = 0;
    ctx.log[level](quiet > 0 ? { ...fields, movedSinceLastLog: quiet } : fields, msg);
  }
}

/**
 * Artemis's `_AMQ_ORIG_QUEUE`: set on a message dead-lettered, expired or moved out of a topic
 * subscription, so a retry goes back to that subscription only, not to every subscriber of the
 * topic (which would deliver it again to those that had it already). Set once, at the first move.
 */
export const ORIGINAL_QUEUE = '_AMQ_ORIG_QUEUE';

/** `m`'s properties, with {@link ORIGINAL_QUEUE} naming `from` when `m` leaves a subscription for the first time. */
export function originalQueueProperty(from: Queue, m: Message): Message['properties'] {
  if (from.kind !== 'subscription' || m.originalDestination !== undefined) return m.properties;
  return { ...m.properties, [ORIGINAL_QUEUE]: from.name };
}
