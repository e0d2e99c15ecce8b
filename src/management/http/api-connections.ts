import { z } from 'zod';
import type { ConsumerHandle } from '../../core/handles.ts';
import type { ConnectionInfo } from '../../transport/protocol-adapter.ts';
import { ApiError, MGMT, type ApiArea } from './api-types.ts';

/** Page size: default and cap (api-types.ts conventions). */
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

const Protocol = z.enum(['stomp', 'mqtt', 'amqp']);
/** Cursors are the last id of the previous page, as text (opaque to callers: take `next` as is). */
const Cursor = z.string().regex(/^\d{1,15}$/, 'not a cursor from a previous page');
const Limit = z.coerce.number().int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT);
const Name = z.string().min(1).max(256);
const IdParams = z.object({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });

const Subscription = z.object({
  id: z.string(),
  destination: z.string(),
  queue: z.string().optional(),
  consumerId: z.number().optional(),
  selector: z.string().optional(),
  durable: z.boolean().optional(),
  unacked: z.number().optional(),
});

const Summary = z.object({
  id: z.number(),
  protocol: Protocol,
  transport: z.enum(['tcp', 'ws']),
  tls: z.boolean(),
  remoteAddress: z.string(),
  user: z.string().optional(),
  clientId: z.string().optional(),
  version: z.string().optional(),
  connectedAt: z.number().describe('epoch ms the transport accepted it'),
  bytesIn: z.number().describe('bytes read from the peer (after TLS; WebSocket framing included)'),
  bytesOut: z.number().describe('bytes written to the peer (before TLS; WebSocket framing included)'),
  subscriptionCount: z.number(),
  producerCount: z.number(),
});

const Detail = Summary.extend({
  subscriptions: z.array(Subscription),
  producers: z.array(z.string()).describe('addresses its AMQP sender links send to'),
});

const Consumer = z.object({
  consumerId: z.number(),
  queue: z.string(),
  connectionId: z.number(),
  protocol: Protocol,
  user: z.string().optional(),
  clientId: z.string().optional(),
  subscription: z.string().describe("the protocol's own id: STOMP subscription id, MQTT filter, AMQP link name"),
  destination: z.string(),
  selector: z.string().optional(),
  durable: z.boolean().optional(),
  credit: z.number().describe('messages the queue may still deliver to it'),
  unacked: z.number().describe('deliveries not yet settled'),
});

/** Printable text only: it goes into a STOMP header and an AMQP error description. */
const Reason = z.string().min(1).max(200).regex(/^[^\p{Cc}]*$/u, 'no control characters');

function summary(c: ConnectionInfo): z.output<typeof Summary> {
  const { subscriptions, producers, ...rest } = c;
  return { ...rest, subscriptionCount: subscriptions.length, producerCount: producers.length };
}

function page<T>(sorted: T[], key: (t: T) => number, limit: number, cursor: string | undefined): { items: T[]; next?: string; total: number } {
  const after = cursor === undefined ? 0 : Number(cursor);
  let from = 0;
  while (from < sorted.length && key(sorted[from]!) <= after) from++;
  const items = sorted.slice(from, from + limit);
  const more = from + limit < sorted.length;
  return more ? { items, next: String(key(items[items.length - 1]!)), total: sorted.length } : { items, total: sorted.length };
}

/**
 * /api/v1 routes of the connections area (issue 15): every client connection of every protocol,
 * listed, shown and closed with the protocol's own close (the ConnectionDirectory), and the core
 * consumers behind their subscriptions. Reading needs `view`, closing `manage`, on `$sys.mgmt.connections`.
 */
