import { JunctionError } from '../errors.ts';
import type { Authorizer, Permission, Subject } from './ports/security.ts';
import type { Origin } from './reserved.ts';
import { isWildcard } from './wildcard.ts';

/** What {@link Access.deny} tells the authorizer when the origin named no subject at all. */
const NO_SUBJECT: Subject = Object.freeze({ user: undefined, roles: new Set<string>() });

/** The ERR_SECURITY_UNAUTHORIZED of a denial, worded as Artemis's AMQ229032 (user, permission, address; never a secret). */
export function unauthorized(subject: Subject | undefined, permission: Permission, address: string): JunctionError {
  const user = subject === undefined ? '(not logged in)' : (subject.user ?? '(anonymous)');
  return new JunctionError('ERR_SECURITY_UNAUTHORIZED', `User ${user.slice(0, 200)} is not authorized to ${permission} on ${address.slice(0, 200)}`);
}

/**
 * Permission checks (issue 14; Artemis's SecurityStore): every operation a client or route asks of
 * the core is checked against its origin's subject through the configured {@link Authorizer}. The
 * broker itself (no origin, or the broker origin) may do anything; a client or route origin without
 * a subject is denied. With no authorizer (security off) nothing is checked: the callers test
 * `authorizer` themselves first, so security off costs one branch and no call.
 */
export class Access {
  readonly authorizer: Authorizer | undefined;

  constructor(authorizer: Authorizer | undefined) {
    this.authorizer = authorizer;
  }

  /** Whether `origin` is checked at all: a client or route, with an authorizer configured. */
  checks(origin: Origin | undefined): origin is Origin {
    return this.authorizer !== undefined && origin !== undefined && origin.component !== 'broker';
  }

  /**
   * Throws ERR_SECURITY_UNAUTHORIZED (and tells the authorizer) unless `origin` may `permission` on `address`.
   * One `allowed` call, which the authorizer answers from its per-subject cache: this is the whole
   * per-message cost of a send with security on. Allocates nothing unless it denies.
   */
  check(origin: Origin | undefined, address: string, permission: Permission): void {
    const a = this.authorizer;
    if (a === undefined || origin === undefined || origin.component === 'broker') return;
    const s = origin.subject;
    if (s !== undefined && a.allowed(s, address, permission)) return;
    throw this.deny(s, address, permission);
  }

  /**
   * Refuses a durable subscription to every user but the one that created it (recorded when security
   * was on; `ownerUser` undefined: made by the broker, or before security was configured, and open to
   * whoever holds the permissions). A JMS client id or an MQTT client id is chosen by the client, so
   * without this a second user presenting the same id would read the first one's messages.
   */
  assertOwner(ownerUser: string | undefined, origin: Origin | undefined, address: string, permission: Permission): void {
    if (ownerUser === undefined || !this.checks(origin)) return;
    if (origin.subject !== undefined && origin.subject.user === ownerUser) return;
    throw this.deny(origin.subject, address, permission);
  }

  /** The user a durable subscription made now by `origin` belongs to (undefined: security off, the broker, anonymous). */
  ownerOf(origin: Origin | undefined): string | undefined {
    return this.checks(origin) ? origin.subject?.user : undefined;
  }

  /**
   * The subject whose `consume` permission must be checked on each message routed into a topic
   * subscription `origin` makes or attaches to on `filter` (already checked as written), or
   * undefined when every address under the filter is granted (`Authorizer.coverage` `all`: the
   * common case, no per-message work), nothing is checked (security off, the broker), or the filter
   * names one address. Mosquitto checks read access on every delivery; Junction only where a more
   * specific pattern under the filter withholds it. An authorizer without `coverage` is checked per
   * message for every wildcard filter.
   */
  readerOf(origin: Origin | undefined, filter: string): Subject | undefined {
    const a = this.authorizer;
    if (a === undefined || !this.checks(origin) || origin.subject === undefined || !isWildcard(filter)) return undefined;
    const s = origin.subject;
    return a.coverage !== undefined && a.coverage(s, filter, 'consume') === 'all' ? undefined : s;
  }

  /**
   * Whether each of `readers` may `consume` on `address` (a subscription's per-message read check;
   * none: nobody known yet, so no). Only called with an authorizer (readers are set only with one):
   * one cached `allowed` lookup per reader, nothing allocated.
   */
  mayRead(readers: readonly Subject[], address: string): boolean {
    if (readers.length === 0) return false;
    const a = this.authorizer!;
    for (let i = 0; i < readers.length; i++) if (!a.allowed(readers[i]!, address, 'consume')) return false;
    return true;
  }

  private deny(subject: Subject | undefined, address: string, permission: Permission): JunctionError {
    this.authorizer?.denied?.(subject ?? NO_SUBJECT, address, permission);
    return unauthorized(subject, permission, address);
  }
}
