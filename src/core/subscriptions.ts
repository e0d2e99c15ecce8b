import { JunctionError } from '../errors.ts';
import type { StoredQueue } from './ports/store.ts';
import { validateAddress } from './address.ts';
import type { Addresses } from './addresses.ts';
import { Consumer, type ConsumerSink } from './consumer.ts';
import type { CoreContext } from './core-context.ts';
import type { SubscriptionInfo } from './handles.ts';
import type { Destination } from './message.ts';
import { Queue } from './queue.ts';
import type { Subject } from './ports/security.ts';
import { BROKER_ORIGIN, type Origin } from './reserved.ts';
import type { Selector } from './selector/types.ts';
import { isWildcard } from './wildcard.ts';

/**
 * Distinct subscribers (user and client id) whose read restriction a shared subscription keeps
 * (issue 14): each adds its own, and a message is routed into the group only if all may read it.
 * Past this many the next one is refused (ERR_RESOURCE_LIMIT) rather than let in unfiltered.
 */
export const MAX_SHARED_READERS = 64;

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

/** A durable subscription as `durableSubscriptions` lists it. */
export interface DurableSubscriptionInfo {
  name: string;
  subscriptionName: string | undefined;
  topic: string;
  consumers: number;
  meta: Record<string, unknown> | undefined;
}

/** The queue name of a named subscription: durable ones by client id + name, shared ones by name alone. */
export function subscriptionQueueName(sub: Pick<SubscriptionSpec, 'name' | 'clientId' | 'shared'>): string {
  return sub.clientId !== undefined && !sub.shared ? `${sub.clientId}.${sub.name}` : sub.name;
}

/**
 * Subscriptions and consumers (Artemis's ServerSession side): a topic consumer's subscription queue
 * (temporary, shared or durable), attaching consumers to queues, and durable subscriptions by client.
 */
export class Subscriptions {
  private readonly ctx: CoreContext;
  private readonly addresses: Addresses;

  constructor(ctx: CoreContext, addresses: Addresses) {
    this.ctx = ctx;
    this.addresses = addresses;
  }

  /** Makes a subscription queue (at subscribe, or read back at recovery) and indexes it under its topic. */
  createSubscriptionQueue(name: string, topic: string, filter: Selector | null, spec: Partial<StoredQueue>, durable: boolean): Queue {
    const { ctx } = this;
    const q = new Queue({
      name,
      kind: 'subscription',
      persistent: durable,
      durable,
      settings: ctx.settings.resolve(topic),
      host: ctx.host,
      topic,
      filter,
      ...(spec.clientId !== undefined ? { clientId: spec.clientId } : {}),
      ...(spec.subscriptionName !== undefined ? { subscriptionName: spec.subscriptionName } : {}),
      shared: spec.shared ?? false,
      ...(spec.meta !== undefined ? { meta: spec.meta } : {}),
      ...(spec.ownerUser !== undefined ? { ownerUser: spec.ownerUser } : {}),
    });
    // Stored as read-filtered (see StoredQueue.readFiltered): routes nothing until a subscriber attaches
    // again, since the core cannot rebuild a user's roles (fails closed; moot with security now off).
    if (spec.readFiltered === true && ctx.access.authorizer !== undefined) q.readers = [];
    ctx.queues.set(name, q);
    ctx.subscriptionIndex.add(topic, q);
    if (durable && spec.clientId !== undefined) {
      let mine = ctx.durableByClient.get(spec.clientId);
      if (!mine) ctx.durableByClient.set(spec.clientId, (mine = new Set()));
      mine.add(q);
    }
    return q;
  }

