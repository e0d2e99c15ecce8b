/**
 * `/api/v1/definitions` (issue 15; docs/management.md#definitions): the broker's definitions as one
 * JSON document (RabbitMQ's definitions export/import, for Junction's objects): queues, topics,
 * routes deployed through the API, and the permissions table, exported; imported, the missing
 * queues are created and the routes deployed (`?dryRun=true` checks only). Problems are answered
 * by path (`routes.2.steps.1.to`) as a route deploy answers them.
 *
 * Exporting needs `view` on `$sys.mgmt.definitions`; importing `manage` on it (and on
 * `$sys.mgmt.routes` when routes are given), and the core checks each queue's creation against the
 * caller's own permissions. Exported routes have their endpoint passwords masked (as every listing
 * does): such a route must be given its secret again before it is imported. Routes deployed from
 * files (routesDir) are left out: their files are their definition. Permissions are part of the
 * config (`security.permissions`): exported to read, never imported.
 */
import { z } from 'zod';
import type { Core } from '../../core/core.ts';
import { isSerializable, type RouteDefinition } from '../../routing/definition.ts';
import { ApiError, MGMT, type ApiArea, type Caller } from './api-types.ts';
import { errors } from './queue-schemas.ts';

const TAGS = ['definitions'];
/** Most objects of each kind one document may hold: an import's work and answer stay bounded (the body limit bounds it too). */
export const MAX_DEFINITIONS = 10_000;
const MAX_ROUTES = 1000;

const Name = z.string().min(1).max(512);
const Definitions = z.object({
  version: z.string().max(64).optional().describe('the Junction version that exported it'),
  queues: z.array(z.object({ name: Name, durable: z.boolean().default(true) })).max(MAX_DEFINITIONS).default([]),
  topics: z.array(Name).max(MAX_DEFINITIONS).default([]),
  routes: z.array(z.record(z.string(), z.unknown())).max(MAX_ROUTES).default([]).describe('route definitions (JSON, as docs/route.schema.json)'),
  permissions: z.record(z.string(), z.record(z.string(), z.array(z.string()))).optional().describe('exported for reading; not imported (security.permissions is config)'),
});
const Issue = z.object({ path: z.string(), message: z.string() });
const ImportResult = z.object({
  dryRun: z.boolean(),
  queues: z.object({ created: z.array(z.string()), existing: z.array(z.string()) }),
  topics: z.object({ existing: z.array(z.string()), missing: z.array(z.string()).describe('topics exist once configured (`topics`) or first used; not created here') }),
  routes: z.object({ deployed: z.array(z.string()) }),
  issues: z.array(Issue),
});

/** The routes of the definitions area. */
export const definitionsApi: ApiArea = (app, deps) => {
  const { core, routes } = deps.ctx;

  app.get('/definitions', {
    schema: { tags: TAGS, summary: 'Export queues, topics, API-deployed routes and the permissions table', response: { 200: Definitions, ...errors(401, 403) } },
    handler: async (req) => {
      deps.authorize(req, 'view', MGMT.definitions);
      const addresses = core.addressList().filter((a) => !a.temporary);
      const durable = new Map(core.queueStats().map((q) => [q.name, q.durable]));
      const queues = addresses.filter((a) => a.routing === 'anycast').map((a) => ({ name: a.name, durable: durable.get(a.name) ?? true }));
      const topics = addresses.filter((a) => a.routing === 'multicast').map((a) => a.name);
      const defs: Array<Record<string, unknown>> = [];
      for (const r of routes.list()) {
        if (r.origin !== 'api') continue;
        const d = routes.describe(r.id).definition;
        if (d && isSerializable(d)) defs.push(d as unknown as Record<string, unknown>);
      }
      const permissions = deps.ctx.config.security.permissions as Record<string, Record<string, string[]>>;
      return { version: deps.ctx.version, queues, topics, routes: defs, permissions };
    },
  });

  app.post('/definitions', {
    schema: {
      tags: TAGS,
      summary: 'Import: create the missing queues and deploy the routes (dryRun: check only); problems by path',
      querystring: z.object({ dryRun: z.enum(['true', 'false', '1', '0']).optional().transform((v) => v === 'true' || v === '1') }),
      body: Definitions,
      response: { 200: ImportResult, ...errors(400, 401, 403, 409) },
    },
    handler: async (req) => {
      const caller = deps.authorize(req, 'manage', MGMT.definitions);
      const doc = req.body;
      if (doc.routes.length > 0) deps.authorize(req, 'manage', MGMT.routes);
      const issues: Array<{ path: string; message: string }> = [];
      const known = new Map(core.addressList().map((a) => [a.name, a.routing]));
      const created: string[] = [];
      const existing: string[] = [];
      const seen = new Set<string>();
      doc.queues.forEach((q, i) => {
        if (seen.has(q.name)) issues.push({ path: `queues.${i}.name`, message: `queue ${q.name} is listed twice` });
        seen.add(q.name);
        const kind = known.get(q.name);
        if (kind === 'multicast') issues.push({ path: `queues.${i}.name`, message: `${q.name} is a topic` });
        else if (kind === 'anycast') existing.push(q.name);
      });
      const topicsExisting = doc.topics.filter((t) => known.get(t) === 'multicast');
      const topicsMissing = doc.topics.filter((t) => known.get(t) !== 'multicast');
      const defs: Array<readonly [index: number, definition: RouteDefinition]> = [];
      for (const [i, d] of doc.routes.entries()) {
        const problems = routes.validate(d);
        for (const p of problems) issues.push({ path: p.path === '' ? `routes.${i}` : `routes.${i}.${p.path}`, message: p.message });
        if (problems.length === 0) defs.push([i, d as unknown as RouteDefinition]);
        if (i % 50 === 49) await new Promise((r) => setImmediate(r)); // compiling many routes yields to the broker
      }
      if (issues.length > 0) throw new ApiError(400, 'ERR_HTTP_VALIDATION', `the definitions have ${issues.length} problem(s); nothing was imported`, issues);
      const toCreate = doc.queues.filter((q) => !known.has(q.name));
      if (!req.query.dryRun) {
        for (const [i, q] of doc.queues.entries()) {
          if (known.has(q.name)) continue;
          await createQueue(core, q, caller).then(
            () => created.push(q.name),
            (err: Error) => issues.push({ path: `queues.${i}`, message: err.message }),
          );
        }
        const deployed: string[] = [];
        for (const [i, d] of defs) {
          await routes.deploy(d, { origin: 'api' }).then(
            (r) => deployed.push(r.id),
            (err: Error) => issues.push({ path: `routes.${i}`, message: err.message }),
          );
        }
        if (issues.length > 0) throw new ApiError(409, 'ERR_HTTP_IMPORT_INCOMPLETE', `imported in part: ${created.length} queue(s) created, ${deployed.length} route(s) deployed; ${issues.length} failed`, issues);
        return { dryRun: false, queues: { created, existing }, topics: { existing: topicsExisting, missing: topicsMissing }, routes: { deployed }, issues };
      }
      return { dryRun: true, queues: { created: toCreate.map((q) => q.name), existing }, topics: { existing: topicsExisting, missing: topicsMissing }, routes: { deployed: defs.map(([, d]) => d.id) }, issues };
    },
  });
};

/** Creates a queue as the caller (the core checks createAddress and create*Queue on it). */
function createQueue(core: Core, q: { name: string; durable: boolean }, caller: Caller): Promise<unknown> {
  return core.createQueue(q.name, { durable: q.durable }, caller.origin);
}
