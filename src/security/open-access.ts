import type { Authenticator, LoginResult, Subject } from '../core/ports/security.ts';

/** The subject every connection gets while security is off: no user, no roles (and no checks: the core has no authorizer). */
const ANONYMOUS: Subject = Object.freeze({ user: undefined, roles: new Set<string>() });

const OPEN: LoginResult = Object.freeze({ ok: true, session: Object.freeze({ subject: ANONYMOUS, close() {} }) });

/**
 * Security off (the loopback default, as Mosquitto 2 without a config): every login succeeds,
 * whatever credentials it carries, and the core checks no permission.
 */
export const OPEN_ACCESS: Authenticator = Object.freeze({
  enabled: false,
  anonymousAllowed: true,
  login: () => Promise.resolve(OPEN),
});
