import type { ApiErrorBody, Issue } from './api-types.ts';

/** An API call that failed: the server's `{ error: { code, message, issues } }` and the HTTP status. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly issues: readonly Issue[];
  constructor(status: number, code: string, message: string, issues: readonly Issue[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.issues = issues;
  }
}

export const API = '/api/v1';

let csrfToken: string | undefined;
let onUnauthorized: (() => void) | undefined;

/**
 * The session's CSRF token, sent as `x-csrf-token` on every unsafe request: the session cookie is
 * SameSite=Strict already, the token is the second line (OWASP's synchronizer-token pattern).
 */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** Called when a request answers 401 (session expired or logged out elsewhere): the app shows the login. */
export function setUnauthorizedHandler(cb: (() => void) | undefined): void {
  onUnauthorized = cb;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Calls the REST API (same origin, session cookie); resolves with the JSON answer (undefined for 204). */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (!SAFE.has(method) && csrfToken !== undefined) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(API + path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `The broker did not answer (${(err as Error).message})`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = (json as Partial<ApiErrorBody> | undefined)?.error;
    if (res.status === 401 && !path.startsWith('/auth/')) onUnauthorized?.();
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? (text.slice(0, 200) || res.statusText), e?.issues ?? []);
  }
  return json as T;
}

/** A query string from the defined, non-empty values. */
export function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

/** Path segment encoding for names (queue names may hold `/`, `#`, `?`). */
export const seg = (s: string | number): string => encodeURIComponent(String(s));

/** The message to show for any error. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.status === 0 ? err.message : `${err.message} (${err.code})`;
  return err instanceof Error ? err.message : String(err);
}
