import { JunctionError } from '../errors.ts';
import { validateAddress } from './address.ts';
import { reserved, type Addresses } from './addresses.ts';
import { TEMPORARY_PREFIX, type CoreContext } from './core-context.ts';
import type { AddressInfo, BrokerTotals, SubscriptionInfo } from './handles.ts';
import type { Permission } from './ports/security.ts';
import type { StoredQueue } from './ports/store.ts';
import { Queue } from './queue.ts';
import { reservedOwner, type Origin } from './reserved.ts';
import { storedOf, type Subscriptions } from './subscriptions.ts';

/**
 * The core's management side for addresses and queues (Artemis's ActiveMQServerControl and
 * QueueControl, the parts that are not about messages): the address list, admin-created queues,
 * pause/resume, durable subscriptions, broker totals and memory. Nothing here runs per message:
 * each call is O(queues) at most, for a request or a once-a-second sample.
 */
export class QueueAdmin {
  private readonly ctx: CoreContext;
  private readonly addresses: Addresses;
  private readonly subscriptions: Subscriptions;

  constructor(ctx: CoreContext, addresses: Addresses, subscriptions: Subscriptions) {
    this.ctx = ctx;
    this.addresses = addresses;
    this.subscriptions = subscriptions;
  }

  /**
   * The queue `name` for a management call by `origin`: `permission` is checked on its address (a
   * subscription's topic), as for a client with security on. Reserved names and durable
   * subscriptions of other users are not refused here, unlike a client's own calls: an operator
   * granted `browse`/`manage` on the address sees every queue under it (Artemis has no owner check).
   */
  queue(name: string, origin: Origin | undefined, permission: Permission): Queue {
    const q = this.ctx.queues.get(name);
    this.ctx.access.check(origin, q?.topic ?? name, permission);
    if (!q) throw new JunctionError('ERR_ADDRESS_NOT_FOUND', `Queue ${name.slice(0, 200)} does not exist`);
    return q;
  }

