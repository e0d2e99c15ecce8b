import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type { LoginResult, Subject } from '../../core/ports/security.ts';
import type { SecurityManager } from '../../security/security-manager.ts';
import type { HttpConfig } from '../http-config.ts';
import { ApiError, type Caller } from './api-types.ts';

/** The fastify decorator the server puts its {@link HttpAuth} under (the auth area reads it with `getDecorator`). */
export const HTTP_AUTH = 'junctionHttpAuth';

/** The console's session cookie: HttpOnly, SameSite=Strict, Path=/ (Secure on HTTPS). */
export const SESSION_COOKIE = 'junction_session';
/** The header a cookie-authenticated unsafe request carries its session's CSRF token in (the double-submit of OWASP's cheat sheet, the token from the login answer). */
export const CSRF_HEADER = 'x-csrf-token';

/** One console login. Keyed by its random id in a Map (client input never keys a plain object). */
export interface HttpSession {
  readonly id: string;
  readonly user: string;
  readonly csrfToken: string;
  lastSeen: number;
}

/** One API token; the token itself is never kept, only its SHA-256 (a leaked heap dump or listing gives nothing to replay). */
export interface ApiToken {
  readonly id: string;
  readonly user: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** What the request carried, as far as auth is concerned. */
export interface AuthRequest {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string;
}

/**
 * The outcome of reading a request's credentials: the caller (anonymous when none were given), or
 * the error `authorize` answers with (bad credentials 401, a refused CSRF check 403). Public routes
 * (login, session) read the caller and ignore the error.
 */
export interface Resolved {
  readonly caller: Caller;
  readonly error: ApiError | undefined;
  /** The session the cookie names (logout ends it). */
  readonly session: HttpSession | undefined;
  /** The bearer token the request carried (revoking it, or its expiry, ends what it opened). */
  readonly token?: ApiToken;
}

const ANONYMOUS: Caller = Object.freeze({ subject: undefined, user: undefined, via: 'none', origin: Object.freeze({ component: 'management' }) });
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const BAD_CREDENTIALS = 'Invalid user name or password';
/** Console sessions one user holds at once (a login past it ends that user's least recently used one). */
export const MAX_SESSIONS_PER_USER = 32;
/** API tokens one user holds at once (one more is refused, 429). */
export const MAX_TOKENS_PER_USER = 100;

/**
 * Authentication of the management HTTP server (docs/management.md#authentication-and-permissions):
 * console sessions (cookie + CSRF token), basic auth and bearer tokens for tools, all logging in
 * through the broker's security manager (its throttling, login limits and audit log apply, as
 * `protocol: 'http'`). Sessions and tokens name a user; each request takes the user's roles from
 * the users in force now (`security.identity`), so a role change applies at once and a removed user's
 * session and tokens stop working. Security off: every caller is anonymous and may do anything.
 */
export class HttpAuth {
  readonly enabled: boolean;
  private readonly security: SecurityManager | undefined;
  private readonly config: HttpConfig;
  private readonly now: () => number;
  /** Least recently used first (a Map keeps insertion order; a use moves the session to the end). */
  private readonly sessions = new Map<string, HttpSession>();
  /** By the SHA-256 of the token (base64url). */
  private readonly tokens = new Map<string, ApiToken>();
  private readonly tokenHashById = new Map<string, string>();
  private readonly sweeper: NodeJS.Timeout;
  /** Each request's resolved credentials (weak: nothing to clean up when the request is gone). */
  private readonly resolutions = new WeakMap<FastifyRequest, Resolved>();

