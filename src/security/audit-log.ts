import type { LoginRequest, Permission, Subject } from '../core/ports/security.ts';
import type { Logger } from '../log.ts';

/** Keys (users, addresses) the rate limit tracks in one minute; past it they share one budget. */
const MAX_KEYS = 10_000;
const MINUTE = 60_000;
/** The key every line beyond MAX_KEYS counts under. */
const OVERFLOW = '\0overflow';

/** Longest client-given text (user name, client id, address) written into an audit line or kept as a rate-limit key. */
const MAX_FIELD = 256;

/** `s` cut to {@link MAX_FIELD} characters, marked when cut. */
function clip(s: string | undefined): string | undefined {
  return s === undefined || s.length <= MAX_FIELD ? s : `${s.slice(0, MAX_FIELD)}…`;
}

/** What changed in the users file, by user name (never a hash). */
export interface UsersChange {
  readonly file: string;
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
}

/**
 * The audit log (issue 14 part 7): one structured line per security event on its own logger
 * (`component: "audit"`, `event: auth.success | auth.failure | permission.denied | users.changed |
 * permissions.loaded`).
 * auth.failure lines are limited per remote address, permission.denied lines per user, per minute: a
 * hostile client repeating a refused operation cannot flood the log; the lines held back are
 * counted and reported, once a minute, in one `audit.suppressed` line. Passwords are never
 * passed in (and log.ts redacts `password` anyway).
 */
export class AuditLog {
  private counts = new Map<string, number>();
  private suppressed = 0;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly log: Logger | undefined;
  private readonly maxPerMinute: number;

  /** `log` undefined: auditing off (`security.audit: false`), every method does nothing. */
  constructor(log: Logger | undefined, maxPerMinute: number) {
    this.log = log;
    this.maxPerMinute = maxPerMinute;
    if (log) {
      this.timer = setInterval(() => this.flush(), MINUTE);
      this.timer.unref();
    }
  }

  authSuccess(req: LoginRequest, user: string | undefined, method: string): void {
    this.log?.info({ event: 'auth.success', protocol: req.protocol, remoteAddress: req.remoteAddress, user, clientId: clip(req.clientId), method }, 'login succeeded');
  }

  authFailure(req: LoginRequest, reason: string, method: string): void {
    const user = clip(req.user);
    // Counted per remote address: the user name is the client's free choice, and a new one per
    // attempt (a throttled one costs nothing) would be a new budget each time.
    if (!this.log || !this.admit(`\0${req.remoteAddress}`)) return;
    this.log.warn({ event: 'auth.failure', protocol: req.protocol, remoteAddress: req.remoteAddress, user, clientId: clip(req.clientId), method, reason }, 'login refused');
  }

  denied(subject: Subject, address: string, permission: Permission): void {
    if (!this.log || !this.admit(subject.user ?? '')) return;
    this.log.warn({ event: 'permission.denied', user: subject.user, clientId: clip(subject.clientId), address: clip(address), permission }, 'permission denied');
  }

  usersChanged(change: UsersChange): void {
    this.log?.info({ event: 'users.changed', ...change }, 'users file loaded');
  }

  /** The permissions in force (at start: they change only with the configuration). */
  permissionsLoaded(permissions: Readonly<Record<string, unknown>>, anonymousRoles: readonly string[]): void {
    this.log?.info({ event: 'permissions.loaded', permissions, anonymousRoles }, 'permissions in force');
  }

  /** Stops the minute timer (reports what is still held back). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.flush();
  }

  private admit(key: string): boolean {
    let k = key;
    if (!this.counts.has(k) && this.counts.size >= MAX_KEYS) k = OVERFLOW;
    const n = (this.counts.get(k) ?? 0) + 1;
    this.counts.set(k, n);
    if (n <= this.maxPerMinute) return true;
    this.suppressed++;
    return false;
  }

  private flush(): void {
    if (this.suppressed > 0) this.log?.warn({ event: 'audit.suppressed', suppressed: this.suppressed, keys: this.counts.size }, 'audit lines held back by the per-minute limit');
    this.suppressed = 0;
    this.counts = new Map();
  }
}
