/**
 * The overview area (issue 15; docs/management.md#overview): the broker at a glance, its last 15
 * minutes, and the live event stream. Everything comes from the once-a-second sampler
 * (telemetry.ts), so a console polling the overview costs nothing more than the sampler already does.
 */
import { z } from 'zod';
import type { QueueStats } from '../../core/handles.ts';
import { HISTORY_SAMPLES } from '../telemetry.ts';
import { ApiError, MGMT, type ApiArea } from './api-types.ts';
import { HTTP_AUTH, type HttpAuth } from './auth.ts';
import { EVENT_TOPICS, EventStreams, type EventTopic } from './event-streams.ts';
import { queueAddress, viewFilter } from './queue-access.ts';

/** Per stream, queue names whose `view` answer is remembered at most (then the cache starts again). */
const VIEW_CACHE = 20_000;

const historyQuery = z.strictObject({
  seconds: z.coerce.number().int().min(1).max(HISTORY_SAMPLES).default(300),
});

const eventsQuery = z.strictObject({
  topics: z
    .string()
    .max(200)
    .default(EVENT_TOPICS.join(','))
    .transform((s, ctx) => {
      const out = new Set<EventTopic>();
      for (const t of s.split(',').map((x) => x.trim()).filter(Boolean)) {
        if (!(EVENT_TOPICS as readonly string[]).includes(t)) {
          ctx.addIssue({ code: 'custom', message: `unknown topic '${t.slice(0, 40)}'; topics: ${EVENT_TOPICS.join(', ')}` });
          return z.NEVER;
        }
        out.add(t as EventTopic);
      }
      if (out.size === 0) {
        ctx.addIssue({ code: 'custom', message: `no topic; topics: ${EVENT_TOPICS.join(', ')}` });
        return z.NEVER;
      }
      return out;
    }),
});

/** Which area each topic is authorized on (beyond `view` on the broker, which every stream needs). */
const TOPIC_AREA: Partial<Record<EventTopic, string>> = { routes: MGMT.routes, connections: MGMT.connections };

/** /api/v1 routes of the overview area (issue 15; owner: the telemetry builder). */
export const overviewApi: ApiArea = (app, deps) => {
  const { ctx, telemetry } = deps;
  // The server's HttpAuth (absent when the area is mounted alone, as its unit test does: then the caller as resolved).
  const auth = app.hasDecorator(HTTP_AUTH) ? app.getDecorator<HttpAuth>(HTTP_AUTH) : undefined;
  const streams = new EventStreams(ctx, telemetry, { maxClients: ctx.config.http.maxSseClients });
  app.addHook('preClose', async () => streams.closeAll());
  app.addHook('onClose', async () => streams.closeAll());

  app.get('/overview', { schema: { tags: ['overview'], summary: 'The broker at a glance: version, uptime, totals, rates, connections, memory, alarms, ports' } }, async (req) => {
    deps.authorize(req, 'view', MGMT.broker);
    const s = telemetry.latest();
    return {
      version: ctx.version,
      startedAt: new Date(ctx.startedAt).toISOString(),
      uptimeSeconds: Math.floor((Date.now() - ctx.startedAt) / 1000),
      sampledAt: new Date(s.at).toISOString(),
      totals: s.totals,
      rates: s.rates,
      connections: s.connections,
      memory: s.memory,
      alarms: s.alarms,
      ports: ctx.ports(),
    };
  });

  app.get('/overview/history', { schema: { tags: ['overview'], summary: 'Samples of the last `seconds` (at most 900), oldest first, one a second', querystring: historyQuery } }, async (req) => {
    deps.authorize(req, 'view', MGMT.broker);
    return { samples: telemetry.history(req.query.seconds) };
  });

  app.get(
    '/events',
    {
      schema: {
        tags: ['overview'],
        summary: 'Server-Sent Events: stats (a sample a second), queues (those changed), routes (counters and step statistics), connection (opened/closed)',
        querystring: eventsQuery,
      },
    },
    async (req, reply) => {
      const topics = req.query.topics;
      deps.authorize(req, 'view', MGMT.broker);
      for (const t of topics) {
        const area = TOPIC_AREA[t];
        if (area) deps.authorize(req, 'view', area);
      }
      if (streams.full()) throw new ApiError(429, 'ERR_HTTP_TOO_MANY_STREAMS', 'too many event streams are open (http.maxSseClients)');
      const may = viewFilter(deps, req);
      const cache = new Map<string, boolean>();
      const canView = (q: QueueStats): boolean => {
        const address = queueAddress(q);
        let ok = cache.get(address);
        if (ok === undefined) {
          if (cache.size >= VIEW_CACHE) cache.clear();
          ok = may(address);
          cache.set(address, ok);
        }
        return ok;
      };
      // Asked again every minute with the credentials as they stand now: the subject resolved when
      // the stream opened would outlive a logout, a revoked token or a removed user.
      const stillAllowed = (): boolean => {
        const security = ctx.security;
        if (!security) return true;
        const subject = auth ? auth.currentSubject(req) : deps.caller(req).subject;
        return subject !== undefined && security.allowed(subject, MGMT.broker, 'view');
      };
      // From here the stream is ours, not fastify's: it writes to the socket until the client goes or the server closes.
      reply.hijack();
      streams.open(reply.raw, topics, canView, stillAllowed);
    },
  );
};