  /** See `Core.createConsumer`. */
  async createConsumer(spec: ConsumerSpec): Promise<Consumer> {
    const { ctx, addresses } = this;
    ctx.assertOpen();
    addresses.assertRoom(0, 1, spec.destination.name);
    const selector = spec.selector !== undefined && spec.selector.trim() !== '' ? ctx.compile(spec.selector) : null;
    const { type, name } = spec.destination;
    let queue: Queue;
    let consumerSelector = selector;
    if (type === 'queue') {
      if (isWildcard(name)) throw new JunctionError('ERR_ADDRESS_INVALID', `Wildcard queue consumers are not supported: ${name}`);
      const existing = ctx.queues.get(name);
      addresses.assertMayUse(name, existing, spec.origin, 'Consume from');
      if (ctx.access.checks(spec.origin)) this.authorize(spec.destination, undefined, spec.origin);
      queue = existing ?? addresses.autoCreateQueue(name, spec.origin ?? BROKER_ORIGIN, true);
      if (queue.kind !== 'anycast') throw new JunctionError('ERR_ADDRESS_INVALID', `${name} is a subscription, not a queue`);
    } else {
      validateAddress(name, 'subscribe');
      if (name.charCodeAt(0) === 0x24) addresses.assertMayUseTopic(name, spec.origin);
      if (ctx.access.checks(spec.origin)) this.authorize(spec.destination, spec.subscription, spec.origin);
      if (!isWildcard(name) && !ctx.topics.has(name)) {
        if (!ctx.settings.resolve(name).autoCreate) throw new JunctionError('ERR_ADDRESS_NOT_FOUND', `Topic ${name} does not exist`);
        ctx.topics.add(name);
      }
      const reader = ctx.access.readerOf(spec.origin, name);
      queue = await this.subscriptionFor(name, selector, spec.subscription, spec.origin, reader);
      consumerSelector = null; // the subscription filters before storing
    }
    const consumer = new Consumer({
      id: ++ctx.subSeq,
      queue,
      sink: spec.sink,
      selector: consumerSelector,
      exclusive: spec.exclusive ?? false,
      autoAck: spec.autoAck ?? false,
      credit: 0,
    });
    queue.addConsumer(consumer);
    ctx.consumers++; // one less in consumerRemoved, which Queue.removeConsumer calls once per consumer
    return consumer;
  }

  /** See `Core.assertMayConsume`. */
  assertMayConsume(spec: Pick<ConsumerSpec, 'destination' | 'subscription' | 'origin'>): void {
    const { ctx, addresses } = this;
    const { destination: d, subscription: sub, origin } = spec;
    if (d.type === 'queue') addresses.assertMayUse(d.name, ctx.queues.get(d.name), origin, 'Consume from');
    else if (d.name.charCodeAt(0) === 0x24) addresses.assertMayUseTopic(d.name, origin);
    // The queue it needs: none when it exists (a queue, a durable or shared subscription attached again).
    let queueName: string | undefined = d.type === 'queue' ? d.name : undefined;
    if (d.type === 'topic' && sub) {
      const name = subscriptionQueueName(sub);
      addresses.assertMayUse(name, ctx.queues.get(name), origin, 'Subscribe as');
      queueName = name;
    }
    if (ctx.access.checks(origin)) {
      this.authorize(d, sub, origin);
      if (d.type === 'queue' && !ctx.queues.has(d.name)) addresses.authorizeAutoCreate(d.name, origin);
      const existing = queueName !== undefined && d.type === 'topic' ? ctx.queues.get(queueName) : undefined;
      if (existing !== undefined) ctx.access.assertOwner(existing.ownerUser, origin, d.name, 'consume');
    }
    addresses.assertRoom(queueName !== undefined && ctx.queues.has(queueName) ? 0 : 1, 1, d.name);
  }

  /**
   * The permissions a consumer needs besides auto-creating a queue (Artemis's
   * ServerSessionImpl.createConsumer and createQueue), checked before anything is made: `consume` on
   * the queue or topic; on a topic, `createAddress` when it is auto-created now, and a new
   * subscription queue's `createNonDurableQueue` (temporary, shared non-durable) or
   * `createDurableQueue` (durable, shared durable). A topic filter is checked as written (`a.*`):
   * the authorizer matches it like any address, so a grant on `a.#` covers it and one on `a.b` does not;
   * what a more specific pattern under it withholds is filtered per message (see `Access.readerOf`).
   */
  private authorize(d: Destination, sub: SubscriptionSpec | undefined, origin: Origin): void {
    const { ctx } = this;
    const { access } = ctx;
    access.check(origin, d.name, 'consume');
    if (d.type === 'queue') return;
    if (!isWildcard(d.name) && !ctx.topics.has(d.name)) access.check(origin, d.name, 'createAddress');
    if (sub === undefined || !ctx.queues.has(subscriptionQueueName(sub))) access.check(origin, d.name, sub?.durable === true ? 'createDurableQueue' : 'createNonDurableQueue');
  }

