/**
 * `/api/v1` addresses, queues and durable subscriptions (issue 15): lists with filter, sort and
 * cursor paging, queue statistics and detail, create, delete, pause and resume (Artemis's
 * QueueControl `pause`/`resume`, `AddressControl`/`ActiveMQServerControl.createQueue`/`destroyQueue`).
 * Reads need `view` on the address (lists leave out what the caller may not view); changes need
 * `manage`, and the core checks the caller's own permissions again (origin `management`).
 */
import { z } from 'zod';
import type { QueueStats, QueueView } from '../../core/handles.ts';
import { pageList, parseSort } from '../list-page.ts';
import { ApiError, type ApiArea, type ApiDeps } from './api-types.ts';
import { authorizedQueue, queueAddress, viewFilter } from './queue-access.ts';
import { AddressItem, errors, Flag, ListQuery, Name, pageOf, PageQuery, QueueDetail, QueueStats as QueueStatsSchema, Subscription } from './queue-schemas.ts';

const QUEUE_SORTS = ['name', 'messages', 'consumers', 'enqueued', 'acked', 'expired', 'deadLettered', 'inDelivery', 'paged', 'scheduled', 'bytes'] as const;
const ADDRESS_SORTS = ['name', 'messages', 'consumers', 'queues'] as const;
const NameParams = z.object({ name: Name });
const TAGS = ['queues'];

/** The routes of the queues area. */
export const queuesApi: ApiArea = (app, deps) => {
  const { core } = deps.ctx;

  app.get('/addresses', {
    schema: {
      tags: TAGS,
      summary: 'Addresses (topics and queues) the caller may view',
      querystring: ListQuery.extend({ kind: z.enum(['anycast', 'multicast']).optional() }),
      response: { 200: pageOf(AddressItem), ...errors(400, 401) },
    },
    handler: async (req) => {
      const { filter, kind, sort, limit, cursor } = req.query;
      const order = parseSort(sort, ADDRESS_SORTS);
      const visible = viewFilter(deps, req);
      const items: z.infer<typeof AddressItem>[] = [];
      for (const a of core.addressList()) {
        if (kind !== undefined && a.routing !== kind) continue;
        if (filter !== undefined && !a.name.includes(filter)) continue;
        if (!visible(a.name)) continue;
        let messages = 0;
        let consumers = 0;
        for (const qn of a.queues) {
          const q = core.getQueue(qn);
          if (!q) continue;
          messages += q.messageCount;
          consumers += q.consumers.length;
        }
        items.push({ name: a.name, routing: a.routing, queues: [...a.queues], temporary: a.temporary, autoCreated: a.autoCreated, messages, consumers });
      }
      return pageList(items, { order, limit, cursor, name: (a) => a.name, value: (a, key) => (key === 'queues' ? a.queues.length : a[key as 'messages' | 'consumers']) });
    },
  });

  app.get('/queues', {
    schema: {
      tags: TAGS,
      summary: 'Queues and their statistics (subscription queues included), those the caller may view',
      querystring: ListQuery.extend({ kind: z.enum(['anycast', 'subscription']).optional() }),
      response: { 200: pageOf(QueueStatsSchema), ...errors(400, 401) },
    },
    handler: async (req) => {
      const { filter, kind, sort, limit, cursor } = req.query;
      const order = parseSort(sort, QUEUE_SORTS);
      const visible = viewFilter(deps, req);
      const items: QueueStats[] = [];
      for (const s of core.queueStats()) {
        if (kind !== undefined && s.kind !== kind) continue;
        if (filter !== undefined && !s.name.includes(filter)) continue;
        if (!visible(queueAddress(s))) continue;
        items.push(s);
      }
      return pageList(items, { order, limit, cursor, name: (s) => s.name, value: (s, key) => s[key as Exclude<(typeof QUEUE_SORTS)[number], 'name'>] });
    },
  });

  app.post('/queues', {
    schema: {
      tags: TAGS,
      summary: 'Create a queue (anycast); durable by default',
      body: z.object({ name: Name, durable: z.boolean().default(true) }),
      response: { 201: QueueDetail, ...errors(400, 401, 403, 409, 429) },
    },
    handler: async (req, reply) => {
      const { name, durable } = req.body;
      const caller = deps.authorize(req, 'manage', name);
      const q = await core.createQueue(name, { durable }, caller.origin);
      reply.code(201);
      return queueDetail(deps, q);
    },
  });

  app.get('/queues/:name', {
    schema: {
      tags: TAGS,
      summary: 'One queue: statistics, consumers, subscription, producers',
      params: NameParams,
      response: { 200: QueueDetail, ...errors(401, 403, 404) },
    },
    handler: async (req) => queueDetail(deps, authorizedQueue(deps, req, 'view', req.params.name).queue),
  });

  app.delete('/queues/:name', {
    schema: {
      tags: TAGS,
      summary: 'Delete a queue; 409 while it holds messages or has consumers, unless force=true',
      params: NameParams,
      querystring: z.object({ force: Flag }),
      response: { 204: z.null(), ...errors(401, 403, 404, 409) },
    },
    handler: async (req, reply) => {
      const { queue, caller } = authorizedQueue(deps, req, 'manage', req.params.name);
      if (!req.query.force && (queue.messageCount > 0 || queue.consumers.length > 0)) {
        throw new ApiError(409, 'ERR_QUEUE_IN_USE', `Queue ${queue.name} holds ${queue.messageCount} messages and has ${queue.consumers.length} consumers: delete with force=true`);
      }
      await core.deleteQueue(queue.name, caller.origin);
      reply.code(204);
      return null;
    },
  });

  app.post('/queues/:name/pause', {
    schema: {
      tags: TAGS,
      summary: 'Pause delivery from a queue (sends still accepted); persist=true keeps it paused over a restart',
      params: NameParams,
      querystring: z.object({ persist: Flag }),
      response: { 200: QueueStatsSchema, ...errors(401, 403, 404) },
    },
    handler: async (req) => {
      const { queue, caller } = authorizedQueue(deps, req, 'manage', req.params.name);
      await core.pauseQueue(queue.name, caller.origin, { persist: req.query.persist });
      return queue.statistics();
    },
  });

  app.post('/queues/:name/resume', {
    schema: { tags: TAGS, summary: 'Resume delivery from a paused queue', params: NameParams, response: { 200: QueueStatsSchema, ...errors(401, 403, 404) } },
    handler: async (req) => {
      const { queue, caller } = authorizedQueue(deps, req, 'manage', req.params.name);
      await core.resumeQueue(queue.name, caller.origin);
      return queue.statistics();
    },
  });

  app.get('/subscriptions', {
    schema: {
      tags: TAGS,
      summary: 'Durable topic subscriptions the caller may view (by topic)',
      querystring: z.object({ clientId: z.string().max(512).optional(), filter: z.string().max(512).optional(), ...PageQuery }),
      response: { 200: pageOf(Subscription), ...errors(400, 401) },
    },
    handler: async (req) => {
      const { clientId, filter, limit, cursor } = req.query;
      const visible = viewFilter(deps, req);
      const items: z.infer<typeof Subscription>[] = [];
      for (const s of core.durableSubscriptionList()) {
        if (clientId !== undefined && s.clientId !== clientId) continue;
        if (filter !== undefined && !s.name.includes(filter)) continue;
        if (!visible(s.topic)) continue;
        items.push(subscriptionItem(s, core.getQueue(s.name)?.messageCount ?? 0));
      }
      return pageList(items, { order: { key: 'name', desc: false }, limit, cursor, name: (s) => s.name, value: (s) => s.name });
    },
  });

  app.delete('/subscriptions/:name', {
    schema: {
      tags: TAGS,
      summary: 'Delete a durable subscription (its queue name); 409 while a consumer is attached',
      params: NameParams,
      response: { 204: z.null(), ...errors(401, 403, 404, 409) },
    },
    handler: async (req, reply) => {
      const { name } = req.params;
      const sub = core.findSubscription(name);
      const caller = deps.authorize(req, 'manage', sub?.topic ?? name);
      if (!sub?.durable) throw new ApiError(404, 'ERR_SUBSCRIPTION_NOT_FOUND', `No durable subscription ${name}`);
      // The core refuses with ERR_SUBSCRIPTION_IN_USE (409) while a consumer is attached.
      await core.deleteSubscription(name, undefined, caller.origin);
      reply.code(204);
      return null;
    },
  });
};

