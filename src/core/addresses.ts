import { JunctionError } from '../errors.ts';
import { validateAddress } from './address.ts';
import { TEMPORARY_PREFIX, type CoreContext } from './core-context.ts';
import type { Destination } from './message.ts';
import { Queue } from './queue.ts';
import type { QueueBrowser } from './queue-browser.ts';
import { QueueCursor } from './browse-cursor.ts';
import type { BrowseCursor } from './handles.ts';
import { reservedOwner, type Origin, type ReservedOwner } from './reserved.ts';
import type { Permission } from './ports/security.ts';
import { isWildcard } from './wildcard.ts';

/** The ERR_ADDRESS_RESERVED for `what` on a name that belongs to `owner`. */
export function reserved(name: string, owner: ReservedOwner | 'temporary', what: string): JunctionError {
  const whose = owner === 'temporary' ? 'the connection that created this temporary queue' : owner === 'core' ? 'the broker' : owner === 'mqtt' ? 'MQTT sessions' : 'routes';
  return new JunctionError('ERR_ADDRESS_RESERVED', `${what} ${name.slice(0, 200)} refused: the name is reserved for ${whose}`);
}

/**
 * Addresses and queues (Artemis's AddressManager): anycast queues made at start or on first use,
 * topics, temporary queues and topics, who may use a reserved name, auto-delete, and the broker-wide
 * caps on queues and consumers.
 */
export class Addresses {
  private readonly ctx: CoreContext;
  /** When a refusal for a resource limit was last logged at warn (at most once a minute). */
  private resourceWarnedAt = -Infinity;

  constructor(ctx: CoreContext) {
    this.ctx = ctx;
  }

  /**
   * Throws ERR_ADDRESS_NOT_FOUND when `d` neither exists nor may be auto-created (AMQP refuses such a
   * link at attach), and ERR_SECURITY_UNAUTHORIZED when `origin` may not create what the first send would.
   */
  assertAddress(d: Destination, origin: Origin | undefined): void {
    const { ctx } = this;
    if (d.type === 'queue' ? ctx.queues.has(d.name) : ctx.topics.has(d.name) || isWildcard(d.name)) return;
    if (d.name.startsWith(TEMPORARY_PREFIX)) throw new JunctionError('ERR_ADDRESS_NOT_FOUND', `Temporary ${d.type} ${d.name} does not exist (any more)`);
    if (!ctx.settings.resolve(d.name).autoCreate) {
      throw new JunctionError('ERR_ADDRESS_NOT_FOUND', `${d.type === 'queue' ? 'Queue' : 'Topic'} ${d.name} does not exist`);
    }
    if (d.type === 'queue') this.authorizeAutoCreate(d.name, origin);
    else ctx.access.check(origin, d.name, 'createAddress');
  }

  /** Whether sends to `d` are waiting for room under BLOCK (AMQP withholds producer credit then). */
  isBlocked(d: Destination): boolean {
    const { ctx } = this;
    if (d.type === 'queue') {
      const q = ctx.queues.get(d.name);
      return q !== undefined && ctx.limits.isBlocking(q);
    }
    for (const q of ctx.subscriptionIndex.match(d.name)) if (ctx.limits.isBlocking(q)) return true;
    return false;
  }

  /** See `Core.createTemporaryQueue`. */
  createTemporaryQueue(suffix: string, origin: Origin): Queue {
    const { ctx } = this;
    ctx.assertOpen();
    const name = `${TEMPORARY_PREFIX}${suffix}`;
    validateAddress(name, 'queue');
    if (ctx.queues.has(name)) throw new JunctionError('ERR_ADDRESS_INVALID', `Queue ${name} already exists`);
    ctx.access.check(origin, name, 'createNonDurableQueue');
    this.assertRoom(1, 0, name);
    const q = new Queue({ name, kind: 'anycast', persistent: false, durable: false, settings: ctx.settings.resolve(name), host: ctx.host, owner: origin });
    ctx.queues.set(name, q);
    return q;
  }

  /** See `Core.createTemporaryTopic`. */
  createTemporaryTopic(suffix: string, origin: Origin): string {
    const { ctx } = this;
    ctx.assertOpen();
    const name = `${TEMPORARY_PREFIX}${suffix}`;
    validateAddress(name, 'send');
    if (ctx.temporaryTopics.has(name)) throw new JunctionError('ERR_ADDRESS_INVALID', `Topic ${name} already exists`);
    // As a temporary queue (Artemis checks CREATE_ADDRESS here): one grant on `$tmp.#` covers every dynamic node.
    ctx.access.check(origin, name, 'createNonDurableQueue');
    ctx.temporaryTopics.set(name, origin);
    ctx.topics.add(name);
    return name;
  }

