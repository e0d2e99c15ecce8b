import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import Fastify from 'fastify';
import fastifySwagger from '@fastify/swagger';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Permission } from '../../core/ports/security.ts';
import { gateConnections } from '../../transport/gate-connections.ts';
import { listen } from '../../transport/listen.ts';
import type { TlsContext } from '../../transport/tls-context.ts';
import type { TransportGuards } from '../../transport/transport-guards.ts';
import type { ManagementContext } from '../context.ts';
import { registerMetrics } from '../metrics.ts';
import { createTelemetry } from '../telemetry.ts';
import { API_AREAS } from './api.ts';
import { ApiError, type ApiApp, type ApiDeps, type Caller } from './api-types.ts';
import { HTTP_AUTH, HttpAuth, anonymousCaller, sameOrigin, type Resolved } from './auth.ts';
import { answerClientError, errorReply } from './errors.ts';
import { registerConsole } from './static-console.ts';

/** What a route may declare in its `config`: `public` routes answer without credentials (login, session, probes). */
export interface RouteConfig {
  readonly public?: boolean;
}

/** The management HTTP(S) listeners as bound. */
export interface ManagementServer {
  readonly ports: { readonly http?: number; readonly https?: number };
  /** The state API areas and hooks share (tests, the bench). */
  readonly auth: HttpAuth;
  /** Stops listening, ends every open connection (event streams too) and closes the app (its onClose hooks: jobs, SSE). */
  close(): Promise<void>;
}

export interface ManagementServerOptions {
  readonly ctx: ManagementContext;
  /** The broker's connection limits (`connections`): the HTTP sockets count against them like every other. */
  readonly guards: TransportGuards;
  /** With TLS configured: the HTTPS listener on `tls.ports.https`, reloading its certificate with the others. */
  readonly tls: TlsContext | undefined;
}

/**
 * Starts the management HTTP server (issue 15; docs/management.md): fastify 5 with zod schemas
 * (fastify-type-provider-zod), the OpenAPI 3 document generated from them at `/api/v1/openapi.json`,
 * every API area of api.ts under `/api/v1`, `/metrics`, the health probes and the console. The
 * listeners are plain Node servers made here, so every socket passes the broker's connection gate
 * before the HTTP parser sees it, with Node's request and header timeouts (slow-loris) and a cap on
 * HTTP connections of their own; both listeners route into the one fastify app.
 */
