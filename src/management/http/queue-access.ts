/**
 * What the queues and messages areas share: which address a queue is authorized on, the `view`
 * filter of lists, and the core errors the server's generic mapping would answer 500 for.
 */
import type { FastifyRequest } from 'fastify';
import type { Permission } from '../../core/ports/security.ts';
import type { QueueView } from '../../core/handles.ts';
import { JunctionError } from '../../errors.ts';
import { ApiError, type ApiDeps, type Caller } from './api-types.ts';

/** The address permissions on a queue are checked against: a topic subscription's topic, else the queue's name (as the core does). */
export function queueAddress(q: { readonly name: string; readonly topic?: string | undefined }): string {
  return q.topic ?? q.name;
}

/**
 * Authorizes `permission` on queue `name` (its topic for a subscription), then returns the queue;
 * 404 when there is none. A caller without the permission gets 403 whether or not it exists, so the
 * API does not tell who may not look which queues exist.
 */
export function authorizedQueue(deps: ApiDeps, req: FastifyRequest, permission: Permission, name: string): { queue: QueueView; caller: Caller } {
  const queue = deps.ctx.core.getQueue(name);
  const caller = deps.authorize(req, permission, queue ? queueAddress(queue) : name);
  if (!queue) throw new ApiError(404, 'ERR_ADDRESS_NOT_FOUND', `No queue ${name}`);
  return { queue, caller };
}

/**
 * A predicate: may the request's caller `view` this address? For lists, which leave out what the
 * caller may not see (Artemis's console hides them too). Security off: everything. Not logged in:
 * the 401 of `authorize`. With a subject, the security manager's cached per-subject answer, so a
 * list of many queues costs no exception per hidden one.
 */
export function viewFilter(deps: ApiDeps, req: FastifyRequest): (address: string) => boolean {
  const security = deps.ctx.security;
  if (security === undefined) return () => true;
  const subject = deps.caller(req).subject;
  if (subject !== undefined) return (address) => security.allowed(subject, address, 'view');
  return (address) => {
    try {
      deps.authorize(req, 'view', address);
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) return false;
      throw err;
    }
  };
}

/** Core error codes the server's generic mapping (by code name) would answer 500 for: answered here as the client's fault. */
const CLIENT_ERRORS: ReadonlyMap<string, number> = new Map([
  ['ERR_SELECTOR_SYNTAX', 400],
  ['ERR_SELECTOR_TOO_COMPLEX', 400],
  ['ERR_ADDRESS_RESERVED', 400],
  ['ERR_ADDRESS_FULL', 503],
  ['ERR_SCHEDULE_TOO_FAR', 400],
  ['ERR_SUBSCRIPTION_IN_USE', 409],
]);

/** Runs a core call, turning its client-fault errors into ApiErrors; anything else is rethrown for the server's mapping. */
export async function coreCall<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof JunctionError) {
      const status = CLIENT_ERRORS.get(err.code);
      if (status !== undefined) throw new ApiError(status, err.code, err.message);
    }
    throw err;
  }
}
