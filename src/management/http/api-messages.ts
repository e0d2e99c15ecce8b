/**
 * `/api/v1` messages and jobs (issue 15): browse a queue a page at a time (Artemis QueueControl
 * `browse` with a selector, but paged by a cursor and stateless), one message, its raw body, purge
 * (all or by selector), bulk remove/move/copy/retry as jobs with progress (jobs.ts), and a test
 * message. Message contents need `browse` on the queue's address, changes `manage`, the test
 * message `send` on its address; the core checks the caller's origin again (move/copy: the target).
 */
import { z } from 'zod';
import { isReservedProperty } from '../../core/reserved.ts';
import { JobRunner, JOB_SLICE } from '../jobs.ts';
import { downloadContentType, downloadFileName, messageDetail, messageSummary } from '../message-view.ts';
import { ApiError, type ApiArea } from './api-types.ts';
import { jobsApi } from './api-jobs.ts';
import { authorizedQueue } from './queue-access.ts';
import { errors, Job, MessageDetail, MessageSummary, Name, pageOf, PageQuery } from './queue-schemas.ts';

/** Largest test-message body, decoded (the route's request limit leaves room for base64 and headers). */
export const TEST_MESSAGE_MAX_BYTES = 1024 * 1024;
/** Ids one action may name (a page of the browser). */
export const MAX_ACTION_IDS = 1000;
/** A purge of at most this many messages answers when done (200); a larger one runs as a job (202). */
export const SYNC_PURGE_LIMIT = JOB_SLICE;

const TAGS = ['messages'];
const Selector = z.string().min(1).max(4096).describe('a JMS selector (the core caps its complexity)');
const QueueParams = z.object({ name: Name });
const MessageParams = z.object({ name: Name, id: z.string().min(1).max(1024) });
const PropertyKey = z
  .string()
  .min(1)
  .max(256)
  .refine((k) => !isReservedProperty(k), 'reserved property name');

const SendBody = z.object({
  address: Name,
  type: z.enum(['queue', 'topic']).default('queue'),
  body: z.string().max(Math.ceil((TEST_MESSAGE_MAX_BYTES * 4) / 3) + 4),
  bodyEncoding: z.enum(['utf8', 'base64']).default('utf8'),
  durable: z.boolean().optional(),
  priority: z.number().int().min(0).max(9).optional(),
  headers: z
    .object({
      priority: z.number().int().min(0).max(9).optional(),
      durable: z.boolean().optional(),
      expiration: z.number().int().min(0).optional().describe('absolute epoch ms'),
      ttl: z.number().int().min(1).max(10 * 365 * 86_400_000).optional().describe('ms from now'),
      correlationId: z.string().max(1024).optional(),
      type: z.string().max(256).optional(),
      contentType: z.string().max(256).optional(),
    })
    .optional(),
  properties: z
    .record(PropertyKey, z.union([z.string().max(64 * 1024), z.number(), z.boolean()]))
    .refine((p) => Object.keys(p).length <= 64, 'at most 64 properties')
    .optional(),
});

const ActionBody = z
  .object({
    action: z.enum(['remove', 'move', 'copy', 'retry']),
    ids: z.array(z.string().min(1).max(1024)).min(1).max(MAX_ACTION_IDS).optional(),
    selector: Selector.optional(),
    target: Name.optional().describe('move/copy: the queue (or topic) to send to'),
  })
  .refine((b) => b.ids === undefined || b.selector === undefined, { message: 'ids or selector, not both', path: ['selector'] })
  .refine((b) => (b.action === 'move' || b.action === 'copy') === (b.target !== undefined), { message: 'move and copy need a target; remove and retry take none', path: ['target'] });

