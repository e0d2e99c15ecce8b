import type { Coverage, LoginRefusal, LoginRequest, LoginResult, Permission, Subject } from '../core/ports/security.ts';
import type { Logger } from '../log.ts';
import { AuditLog } from './audit-log.ts';
import { AuthCache } from './auth-cache.ts';
import { FailureThrottle, RateLimit, Slots, UserConnections } from './login-limits.ts';
import { burn, verifyPassword } from './password-hash.ts';
import { PermissionTable } from './permission-table.ts';
import type { SecurityConfig } from './security-config.ts';
import type { SecurityManager } from './security-manager.ts';
import { certificateKey, type UsersTable } from './users-file.ts';
import { UsersWatcher } from './users-watcher.ts';

/** How a client logged in, in the audit log. */
type Method = 'password' | 'certificate' | 'anonymous';

/** Counters of the login side (docs/security.md#abuse-limits). */
export interface SecurityStatistics {
  loginsSucceeded: number;
  /** Logins refused, for any reason (credentials, throttled, limit, not authorized). */
  loginsRefused: number;
  /** Logins refused because their address or user was locked out by failed logins. */
  loginsThrottled: number;
  /** Lockouts begun (each logged once). */
  lockouts: number;
  /** Logins refused by the connect rate, the pending-login cap or the per-user connection cap. */
  loginsOverLimit: number;
  /** Logins answered from the authentication cache. */
  cacheHits: number;
  /** Password logins that waited for an identical login's check instead of running the KDF. */
  coalesced: number;
}

/** Longest user name the users file allows. */
const MAX_USER_LENGTH = 256;
/** Longest password `junction user` sets. */
const MAX_PASSWORD_LENGTH = 4096;

/** Never says whether the user exists. */
const BAD_CREDENTIALS = 'Invalid user name or password';

/** Optional test hooks. */
export interface FileSecurityManagerOptions {
  now?: () => number;
}

/**
 * The built-in security manager: users, password hashes, roles and certificate subjects from the
 * users file (`security.usersFile`), permissions from `security.permissions`, with the login-side
 * abuse limits and the audit log. Implements both ports of src/core/ports/security.ts: protocols
 * log clients in through it and the core asks it for every permission.
 */
export class FileSecurityManager implements SecurityManager {
  readonly enabled = true;
  readonly anonymousAllowed: boolean;
  private readonly config: SecurityConfig;
  private readonly log: Logger;
  private readonly audit: AuditLog;
  private readonly permissions: PermissionTable;
  private readonly cache: AuthCache;
  private readonly byAddress: FailureThrottle;
  private readonly byUser: FailureThrottle;
  private readonly rate: RateLimit;
  private readonly connections: UserConnections;
  private readonly anonymous: Subject | undefined;
  private watcher!: UsersWatcher;
  private pending = 0;
  /** Password checks running, by the HMAC of their user and password (see passwordLogin). */
  private readonly inFlight = new Map<string, Promise<boolean | 'throttled'>>();
  /** Half of libuv's default pool of 4 threads: the rest stays free for the journal's fsyncs. */
  private readonly kdf = new Slots(2);
  private readonly stats: SecurityStatistics = { loginsSucceeded: 0, loginsRefused: 0, loginsThrottled: 0, lockouts: 0, loginsOverLimit: 0, cacheHits: 0, coalesced: 0 };

  private constructor(config: SecurityConfig, log: Logger, opts: FileSecurityManagerOptions) {
    const now = opts.now ?? Date.now;
    this.config = config;
    this.log = log.child({ component: 'security' });
    this.audit = new AuditLog(config.audit ? log.child({ component: 'audit' }) : undefined, config.auditMaxDenialsPerMinute);
    this.permissions = new PermissionTable(config.permissions);
    this.cache = new AuthCache(config.authCacheSize, config.authCacheTtl, now);
    this.byAddress = new FailureThrottle(config.maxFailedLoginsPerAddress, config.failedLoginWindow, now);
    this.byUser = new FailureThrottle(config.maxFailedLoginsPerUser, config.failedLoginWindow, now);
    this.rate = new RateLimit(config.maxConnectRate, now);
    this.connections = new UserConnections(config.maxConnectionsPerUser);
    this.anonymousAllowed = config.anonymousRoles.length > 0;
    // No login ever yields a subject with user undefined unless anonymous has roles (Mosquitto 2's allow_anonymous false).
    this.anonymous = this.anonymousAllowed ? Object.freeze({ user: undefined, roles: new Set(config.anonymousRoles) }) : undefined;
  }

  /** Loads the users file (ERR_CONFIG_INVALID when it is bad) and starts watching it. */
  static async open(config: SecurityConfig & { usersFile: string }, log: Logger, opts: FileSecurityManagerOptions = {}): Promise<FileSecurityManager> {
    const m = new FileSecurityManager(config, log, opts);
    m.audit.permissionsLoaded(config.permissions, config.anonymousRoles);
    m.watcher = await UsersWatcher.open(config.usersFile, m.log, (_table, change) => {
      // A password may have changed or a user gone: no cached login outlives the file it was checked against.
      m.cache.clear();
      m.audit.usersChanged(change);
    });
    return m;
  }

