import { PERMISSIONS, type Coverage, type Permission, type Subject } from '../core/ports/security.ts';
import { compareSpecificity } from '../core/wildcard.ts';

/** `security.permissions`: address pattern -> permission -> roles. */
export type PermissionsConfig = Record<string, Partial<Record<Permission, string[]>>>;

/** Bit of each permission in a decision (PERMISSIONS order); an object of fixed shape, so the hot path pays no Map lookup for it. */
const BIT = Object.freeze(Object.fromEntries(PERMISSIONS.map((p, i) => [p, 1 << i]))) as Readonly<Record<Permission, number>>;
/**
 * A cached decision also keeps, for a wildcard filter, which permissions hold on every address under
 * it (`coverage`): those bits shifted by ALL_SHIFT, and COVERED once they are computed. One number
 * per address still, in the same per-subject Map.
 */
const ALL_SHIFT = PERMISSIONS.length;
const COVERED = 1 << (2 * PERMISSIONS.length);

/**
 * Addresses whose decisions one subject keeps; past it that subject's cache starts over. Real
 * clients use a handful of addresses; one that walks through millions must not grow the broker.
 */
export const MAX_CACHED_ADDRESSES = 10_000;

interface Entry {
  readonly pattern: string;
  /** Holds `%u` or `%c` (Mosquitto's pattern substitution): matched per subject. */
  readonly template: boolean;
  /** Granted bits per role. */
  readonly roleBits: ReadonlyMap<string, number>;
}

