/**
 * The zod schemas of the queues and messages areas (requests and responses): the OpenAPI document
 * is generated from them, requests are validated and size-capped by them, responses serialized by them.
 */
import { z } from 'zod';
import { DEFAULT_LIMIT, MAX_LIMIT } from '../list-page.ts';

/** Address and queue names: the core validates them fully; this caps what reaches it. */
export const Name = z.string().min(1).max(512);

/** `?limit=&cursor=` of every list. */
export const PageQuery = {
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT),
  cursor: z.string().min(1).max(2048).optional(),
};

/** A boolean query flag: `?force=true` / `?force=1` (anything else is false). */
export const Flag = z
  .enum(['true', 'false', '1', '0'])
  .optional()
  .transform((v) => v === 'true' || v === '1');

export const ListQuery = z.object({
  filter: z.string().max(512).optional().describe('substring of the name'),
  sort: z.string().max(40).optional().describe('a sort key, `-` first for descending'),
  ...PageQuery,
});

export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), issues: z.array(z.object({ path: z.string(), message: z.string() })).optional() }),
});

export const Destination = z.object({ type: z.enum(['queue', 'topic']), name: z.string() });

export const QueueStats = z.object({
  name: z.string(),
  kind: z.enum(['anycast', 'subscription']),
  topic: z.string().optional(),
  durable: z.boolean(),
  messages: z.number(),
  paged: z.number(),
  inDelivery: z.number(),
  scheduled: z.number(),
  consumers: z.number(),
  enqueued: z.number(),
  acked: z.number(),
  expired: z.number(),
  deadLettered: z.number(),
  bytes: z.number(),
  paused: z.boolean(),
});

export const AddressItem = z.object({
  name: z.string(),
  routing: z.enum(['anycast', 'multicast']),
  queues: z.array(z.string()),
  temporary: z.boolean(),
  autoCreated: z.boolean(),
  messages: z.number().describe('messages held by its queues'),
  consumers: z.number(),
});

export const Subscription = z.object({
  name: z.string().describe('the subscription queue'),
  topic: z.string(),
  durable: z.boolean(),
  shared: z.boolean(),
  clientId: z.string().optional(),
  subscriptionName: z.string().optional(),
  selector: z.string().optional(),
  consumers: z.number(),
  messages: z.number(),
});

export const QueueDetail = QueueStats.extend({
  address: z.string().describe('the address permissions are checked on: a subscription its topic'),
  shared: z.boolean(),
  consumerList: z.array(z.object({ id: z.number(), credit: z.number(), unacked: z.number(), autoAck: z.boolean() })),
  subscription: Subscription.omit({ messages: true }).optional(),
  producers: z.number().describe('connections with a declared producer on the address (AMQP sender links)'),
});

export const BodyPreview = z.object({ encoding: z.enum(['utf8', 'base64']), data: z.string(), truncated: z.boolean() });

const Property = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const MessageHeaders = {
  id: z.string(),
  destination: Destination,
  priority: z.number(),
  timestamp: z.number(),
  expiration: z.number(),
  durable: z.boolean(),
  bodyType: z.enum(['bytes', 'text', 'json']),
  correlationId: z.string().optional(),
  type: z.string().optional(),
  contentType: z.string().optional(),
  groupId: z.string().optional(),
  deliveryTime: z.number().optional(),
  originalDestination: Destination.optional(),
  properties: z.record(z.string(), Property),
};

export const MessageSummary = z.object({ ...MessageHeaders, size: z.number(), propertyCount: z.number(), preview: BodyPreview });

export const MessageDetail = z.object({
  ...MessageHeaders,
  bodySize: z.number(),
  replyTo: Destination.optional(),
  groupSeq: z.number().optional(),
  userId: z.string().optional(),
  body: BodyPreview,
});

export const Job = z.object({
  id: z.string(),
  action: z.enum(['remove', 'move', 'copy', 'retry']),
  queue: z.string(),
  target: z.string().optional(),
  state: z.enum(['running', 'done', 'failed', 'cancelled']),
  processed: z.number(),
  skipped: z.number(),
  total: z.number(),
  error: z.string().optional(),
  user: z.string().optional(),
  startedAt: z.number(),
  finishedAt: z.number().optional(),
});

/** `{ items, next?, total }` of a list of `item`. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), next: z.string().optional(), total: z.number().optional() });
}

/** Error responses a route documents besides its success. */
export const errors = (...codes: Array<400 | 401 | 403 | 404 | 409 | 429 | 503>) => Object.fromEntries(codes.map((c) => [c, ErrorBody]));
