/**
 * What the queues and messages areas share: which address a queue is authorized on, and the `view`
 * filter of lists. Core errors are answered by the server's mapping (errors.ts `statusOfCode`).
 */
import type { FastifyRequest } from 'fastify';
import type { Permission } from '../../core/ports/security.ts';
import type { QueueView } from '../../core/handles.ts';
import { ApiError, MGMT, type ApiDeps, type Caller } from './api-types.ts';

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
 * caller may not see (Artemis's console hides them too) rather than refuse the whole list. Security
 * off: everything. Not logged in: the 401 of `authorize`, at once (an empty list too). Logged in: the
 * security manager's cached per-subject answer, as `authorize` decides it, without an exception or an
 * audit line per hidden item. (The only error `authorize` raises for a caller with a subject is the
 * CSRF check of unsafe methods; lists are GETs.)
 */
export function viewFilter(deps: ApiDeps, req: FastifyRequest): (address: string) => boolean {
  const security = deps.ctx.security;
  if (security === undefined) return () => true;
  const subject = deps.caller(req).subject;
  if (subject === undefined) {
    deps.authorize(req, 'view', MGMT.broker); // throws: 401, or how the credentials were refused
    return () => false;
  }
  return (address) => security.allowed(subject, address, 'view');
}