  /**
   * The subscription queue a topic consumer attaches to, made or found. `reader`: the subscriber whose
   * `consume` each routed message's address must pass (see `Access.readerOf`), undefined for none.
   */
  private async subscriptionFor(topic: string, filter: Selector | null, sub: SubscriptionSpec | undefined, origin: Origin | undefined, reader: Subject | undefined): Promise<Queue> {
    const { ctx, addresses } = this;
    if (!sub) {
      addresses.assertRoom(1, 0, topic);
      const q = this.createSubscriptionQueue(`$sub.${ctx.bootId}.${++ctx.subSeq}`, topic, filter, {}, false);
      if (reader !== undefined) q.readers = [reader];
      return q;
    }
    const name = subscriptionQueueName(sub);
    validateAddress(name, 'subscription');
    const existing = ctx.queues.get(name);
    // A client id or subscription name that makes a reserved name (STOMP client-id `mqtt.<victim>`) is refused.
    addresses.assertMayUse(name, existing, origin, 'Subscribe as');
    if (existing) {
      if (existing.kind !== 'subscription') throw new JunctionError('ERR_SUBSCRIPTION_IN_USE', `${name} is already a queue`);
      ctx.access.assertOwner(existing.ownerUser, origin, topic, 'consume');
      const same = existing.topic === topic && (existing.filter?.text ?? '') === (filter?.text ?? '') && existing.durable === sub.durable;
      if (same) {
        if (!existing.shared && existing.consumers.length > 0) {
          throw new JunctionError('ERR_SUBSCRIPTION_IN_USE', `Subscription ${name} already has an active consumer`);
        }
        // The broker itself attaching (no subject) leaves the subscriber's read check as it is.
        const readFilterChanged = ctx.access.checks(origin) && this.attachReader(existing, reader);
        if (sub.meta !== undefined && JSON.stringify(sub.meta) !== JSON.stringify(existing.meta ?? null)) await this.updateMeta(existing, sub.meta);
        else if (readFilterChanged && existing.durable) await ctx.persist([{ op: 'createQueue', queue: storedOf(existing) }]);
        return existing;
      }
      // JMS: a durable subscription resubscribed with another topic or selector is replaced.
      if (existing.consumers.length > 0) throw new JunctionError('ERR_SUBSCRIPTION_IN_USE', `Subscription ${name} is active with another topic or selector`);
      // Replacing deletes the old one and creates anew (Artemis: both permissions, checked before either happens).
      addresses.authorizeDelete(existing, origin, 'Replace subscription');
      ctx.access.check(origin, topic, sub.durable ? 'createDurableQueue' : 'createNonDurableQueue');
      await addresses.deleteQueue(existing);
    }
    addresses.assertRoom(1, 0, topic);
    // A durable subscription of one client belongs to its user; a shared one is meant for several.
    const ownerUser = sub.durable && !sub.shared ? ctx.access.ownerOf(origin) : undefined;
    const stored: StoredQueue = {
      name,
      kind: 'subscription',
      topic,
      shared: sub.shared ?? false,
      ...(filter ? { selector: filter.text } : {}),
      ...(sub.clientId !== undefined ? { clientId: sub.clientId } : {}),
      subscriptionName: sub.name,
      ...(sub.meta !== undefined ? { meta: sub.meta } : {}),
      ...(ownerUser !== undefined ? { ownerUser } : {}),
      ...(reader !== undefined ? { readFiltered: true } : {}),
    };
    if (sub.durable) await ctx.persist([{ op: 'createQueue', queue: stored }]);
    if (ctx.queues.has(name)) return this.subscriptionFor(topic, filter, sub, origin, reader); // created meanwhile
    const q = this.createSubscriptionQueue(name, topic, filter, stored, sub.durable);
    this.attachReader(q, reader);
    return q;
  }