export const connectionsApi: ApiArea = (app, deps) => {
  const dir = deps.ctx.connections;
  const tags = ['connections'];

  app.get(
    '/connections',
    {
      schema: {
        tags,
        summary: 'List client connections (every protocol), sorted by id, paged',
        querystring: z.object({ protocol: Protocol.optional(), user: Name.optional(), clientId: Name.optional(), limit: Limit, cursor: Cursor.optional() }),
        response: { 200: z.object({ items: z.array(Summary), next: z.string().optional(), total: z.number() }) },
      },
    },
    (req) => {
      deps.authorize(req, 'view', MGMT.connections);
      const { protocol, user, clientId, limit, cursor } = req.query;
      const all = dir.list({ ...(protocol ? { protocol } : {}), ...(user !== undefined ? { user } : {}), ...(clientId !== undefined ? { clientId } : {}) });
      const p = page(all, (c) => c.id, limit, cursor);
      return { ...p, items: p.items.map(summary) };
    },
  );

  app.get(
    '/connections/:id',
    {
      schema: { tags, summary: 'One connection with its subscriptions, producers and byte counts', params: IdParams, response: { 200: Detail } },
    },
    (req) => {
      deps.authorize(req, 'view', MGMT.connections);
      const c = dir.get(req.params.id);
      if (!c) throw notFound(req.params.id);
      return { ...summary(c), subscriptions: [...c.subscriptions], producers: [...c.producers] };
    },
  );

  app.delete(
    '/connections/:id',
    {
      schema: {
        tags,
        summary: "Close a connection with its protocol's own close (STOMP ERROR, MQTT socket close with the will, AMQP close amqp:connection:forced)",
        params: IdParams,
        querystring: z.object({ reason: Reason.optional() }),
        response: { 200: z.object({ id: z.number(), protocol: Protocol, closed: z.literal(true) }) },
      },
    },
    (req) => {
      deps.authorize(req, 'manage', MGMT.connections);
      const c = dir.get(req.params.id);
      if (!c || !dir.close(c.id, req.query.reason)) throw notFound(req.params.id);
      deps.ctx.log.info({ conn: c.id, protocol: c.protocol, by: deps.caller(req).user, reason: req.query.reason }, 'connection closed through the management API');
      return { id: c.id, protocol: c.protocol, closed: true as const };
    },
  );

  app.get(
    '/consumers',
    {
      schema: {
        tags,
        summary: "Core consumers of client connections (their subscriptions joined with the queues' consumers: credit, unacked), sorted by consumer id, paged",
        querystring: z.object({ queue: Name.optional(), limit: Limit, cursor: Cursor.optional() }),
        response: { 200: z.object({ items: z.array(Consumer), next: z.string().optional(), total: z.number() }) },
      },
    },
    (req) => {
      deps.authorize(req, 'view', MGMT.connections);
      const { queue, limit, cursor } = req.query;
      /** Each queue's consumers by id, looked up once per queue. */
      const byQueue = new Map<string, Map<number, ConsumerHandle>>();
      const consumersOf = (q: string): Map<number, ConsumerHandle> => {
        let m = byQueue.get(q);
        if (!m) {
          m = new Map((deps.ctx.core.getQueue(q)?.consumers ?? []).map((h) => [h.id, h] as const));
          byQueue.set(q, m);
        }
        return m;
      };
      const out: Array<z.output<typeof Consumer>> = [];
      for (const c of dir.list()) {
        for (const s of c.subscriptions) {
          if (s.queue === undefined || s.consumerId === undefined || (queue !== undefined && s.queue !== queue)) continue;
          const h = consumersOf(s.queue).get(s.consumerId);
          if (!h) continue; // closed meanwhile
          out.push({
            consumerId: h.id,
            queue: s.queue,
            connectionId: c.id,
            protocol: c.protocol,
            user: c.user,
            clientId: c.clientId,
            subscription: s.id,
            destination: s.destination,
            selector: s.selector,
            durable: s.durable,
            credit: h.credit,
            unacked: h.unacked.size,
          });
        }
      }
      out.sort((a, b) => a.consumerId - b.consumerId);
      return page(out, (x) => x.consumerId, limit, cursor);
    },
  );
};

function notFound(id: number): ApiError {
  return new ApiError(404, 'ERR_CONNECTION_NOT_FOUND', `No open connection ${id}`);
}