  constructor(security: SecurityManager | undefined, config: HttpConfig, now: () => number = Date.now) {
    this.security = security;
    this.enabled = security !== undefined;
    this.config = config;
    this.now = now;
    // Expired sessions and tokens are refused when used; the sweep only gives their memory back.
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  /**
   * Checks a user name and password with the security manager (throttled and audited as any login)
   * and returns the subject; the login holds no per-user connection slot past this call (an HTTP
   * request or session is not a connection). Refused: 401 without saying whether the user exists,
   * 429 when throttled or over a login limit.
   */
  async checkPassword(user: string, password: string, remoteAddress: string): Promise<Subject> {
    const security = this.required();
    const result: LoginResult = await security.login({ protocol: 'http', remoteAddress, user, password });
    if (!result.ok) {
      if (result.reason === 'throttled' || result.reason === 'limit') throw new ApiError(429, 'ERR_AUTHENTICATION_THROTTLED', result.message);
      throw new ApiError(401, 'ERR_AUTHENTICATION_FAILED', BAD_CREDENTIALS);
    }
    result.session.close();
    return result.session.subject;
  }

  /**
   * Opens a console session for a checked user. Past {@link MAX_SESSIONS_PER_USER} of the same user
   * that user's least recently used one ends; past `maxSessions` the least recently used of all. The
   * per-user cap comes first, so one user logging in again and again (a script, a stolen low-privilege
   * password) ends only its own sessions, never another user's.
   */
  openSession(user: string): HttpSession {
    let oldestOwn: string | undefined;
    let own = 0;
    for (const s of this.sessions.values()) {
      if (s.user !== user) continue;
      oldestOwn ??= s.id;
      own++;
    }
    if (own >= MAX_SESSIONS_PER_USER && oldestOwn !== undefined) this.sessions.delete(oldestOwn);
    while (this.sessions.size >= this.config.maxSessions) this.sessions.delete(this.sessions.keys().next().value!);
    const session: HttpSession = { id: random(), user, csrfToken: random(), lastSeen: this.now() };
    this.sessions.set(session.id, session);
    return session;
  }

  endSession(id: string): void {
    this.sessions.delete(id);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Keeps what {@link resolve} found for `req` (the server's onRequest hook). */
  remember(req: FastifyRequest, resolved: Resolved): void {
    this.resolutions.set(req, resolved);
  }

  /** What the request's credentials resolved to; undefined outside `/api` and `/metrics`. */
  resolutionOf(req: FastifyRequest): Resolved | undefined {
    return this.resolutions.get(req);
  }

  /**
   * The subject the request's credentials stand for now (an event stream asks again while it runs):
   * undefined once its session has ended (logout, idle, evicted), its token was revoked or expired,
   * or its user was removed; with the user's roles as they are now. Security off: undefined.
   */
  currentSubject(req: FastifyRequest): Subject | undefined {
    const r = this.resolutions.get(req);
    const user = r?.caller.user;
    if (!this.security || !r || r.error || user === undefined) return undefined;
    if (r.session && this.sessions.get(r.session.id) !== r.session) return undefined;
    if (r.token && (this.tokenHashById.get(r.token.id) === undefined || r.token.expiresAt <= this.now())) return undefined;
    return this.security.identity(user);
  }

  /** The console session of a cookie-authenticated request. */
  sessionOf(req: FastifyRequest): HttpSession | undefined {
    return this.resolutions.get(req)?.session;
  }

  /** Makes a bearer token for `user`, valid `ttlSeconds` (at most `tokenMaxTtl`); 429 past `maxTokens`. The token is returned once, here. */
  createToken(user: string, ttlSeconds: number | undefined): ApiToken & { token: string } {
    this.sweep();
    if (this.tokens.size >= this.config.maxTokens) throw new ApiError(429, 'ERR_RESOURCE_LIMIT', `too many API tokens (http.maxTokens ${this.config.maxTokens}): revoke one first`);
    // Per user too: one user's tokens cannot take every slot and lock the others out of making any.
    let own = 0;
    for (const t of this.tokens.values()) if (t.user === user) own++;
    if (own >= MAX_TOKENS_PER_USER) throw new ApiError(429, 'ERR_RESOURCE_LIMIT', `user ${user} holds ${MAX_TOKENS_PER_USER} API tokens: revoke one first`);
    const ttl = Math.min(ttlSeconds ?? this.config.tokenMaxTtl, this.config.tokenMaxTtl);
    const token = random();
    const createdAt = this.now();
    const t: ApiToken = { id: random(12), user, createdAt, expiresAt: createdAt + ttl * 1000 };
    const hash = sha256(token);
    this.tokens.set(hash, t);
    this.tokenHashById.set(t.id, hash);
    return { ...t, token };
  }

  /** The tokens of `user` (all users' when undefined), by id: never the token. */
  listTokens(user: string | undefined): ApiToken[] {
    this.sweep();
    return [...this.tokens.values()].filter((t) => user === undefined || t.user === user);
  }

  /** Revokes a token of `user` (any user's when undefined); false: no such token. */
  revokeToken(id: string, user: string | undefined): boolean {
    const hash = this.tokenHashById.get(id);
    const t = hash === undefined ? undefined : this.tokens.get(hash);
    if (!t || (user !== undefined && t.user !== user)) return false;
    this.tokens.delete(hash!);
    this.tokenHashById.delete(id);
    return true;
  }

  /**
   * Reads the request's credentials, in order: `Authorization: Bearer`, `Authorization: Basic`, the
   * session cookie. Unsafe methods with a cookie must carry the session's CSRF token (the server
   * checks {@link sameOrigin} for every unsafe request before).
   */
  async resolve(req: AuthRequest): Promise<Resolved> {
    const unsafe = !SAFE_METHODS.has(req.method);
    if (!this.security) return { caller: ANONYMOUS, error: undefined, session: undefined };
    const authorization = req.headers.authorization;
    if (authorization !== undefined) {
      const [scheme = '', value = ''] = authorization.split(' ', 2);
      if (scheme.toLowerCase() === 'bearer') return this.bearer(value.trim());
      if (scheme.toLowerCase() === 'basic') return this.basic(value.trim(), req.remoteAddress);
      return this.refused(new ApiError(401, 'ERR_AUTHENTICATION_FAILED', 'unsupported Authorization scheme: use Basic or Bearer'));
    }
    const id = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (id === undefined) return { caller: ANONYMOUS, error: notLoggedIn(), session: undefined };
    const session = this.sessions.get(id);
    const now = this.now();
    if (!session || now - session.lastSeen > this.config.sessionIdleTimeout) {
      if (session) this.sessions.delete(id);
      return this.refused(new ApiError(401, 'ERR_AUTHENTICATION_FAILED', 'session expired: log in again'));
    }
    session.lastSeen = now;
    this.sessions.delete(id); // most recently used last
    this.sessions.set(id, session);
    const subject = this.security.identity(session.user);
    if (!subject) {
      this.sessions.delete(id);
      return this.refused(new ApiError(401, 'ERR_AUTHENTICATION_FAILED', 'session ended: the user no longer exists'));
    }
    const caller = callerOf(subject, 'session', `http-${session.id.slice(0, 8)}`);
    if (unsafe && !equalSecret(headerValue(req.headers[CSRF_HEADER]), session.csrfToken)) {
      return { caller, error: new ApiError(403, 'ERR_HTTP_CSRF', `missing or wrong ${CSRF_HEADER} header (the csrfToken of POST /api/v1/auth/login or GET /api/v1/auth/session)`), session };
    }
    return { caller, error: undefined, session };
  }

  private bearer(token: string): Resolved {
    const t = this.tokens.get(sha256(token));
    if (!t || t.expiresAt <= this.now()) return this.refused(new ApiError(401, 'ERR_AUTHENTICATION_FAILED', 'invalid or expired token'));
    const subject = this.security!.identity(t.user);
    if (!subject) return this.refused(new ApiError(401, 'ERR_AUTHENTICATION_FAILED', 'invalid or expired token'));
    return { caller: callerOf(subject, 'bearer', `http-${t.id}`), error: undefined, session: undefined, token: t };
  }

  private async basic(value: string, remoteAddress: string): Promise<Resolved> {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return this.refused(new ApiError(401, 'ERR_AUTHENTICATION_FAILED', BAD_CREDENTIALS));
    const user = decoded.slice(0, colon);
    try {
      const subject = await this.checkPassword(user, decoded.slice(colon + 1), remoteAddress);
      return { caller: callerOf(subject, 'basic', `http-basic-${user.slice(0, 64)}`), error: undefined, session: undefined };
    } catch (err) {
      return this.refused(err as ApiError);
    }
  }

  private refused(error: ApiError): Resolved {
    return { caller: ANONYMOUS, error, session: undefined };
  }

  private required(): SecurityManager {
    if (!this.security) throw new ApiError(409, 'ERR_HTTP_SECURITY_OFF', 'security is off: there is nothing to log in to (set security.usersFile)');
    return this.security;
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, s] of this.sessions) if (now - s.lastSeen > this.config.sessionIdleTimeout) this.sessions.delete(id);
    for (const [hash, t] of this.tokens) {
      if (t.expiresAt > now) continue;
      this.tokens.delete(hash);
      this.tokenHashById.delete(t.id);
    }
  }

  /** Forgets every session and token (broker close). */
  close(): void {
    clearInterval(this.sweeper);
    this.sessions.clear();
    this.tokens.clear();
    this.tokenHashById.clear();
  }
}

/** The anonymous caller (security off, or no credentials). */
export function anonymousCaller(): Caller {
  return ANONYMOUS;
}

function callerOf(subject: Subject, via: Caller['via'], connectionId: string): Caller {
  return { subject, user: subject.user, via, origin: { component: 'management', connectionId, subject } };
}

function notLoggedIn(): ApiError {
  return new ApiError(401, 'ERR_AUTHENTICATION_REQUIRED', 'log in first (POST /api/v1/auth/login), or send Authorization: Basic or Bearer');
}

/** 32 random bytes (256 bits), base64url. */
function random(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('base64url');
}

function equalSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * An `Origin` header, when present, names the host the request was sent to (scheme aside: a
 * TLS-terminating proxy changes it). Browsers send it with every cross-origin request and every
 * unsafe one; a cross-site form or fetch is refused whatever its credentials.
 */
export function sameOrigin(headers: IncomingHttpHeaders): boolean {
  const origin = headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === headers.host;
  } catch {
    return false; // `null` (a sandboxed or file: page) and anything that does not parse
  }
}

/** One cookie's value from a `Cookie` header; undefined when absent. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The `Set-Cookie` value of a session (or, with `id` empty, of its removal). */
export function sessionCookie(id: string, secure: boolean, maxAgeSeconds?: number): string {
  const parts = [`${SESSION_COOKIE}=${id}`, 'HttpOnly', 'SameSite=Strict', 'Path=/'];
  if (secure) parts.push('Secure');
  if (maxAgeSeconds !== undefined) parts.push(`Max-Age=${maxAgeSeconds}`);
  return parts.join('; ');
}