  async login(req: LoginRequest): Promise<LoginResult> {
    if (!this.rate.take()) return this.overLimit(req, 'logins arrive faster than security.maxConnectRate');
    const users = this.watcher.table;
    if (req.password === undefined && req.certificate !== undefined) return this.certificateLogin(req, users);
    if (req.user === undefined && req.password === undefined) {
      if (this.anonymous) return this.admit(req, this.anonymous, 'anonymous');
      return this.refuse(req, 'credentials', 'anonymous', 'Anonymous access is not allowed: log in with a user name and password');
    }
    if (req.user === undefined || req.password === undefined) return this.refuse(req, 'credentials', 'password', BAD_CREDENTIALS);
    if (req.user.length > MAX_USER_LENGTH || req.password.length > MAX_PASSWORD_LENGTH) {
      // No such user can exist (the users file allows 256 characters, `junction user` 4096-byte
      // passwords): refused at once, and not kept as a throttle key of up to a protocol's 64 KiB.
      this.failed(req.remoteAddress, this.byAddress, 'address');
      return this.refuse(req, 'credentials', 'password', BAD_CREDENTIALS);
    }
    return this.passwordLogin(req, req.user, req.password, users);
  }

  allowed(subject: Subject, address: string, permission: Permission): boolean {
    return this.permissions.allowed(subject, address, permission);
  }

  coverage(subject: Subject, filter: string, permission: Permission): Coverage {
    return this.permissions.coverage(subject, filter, permission);
  }

  denied(subject: Subject, address: string, permission: Permission): void {
    this.audit.denied(subject, address, permission);
  }

  identity(user: string): Subject | undefined {
    const entry = this.watcher.table.users.get(user);
    return entry ? Object.freeze({ user, roles: new Set(entry.roles) }) : undefined;
  }

  reload(): Promise<void> {
    return this.watcher.reload();
  }

  close(): void {
    this.watcher.close();
    this.audit.close();
  }

  /** A snapshot of the login counters. */
  statistics(): SecurityStatistics {
    return { ...this.stats, lockouts: this.byAddress.lockouts + this.byUser.lockouts };
  }

  private async passwordLogin(req: LoginRequest, user: string, password: string, users: UsersTable, again = false): Promise<LoginResult> {
    // Checked before the KDF: a locked-out guesser costs the broker nothing.
    if (this.lockedOut(req.remoteAddress, user)) return this.throttled(req);
    const entry = users.users.get(user);
    if (entry && this.cache.has(user, password)) {
      this.stats.cacheHits++;
      return this.admitUser(req, user, entry.roles, 'password');
    }
    // A fleet sharing one account reconnecting at once (a broker restart): logins with the same user
    // and password while one is already being checked wait for that one check instead of each
    // running the KDF and taking a pending slot (measured: 6,000 MQTT CONNECTs of one user were
    // refused past maxPendingLogins, and would each have cost a ~100 ms scrypt). Keyed like the cache
    // (an HMAC, never the password), against the same users table, and only successes are shared as
    // such: a coalesced failure counts for each login as its own would.
    const flightKey = `${users === this.watcher.table ? 'now' : 'old'}|${this.cache.keyOf(user, password)}`;
    let check = entry ? this.inFlight.get(flightKey) : undefined;
    let ok: boolean | 'throttled';
    if (check !== undefined) {
      this.stats.coalesced++;
      ok = await check;
      // Throttled was the first login's address, not necessarily this one's: this one checks for itself.
      if (ok === 'throttled' && !this.lockedOut(req.remoteAddress, user)) return this.passwordLogin(req, user, password, users, again);
    } else {
      if (this.pending >= this.config.maxPendingLogins) return this.overLimit(req, 'too many logins waiting for the password check (security.maxPendingLogins)');
      this.pending++;
      // An unknown user, or one without a password, costs the same KDF run as a wrong password.
      const hash = entry?.password;
      check = this.kdf.run(async () => {
        // Checked again once a slot is free: a burst of guesses sent before its address or user was
        // locked waits here, and only the first failures' worth of it may run the KDF.
        if (this.lockedOut(req.remoteAddress, user)) return 'throttled' as const;
        return hash !== undefined ? verifyPassword(password, hash) : (await burn(password), false);
      });
      if (entry) this.inFlight.set(flightKey, check);
      try {
        ok = await check;
      } finally {
        this.pending--;
        if (this.inFlight.get(flightKey) === check) this.inFlight.delete(flightKey);
      }
    }
    if (ok === 'throttled') return this.throttled(req);
    // The users file was reloaded while the KDF ran: the password or the user may be gone (a
    // `junction user passwd` after a leak). Checked once more against the file now in force, else the
    // old password would be admitted, and cached for authCacheTtl past the reload that cleared the cache.
    if (this.watcher.table !== users && !again) return this.passwordLogin(req, user, password, this.watcher.table, true);
    if (!ok || !entry) {
      this.failed(req.remoteAddress, this.byAddress, 'address');
      this.failed(user, this.byUser, 'user');
      return this.refuse(req, 'credentials', 'password', BAD_CREDENTIALS);
    }
    // Only the user's failures are forgiven. The address's run out with their window: a tenant's own
    // good login between guesses at other users' passwords must not reset its address's count.
    this.byUser.succeed(user);
    this.cache.add(user, password);
    return this.admitUser(req, user, entry.roles, 'password');
  }