/** The routes of the messages area, and of the jobs it starts. */
export const messagesApi: ApiArea = (app, deps) => {
  const { core } = deps.ctx;
  const jobs = new JobRunner({ log: deps.ctx.log, queueExists: (name) => core.getQueue(name) !== undefined });
  // Jobs end with the server: fastify runs every plugin's onClose hook when the root closes.
  app.addHook('onClose', () => jobs.close());
  jobsApi(app, deps, jobs);

  app.get('/queues/:name/messages', {
    schema: {
      tags: TAGS,
      summary: 'Browse a queue a page at a time (non-destructive), in delivery order',
      params: QueueParams,
      querystring: z.object({ selector: Selector.optional(), ...PageQuery }),
      response: { 200: pageOf(MessageSummary), ...errors(400, 401, 403, 404) },
    },
    handler: async (req) => {
      const { queue, caller } = authorizedQueue(deps, req, 'browse', req.params.name);
      const { selector, limit, cursor } = req.query;
      const page = await core.browsePage(queue.name, { after: cursor, limit, selector }, caller.origin);
      const out: { items: z.infer<typeof MessageSummary>[]; next?: string; total?: number } = { items: page.messages.map(messageSummary) };
      if (page.next !== undefined) out.next = page.next;
      // The total of a selector is unknown without evaluating it over the whole queue: not given.
      if (selector === undefined) out.total = queue.messageCount;
      return out;
    },
  });

  app.get('/queues/:name/messages/:id', {
    schema: {
      tags: TAGS,
      summary: 'One message: headers, every property, the first 4 KiB of its body',
      params: MessageParams,
      response: { 200: MessageDetail, ...errors(401, 403, 404) },
    },
    handler: async (req) => messageDetail(await findMessage(req.params.name, req.params.id, req)),
  });

  app.get('/queues/:name/messages/:id/body', {
    schema: { tags: TAGS, summary: "A message's body, as bytes (a download)", params: MessageParams, response: { 200: z.any().describe('the body bytes'), ...errors(401, 403, 404) } },
    handler: async (req, reply) => {
      const m = await findMessage(req.params.name, req.params.id, req);
      reply
        .header('content-type', downloadContentType(m))
        .header('content-disposition', `attachment; filename="${downloadFileName(m.id)}"`)
        .header('x-content-type-options', 'nosniff');
      return reply.send(m.body);
    },
  });

  app.delete('/queues/:name/messages', {
    schema: {
      tags: TAGS,
      summary: `Purge a queue, or the messages a selector matches: up to ${SYNC_PURGE_LIMIT} messages answered when done (200), more as a job (202)`,
      params: QueueParams,
      querystring: z.object({ selector: Selector.optional() }),
      response: { 200: z.object({ removed: z.number(), skipped: z.number() }), 202: z.object({ job: Job }), ...errors(400, 401, 403, 404, 429) },
    },
    handler: async (req, reply) => {
      const { queue, caller } = authorizedQueue(deps, req, 'manage', req.params.name);
      const { selector } = req.query;
      const filter = selector === undefined ? {} : { selector };
      // One operation whatever the size, so a purge counts what it skipped (messages in delivery) alike.
      if (queue.messageCount <= SYNC_PURGE_LIMIT) {
        const op = core.messageOperation(queue.name, 'remove', filter, {}, caller.origin);
        while (!op.done) await op.step(SYNC_PURGE_LIMIT);
        return { removed: op.processed, skipped: op.skipped };
      }
      jobs.assertRoom();
      const op = core.messageOperation(queue.name, 'remove', filter, {}, caller.origin);
      reply.code(202);
      return { job: jobs.start(op, jobMeta(queue.name, undefined, caller.user)) };
    },
  });

  app.post('/queues/:name/messages/actions', {
    schema: {
      tags: TAGS,
      summary: 'Remove, move, copy or retry (to the original destination) messages by ids or selector (none: all), as a job',
      params: QueueParams,
      body: ActionBody,
      response: { 202: z.object({ job: Job }), ...errors(400, 401, 403, 404, 429) },
    },
    handler: async (req, reply) => {
      const { queue, caller } = authorizedQueue(deps, req, 'manage', req.params.name);
      const { action, ids, selector, target } = req.body;
      if (target === queue.name) throw new ApiError(400, 'ERR_HTTP_VALIDATION', 'target is the queue itself', [{ path: 'target', message: 'same queue' }]);
      jobs.assertRoom();
      const filter = ids !== undefined ? { ids } : selector !== undefined ? { selector } : {};
      const op = core.messageOperation(queue.name, action, filter, target === undefined ? {} : { target }, caller.origin);
      reply.code(202);
      return { job: jobs.start(op, jobMeta(queue.name, target, caller.user)) };
    },
  });

  app.post('/messages', {
    bodyLimit: Math.ceil((TEST_MESSAGE_MAX_BYTES * 4) / 3) + 256 * 1024,
    schema: {
      tags: TAGS,
      summary: 'Send a test message to a queue or topic, as the caller',
      body: SendBody,
      response: { 201: z.object({ id: z.string() }), ...errors(400, 401, 403, 404, 429) },
    },
    handler: async (req, reply) => {
      const b = req.body;
      const caller = deps.authorize(req, 'send', b.address);
      const body = Buffer.from(b.body, b.bodyEncoding);
      if (body.length > TEST_MESSAGE_MAX_BYTES) throw new ApiError(400, 'ERR_HTTP_VALIDATION', `body is over ${TEST_MESSAGE_MAX_BYTES} bytes`, [{ path: 'body', message: 'too large' }]);
      if (b.bodyEncoding === 'base64' && body.toString('base64').replace(/=+$/, '') !== b.body.replace(/=+$/, '')) {
        throw new ApiError(400, 'ERR_HTTP_VALIDATION', 'body is not valid base64', [{ path: 'body', message: 'not base64' }]);
      }
      const h = b.headers ?? {};
      const priority = h.priority ?? b.priority;
      const durable = h.durable ?? b.durable;
      const expiration = h.expiration ?? (h.ttl !== undefined ? Date.now() + h.ttl : undefined);
      const m = await core.send(
        {
          destination: { type: b.type, name: b.address },
          body,
          bodyType: b.bodyEncoding === 'utf8' ? 'text' : 'bytes',
          ...(priority !== undefined && { priority }),
          ...(durable !== undefined && { durable }),
          ...(expiration !== undefined && { expiration }),
          ...(h.correlationId !== undefined && { correlationId: h.correlationId }),
          ...(h.type !== undefined && { type: h.type }),
          ...(h.contentType !== undefined && { contentType: h.contentType }),
          properties: { ...b.properties },
        },
        { origin: caller.origin },
      );
      reply.code(201);
      return { id: m.id };
    },
  });

  async function findMessage(name: string, id: string, req: Parameters<typeof deps.authorize>[0]) {
    const { queue, caller } = authorizedQueue(deps, req, 'browse', name);
    const m = await core.findMessage(queue.name, id, caller.origin);
    if (!m) throw new ApiError(404, 'ERR_MESSAGE_NOT_FOUND', `Queue ${queue.name} holds no message ${id}`);
    return m;
  }
};

function jobMeta(queue: string, target: string | undefined, user: string | undefined): { queue: string; target?: string; user?: string } {
  return { queue, ...(target !== undefined && { target }), ...(user !== undefined && { user }) };
}
