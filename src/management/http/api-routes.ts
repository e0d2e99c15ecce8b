/**
 * `/api/v1/routes` (issue 15): list, describe, deploy from JSON or TypeScript source (400 with
 * `issues[{path, message}]` placed by dotted JSON path), replace, dry run, undeploy with drain,
 * suspend, resume, restart, run the route's test cases, statistics and the live graph. Reads need
 * `view` on `$sys.mgmt.routes`, changes `manage`; a route that would run as another user needs
 * `manage` on `$sys.mgmt.users` too, and TypeScript source (code run in the broker's process) needs
 * `manage` on `$sys.mgmt.broker` (docs/management.md#routes).
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { JunctionError } from '../../errors.ts';
import { MAX_TEST_CASES, type RouteInfo } from '../../routing/route-manager.ts';
import { routeIssues } from '../../routing/route-issues.ts';
import { RouteSourceError } from '../../routing/route-source.ts';
import { routeTestCase } from '../../routing/route-test-runner.ts';
import type { RouteDefinition } from '../../routing/definition.ts';
import { pageList, parseSort } from '../list-page.ts';
import { ApiError, MGMT, type ApiArea, type ApiDeps } from './api-types.ts';
import { errors, ListQuery, pageOf } from './queue-schemas.ts';
import { GraphResponse, MAX_SOURCE, RouteDeploy, RouteInfoSchema, RouteStatsResponse } from './route-schemas.ts';

const TAGS = ['routes'];
/** A TypeScript route source (one module) and a JSON definition are small; a request body past this is refused (413). */
const BODY_LIMIT = 2 * MAX_SOURCE;
const IdParams = z.object({ id: z.string().min(1).max(256) });
/** The longest drain an undeploy may ask for (ms): ActiveMQ's graceful stop waits minutes at most. */
const MAX_DRAIN_MS = 300_000;

/** The route manager's errors as API errors: an invalid definition is a 400 with its issues. */
async function routeCall<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RouteSourceError) throw new ApiError(400, err.code, err.message, err.issues);
    if (err instanceof JunctionError) {
      if (err.code === 'ERR_ROUTE_INVALID') throw new ApiError(400, err.code, err.message, routeIssues(err));
      if (err.code === 'ERR_ROUTE_NOT_FOUND') throw new ApiError(404, err.code, err.message);
      if (err.code === 'ERR_ROUTE_STATE') throw new ApiError(409, err.code, err.message);
      if (err.code === 'ERR_BROKER_CLOSED') throw new ApiError(503, err.code, err.message);
    }
    throw err;
  }
}

/**
 * The definition a deploy body gives, with the extra permissions it takes: TypeScript source is
 * code run in the broker's process with the broker's rights (as a file in the routes directory),
 * so only a broker administrator (`manage` on `$sys.mgmt.broker`) may send one; a route that would
 * run as a user other than the caller (its `runAs`, else `security.routes.defaultUser`) acts with
 * that user's permissions, so it needs `manage` on `$sys.mgmt.users`, as creating that user would.
 * Artemis has neither (its routes are server-side Camel config); this is the conservative reading.
 */
async function definitionOf(deps: ApiDeps, req: FastifyRequest, body: z.infer<typeof RouteDeploy>): Promise<RouteDefinition | Record<string, unknown>> {
  if ('source' in body) {
    deps.authorize(req, 'manage', MGMT.broker);
    const def = await routeCall(() => deps.ctx.routes.loadSource(body.source));
    authorizeRunAs(deps, req, def.runAs);
    return def;
  }
  const runAs = body.definition.runAs;
  authorizeRunAs(deps, req, typeof runAs === 'string' ? runAs : undefined);
  return body.definition;
}

function authorizeRunAs(deps: ApiDeps, req: FastifyRequest, runAs: string | undefined): void {
  if (deps.ctx.security === undefined) return; // security off: routes run as the route origin, no user
  const user = runAs ?? deps.ctx.config.security.routes.defaultUser;
  if (user !== deps.caller(req).user) deps.authorize(req, 'manage', MGMT.users);
}