  /**
   * Whether `%c` may stand for `clientId` in `user`'s permissions. With a client id rule, only for an
   * id the rule binds to this user: a STOMP `client-id` is the client's free choice, and would
   * otherwise reach another device's `devices.%c.>`; under `prefix`, user `sensor` may use the id
   * `sensor1`, but that id is user sensor1's for `%c` (the longest user name it starts with).
   */
  private bindsClientId(protocol: LoginRequest['protocol'], user: string, clientId: string | undefined): boolean {
    const rule = this.config.mqttClientId;
    if (rule === 'any' || clientId === undefined) return true;
    if (protocol !== 'mqtt' && !clientIdAllowed(rule, user, clientId)) return false;
    if (rule === 'prefix') {
      const users = this.watcher.table.users;
      const longest = Math.min(clientId.length, MAX_USER_LENGTH);
      for (let n = user.length + 1; n <= longest; n++) if (users.has(clientId.slice(0, n))) return false;
    }
    return true;
  }

  private lockedOut(remoteAddress: string, user: string): boolean {
    return this.byAddress.throttled(remoteAddress) || this.byUser.throttled(user);
  }

  private throttled(req: LoginRequest): LoginResult {
    this.stats.loginsThrottled++;
    return this.refuse(req, 'throttled', 'password', 'Too many failed logins: try again later');
  }

  private certificateLogin(req: LoginRequest, users: UsersTable): LoginResult {
    const cert = req.certificate!;
    let user = users.byCertificate.get(certificateKey(cert.subject));
    for (const san of cert.subjectAltNames) user ??= users.byCertificate.get(certificateKey(san));
    // A user name sent along with a certificate must be the certificate's user.
    if (user === undefined || (req.user !== undefined && req.user !== user)) {
      return this.refuse(req, 'credentials', 'certificate', 'The client certificate is not mapped to a user');
    }
    return this.admitUser(req, user, users.users.get(user)!.roles, 'certificate');
  }

  private admitUser(req: LoginRequest, user: string, roles: readonly string[], method: Method): LoginResult {
    if (req.protocol === 'mqtt' && !clientIdAllowed(this.config.mqttClientId, user, req.clientId)) {
      return this.refuse(req, 'not-authorized', method, `Client id must ${this.config.mqttClientId === 'equals' ? 'be' : 'start with'} the user name`);
    }
    if (!this.connections.acquire(user)) return this.overLimit(req, `user has security.maxConnectionsPerUser (${this.config.maxConnectionsPerUser}) connections open`);
    const clientId = this.bindsClientId(req.protocol, user, req.clientId) ? req.clientId : undefined;
    const subject: Subject = Object.freeze({ user, roles: new Set(roles), clientId });
    let open = true;
    return this.admit(req, subject, method, () => {
      if (!open) return;
      open = false;
      this.connections.release(user);
    });
  }

  private admit(req: LoginRequest, subject: Subject, method: Method, release: () => void = () => {}): LoginResult {
    this.stats.loginsSucceeded++;
    this.audit.authSuccess(req, subject.user, method);
    // The anonymous subject is shared, but a client id is per connection: give each its own.
    // Under a client id rule no client id is bound to the anonymous subject (no user name), so `%c` matches none.
    const s = subject === this.anonymous && req.clientId !== undefined && this.config.mqttClientId === 'any' ? Object.freeze({ ...subject, clientId: req.clientId }) : subject;
    return { ok: true, session: { subject: s, close: release } };
  }

  private overLimit(req: LoginRequest, why: string): LoginResult {
    this.stats.loginsOverLimit++;
    return this.refuse(req, 'limit', req.certificate ? 'certificate' : req.user !== undefined ? 'password' : 'anonymous', `Connection refused: ${why}`);
  }

  private refuse(req: LoginRequest, reason: LoginRefusal, method: Method, message: string): LoginResult {
    this.stats.loginsRefused++;
    this.audit.authFailure(req, reason, method);
    return { ok: false, reason, message };
  }

  private failed(key: string, throttle: FailureThrottle, kind: 'address' | 'user'): void {
    if (throttle.fail(key)) {
      const max = kind === 'address' ? this.config.maxFailedLoginsPerAddress : this.config.maxFailedLoginsPerUser;
      this.log.warn({ [kind === 'address' ? 'remoteAddress' : 'user']: key, failures: max, lockoutMs: this.config.failedLoginWindow }, `too many failed logins for this ${kind}: its logins are refused for a while`);
    }
  }
}

/** Mosquitto-style: the MQTT client id equals, or starts with, the user name. */
function clientIdAllowed(rule: SecurityConfig['mqttClientId'], user: string, clientId: string | undefined): boolean {
  if (rule === 'any') return true;
  if (clientId === undefined) return false;
  return rule === 'equals' ? clientId === user : clientId.startsWith(user);
}
