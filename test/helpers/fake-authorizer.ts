import type { Authorizer, Permission, Subject } from '../../src/core/ports/security.ts';

/** Per user name (`''`: a subject without one), lines `permission address`; `*` any permission, an address ending in `#` matches by prefix. */
export type Grants = Record<string, string[]>;

/**
 * An Authorizer for tests of the core's enforcement: grants per user as `permission address` lines
 * (enough here; the real matcher is the security module's), recording every call and denial.
 */
export class FakeAuthorizer implements Authorizer {
  readonly calls: Array<[string | undefined, string, Permission]> = [];
  readonly denials: Array<[string | undefined, string, Permission]> = [];
  private readonly grants: Grants;

  constructor(grants: Grants) {
    this.grants = grants;
  }

  allowed(subject: Subject, address: string, permission: Permission): boolean {
    this.calls.push([subject.user, address, permission]);
    for (const g of this.grants[subject.user ?? ''] ?? []) {
      const [perm, pattern] = g.split(' ') as [string, string];
      if (perm !== permission && perm !== '*') continue;
      if (pattern === address || (pattern.endsWith('#') && address.startsWith(pattern.slice(0, -1)))) return true;
    }
    return false;
  }

  denied(subject: Subject, address: string, permission: Permission): void {
    this.denials.push([subject.user, address, permission]);
  }
}

/** A subject for `user`, with a role of the same name. */
export function subjectOf(user: string): Subject {
  return Object.freeze({ user, roles: new Set([user]) });
}
