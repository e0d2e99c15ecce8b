import pino, { type Logger } from 'pino';

/** pino's logger type, named here so no other file imports pino (see .dependency-cruiser.cjs). */
export type { Logger };

/** `json`: one JSON object per line (for collectors; the default). `pretty`: one readable line per event (for a terminal). */
export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  format?: LogFormat;
  /** Where lines go (default: stdout, asynchronously); tests pass a stream to read them back. */
  destination?: pino.DestinationStream;
}

/**
 * Error codes of conditions a broker meets in normal operation: a peer that refuses, resets or
 * vanishes, a write into a socket the other side closed, a name that does not resolve. Logged as
 * code and message only; their stack says nothing (it is always the socket's internals).
 */
const EXPECTED_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_STREAM_DESTROYED',
  'ERR_SOCKET_CLOSED',
]);

/** True for an error (or its cause, or one of an AggregateError's) that is an expected network condition. */
export function isExpectedNetworkError(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 3) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && EXPECTED_CODES.has(code)) return true;
  // net.connect to a name with several addresses (localhost: ::1 and 127.0.0.1) fails with an
  // AggregateError whose own code is unset in Node 20: its parts decide.
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.every((e) => isExpectedNetworkError(e, depth + 1));
  return isExpectedNetworkError((err as { cause?: unknown }).cause, depth + 1);
}

/**
 * The `err`/`error` serializer of every broker logger (child loggers inherit it, so call sites just
 * log `{ err }`): an expected network error becomes `{ type, code, message }` with no stack, one
 * short line; anything else keeps pino's full form with its stack, since it may be a bug.
 */
export function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  if (isExpectedNetworkError(err)) {
    const e = err as NodeJS.ErrnoException;
    let code = e.code;
    if (code === undefined && err instanceof AggregateError) code = (err.errors[0] as NodeJS.ErrnoException | undefined)?.code;
    let message = err.message;
    if (!message && err instanceof AggregateError) message = err.errors.map((x: Error) => x.message).join('; ');
    return { type: err.name, code, message };
  }
  return pino.stdSerializers.err(err);
}

/** The options every broker logger is made with; exported so a test logger writes the same fields. */
export const LOGGER_OPTIONS: pino.LoggerOptions = {
  name: 'junction',
  base: { pid: process.pid },
  redact: { paths: ['*.passcode', '*.password', 'passcode', 'password'], censor: '[redacted]' },
  serializers: { err: serializeError, error: serializeError },
};

/** The broker's structured logger: one JSON line per event (or a readable line with `format: 'pretty'`), credentials redacted. */
export function createLogger(level: string, opts: LoggerOptions = {}): Logger {
  let dest: pino.DestinationStream = opts.destination ?? pino.destination({ dest: 1, sync: false });
  if (opts.format === 'pretty') dest = prettyStream(dest);
  return pino({ ...LOGGER_OPTIONS, level }, dest);
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
/** Fields every line has, shown in the prefix or not at all. */
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'component']);

/**
 * `--log-format pretty`: `14:02:07.123 INFO  stomp: connection closed remote=127.0.0.1:5120 code=ECONNRESET`.
 * The JSON line pino made is turned into one text line; an error's stack (a real bug's) follows on
 * indented lines. Done in-process (no pino-pretty: it brings a dozen packages and a worker thread
 * for these few lines); it costs one JSON.parse per line, in this mode only.
 */
export function prettyStream(out: pino.DestinationStream): pino.DestinationStream {
  return {
    write(line: string) {
      out.write(formatPretty(line));
    },
  };
}

/** One pino JSON line as one readable line (plus stack lines for an error that has one). */
export function formatPretty(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line; // not pino's JSON: pass it through unchanged
  }
  const t = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 23) : '';
  const level = LEVELS[o.level as number] ?? String(o.level);
  const component = typeof o.component === 'string' ? `${o.component}: ` : '';
  let text = `${t} ${level} ${component}${typeof o.msg === 'string' ? o.msg : ''}`;
  let stack = '';
  for (const [k, v] of Object.entries(o)) {
    if (HIDDEN.has(k) || v === undefined) continue;
    if ((k === 'err' || k === 'error') && typeof v === 'object' && v !== null) {
      const e = v as { type?: string; code?: string; message?: string; stack?: string };
      text += ` ${k}=${JSON.stringify([e.code, e.message].filter(Boolean).join(' ') || e.type)}`;
      if (typeof e.stack === 'string') stack = '\n' + e.stack.split('\n').map((s) => `    ${s.trim()}`).join('\n');
      continue;
    }
    text += ` ${k}=${typeof v === 'string' && /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)}`;
  }
  return text + stack + '\n';
}
