import type { Authorizer, Coverage, Permission, Subject } from '../../src/core/ports/security.ts';

/**
 * Per user name (`''`: a subject without one), lines `permission address`; `*` any permission, an
 * address ending in `#` matches by prefix. A line `-permission address` withholds that permission
 * where it matches, whatever the other lines grant (a more specific pattern taking it away).
 */
export type Grants = Record<string, string[]>;

/**
 * An Authorizer for tests of the core's enforcement: grants per user as `permission address` lines
 * (enough here; the real matcher is the security module's), recording every call and denial.
 * `coverage` answers `some` for a wildcard filter a `-` line may reach under, `all` otherwise; its
 * calls are recorded apart (`coverageCalls`), so `calls` counts the per-message checks alone.
 */
export class FakeAuthorizer implements Authorizer {
  readonly calls: Array<[string | undefined, string, Permission]> = [];
  readonly coverageCalls: Array<[string | undefined, string, Permission]> = [];
  readonly denials: Array<[string | undefined, string, Permission]> = [];
  private readonly grants: Grants;

  constructor(grants: Grants) {
    this.grants = grants;
  }

  allowed(subject: Subject, address: string, permission: Permission): boolean {
    this.calls.push([subject.user, address, permission]);
    return this.decide(subject, address, permission);
  }

  coverage(subject: Subject, filter: string, permission: Permission): Coverage {
    this.coverageCalls.push([subject.user, filter, permission]);
    if (!this.decide(subject, filter, permission)) return 'none';
    const wild = filter.split('.').findIndex((s) => s === '*' || s === '>' || s === '#');
    if (wild < 0) return 'all';
    const prefix = filter.split('.').slice(0, wild).join('.');
    for (const [perm, pattern] of this.lines(subject)) {
      if (!perm.startsWith('-') || (perm.slice(1) !== permission && perm !== '-*')) continue;
      const p = pattern.endsWith('#') ? pattern.slice(0, -1) : pattern;
      if (p.startsWith(prefix) || prefix.startsWith(p)) return 'some';
    }
    return 'all';
  }

  denied(subject: Subject, address: string, permission: Permission): void {
    this.denials.push([subject.user, address, permission]);
  }

  private decide(subject: Subject, address: string, permission: Permission): boolean {
    let grant = false;
    for (const [perm, pattern] of this.lines(subject)) {
      const withheld = perm.startsWith('-');
      const p = withheld ? perm.slice(1) : perm;
      if (p !== permission && p !== '*') continue;
      if (pattern !== address && !(pattern.endsWith('#') && address.startsWith(pattern.slice(0, -1)))) continue;
      if (withheld) return false;
      grant = true;
    }
    return grant;
  }

  private lines(subject: Subject): Array<[string, string]> {
    return (this.grants[subject.user ?? ''] ?? []).map((g) => g.split(' ') as [string, string]);
  }
}

/** A subject for `user`, with a role of the same name. */
export function subjectOf(user: string): Subject {
  return Object.freeze({ user, roles: new Set([user]) });
}