export async function startManagementServer(opts: ManagementServerOptions): Promise<ManagementServer> {
  const { ctx, guards, tls } = opts;
  const cfg = ctx.config.http;
  const log = ctx.log.child({ component: 'http' });
  const auth = new HttpAuth(ctx.security, cfg);
  const telemetry = createTelemetry(ctx);
  const sockets = new Set<net.Socket>();

  const serverOptions: http.ServerOptions = {
    headersTimeout: cfg.headersTimeout,
    requestTimeout: cfg.requestTimeout,
    keepAliveTimeout: cfg.keepAliveTimeout,
    connectionsCheckingInterval: Math.min(1000, cfg.headersTimeout),
  };
  const plain = http.createServer(serverOptions);
  const app = Fastify({
    serverFactory: (handler) => plain.on('request', handler),
    bodyLimit: cfg.bodyLimit,
    logger: false,
    // Same-origin console; a proxy in front does not make the client's address ours to trust.
    trustProxy: false,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 1024, ignoreTrailingSlash: true },
    clientErrorHandler: answerClientError,
    // The router's own refusals (a malformed %-escape, a path parameter over maxParamLength) in the API's error shape.
    frameworkErrors: (err, _req, reply) => {
      const { status, body } = errorReply(err);
      void reply.status(status as never).send(body as never);
    },
  }).withTypeProvider<ZodTypeProvider>();
  app.decorate(HTTP_AUTH, auth);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Junction management API', version: ctx.version, description: 'REST API of the Junction broker (docs/management.md).' },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'junction_session' },
          basic: { type: 'http', scheme: 'basic' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ session: [] }, { basic: [] }, { bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });

  app.setErrorHandler((err, req, reply) => {
    const { status, body } = errorReply(err);
    if (status >= 500) log.error({ err, method: req.method, url: req.url.split('?')[0] }, 'management request failed');
    return reply.code(status).send(body);
  });

  // Security headers on every answer (OWASP secure headers): the console's CSP allows its own origin
  // only (the build bundles everything: no CDN), and no page may frame it (clickjacking).
  app.addHook('onSend', async (_req, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('content-security-policy', "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'");
  });

  app.addHook('onRequest', async (req) => {
    // Security off: only a loopback name or an IP literal may be the Host, else any web page could
    // reach the API through DNS rebinding (a name of its own resolving to 127.0.0.1).
    if (!auth.enabled && !trustedHost(req.headers.host, ctx.config.host)) throw new ApiError(403, 'ERR_HTTP_HOST', 'security is off: the Host must be an IP address, localhost or the configured host');
    // Decided by the route matched, never by the raw request target: an absolute-form target
    // (`GET http://x/api/v1/queues`) or a percent-encoded one (`/%61pi/...`) reaches the same route
    // with a `req.url` that does not start with `/api/`, and would skip the CSRF check and the
    // refusal before the body is read. Unmatched paths answer 404 and read nothing.
    const route = req.routeOptions.url;
    if (route === undefined || (!route.startsWith('/api/') && route !== '/metrics')) return;
    if (!['GET', 'HEAD', 'OPTIONS'].includes(req.method) && !sameOrigin(req.headers)) throw new ApiError(403, 'ERR_HTTP_CSRF', 'cross-origin request refused: its Origin is not this server');
    const resolved = await auth.resolve({ method: req.method, headers: req.headers, remoteAddress: req.socket.remoteAddress ?? '' });
    auth.remember(req, resolved);
    // Refused before the body is read: an unauthenticated client cannot make the broker parse 10 MiB.
    const isPublic = (req.routeOptions.config as RouteConfig | undefined)?.public === true;
    if (resolved.error && !isPublic) throw resolved.error;
  });

  const deps: ApiDeps = {
    ctx,
    telemetry,
    caller: (req) => auth.resolutionOf(req)?.caller ?? anonymousCaller(),
    authorize: (req, permission, address) => authorize(ctx, auth.resolutionOf(req), permission, address),
  };

  app.get('/healthz', { schema: { hide: true }, config: { public: true } }, async () => ({ status: 'ok' as const }));
  app.get('/readyz', { schema: { hide: true }, config: { public: true } }, async (_req, reply) => {
    const reasons = ctx.readiness();
    return reasons.length === 0 ? { ready: true } : reply.code(503).send({ ready: false, reasons });
  });
  app.get('/api/v1/openapi.json', { schema: { hide: true }, config: { public: true } }, async () => app.swagger());
  for (const [name, area] of API_AREAS) {
    await app.register(async (scope) => area(scope as ApiApp, deps), { prefix: '/api/v1' });
    void name;
  }
  await app.register(async (scope) => registerMetrics(scope as ApiApp, deps));
  await registerConsole(app, log);
  await app.ready();

  const bound: { http?: number; https?: number } = {};
  const servers: Array<http.Server | https.Server> = [];
  const onError = (listener: string) => (err: Error) => log.error({ err, listener }, 'listener error');
  const guard = (server: http.Server | https.Server, name: string, secure: boolean) => {
    server.maxConnections = cfg.maxConnections;
    gateConnections(server, guards, name, sockets, secure);
    // The plain listener is fastify's server: fastify binds its clientErrorHandler (the same) to it.
    if (secure) server.on('clientError', answerClientError);
    servers.push(server);
  };
  try {
    guard(plain, 'http', false);
    bound.http = await listen(plain, ctx.config.ports.http, ctx.config.host, onError('http'));
    if (tls) {
      const secure = https.createServer({ ...serverOptions, ...tls.serverOptions() }, (req, res) => app.routing(req, res));
      tls.attach(secure);
      secure.on('tlsClientError', (err: Error, socket: net.Socket) => tls.handshakeFailed('https', socket, err));
      guard(secure, 'https', true);
      bound.https = await listen(secure, ctx.config.tls.ports.https, ctx.config.host, onError('https'));
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  guards.ports.set('http', bound.http);

  let closing: Promise<void> | undefined;
  async function closeAll(): Promise<void> {
    const stopped = servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve())));
    // Keep-alive connections and event streams would hold close() open: ended here.
    for (const s of sockets) s.destroy();
    await Promise.all(stopped);
    await app.close();
    telemetry.close();
    auth.close();
  }
  return {
    ports: bound,
    auth,
    close: () => (closing ??= closeAll()),
  };
}

/** `authorize` of ApiDeps: the caller, or ApiError 401 (not logged in) / 403 (denied; told to the audit log). */
function authorize(ctx: ManagementContext, resolved: Resolved | undefined, permission: Permission, address: string): Caller {
  const caller = resolved?.caller ?? anonymousCaller();
  if (!ctx.security) return caller;
  if (resolved?.error) throw resolved.error;
  const subject = caller.subject;
  if (!subject) throw new ApiError(401, 'ERR_AUTHENTICATION_REQUIRED', 'log in first (POST /api/v1/auth/login), or send Authorization: Basic or Bearer');
  if (!ctx.security.allowed(subject, address, permission)) {
    ctx.security.denied?.(subject, address, permission);
    throw new ApiError(403, 'ERR_SECURITY_UNAUTHORIZED', `user ${subject.user ?? '(anonymous)'} may not ${permission} on ${address}`);
  }
  return caller;
}

/** A Host that cannot be an attacker's DNS name: an IP literal, localhost, or the host the broker binds to. */
function trustedHost(host: string | undefined, configured: string): boolean {
  if (host === undefined) return true; // HTTP/1.0 without Host: no browser sends that
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === configured || z.ipv4().safeParse(name).success || z.ipv6().safeParse(name).success;
}
