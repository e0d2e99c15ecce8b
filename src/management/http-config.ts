import { z } from 'zod';

/**
 * The management HTTP server (`http` in the config; docs/management.md): the REST API, the web
 * console, `/metrics` and the health probes on `ports.http` (8161, ActiveMQ's console port) and, with
 * `tls.cert` and `tls.key`, HTTPS on `tls.ports.https` (8162, ActiveMQ Classic's console HTTPS port).
 * Every resource a caller makes the broker hold (sessions, tokens, event streams) is capped and expires.
 * No CORS: the console is served from the same origin, and no `Access-Control-*` header is ever sent.
 * src/config/schema.ts composes this slice.
 */
export const httpConfigSchema = z.strictObject({
  /** Serve the management plane (default true). False: nothing listens on `ports.http` / `tls.ports.https`. */
  enabled: z.boolean().default(true),
  /**
   * Console sessions (cookie logins) end after this many ms without a request (default 30 minutes,
   * the servlet containers' and ActiveMQ's console default). A session is also ended by logout.
   */
  sessionIdleTimeout: z.number().int().min(1000).default(30 * 60_000),
  /** Console sessions held at once (default 1,000); a login past it ends the least recently used session. */
  maxSessions: z.number().int().min(1).default(1000),
  /** API tokens (`POST /api/v1/auth/tokens`) held at once (default 1,000); one more is refused (429). */
  maxTokens: z.number().int().min(1).default(1000),
  /** Longest lifetime of an API token, seconds (default 30 days); also the lifetime of one made without `ttlSeconds`. */
  tokenMaxTtl: z.number().int().min(60).default(30 * 24 * 3600),
  /**
   * Largest request body, bytes (default 10 MiB: a route's TypeScript source, a test message's
   * body). A larger one is refused with 413 before it is read further.
   */
  bodyLimit: z.number().int().min(1024).default(10 * 1024 * 1024),
  /** Server-Sent Event streams (`/api/v1/events`) open at once (default 100); one more is refused (429). */
  maxSseClients: z.number().int().min(1).default(100),
  /**
   * HTTP connections open at once on the management listeners (default 256), counted apart from the
   * protocol connections (which also pass the broker's `connections` limits, as these do).
   */
  maxConnections: z.number().int().min(1).default(256),
  /** How long a request's headers may take to arrive, ms (default 10,000; Node's own is 60 s): a slow-loris client is closed. */
  headersTimeout: z.number().int().min(100).default(10_000),
  /** How long a whole request may take to arrive, ms (default 30,000). Event streams are not bound by it once answered. */
  requestTimeout: z.number().int().min(100).default(30_000),
  /** How long an idle keep-alive connection stays open, ms (default 5,000, Node's). */
  keepAliveTimeout: z.number().int().min(100).default(5000),
  /** Prometheus `/metrics`. */
  metrics: z
    .strictObject({
      /**
       * Serve `/metrics` without credentials while security is on (default false: the scraper then
       * needs `view` on `$sys.mgmt.metrics`, with basic auth or a bearer token, as Prometheus's
       * `basic_auth` / `authorization` scrape settings send). Security off: always public.
       */
      public: z.boolean().default(false),
      /**
       * Queues with series of their own in `/metrics` (default 500): past it the deepest keep theirs
       * and the rest are summed under `queue="_other"`, so clients that make many queues cannot
       * flood Prometheus with series (docs/management.md#metrics).
       */
      maxQueueSeries: z.number().int().min(0).max(100_000).default(500),
    })
    .prefault({}),
});

export type HttpConfig = z.output<typeof httpConfigSchema>;
