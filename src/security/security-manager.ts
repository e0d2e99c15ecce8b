import type { Authenticator, Authorizer, Subject } from '../core/ports/security.ts';

/**
 * What the broker needs from a security implementation: logging clients in (`Authenticator`),
 * deciding permissions (`Authorizer`), reloading its users on SIGHUP or `Broker.reload()`, and
 * closing. `FileSecurityManager` (the users file) is the one built in; an embedding application
 * passes another (LDAP, an external hook) as `createBroker(config, { securityManager })`.
 */
export interface SecurityManager extends Authenticator, Authorizer {
  /**
   * The subject of a configured user, without a password: the identity a route runs under (issue 14
   * part 8; the composition root resolves a route's identity with it). Undefined for an unknown user.
   */
  identity(user: string): Subject | undefined;
  /** Reads its users again; rejects (keeping the users it had) when the new ones cannot be loaded. */
  reload(): Promise<void>;
  /** Stops watching and timers; called once when the broker closes. */
  close(): void | Promise<void>;
}