type SubscriptionItem = z.infer<typeof Subscription>;

function subscriptionItem(s: { name: string; topic: string; durable: boolean; shared: boolean; clientId: string | undefined; subscriptionName: string | undefined; selector: string | undefined; consumers: number }, messages: number): SubscriptionItem {
  const item: SubscriptionItem = { name: s.name, topic: s.topic, durable: s.durable, shared: s.shared, consumers: s.consumers, messages };
  if (s.clientId !== undefined) item.clientId = s.clientId;
  if (s.subscriptionName !== undefined) item.subscriptionName = s.subscriptionName;
  if (s.selector !== undefined) item.selector = s.selector;
  return item;
}

/** Statistics, consumers (id, credit, unacked), subscription and producer count of one queue. */
function queueDetail(deps: ApiDeps, q: QueueView): z.infer<typeof QueueDetail> {
  const address = queueAddress(q);
  const sub = deps.ctx.core.findSubscription(q.name);
  const detail: z.infer<typeof QueueDetail> = {
    ...q.statistics(),
    address,
    shared: q.shared,
    consumerList: q.consumers.map((c) => ({ id: c.id, credit: c.credit, unacked: c.unacked.size, autoAck: c.autoAck })),
    producers: producerCount(deps, address),
  };
  if (sub !== undefined) {
    const { messages: _m, ...rest } = subscriptionItem(sub, 0);
    detail.subscription = rest;
  }
  return detail;
}

/**
 * Connections with a declared producer on `address`: only AMQP declares one (a sender link's
 * target); STOMP and MQTT clients name the address per message, so they are not counted (as
 * Artemis counts producers by session). O(connections), once per detail request.
 */
function producerCount(deps: ApiDeps, address: string): number {
  let n = 0;
  for (const c of deps.ctx.connections.list()) if (c.producers.includes(address)) n++;
  return n;
}