  /**
   * Sets whose read permission filters what is routed into `q` as `reader` attaches (issue 14).
   * One subscriber's subscription (temporary or durable): its current subscriber's, replaced at each
   * attach (a durable one is its owner's). A shared one: every restricted member's, kept while the
   * queue lives (a member that leaves may come back to the messages held meanwhile). Returns whether
   * the subscription went from unfiltered to filtered or back (a durable one is then stored again).
   */
  private attachReader(q: Queue, reader: Subject | undefined): boolean {
    const before = q.readers !== undefined;
    if (!q.shared) q.readers = reader === undefined ? undefined : [reader];
    else if (reader === undefined) {
      // Recovered read-filtered and joined first by a member granted everything: the others add theirs as they come back.
      if (q.readers?.length === 0) q.readers = undefined;
    } else if (q.readers === undefined) q.readers = [reader];
    else if (!q.readers.some((r) => r === reader || (r.user === reader.user && r.clientId === reader.clientId))) {
      if (q.readers.length >= MAX_SHARED_READERS) {
        throw new JunctionError('ERR_RESOURCE_LIMIT', `Shared subscription ${q.name} holds its limit of ${MAX_SHARED_READERS} subscribers with a partly granted filter`);
      }
      q.readers.push(reader);
    }
    return before !== (q.readers !== undefined);
  }

  /** Replaces what a subscription keeps for its protocol; a durable one's definition is stored again. */
  private async updateMeta(q: Queue, meta: Record<string, unknown>): Promise<void> {
    q.meta = meta;
    if (!q.durable || q.topic === undefined) return;
    await this.ctx.persist([{ op: 'createQueue', queue: storedOf(q) }]);
  }

  /** The durable subscriptions of a client id, with what their protocol keeps with them. */
  durableSubscriptions(clientId: string): DurableSubscriptionInfo[] {
    const out: DurableSubscriptionInfo[] = [];
    for (const q of this.ctx.durableByClient.get(clientId) ?? []) {
      if (q.topic === undefined) continue;
      out.push({ name: q.name, subscriptionName: q.subscriptionName, topic: q.topic, consumers: q.consumers.length, meta: q.meta });
    }
    return out;
  }

  /** See `Core.deleteSubscription`. */
  async deleteSubscription(name: string, clientId: string | undefined, origin: Origin | undefined): Promise<void> {
    const { ctx } = this;
    const qname = clientId !== undefined ? `${clientId}.${name}` : name;
    const q = ctx.queues.get(qname) ?? ctx.queues.get(name);
    if (q) this.addresses.authorizeDelete(q, origin, 'Delete subscription');
    if (!q || q.kind !== 'subscription') throw new JunctionError('ERR_SUBSCRIPTION_NOT_FOUND', `No durable subscription ${qname}`);
    if (q.consumers.length > 0) throw new JunctionError('ERR_SUBSCRIPTION_IN_USE', `Subscription ${qname} has an active consumer`);
    await this.addresses.deleteQueue(q);
  }

  /** See `Core.findSubscription`. */
  find(name: string): SubscriptionInfo | undefined {
    const q = this.ctx.queues.get(name);
    if (!q || q.kind !== 'subscription' || q.topic === undefined) return undefined;
    return {
      name: q.name,
      topic: q.topic,
      durable: q.durable,
      shared: q.shared,
      clientId: q.clientId,
      subscriptionName: q.subscriptionName,
      selector: q.filter?.text,
      meta: q.meta,
      consumers: q.consumers.length,
    };
  }

  /** See `Core.deleteIfIdle`. */
  async deleteIfIdle(name: string): Promise<boolean> {
    const q = this.ctx.queues.get(name);
    if (!q || q.consumers.length > 0) return false;
    await this.addresses.deleteQueue(q);
    return true;
  }
}

/** A durable subscription's definition as stored (what recovery makes it again from). */
export function storedOf(q: Queue): StoredQueue {
  return {
    name: q.name,
    kind: 'subscription',
    topic: q.topic,
    shared: q.shared,
    ...(q.filter ? { selector: q.filter.text } : {}),
    ...(q.clientId !== undefined ? { clientId: q.clientId } : {}),
    ...(q.subscriptionName !== undefined ? { subscriptionName: q.subscriptionName } : {}),
    ...(q.meta !== undefined ? { meta: q.meta } : {}),
    ...(q.ownerUser !== undefined ? { ownerUser: q.ownerUser } : {}),
    ...(q.readers !== undefined ? { readFiltered: true } : {}),
    ...(q.pauseStored ? { paused: true } : {}),
  };
}
