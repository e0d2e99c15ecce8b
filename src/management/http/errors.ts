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