  /** See `Core.addressList`: sorted by name; a wildcard subscription appears under its pattern. */
  addressList(): AddressInfo[] {
    const { ctx } = this;
    const topics = new Map<string, string[]>();
    for (const t of ctx.topics) topics.set(t, []);
    const out: AddressInfo[] = [];
    for (const q of ctx.queues.values()) {
      if (q.kind === 'subscription' && q.topic !== undefined) {
        let subs = topics.get(q.topic);
        if (!subs) topics.set(q.topic, (subs = []));
        subs.push(q.name);
      } else out.push({ name: q.name, routing: 'anycast', queues: [q.name], temporary: q.name.startsWith(TEMPORARY_PREFIX), autoCreated: q.autoCreated });
    }
    for (const [name, queues] of topics) {
      const temporary = ctx.temporaryTopics.has(name);
      out.push({ name, routing: 'multicast', queues: queues.sort(), temporary, autoCreated: !temporary && !ctx.configuredTopics.has(name) });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.routing < b.routing ? -1 : 1));
  }

  /**
   * See `Core.createQueue`. Artemis's createQueue from the console checks CREATE_ADDRESS and
   * CREATE_DURABLE_QUEUE (or CREATE_NON_DURABLE_QUEUE) on the name. A durable one is stored as a
   * queue record (recovery makes it again, empty or not); a non-durable one keeps no message in the
   * store and is gone after a restart.
   */
  async createQueue(name: string, durable: boolean, origin: Origin | undefined): Promise<Queue> {
    const { ctx, addresses } = this;
    ctx.assertOpen();
    validateAddress(name, 'queue');
    const owner = reservedOwner(name);
    if (owner !== undefined) throw reserved(name, owner, 'Create');
    const { access } = ctx;
    access.check(origin, name, 'createAddress');
    access.check(origin, name, durable ? 'createDurableQueue' : 'createNonDurableQueue');
    this.assertFree(name);
    addresses.assertRoom(1, 0, name);
    if (durable) {
      const stored: StoredQueue = { name, kind: 'anycast' };
      await ctx.persist([{ op: 'createQueue', queue: stored }]);
      // Made meanwhile by a send or another request: this one stored the same record, so it stands.
      this.assertFree(name);
    }
    const q = new Queue({ name, kind: 'anycast', persistent: durable, durable, settings: ctx.settings.resolve(name), host: ctx.host });
    ctx.queues.set(name, q);
    ctx.log.info({ queue: name, durable }, 'queue created by management');
    return q;
  }

  private assertFree(name: string): void {
    const { ctx } = this;
    if (ctx.queues.has(name) || ctx.topics.has(name)) throw new JunctionError('ERR_ADDRESS_EXISTS', `${ctx.topics.has(name) ? 'Topic' : 'Queue'} ${name} already exists`);
  }

  /**
   * See `Core.pauseQueue` (Artemis QueueControl.pause(persist)). `persist` stores the pause in the
   * queue's record (a durable subscription's stored definition, or an anycast queue record, which
   * makes an auto-created queue a stored one); a non-durable queue is not stored, so its pause is not either.
   */
  async pause(name: string, origin: Origin | undefined, persist: boolean): Promise<void> {
    const q = this.queue(name, origin, 'manage');
    q.paused = true;
    if (persist && q.durable && !q.pauseStored) {
      q.pauseStored = true;
      try {
        await this.ctx.persist([{ op: 'createQueue', queue: this.recordOf(q) }]);
      } catch (err) {
        q.pauseStored = false;
        throw err;
      }
    }
  }

  /** See `Core.resumeQueue`: delivery starts again at once; a stored pause is removed from the record. */
  async resume(name: string, origin: Origin | undefined): Promise<void> {
    const q = this.queue(name, origin, 'manage');
    const wasStored = q.pauseStored;
    q.paused = q.pauseStored = false;
    q.dispatch();
    if (wasStored && !q.deleted) await this.ctx.persist([{ op: 'createQueue', queue: this.recordOf(q) }]);
  }

  private recordOf(q: Queue): StoredQueue {
    if (q.kind === 'subscription') return storedOf(q);
    return q.pauseStored ? { name: q.name, kind: 'anycast', paused: true } : { name: q.name, kind: 'anycast' };
  }

  /** See `Core.durableSubscriptionList`: every durable subscription queue (shared ones too), sorted by name. */
  durableSubscriptionList(): SubscriptionInfo[] {
    const out: SubscriptionInfo[] = [];
    for (const q of this.ctx.queues.values()) {
      if (q.kind !== 'subscription' || !q.durable) continue;
      const info = this.subscriptions.find(q.name);
      if (info) out.push(info);
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * See `Core.totals`: the live queues' own counters summed (O(queues), at sample time) plus those
   * of queues deleted since start (`CoreContext.retired`, folded in at delete): no broker-wide
   * counter is kept per message besides `sent`.
   */
  totals(): BrokerTotals {
    const { ctx } = this;
    const r = ctx.retired;
    let messages = 0;
    let bytes = 0;
    let paged = 0;
    let inDelivery = 0;
    let enqueued = r.enqueued;
    let acked = r.acked;
    let expired = r.expired;
    let deadLettered = r.deadLettered;
    for (const q of ctx.queues.values()) {
      const s = q.statistics();
      messages += s.messages;
      bytes += q.bytes;
      paged += s.paged;
      inDelivery += s.inDelivery;
      enqueued += s.enqueued;
      acked += s.acked;
      expired += s.expired;
      deadLettered += s.deadLettered;
    }
    return {
      messages,
      bytes,
      paged,
      inDelivery,
      enqueued,
      acked,
      expired,
      deadLettered,
      sent: ctx.sent,
      unrouted: ctx.unrouted,
      queues: ctx.queues.size,
      topics: ctx.topics.size,
      consumers: ctx.consumers,
    };
  }

  /** See `Core.memory`. */
  memory(): { limitBytes: number; usedBytes: number; blockedSends: number; dropped: number } {
    const { limits } = this.ctx;
    return { limitBytes: Math.max(0, limits.limitBytes), usedBytes: limits.memoryBytes, blockedSends: limits.blockedSends, dropped: limits.dropped };
  }
}