  /** Ends a temporary topic: later sends and subscriptions are refused (its subscriptions go with their consumers). */
  deleteTemporaryTopic(name: string): void {
    if (this.ctx.temporaryTopics.delete(name)) this.ctx.topics.delete(name);
  }

  /**
   * Creates a queue on first use by `origin`, a sender or (`consuming`) a consumer. A send never
   * creates a reserved name (each is made by its owner's own call: temporary queues by
   * createTemporaryQueue, MQTT and route subscriptions by subscribing), so a send to a temporary
   * queue that is gone is refused instead of being confirmed into a queue no restart recovers.
   */
  autoCreateQueue(name: string, origin: Origin, consuming: boolean): Queue {
    const owner = reservedOwner(name);
    if (owner !== undefined && (!consuming || owner === 'core')) {
      if (name.startsWith(TEMPORARY_PREFIX)) throw new JunctionError('ERR_ADDRESS_NOT_FOUND', `Temporary queue ${name} does not exist (any more)`);
      throw reserved(name, owner, 'Create');
    }
    if (!this.ctx.settings.resolve(name).autoCreate) throw new JunctionError('ERR_ADDRESS_NOT_FOUND', `Queue ${name} does not exist`);
    this.authorizeAutoCreate(name, origin);
    this.assertRoom(1, 0, name);
    return this.createQueue(name, true);
  }

  /**
   * Artemis's auto-create checks CREATE_ADDRESS and then CREATE_DURABLE_QUEUE (an auto-created
   * anycast queue is durable), both on the name; here the queue and its address are one name.
   */
  authorizeAutoCreate(name: string, origin: Origin | undefined): void {
    const { access } = this.ctx;
    if (!access.checks(origin)) return;
    access.check(origin, name, 'createAddress');
    access.check(origin, name, 'createDurableQueue');
  }

  /** The anycast queue `name`, made now unless it exists (configured, recovered, auto-created). */
  createQueue(name: string, autoCreated: boolean): Queue {
    const { ctx } = this;
    validateAddress(name, 'queue');
    const existing = ctx.queues.get(name);
    if (existing) return existing;
    const q = new Queue({ name, kind: 'anycast', persistent: true, settings: ctx.settings.resolve(name), host: ctx.host, autoCreated });
    ctx.queues.set(name, q);
    ctx.log.debug({ queue: name }, 'queue created');
    return q;
  }

  /**
   * `deleteQueue` asked by a client or route: a reserved name of someone else is refused, a durable
   * subscription of another user too, and the origin needs Artemis's DELETE_DURABLE_QUEUE or
   * DELETE_NON_DURABLE_QUEUE on the queue's address. Deletes the core does on its own (a temporary
   * subscription whose consumer left, a dynamic node whose link closed) are not asked by anyone.
   */
  authorizeDelete(q: Queue, origin: Origin | undefined, what: string): void {
    this.assertMayUse(q.name, q, origin, what);
    const { access } = this.ctx;
    if (!access.checks(origin)) return;
    const address = q.topic ?? q.name;
    const permission = q.durable ? 'deleteDurableQueue' : 'deleteNonDurableQueue';
    access.assertOwner(q.ownerUser, origin, address, permission);
    access.check(origin, address, permission);
  }

  /** Removes a queue or subscription with its messages; its consumers are closed and told why. */
  async deleteQueue(q: Queue): Promise<void> {
    const { ctx } = this;
    if (q.deleted) return;
    q.shutdown();
    for (const c of [...q.consumers]) {
      c.close();
      c.sink.closed?.(`Queue ${q.name} was deleted`);
    }
    ctx.queues.delete(q.name);
    retire(ctx, q);
    if (q.kind === 'subscription' && q.topic !== undefined) ctx.subscriptionIndex.remove(q.topic, q);
    if (q.clientId !== undefined) {
      const mine = ctx.durableByClient.get(q.clientId);
      if (mine?.delete(q) && mine.size === 0) ctx.durableByClient.delete(q.clientId);
    }
    q.discard();
    if (q.durable) await ctx.persist([{ op: 'deleteQueue', queue: q.name }]);
  }

  /** A queue's last consumer left: a temporary subscription goes, and an auto-created empty queue set to auto-delete. */
  consumerRemoved(q: Queue): void {
    this.ctx.consumers--;
    if (q.consumers.length > 0 || q.deleted) return;
    const temporary = q.kind === 'subscription' && !q.durable;
    const autoDelete = q.kind === 'anycast' && q.autoCreated && q.settings.autoDelete && q.messageCount === 0;
    if (temporary || autoDelete) this.deleteQueue(q).catch((err) => this.ctx.backgroundError(err, 'queue delete'));
  }

