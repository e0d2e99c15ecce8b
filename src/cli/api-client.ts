import http from 'node:http';
import https from 'node:https';
import { CliError, EXIT, type ApiErrorBody } from './cli-error.ts';

/** Where and as whom the CLI talks to the management API. */
export interface ApiClientOptions {
  /** Base URL of the management port (`http://localhost:8161`). */
  readonly url: string;
  readonly user?: string;
  readonly password?: string;
  /** Bearer token (`POST /api/v1/auth/tokens`); wins over user and password. */
  readonly token?: string;
  /** HTTPS: accept any certificate (a test broker's self-signed one). */
  readonly insecure?: boolean;
  /** HTTPS: PEM of the CA that signed the server's certificate. */
  readonly ca?: string | Buffer;
  /** Whole-request deadline, ms (connect, send, and the full answer). */
  readonly timeoutMs?: number;
  /** Largest answer read, bytes: a server that sends more is cut off. */
  readonly maxBytes?: number;
  /**
   * Asked once when the server answers 401 and no password (or token) was given: a terminal prompt
   * without echo. Undefined (no terminal): the 401 is the answer.
   */
  readonly askCredentials?: (user: string | undefined) => Promise<{ user: string; password: string } | undefined>;
}

export type Query = Record<string, string | number | boolean | undefined>;

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
/** Errors that mean "the server is not there (or not the one we trust)": exit 5. */
const CONNECT_CODES = /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ETIMEDOUT|EPIPE|ERR_TLS_|CERT_|DEPTH_ZERO_|SELF_SIGNED_|UNABLE_TO_|ERR_SSL_|EPROTO)/;

interface RawAnswer {
  status: number;
  body: Buffer;
}

/**
 * The management REST API over node:http(s), for a server that may be hostile or gone: every
 * request has a deadline, every answer a size cap, no redirect is followed, and an error answer is
 * reported as the API's `{ error: { code, message, issues } }`.
 */
export class ApiClient {
  readonly base: URL;
  private readonly opts: ApiClientOptions;
  private user: string | undefined;
  private password: string | undefined;
  private readonly agent: http.Agent;

  constructor(opts: ApiClientOptions) {
    let base: URL;
    try {
      base = new URL(opts.url);
    } catch {
      throw new CliError(EXIT.usage, `--url '${opts.url}' is not a URL`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new CliError(EXIT.usage, `--url must be http:// or https://, got '${opts.url}'`);
    this.base = base;
    this.opts = opts;
    this.user = opts.user;
    this.password = opts.password;
    this.agent =
      base.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, rejectUnauthorized: !opts.insecure, ...(opts.ca === undefined ? {} : { ca: opts.ca }) })
        : new http.Agent({ keepAlive: true });
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, { query });
  }
  post<T>(path: string, body?: unknown, query?: Query): Promise<T> {
    return this.request<T>('POST', path, { body: body ?? {}, query });
  }
  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, { body });
  }
  delete<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('DELETE', path, { query });
  }

  /** One API call: the parsed JSON answer (undefined for 204), or a CliError with the right exit code. */
  async request<T>(method: string, path: string, o: { query?: Query; body?: unknown } = {}): Promise<T> {
    const url = new URL(path.replace(/^\//, ''), this.base.href.endsWith('/') ? this.base : new URL(`${this.base.href}/`));
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const body = o.body === undefined ? undefined : JSON.stringify(o.body);
    let answer = await this.send(method, url, body);
    if (answer.status === 401 && this.opts.token === undefined && this.password === undefined && this.opts.askCredentials) {
      const c = await this.opts.askCredentials(this.user);
      if (c !== undefined) {
        this.user = c.user;
        this.password = c.password;
        answer = await this.send(method, url, body);
      }
    }
    if (answer.status >= 200 && answer.status < 300) {
      if (answer.status === 204 || answer.body.length === 0) return undefined as T;
      try {
        return JSON.parse(answer.body.toString('utf8')) as T;
      } catch {
        throw new CliError(EXIT.failed, `${method} ${url.pathname}: the answer is not JSON`);
      }
    }
    throw failure(answer, method, url, this.authorization() === undefined);
  }

  /** Releases the kept-alive sockets (the process can exit). */
  close(): void {
    this.agent.destroy();
  }

  private authorization(): string | undefined {
    if (this.opts.token !== undefined) return `Bearer ${this.opts.token}`;
    if (this.user !== undefined && this.password !== undefined) return `Basic ${Buffer.from(`${this.user}:${this.password}`).toString('base64')}`;
    return undefined;
  }

  private send(method: string, url: URL, body: string | undefined): Promise<RawAnswer> {
    const timeoutMs = this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const maxBytes = this.opts.maxBytes ?? DEFAULT_MAX_BYTES;
    const headers: http.OutgoingHttpHeaders = { accept: 'application/json' };
    const auth = this.authorization();
    if (auth !== undefined) headers.authorization = auth;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise<RawAnswer>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, answer?: RawAnswer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        if (err) reject(err);
        else resolve(answer!);
      };
      const req = lib.request(url, { method, headers, agent: this.agent }, (res) => {
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes) {
          req.destroy();
          finish(new CliError(EXIT.failed, `${method} ${url.pathname}: the answer is larger than ${maxBytes} bytes`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            req.destroy();
            finish(new CliError(EXIT.failed, `${method} ${url.pathname}: the answer is larger than ${maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', (err) => finish(connectError(err, this.base)));
      });
      // One deadline for the whole exchange: a server that accepts and then drips bytes is cut too.
      const deadline = setTimeout(() => {
        req.destroy();
        finish(new CliError(EXIT.connect, `cannot connect to ${this.base.origin}: no complete answer within ${timeoutMs} ms`));
      }, timeoutMs);
      req.on('error', (err) => finish(connectError(err, this.base)));
      req.end(body);
    });
  }
}

function connectError(err: Error, base: URL): CliError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (err instanceof CliError) return err;
  const why = CONNECT_CODES.test(code) ? `${code}${err.message && !err.message.includes(code) ? ` ${err.message}` : ''}` : err.message;
  return new CliError(EXIT.connect, `cannot connect to ${base.origin}: ${why}`);
}

/** A non-2xx answer as a CliError: 401/403 exit 3, 404 exit 4, anything else 1. */
function failure(answer: RawAnswer, method: string, url: URL, anonymous: boolean): CliError {
  const exit = answer.status === 401 || answer.status === 403 ? EXIT.auth : answer.status === 404 ? EXIT.notFound : EXIT.failed;
  let api: ApiErrorBody | undefined;
  try {
    const parsed = JSON.parse(answer.body.toString('utf8')) as { error?: Partial<ApiErrorBody> };
    const e = parsed.error;
    if (e && typeof e.code === 'string' && typeof e.message === 'string') {
      api = { code: e.code, message: e.message, ...(Array.isArray(e.issues) ? { issues: e.issues.filter((i) => i && typeof i === 'object').map((i) => ({ path: String(i.path ?? ''), message: String(i.message ?? '') })) } : {}) };
    }
  } catch {
    // Not the API's shape (a proxy's page): reported by status below.
  }
  api ??= { code: `HTTP_${answer.status}`, message: `${method} ${url.pathname} answered ${answer.status} ${http.STATUS_CODES[answer.status] ?? ''}`.trim() };
  if (answer.status === 401 && anonymous) api = { ...api, message: `${api.message} (log in with --user, the password from JUNCTION_PASSWORD or a prompt, or --token)` };
  return new CliError(exit, api.message, api);
}
