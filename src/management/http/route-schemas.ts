/**
 * The zod schemas of the routes area (requests and responses): the OpenAPI document is generated
 * from them, request bodies are validated and capped by them, responses serialized by them.
 */
import { z } from 'zod';

/** The longest TypeScript route source accepted (characters): one module, as a route file is. */
export const MAX_SOURCE = 256 * 1024;

/** A deploy, replace or dry run: a JSON definition (docs/routes.md) or a TypeScript module default-exporting one route. */
export const RouteDeploy = z.union([
  z.strictObject({ definition: z.record(z.string(), z.unknown()).describe('a route definition, as a *.route.json file holds it') }),
  z.strictObject({
    source: z.string().min(1).max(MAX_SOURCE).describe('a .route.ts module: `export default route(...)`'),
    language: z.literal('ts'),
  }),
]);

export const RouteStatsSchema = z.object({
  completed: z.number(),
  failed: z.number(),
  released: z.number(),
  inFlight: z.number(),
  deadLettered: z.number(),
  redeliveries: z.number(),
  meanMs: z.number(),
  maxMs: z.number(),
});

export const RouteInfoSchema = z.object({
  id: z.string(),
  version: z.number(),
  state: z.string().describe('stopped, starting, started, suspending, suspended, stopping or failed'),
  from: z.string().describe('source endpoint URI, password masked'),
  origin: z.string().describe('`api` or the route file it was deployed from'),
  error: z.string().optional(),
  stats: RouteStatsSchema,
});

export const StepStatsSchema = z.object({
  id: z.string().describe('the graph node id'),
  entered: z.number(),
  completed: z.number(),
  failed: z.number(),
  inFlight: z.number(),
  buckets: z.array(z.number()).readonly().describe('cumulative counts per STEP_SECONDS_BUCKETS upper bound (seconds)'),
  count: z.number(),
  sumSeconds: z.number(),
});

export const RouteStatsResponse = z.object({ id: z.string(), state: z.string(), stats: RouteStatsSchema, steps: z.array(StepStatsSchema).readonly() });

export const GraphModelSchema = z.object({
  routeId: z.string(),
  nodes: z.array(
    z.object({
      id: z.string(),
      path: z.string().describe('JSON path into the definition (`steps.1.choice.when.0.steps.0`), as validation issues name it'),
      kind: z.string(),
      label: z.string(),
      shape: z.enum(['source', 'step', 'endpoint', 'decision']),
    }),
  ).readonly(),
  edges: z.array(z.object({ from: z.string(), to: z.string(), label: z.string().optional() })).readonly(),
});

export const GraphResponse = z.object({ model: GraphModelSchema, steps: z.array(StepStatsSchema), mermaid: z.string() });
