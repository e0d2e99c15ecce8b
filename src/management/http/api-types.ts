/**
 * The contract between the HTTP server (server.ts, auth.ts: the http builder) and the API areas
 * (one plugin file each, registered in api.ts). Written by the lead for issue 15.
 *
 * Conventions every area follows:
 * - Routes under `/api/v1`, declared with zod schemas (fastify-type-provider-zod), so the OpenAPI
 *   document (`GET /api/v1/openapi.json`) is generated from them; every route has `schema.tags`
 *   (its area) and `schema.summary`.
 * - Every route calls `authorize(req, permission, address)` before it reads or changes anything:
 *   `view` to read, `browse` to read message contents, `send` to send a test message, `manage` to
 *   change anything. On an address or queue: that name; broker-wide areas: a `MGMT` name below.
 *   Security off: allowed. Denied: 403 `ERR_SECURITY_UNAUTHORIZED`; not logged in: 401.
 * - Errors: `{ error: { code, message, issues? } }`. `ApiError` (or a `JunctionError`, mapped by
 *   its code: NOT_FOUND 404, EXISTS/STATE/IN_USE 409, INVALID/VALIDATION 400, UNAUTHORIZED 403,
 *   RESOURCE_LIMIT 429, else 500). Validation `issues` are `{ path, message }`, `path` a dotted
 *   JSON path (`steps.2.to`) the console places the error with.
 * - Lists: `?limit=` (default 100, max 1000) and `?cursor=` (opaque, from the previous page's
 *   `next`); response `{ items: [...], next?: string, total?: number }`. Filters and `?sort=name|-name`.
 * - Only fixed, allow-listed operations: no generic "invoke any method" endpoint.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Permission, Subject } from '../../core/ports/security.ts';
import type { Origin } from '../../core/reserved.ts';
import type { ManagementContext } from '../context.ts';
import type { Telemetry } from '../telemetry-types.ts';

/** The fastify instance every area registers its routes on (zod type provider). */
export type ApiApp = FastifyInstance<any, any, any, any, ZodTypeProvider>;

/** Who is calling: set by the auth hook on every `/api` request before any handler runs. */
export interface Caller {
  /** Undefined: security off (anyone on the management port may do anything). */
  readonly subject: Subject | undefined;
  readonly user: string | undefined;
  /** How it authenticated: session cookie (console), basic, bearer token, or none (security off / public route). */
  readonly via: 'session' | 'basic' | 'bearer' | 'none';
  /** The core origin to pass to every core call made for this caller (`component: 'management'`, with the subject). */
  readonly origin: Origin;
}

/** Names broker-wide areas are authorized on (Artemis's `mops.*` idea, in our `$sys.` namespace). */
export const MGMT = {
  broker: '$sys.mgmt.broker',
  connections: '$sys.mgmt.connections',
  routes: '$sys.mgmt.routes',
  users: '$sys.mgmt.users',
  definitions: '$sys.mgmt.definitions',
  metrics: '$sys.mgmt.metrics',
} as const;

/** An error an API handler throws; the server's error handler answers `{ error: { code, message, issues } }` with `status`. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly issues: ReadonlyArray<{ path: string; message: string }> | undefined;
  constructor(status: number, code: string, message: string, issues?: ReadonlyArray<{ path: string; message: string }>) {
    super(message);
    this.status = status;
    this.code = code;
    this.issues = issues;
  }
}

/** What each area's plugin gets. */
export interface ApiDeps {
  readonly ctx: ManagementContext;
  /** The once-a-second sampler (overview, charts, SSE). */
  readonly telemetry: Telemetry;
  /** Throws ApiError 401/403 unless the request's caller may `permission` on `address`; returns the caller. */
  authorize(req: FastifyRequest, permission: Permission, address: string): Caller;
  /** The request's caller without a permission check (public routes, `/auth/session`). */
  caller(req: FastifyRequest): Caller;
}

/** One API area: registers its routes (paths relative to `/api/v1`). */
export type ApiArea = (app: ApiApp, deps: ApiDeps) => void | Promise<void>;