  /** See `Core.resourceLimitError`. */
  resourceLimitError(queues: number, consumers: number, address?: string): JunctionError | undefined {
    const { ctx } = this;
    const { maxQueues, maxConsumers } = ctx.resourceLimits;
    let err: JunctionError | undefined;
    if (queues > 0 && ctx.queues.size + queues > maxQueues) {
      err = new JunctionError('ERR_RESOURCE_LIMIT', `The broker holds its limit of ${maxQueues} queues (core.maxQueues)`);
    } else if (consumers > 0 && ctx.consumers + consumers > maxConsumers) {
      err = new JunctionError('ERR_RESOURCE_LIMIT', `The broker holds its limit of ${maxConsumers} consumers (core.maxConsumers)`);
    } else return undefined;
    // One warn a minute: an attacker at the cap would otherwise write a line per refused request.
    const fields = { code: err.code, address: address?.slice(0, 200), queues: ctx.queues.size, consumers: ctx.consumers, maxQueues, maxConsumers };
    const now = ctx.now();
    if (now - this.resourceWarnedAt < 60_000) ctx.log.debug(fields, err.message);
    else {
      this.resourceWarnedAt = now;
      ctx.log.warn(fields, `${err.message}: refused (further refusals within a minute at debug)`);
    }
    return err;
  }

  assertRoom(queues: number, consumers: number, address: string): void {
    const err = this.resourceLimitError(queues, consumers, address);
    if (err) throw err;
  }

  /**
   * Refuses a temporary topic (`$tmp.`) to every connection but the one that created it, and a `$tmp.`
   * topic that is not live to every client. The broker itself (no origin) may use any.
   */
  assertMayUseTopic(name: string, origin: Origin | undefined): void {
    if (!name.startsWith(TEMPORARY_PREFIX) || origin === undefined || origin.component === 'broker') return;
    const o = this.ctx.temporaryTopics.get(name);
    if (o !== undefined && o.component === origin.component && o.connectionId === origin.connectionId) return;
    throw reserved(name, o !== undefined ? 'temporary' : 'core', 'Subscribe to');
  }

  /**
   * Refuses a reserved queue name (see reserved.ts) to a caller it does not belong to: a temporary
   * queue to every connection but its own, `mqtt.`/`route.` names to other components, other `$`
   * names to every client. The broker itself (no origin) may use any. One character test for an
   * ordinary name.
   */
  assertMayUse(name: string, q: Queue | undefined, origin: Origin | undefined, what: string): void {
    const owner = reservedOwner(name);
    if (owner === undefined || origin === undefined || origin.component === 'broker') return;
    if (owner === 'core') {
      const o = q?.owner;
      if (o !== undefined && o.component === origin.component && o.connectionId === origin.connectionId) return;
    } else if (owner === origin.component) return;
    throw reserved(name, q?.owner !== undefined ? 'temporary' : owner, what);
  }

  /**
   * The queue `name` if it exists, after refusing a reserved name of someone else to `origin`, and,
   * with security on, checking `permission` on its address (a subscription's topic) and, for a
   * durable subscription, that it is the origin's user's.
   */
  mayUse(name: string, origin: Origin | undefined, what: string, permission: Permission): Queue | undefined {
    const q = this.ctx.queues.get(name);
    this.assertMayUse(name, q, origin, what);
    const { access } = this.ctx;
    if (access.checks(origin)) {
      const address = q?.topic ?? name;
      if (permission !== 'manage') access.assertOwner(q?.ownerUser, origin, address, permission);
      access.check(origin, address, permission);
    }
    return q;
  }

  /** As {@link mayUse}, but ERR_ADDRESS_NOT_FOUND when the queue does not exist. */
  existing(name: string, origin: Origin | undefined, what: string, permission: Permission): Queue {
    const q = this.mayUse(name, origin, what, permission);
    if (!q) throw new JunctionError('ERR_ADDRESS_NOT_FOUND', `Queue ${name} does not exist`);
    return q;
  }

  /** See `Core.browser`. */
  browser(name: string, origin: Origin | undefined, selector: string | undefined): BrowseCursor {
    const q = this.mayUse(name, origin, 'Browse', 'browse');
    const filter = selector !== undefined && selector.trim() !== '' ? this.ctx.compile(selector) : null;
    return new QueueCursor(q ? q.browser() : EMPTY_BROWSER, filter);
  }
}

const EMPTY_BROWSER: QueueBrowser = { next: () => [] };

/** Folds a deleted queue's counters into the broker's (`CoreContext.retired`), once: `Core.totals` keeps counting them. */
function retire(ctx: CoreContext, q: Queue): void {
  const s = q.statistics();
  const r = ctx.retired;
  r.enqueued += s.enqueued;
  r.acked += s.acked;
  r.expired += s.expired;
  r.deadLettered += s.deadLettered;
}
