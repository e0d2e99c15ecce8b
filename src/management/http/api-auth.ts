/**
 * `/api/v1/auth` (issue 15; docs/management.md#authentication-and-permissions): the console's login
 * and logout (session cookie + CSRF token), the session's state, and API tokens for tools (bearer).
 * Login and session are public; making, listing and revoking tokens needs a logged-in caller (a
 * token grants no more than its user has; revoking another user's token needs `manage` on
 * `$sys.mgmt.users`).
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ApiError, MGMT, type ApiArea, type ApiDeps } from './api-types.ts';
import { HTTP_AUTH, sessionCookie, type HttpAuth } from './auth.ts';
import { errors as errorResponses } from './queue-schemas.ts';

const TAGS = ['auth'];
const Login = z.object({ user: z.string().min(1).max(256), password: z.string().min(1).max(4096) });
const Token = z.object({ id: z.string(), user: z.string(), createdAt: z.number().describe('epoch ms'), expiresAt: z.number().describe('epoch ms') });

/** The caller's own remote address, IPv4-mapped as IPv4 (the login throttle's key, as the protocols give it). */
function remote(req: FastifyRequest): string {
  const a = req.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

function userOf(deps: ApiDeps, req: FastifyRequest): string {
  const { user } = deps.caller(req);
  if (!deps.ctx.security) throw new ApiError(409, 'ERR_HTTP_SECURITY_OFF', 'security is off: there are no users to make tokens for (set security.usersFile)');
  if (user === undefined) throw new ApiError(401, 'ERR_AUTHENTICATION_REQUIRED', 'log in first');
  return user;
}

/** The routes of the auth area. */
export const authApi: ApiArea = (app, deps) => {
  const auth = app.getDecorator<HttpAuth>(HTTP_AUTH);

  app.post('/auth/login', {
    config: { public: true },
    schema: {
      tags: TAGS,
      summary: 'Log in (the console): sets the HttpOnly session cookie; send csrfToken as x-csrf-token on every change',
      security: [],
      body: Login,
      response: { 200: z.object({ user: z.string(), roles: z.array(z.string()), csrfToken: z.string() }), ...errorResponses(400, 401, 409, 429) },
    },
    handler: async (req, reply) => {
      if (!auth.enabled) throw new ApiError(409, 'ERR_HTTP_SECURITY_OFF', 'security is off: no login needed (set security.usersFile to require one)');
      const subject = await auth.checkPassword(req.body.user, req.body.password, remote(req));
      const session = auth.openSession(req.body.user);
      reply.header('set-cookie', sessionCookie(session.id, req.protocol === 'https'));
      return { user: req.body.user, roles: [...subject.roles].sort(), csrfToken: session.csrfToken };
    },
  });

  app.post('/auth/logout', {
    config: { public: true },
    schema: { tags: TAGS, summary: 'Log out: ends the session and clears its cookie', security: [], response: { 204: z.null() } },
    handler: async (req, reply) => {
      const session = auth.sessionOf(req);
      if (session) auth.endSession(session.id);
      return reply.code(204).header('set-cookie', sessionCookie('', req.protocol === 'https', 0)).send(null);
    },
  });

  app.get('/auth/session', {
    config: { public: true },
    schema: {
      tags: TAGS,
      summary: 'Whether security is on, and who is logged in (with the CSRF token of a cookie session)',
      security: [],
      response: { 200: z.object({ security: z.boolean(), user: z.string().optional(), roles: z.array(z.string()).optional(), csrfToken: z.string().optional() }) },
    },
    handler: async (req) => {
      const caller = deps.caller(req);
      if (!auth.enabled || caller.subject === undefined) return { security: auth.enabled };
      const session = auth.sessionOf(req);
      return { security: true, user: caller.user, roles: [...caller.subject.roles].sort(), ...(session ? { csrfToken: session.csrfToken } : {}) };
    },
  });

  app.post('/auth/tokens', {
    schema: {
      tags: TAGS,
      summary: 'Make an API token for the logged-in user (Authorization: Bearer); the token is shown once',
      body: z.object({ ttlSeconds: z.number().int().min(60).optional().describe('at most http.tokenMaxTtl (the default)') }).default({}),
      response: { 201: Token.extend({ token: z.string() }), ...errorResponses(400, 401, 409, 429) },
    },
    handler: async (req, reply) => {
      const user = userOf(deps, req);
      // A token made with a token lasts no longer than it: a short-lived or leaked token cannot mint a long-lived one.
      const parent = auth.resolutionOf(req)?.token;
      const left = parent && Math.floor((parent.expiresAt - Date.now()) / 1000);
      const t = auth.createToken(user, left === undefined ? req.body.ttlSeconds : Math.min(req.body.ttlSeconds ?? left, left));
      deps.ctx.log.child({ component: 'http' }).info({ user: t.user, tokenId: t.id, expiresAt: new Date(t.expiresAt).toISOString() }, 'API token made');
      return reply.code(201).send(t);
    },
  });

  app.get('/auth/tokens', {
    schema: { tags: TAGS, summary: "The logged-in user's API tokens (ids, never the tokens)", response: { 200: z.object({ items: z.array(Token) }), ...errorResponses(401, 409) } },
    handler: async (req) => ({ items: auth.listTokens(userOf(deps, req)) }),
  });

  app.delete('/auth/tokens/:id', {
    schema: {
      tags: TAGS,
      summary: "Revoke an API token (the caller's own; another user's with manage on $sys.mgmt.users)",
      params: z.object({ id: z.string().min(1).max(64) }),
      response: { 204: z.null(), ...errorResponses(401, 403, 404, 409) },
    },
    handler: async (req, reply) => {
      const user = userOf(deps, req);
      if (!auth.revokeToken(req.params.id, user)) {
        // Someone else's: only an administrator of users may revoke it, and only they learn that it exists.
        deps.authorize(req, 'manage', MGMT.users);
        if (!auth.revokeToken(req.params.id, undefined)) throw new ApiError(404, 'ERR_HTTP_NOT_FOUND', 'no such token');
      }
      return reply.code(204).send(null);
    },
  });
};
