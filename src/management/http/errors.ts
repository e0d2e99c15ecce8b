import type { Duplex } from 'node:stream';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ZodError } from 'zod';
import { isJunctionError } from '../../errors.ts';
import { ApiError } from './api-types.ts';

/** The API's error body (api-types.ts header). */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly issues?: ReadonlyArray<{ path: string; message: string }> };
}

/**
 * A JunctionError code's HTTP status, by its last words (api-types.ts header): NOT_FOUND and
 * UNKNOWN 404; EXISTS, STATE and IN_USE 409; INVALID, VALIDATION, SYNTAX and other bad input 400;
 * UNAUTHORIZED 403; AUTHENTICATION 401; LIMIT 429; a closing broker or store 503; else 500.
 */
export function statusOfCode(code: string): number {
  if (/_(NOT_FOUND|UNKNOWN)$/.test(code)) return 404;
  if (/_(EXISTS|STATE|IN_USE)$/.test(code)) return 409;
  if (code === 'ERR_SECURITY_UNAUTHORIZED') return 403;
  if (code.startsWith('ERR_AUTHENTICATION')) return 401;
  if (/_LIMIT$/.test(code) || code === 'ERR_ADDRESS_FULL') return 429;
  if (code === 'ERR_BROKER_CLOSED' || code === 'ERR_STORE_CLOSED') return 503;
  if (/_(INVALID|VALIDATION|SYNTAX|TOO_COMPLEX|TOO_FAR|RESERVED|MALFORMED|NO_ADDRESS)$/.test(code)) return 400;
  return 500;
}

/** Fastify's own 4xx errors (FST_ERR_CTP_BODY_TOO_LARGE ...) under the API's codes. */
const FASTIFY_CODES: Record<number, string> = {
  400: 'ERR_HTTP_BAD_REQUEST',
  404: 'ERR_HTTP_NOT_FOUND',
  405: 'ERR_HTTP_METHOD',
  406: 'ERR_HTTP_NOT_ACCEPTABLE',
  413: 'ERR_HTTP_BODY_TOO_LARGE',
  414: 'ERR_HTTP_URI_TOO_LONG',
  415: 'ERR_HTTP_UNSUPPORTED_MEDIA_TYPE',
  503: 'ERR_HTTP_CLOSING',
};

/** A dotted JSON path (`steps.2.to`) from zod's or a JSON pointer's segments. */
export function dotted(segments: ReadonlyArray<PropertyKey>): string {
  return segments.map(String).join('.');
}

/**
 * Any error a handler or hook throws, as the API answers it: `{ error: { code, message, issues? } }`
 * with its status. A 5xx answer never carries the internal message (it is logged instead).
 */
export function errorReply(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof ApiError) return reply(err.status, err.code, err.message, err.issues);
  if (hasZodFastifySchemaValidationErrors(err)) {
    const where = (err as { validationContext?: string }).validationContext;
    const issues = err.validation.map((v) => ({ path: v.instancePath.split('/').filter((s) => s !== '').join('.'), message: v.message ?? 'invalid' }));
    return reply(400, 'ERR_HTTP_VALIDATION', `invalid request ${where ?? 'input'}: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`, issues);
  }
  if (err instanceof ZodError) {
    const issues = err.issues.map((i) => ({ path: dotted(i.path), message: i.message }));
    return reply(400, 'ERR_HTTP_VALIDATION', issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; '), issues);
  }
  if (isJunctionError(err)) {
    const status = statusOfCode(err.code);
    return reply(status, err.code, status >= 500 ? 'internal error (logged)' : err.message);
  }
  const statusCode = (err as { statusCode?: number }).statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return reply(statusCode, FASTIFY_CODES[statusCode] ?? 'ERR_HTTP_BAD_REQUEST', (err as Error).message);
  }
  if (statusCode === 503) return reply(503, 'ERR_HTTP_CLOSING', 'the broker is shutting down');
  return reply(500, 'ERR_HTTP_INTERNAL', 'internal error (logged)');
}

function reply(status: number, code: string, message: string, issues?: ReadonlyArray<{ path: string; message: string }>): { status: number; body: ErrorBody } {
  return { status, body: { error: { code, message, ...(issues ? { issues } : {}) } } };
}

/**
 * Node's `clientError` (a request the HTTP parser refuses: bad syntax, headers over the size cap, a
 * request or header timeout), answered in the API's error shape, as fastify's default handler
 * answers it in its own; then the socket is closed (Node's behaviour: the connection cannot be
 * trusted to frame another request).
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'ERR_HTTP_TIMEOUT', 'the request took too long to arrive']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'ERR_HTTP_HEADERS_TOO_LARGE', 'the request headers are too large']
        : [400, 'ERR_HTTP_BAD_REQUEST', 'malformed HTTP request'];
  const body = JSON.stringify(reply(status, code, message).body);
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };
