import { z } from 'zod';
import { PERMISSIONS, type Permission } from '../core/ports/security.ts';

const permission = z.enum(PERMISSIONS as [Permission, ...Permission[]]);

/**
 * Users, roles and permissions (`security` in the config; docs/security.md). Security is on when
 * `usersFile` is set (or an embedding application passes its own `SecurityManager`); then every
 * client logs in and every operation is checked against `permissions`. Off (the default), every
 * client is anonymous and unchecked, which the broker allows only on a loopback `host`.
 * src/config/schema.ts composes this slice; the security manager's config type is inferred from it.
 */
export const securityConfigSchema = z.strictObject({
  /**
   * The users file (JSON: users, scrypt password hashes, roles, certificate subjects; see
   * docs/security.md#users-file, edited with `junction user`). Setting it turns security on. The
   * broker reloads it when it changes and on SIGHUP; a file that does not parse keeps the users
   * loaded before (logged).
   */
  usersFile: z.string().min(1).optional(),
  /**
   * Security off on a non-loopback `host` (`--allow-anonymous`): without it, or `usersFile`, such a
   * broker refuses to start, as Mosquitto 2 does. It changes nothing when security is on.
   */
  allowAnonymous: z.boolean().default(false),
  /**
   * Roles a client that presents no credentials gets while security is on. Empty (default): anonymous
   * clients are refused (MQTT CONNACK 0x05, STOMP ERROR, AMQP SASL ANONYMOUS not offered).
   */
  anonymousRoles: z.array(z.string().min(1)).default([]),
  /**
   * Permissions by core address pattern (`*` one segment, `>` or `#` the rest; MQTT `a/+/c` is `a.*.c`),
   * each naming the roles that hold `send`, `consume`, `browse`, `createAddress`, `deleteAddress`,
   * `createDurableQueue`, `deleteDurableQueue`, `createNonDurableQueue`, `deleteNonDurableQueue`,
   * `manage` (Artemis's names). For an address the most specific matching pattern decides alone: no
   * inheritance from less specific ones, and what it does not grant is denied (Artemis). `%u` and
   * `%c` in a pattern stand for the user name and the client id (Mosquitto); a user name or client
   * id holding `.`, `*`, `>` or `#` never matches such a pattern.
   */
  permissions: z.record(z.string().min(1), z.partialRecord(permission, z.array(z.string().min(1)))).default({}),
  /**
   * Successful logins remembered (Artemis's authentication cache, 1000 entries), so reconnecting
   * clients do not each wait for the password hash. Keyed by a keyed hash of user and password,
   * never the password; emptied when the users file is reloaded. 0 turns the cache off.
   */
  authCacheSize: z.number().int().min(0).default(1000),
  /** How long a cached login stays valid, ms (Artemis's security-invalidation-interval, 10,000). */
  authCacheTtl: z.number().int().min(0).default(10_000),
  /**
   * Failed logins from one remote address within `failedLoginWindow` after which further logins
   * from it are refused as throttled (each protocol's login refusal, docs/security.md#protocol-answers) until the
   * window has passed; logged once per lockout and counted. 0 = no limit.
   */
  maxFailedLoginsPerAddress: z.number().int().min(0).default(10),
  /**
   * Failed logins for one user name within `failedLoginWindow` after which that user's logins are
   * refused as throttled, whatever the address (a distributed password guess); the right password
   * too, until the window has passed. 0 = no limit.
   */
  maxFailedLoginsPerUser: z.number().int().min(0).default(10),
  /** The window the failed-login limits count in, and the lockout they impose, ms. */
  failedLoginWindow: z.number().int().min(1000).default(60_000),
  /**
   * Connections one user may have open at once; one more is refused (each protocol's login
   * refusal). 0 (default) = no cap beyond `connections.max`: a fleet of devices commonly
   * shares one account (Mosquitto has no per-user cap either).
   */
  maxConnectionsPerUser: z.number().int().min(0).default(0),
  /**
   * Logins per second over all listeners; beyond it a login is refused as a limit (a CONNECT storm
   * is turned away before it reaches the password hash). 0 = no cap. Default 1000, as EMQX's
   * `max_conn_rate`; a benchmark opening thousands of connections at once with security on raises it.
   */
  maxConnectRate: z.number().int().min(0).default(1000),
  /**
   * Password checks waiting for or running the KDF at once; one more login is refused as a limit.
   * Two run at a time (each scrypt takes ~32 MiB and tens of ms), on half of libuv's thread pool, so
   * a login storm leaves the other half to the journal's writes and fsyncs. Default 100.
   */
  maxPendingLogins: z.number().int().min(1).default(100),
  /**
   * MQTT client id rule (Mosquitto's `clientid_prefixes` idea per user): `any` (default), `equals`
   * (the client id must be the user name) or `prefix` (it must start with the user name). A CONNECT
   * that breaks it is refused as not authorized (CONNACK 0x05). Anonymous clients are not checked.
   */
  mqttClientId: z.enum(['any', 'equals', 'prefix']).default('any'),
  /**
   * The audit log: `component: "audit"` lines for auth.success, auth.failure, permission.denied and
   * users.changed (docs/security.md#audit-log). On by default.
   */
  audit: z.boolean().default(true),
  /**
   * auth.failure lines per remote address and permission.denied lines per user, per minute; the ones
   * beyond are counted and reported in one line when the minute ends, so a hostile client cannot
   * flood the log. Default 60.
   */
  auditMaxDenialsPerMinute: z.number().int().min(1).default(60),
  /**
   * Routes run as a user whose permissions the core checks like a client's (docs/security.md#routes).
   * `defaultUser`: the user of a route whose definition names none (`runAs`); unset, such a route is
   * not deployed while security is on.
   */
  routes: z.strictObject({ defaultUser: z.string().min(1).optional() }).default({}),
});

/** The `security` configuration slice, as validated. */
export type SecurityConfig = z.output<typeof securityConfigSchema>;