/** What the list and the lifecycle operations answer for a route. */
function infoOf(r: RouteInfo): z.infer<typeof RouteInfoSchema> {
  const { definition: _d, ...rest } = r;
  return rest;
}

const ROUTE_SORTS = ['id', 'state', 'completed', 'failed', 'inFlight'] as const;

/** The routes of the routes area. */
export const routesApi: ApiArea = (app, deps) => {
  const { routes } = deps.ctx;
  const view = (req: FastifyRequest) => deps.authorize(req, 'view', MGMT.routes);
  const manage = (req: FastifyRequest) => deps.authorize(req, 'manage', MGMT.routes);

  app.get('/routes', {
    schema: {
      tags: TAGS,
      summary: 'Deployed routes with their state and statistics; route files that did not deploy',
      querystring: ListQuery,
      response: { 200: pageOf(RouteInfoSchema).extend({ problems: z.array(z.object({ file: z.string(), error: z.string(), at: z.string() })) }), ...errors(400, 401, 403) },
    },
    handler: async (req) => {
      view(req);
      const { filter, sort, limit, cursor } = req.query;
      const order = parseSort(sort, ROUTE_SORTS, 'id');
      const items = routes.list().filter((r) => filter === undefined || r.id.includes(filter)).map(infoOf);
      const page = pageList(items, { order, limit, cursor, name: (r) => r.id, value: (r, key) => (key === 'state' ? r.state : r.stats[key as 'completed' | 'failed' | 'inFlight']) });
      return { ...page, problems: routes.problems() };
    },
  });

  app.post('/routes/validate', {
    bodyLimit: BODY_LIMIT,
    schema: {
      tags: TAGS,
      summary: 'Dry run: validate and compile a definition or TypeScript source without deploying it',
      body: RouteDeploy,
      response: { 200: z.object({ valid: z.boolean(), id: z.string().optional(), issues: z.array(z.object({ path: z.string(), message: z.string() })) }), ...errors(400, 401, 403) },
    },
    handler: async (req) => {
      view(req);
      let def: RouteDefinition | Record<string, unknown>;
      try {
        def = await definitionOf(deps, req, req.body);
      } catch (err) {
        if (err instanceof ApiError && err.status === 400 && err.issues) return { valid: false, issues: [...err.issues] };
        throw err;
      }
      const issues = await routeCall(() => routes.validate(def));
      return { valid: issues.length === 0, ...(typeof def.id === 'string' ? { id: def.id } : {}), issues };
    },
  });

  app.post('/routes', {
    bodyLimit: BODY_LIMIT,
    schema: {
      tags: TAGS,
      summary: 'Deploy a new route from a JSON definition or TypeScript source (409 if the id is deployed: PUT replaces)',
      body: RouteDeploy,
      response: { 201: RouteInfoSchema, ...errors(400, 401, 403, 409) },
    },
    handler: async (req, reply) => {
      manage(req);
      const def = await definitionOf(deps, req, req.body);
      if (typeof def.id === 'string' && routes.has(def.id)) throw new ApiError(409, 'ERR_ROUTE_EXISTS', `route ${def.id} is deployed; PUT /routes/${def.id} replaces it`);
      const info = await routeCall(() => routes.deploy(def));
      return reply.code(201).send(infoOf(info));
    },
  });

  app.put('/routes/:id', {
    bodyLimit: BODY_LIMIT,
    schema: {
      tags: TAGS,
      summary: 'Deploy or replace a route (a new version; the running one stays if the new one does not start)',
      params: IdParams,
      body: RouteDeploy,
      response: { 200: RouteInfoSchema, ...errors(400, 401, 403, 409) },
    },
    handler: async (req) => {
      manage(req);
      const def = await definitionOf(deps, req, req.body);
      if (def.id !== req.params.id) throw new ApiError(400, 'ERR_ROUTE_INVALID', `the definition's id is not ${req.params.id}`, [{ path: 'id', message: `must be ${req.params.id} (the id in the path)` }]);
      return infoOf(await routeCall(() => routes.deploy(def)));
    },
  });

  app.get('/routes/:id', {
    schema: {
      tags: TAGS,
      summary: 'A route: state, statistics, its definition (passwords masked) and its Mermaid graph',
      params: IdParams,
      response: { 200: RouteInfoSchema.extend({ definition: z.unknown(), mermaid: z.string() }), ...errors(401, 403, 404) },
    },
    handler: async (req) => {
      view(req);
      const { graph, ...info } = await routeCall(() => routes.describe(req.params.id));
      return { ...infoOf(info), definition: info.definition, mermaid: graph };
    },
  });

  app.delete('/routes/:id', {
    schema: {
      tags: TAGS,
      summary: 'Undeploy a route: stop consuming, wait for in-flight exchanges (drain, up to timeout ms), then remove it',
      params: IdParams,
      querystring: z.object({
        drain: z
          .enum(['true', 'false', '1', '0'])
          .optional()
          .transform((v) => v === undefined || v === 'true' || v === '1')
          .describe('wait for in-flight exchanges (default true); false hands them back to the broker at once'),
        timeout: z.coerce.number().int().min(0).max(MAX_DRAIN_MS).optional().describe("ms to wait (default: the route's drainTimeout)"),
      }),
      response: { 204: z.null(), ...errors(400, 401, 403, 404) },
    },
    handler: async (req, reply) => {
      manage(req);
      await routeCall(() => routes.undeploy(req.params.id, { drainTimeout: req.query.drain ? req.query.timeout : 0 }));
      return reply.code(204).send(null);
    },
  });

  for (const action of ['suspend', 'resume', 'restart'] as const) {
    app.post(`/routes/:id/${action}`, {
      schema: {
        tags: TAGS,
        summary: action === 'suspend' ? 'Suspend a route: it stops consuming (messages wait at its source) after its in-flight exchanges settle' : action === 'resume' ? 'Resume a suspended route' : 'Restart a route: stop (draining), then start its definition afresh (counters from zero)',
        params: IdParams,
        response: { 200: RouteInfoSchema, ...errors(401, 403, 404, 409) },
      },
      handler: async (req) => {
        manage(req);
        return infoOf(await routeCall(() => routes[action](req.params.id)));
      },
    });
  }

  app.post('/routes/:id/test', {
    bodyLimit: BODY_LIMIT,
    schema: {
      tags: TAGS,
      summary: `Run test cases (the format of junction route test) against the route's definition, each on a sandbox core of its own (at most ${MAX_TEST_CASES})`,
      params: IdParams,
      body: z.strictObject({ cases: z.array(routeTestCase).min(1).max(MAX_TEST_CASES) }),
      response: { 200: z.object({ passed: z.boolean(), results: z.array(z.object({ name: z.string(), passed: z.boolean(), problems: z.array(z.string()) })) }), ...errors(400, 401, 403, 404, 409) },
    },
    handler: async (req) => {
      manage(req);
      const results = await routeCall(() => routes.test(req.params.id, req.body.cases));
      return { passed: results.every((r) => r.passed), results };
    },
  });

  app.get('/routes/:id/stats', {
    schema: {
      tags: TAGS,
      summary: "A route's counters and each step's (entered, completed, failed, in flight, processing-time histogram)",
      params: IdParams,
      response: { 200: RouteStatsResponse, ...errors(401, 403, 404) },
    },
    handler: async (req) => {
      view(req);
      return routeCall(() => {
        const info = routes.list().find((r) => r.id === req.params.id);
        if (!info) throw new JunctionError('ERR_ROUTE_NOT_FOUND', `No route ${req.params.id}`);
        return { id: info.id, state: info.state, stats: info.stats, steps: routes.stepStats(info.id) };
      });
    },
  });

  app.get('/routes/:id/graph', {
    schema: {
      tags: TAGS,
      summary: "A route's graph (nodes = steps by JSON path, edges), each node's counters (an edge's count is its target's entered), and Mermaid",
      params: IdParams,
      response: { 200: GraphResponse, ...errors(401, 403, 404) },
    },
    handler: async (req) => {
      view(req);
      return routeCall(() => ({ model: routes.graphModel(req.params.id), steps: routes.stepStats(req.params.id), mermaid: routes.describe(req.params.id).graph }));
    },
  });
};