/** A value substituted into a pattern must stay one literal segment: no separator, no wildcard. */
const UNSAFE_SEGMENT = /[.*>#]/;

/**
 * Decides permissions as Artemis's security settings do: among the patterns that match an address,
 * the most specific one (core wildcard specificity, as address settings) decides alone; its entry is
 * the whole answer (no inheritance from a less specific match) and a permission it does not grant
 * any of the subject's roles is denied, as is every permission on an address no pattern matches.
 *
 * Decisions are cached per subject (a subject never changes its roles: src/core/ports/security.ts)
 * as one bit set per address, so after the first check of an address `allowed` costs one Map
 * lookup; the subject of the last call is kept aside, so a connection's run of sends does not look
 * its cache up either.
 */
export class PermissionTable {
  private readonly entries: Entry[];
  private cache = new WeakMap<Subject, Map<string, number>>();
  private lastSubject: Subject | undefined;
  private lastDecisions: Map<string, number> | undefined;

  constructor(config: PermissionsConfig) {
    this.entries = Object.entries(config).map(([pattern, grants]) => {
      const roleBits = new Map<string, number>();
      for (const [perm, roles] of Object.entries(grants) as Array<[Permission, string[] | undefined]>) {
        for (const role of roles ?? []) roleBits.set(role, (roleBits.get(role) ?? 0) | BIT[perm]);
      }
      return { pattern, template: pattern.includes('%u') || pattern.includes('%c'), roleBits };
    });
  }

  /** Whether `subject` holds `permission` on `address`. O(1) after the subject's first check of the address. */
  allowed(subject: Subject, address: string, permission: Permission): boolean {
    const decisions = subject === this.lastSubject ? this.lastDecisions! : this.decisionsOf(subject);
    let bits = decisions.get(address);
    if (bits === undefined) {
      if (decisions.size >= MAX_CACHED_ADDRESSES) decisions.clear();
      bits = this.decide(subject, address);
      decisions.set(address, bits);
    }
    return (bits & BIT[permission]) !== 0;
  }

  /**
   * How far `permission` on the subscription filter `filter` reaches for `subject` (see
   * `Authorizer.coverage`): `none` when the filter is denied as written (Artemis's check), `all`
   * when no pattern more specific than the one deciding the filter overlaps it without granting the
   * permission too, `some` otherwise. Conservative: `some` may be answered where every address is in
   * fact granted (a denying pattern shadowed by a still more specific grant); never `all` where one is
   * not. Cached with the filter's decision: after the first call, one Map lookup.
   */
  coverage(subject: Subject, filter: string, permission: Permission): Coverage {
    if (!this.allowed(subject, filter, permission)) return 'none';
    const decisions = this.lastDecisions!; // allowed() just made this subject the last one
    let bits = decisions.get(filter) ?? this.decide(subject, filter);
    if ((bits & COVERED) === 0) {
      bits |= COVERED | (this.grantedEverywhere(subject, filter) << ALL_SHIFT);
      decisions.set(filter, bits);
    }
    return (bits & (BIT[permission] << ALL_SHIFT)) !== 0 ? 'all' : 'some';
  }

  /** Forgets every cached decision (permissions or roles changed). */
  clear(): void {
    this.cache = new WeakMap();
    this.lastSubject = undefined;
    this.lastDecisions = undefined;
  }

  private decisionsOf(subject: Subject): Map<string, number> {
    let d = this.cache.get(subject);
    if (!d) this.cache.set(subject, (d = new Map()));
    this.lastSubject = subject;
    this.lastDecisions = d;
    return d;
  }

  /**
   * The granted bits of the most specific pattern covering the address, for this subject's roles.
   *
   * A wildcard address (a subscription filter `a.*`, which the core checks as written, as Artemis
   * does) is decided by the patterns that match every address the filter matches (`a.>` and `a.*`
   * cover `a.*`; `a.b` and `a.*` do not cover `a.>`, where Artemis's regular expression would let
   * `a.*` match the text `a.#`). A more specific pattern inside the filter (`a.secret` under a
   * subscription to `a.*`) does not decide the filter; {@link coverage} finds it, and the core then
   * checks each message's own address (docs/security.md, "Subscription filters").
   */
  private decide(subject: Subject, address: string): number {
    const best = this.decider(subject, segments(address));
    return best === undefined ? 0 : granted(best.entry, subject);
  }

  /** The entry (and its pattern, substituted) that decides `target`: the most specific one covering it. */
  private decider(subject: Subject, target: string[]): { entry: Entry; pattern: string } | undefined {
    let best: Entry | undefined;
    let bestPattern = '';
    for (const e of this.entries) {
      const pattern = e.template ? substitute(e.pattern, subject) : e.pattern;
      if (pattern === undefined) continue;
      if (!covers(segments(pattern), target)) continue;
      // Equal specificity (a template that became an explicit pattern's twin): the explicit one decides.
      const c = best === undefined ? 1 : compareSpecificity(pattern, bestPattern);
      if (c > 0 || (c === 0 && best!.template && !e.template)) {
        best = e;
        bestPattern = pattern;
      }
    }
    return best === undefined ? undefined : { entry: best, pattern: bestPattern };
  }

  /**
   * The permissions granted on every address `filter` matches. An address under the filter is
   * decided by the filter's own decider or by a pattern at least as specific that matches the address
   * (one less specific never wins over the decider, which matches every such address), so a
   * permission holds everywhere when the decider and every such overlapping pattern grant it.
   * Mosquitto checks each message instead (acl_check on delivery); this lets the core skip the check
   * for the common filter nothing under it restricts.
   */
  private grantedEverywhere(subject: Subject, filter: string): number {
    const target = segments(filter);
    const best = this.decider(subject, target);
    if (best === undefined) return 0;
    let bits = granted(best.entry, subject);
    if (!target.some((x) => x === '*' || x === '>')) return bits;
    for (const e of this.entries) {
      if (e === best.entry || bits === 0) continue;
      const pattern = e.template ? substitute(e.pattern, subject) : e.pattern;
      if (pattern === undefined || compareSpecificity(pattern, best.pattern) < 0) continue;
      if (overlaps(segments(pattern), target)) bits &= granted(e, subject);
    }
    return bits;
  }
}

/** The bits an entry grants to any of the subject's roles. */
function granted(e: Entry, subject: Subject): number {
  let bits = 0;
  for (const role of subject.roles) bits |= e.roleBits.get(role) ?? 0;
  return bits;
}

/**
 * Whether some address matches both `p` and `a` (patterns as segments, `>` spelled so). `>` matches
 * the rest, zero segments included (`a.>` matches `a`); `*` one segment of anything.
 */
function overlaps(p: string[], a: string[]): boolean {
  for (let i = 0; ; i++) {
    const x = p[i];
    const y = a[i];
    if (x === '>' || y === '>') return true;
    if (x === undefined || y === undefined) return x === y;
    if (x !== '*' && y !== '*' && x !== y) return false;
  }
}

/** A pattern or address as segments, `#` spelled `>`. */
function segments(name: string): string[] {
  return name.split('.').map((x) => (x === '#' ? '>' : x));
}

/**
 * Whether pattern `p` matches every address that `a` matches (for a concrete `a`: whether it matches
 * `a`). `*` covers one segment, a literal or `*`, never `>`; `>` covers the rest, whatever it is.
 */
function covers(p: string[], a: string[]): boolean {
  for (let i = 0; ; i++) {
    const x = p[i];
    const y = a[i];
    if (x === '>') return true;
    if (x === undefined || y === undefined) return x === y;
    if (y === '>') return false;
    if (x !== '*' && x !== y) return false;
  }
}

/** `%u` and `%c` replaced by the subject's user and client id; undefined when one is missing or not a plain segment. */
function substitute(pattern: string, subject: Subject): string | undefined {
  let out = pattern;
  if (out.includes('%u')) {
    const u = subject.user;
    if (u === undefined || u === '' || UNSAFE_SEGMENT.test(u)) return undefined;
    out = out.replaceAll('%u', u);
  }
  if (out.includes('%c')) {
    const c = subject.clientId;
    if (c === undefined || c === '' || UNSAFE_SEGMENT.test(c)) return undefined;
    out = out.replaceAll('%c', c);
  }
  return out;
}
