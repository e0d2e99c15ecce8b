/**
 * The security ports (issue 14): who a client is (`Subject`), what it may do on an address
 * (`Authorizer`, Artemis's permission names and semantics), and how a protocol logs one in
 * (`Authenticator`). The core enforces permissions through an `Authorizer` it is given; the
 * protocols authenticate through an `Authenticator` they are given. Both are implemented in
 * `src/security/` (users file, scrypt, roles) and wired by the composition root; another
 * implementation (LDAP, an external hook) implements the same ports.
 *
 * With no authorizer the core checks nothing (security off: the loopback default). With one, every
 * operation on behalf of a client origin carries that client's subject; an origin without a subject
 * (the broker itself, management, the embedded API) may do anything.
 */

/**
 * Artemis's permission names (`<security-setting>` in broker.xml). Matched against the address
 * (a topic subscription: its topic; a queue: its name) under the most specific pattern that has an
 * entry; no inheritance from less specific patterns: what that entry does not grant is denied.
 */
export type Permission =
  | 'send'
  | 'consume'
  | 'browse'
  | 'createAddress'
  | 'deleteAddress'
  | 'createDurableQueue'
  | 'deleteDurableQueue'
  | 'createNonDurableQueue'
  | 'deleteNonDurableQueue'
  | 'manage'
  /**
   * Read-only management (Artemis 2.33's `view`): list, statistics, graphs and message browsing
   * through the HTTP API, the console and `/metrics`. Checked by the management plane only
   * (src/management, docs/management.md), on the address concerned or on a `$sys.mgmt.*` name.
   */
  | 'view';

/** Every permission, in Artemis's order (config validation, docs, tables). */
export const PERMISSIONS: readonly Permission[] = [
  'send',
  'consume',
  'browse',
  'createAddress',
  'deleteAddress',
  'createDurableQueue',
  'deleteDurableQueue',
  'createNonDurableQueue',
  'deleteNonDurableQueue',
  'manage',
  'view',
];

/**
 * An authenticated identity: a user and its roles. One object per connection (or route), created
 * at login and never changed, so an authorizer may cache decisions on it.
 */
export interface Subject {
  /** The user name; undefined for the anonymous subject (security on, anonymous granted a role). */
  readonly user: string | undefined;
  /** The roles the permissions name. */
  readonly roles: ReadonlySet<string>;
  /** The client id the connection presented (MQTT client id, STOMP `client-id`, AMQP container id), if any: `%c` in MQTT patterns. */
  readonly clientId?: string;
}

/**
 * How far a permission on a wildcard filter reaches (see {@link Authorizer.coverage}): `all` every
 * address the filter can match is granted, `some` the filter is granted but a more specific pattern
 * under it takes the permission away for some addresses, `none` the filter itself is denied.
 */
export type Coverage = 'all' | 'some' | 'none';

/** Decides permissions. `allowed` is on the per-message path (send): it must be O(1) after the first call for an address (cache per subject). */
export interface Authorizer {
  allowed(subject: Subject, address: string, permission: Permission): boolean;
  /**
   * Whether `permission` holds on every address `filter` (a subscription filter, wildcards allowed)
   * can match: `none` exactly when `allowed(subject, filter, permission)` is false; `some` when it
   * is true but a more specific pattern overlapping the filter may deny it; `all` otherwise (and for
   * a filter without wildcards that is allowed). Asked once per topic subscription; the core then
   * checks each message of a `some` subscription with `allowed` (Mosquitto's per-message read check).
   * Optional: an authorizer without it is taken to answer `some` for every allowed wildcard filter.
   */
  coverage?(subject: Subject, filter: string, permission: Permission): Coverage;
  /** Told of every denial the core refuses (the audit log: who, what, where). */
  denied?(subject: Subject, address: string, permission: Permission): void;
}

/** What a client presented at connect, as a protocol read it. */
export interface LoginRequest {
  /** The protocol logging in; `http`: the management API and console (basic auth, console login). */
  readonly protocol: 'stomp' | 'mqtt' | 'amqp' | 'http';
  /** Remote IP (IPv4-mapped IPv6 as IPv4), for throttling and the audit log. */
  readonly remoteAddress: string;
  /** User name and password as sent (STOMP login/passcode, MQTT username/password, SASL PLAIN); both undefined = anonymous. */
  readonly user?: string;
  readonly password?: string;
  /** The verified client certificate of a TLS connection (mTLS), for SASL EXTERNAL / certificate login. */
  readonly certificate?: PeerCertificate;
  /** The client id presented, if any. */
  readonly clientId?: string;
}

/** A TLS client certificate the listener verified against the configured CA. */
export interface PeerCertificate {
  /** Subject DN, RFC 4514 order and escaping, e.g. `CN=device1,O=Acme`. */
  readonly subject: string;
  /** subjectAltName entries as Node gives them: `DNS:x`, `URI:x`, `email:x`, `IP Address:x`. */
  readonly subjectAltNames: readonly string[];
  /** SHA-256 fingerprint, `AA:BB:...`. */
  readonly fingerprint256: string;
}

/** Why a login was refused; each protocol maps it to its own answer (MQTT CONNACK 0x04 for `credentials`, 0x05 otherwise). */
export type LoginRefusal =
  /** Unknown user, wrong password, no or unknown certificate, anonymous not allowed. */
  | 'credentials'
  /** Authenticated but not allowed to connect this way (client id rule). */
  | 'not-authorized'
  /** Too many failed logins from this address or for this user: try later. */
  | 'throttled'
  /** Too many connections for this user, or connects too fast. */
  | 'limit';

export type LoginResult =
  | { readonly ok: true; readonly session: LoginSession }
  | { readonly ok: false; readonly reason: LoginRefusal; readonly message: string };

/** A logged-in connection: its subject, held until the connection closes. */
export interface LoginSession {
  readonly subject: Subject;
  /** The connection closed: releases what counts against per-user limits. Idempotent. */
  close(): void;
}

/**
 * Logs a client in. Never throws for bad credentials (a refusal is a result); resolves within the
 * KDF's time (cached for repeated logins). The password is never logged.
 */
export interface Authenticator {
  /** Whether clients must log in at all (false: security off, every login succeeds as the anonymous subject with no checks). */
  readonly enabled: boolean;
  /** Which SASL mechanisms make sense: ANONYMOUS only when anonymous is granted a role. */
  readonly anonymousAllowed: boolean;
  login(req: LoginRequest): Promise<LoginResult>;
}
