/**
 * Exit codes of the `junction` client and management commands (documented in docs/management.md,
 * "CLI"): scripts tell a refused login from a missing queue from a broker that is down.
 */
export const EXIT = {
  ok: 0,
  /** The operation ran and failed (the server refused it, a job failed, fewer messages than asked). */
  failed: 1,
  /** A usage error: unknown command or option, a bad value. */
  usage: 2,
  /** Authentication failed (401) or the user may not do it (403). */
  auth: 3,
  /** The queue, route, connection or job named does not exist (404). */
  notFound: 4,
  /** The management URL or the broker cannot be reached (refused, timeout, TLS). */
  connect: 5,
} as const;

/** An API error's details (`{ error: { code, message, issues } }`). */
export interface ApiErrorBody {
  readonly code: string;
  readonly message: string;
  readonly issues?: ReadonlyArray<{ path: string; message: string }>;
}

/** A failure the CLI reports in one line and exits with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: number;
  /** The API's error, when the server answered one. */
  readonly api: ApiErrorBody | undefined;
  constructor(exitCode: number, message: string, api?: ApiErrorBody) {
    super(message);
    this.exitCode = exitCode;
    this.api = api;
  }
}

/**
 * Text from the server or the network made safe for a terminal: control characters (an ANSI escape
 * a hostile server sends to rewrite the screen) become `?`, and the length is capped.
 */
export function clean(text: unknown, max = 2000): string {
  const s = typeof text === 'string' ? text : text === undefined || text === null ? '' : String(text);
  const cut = s.length > max ? `${s.slice(0, max)}…` : s;
  return cut.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** The API error in one line: `CODE: message (path: problem; ...)`. */
export function apiErrorLine(e: ApiErrorBody): string {
  const issues = (e.issues ?? []).slice(0, 20).map((i) => `${clean(i.path, 200) || '(root)'}: ${clean(i.message, 300)}`);
  return `${clean(e.code, 100)}: ${clean(e.message, 1000)}${issues.length > 0 ? ` (${issues.join('; ')})` : ''}`;
}
