import { isIPv4, isIPv6 } from 'node:net';
import { JunctionError } from '../errors.ts';
import type { SecurityConfig } from './security-config.ts';

/** Whether `host` is a loopback address (127.0.0.0/8, ::1, IPv4-mapped 127.x, `localhost`). */
export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true; // RFC 6761 6.3: always loopback
  if (isIPv4(h)) return h.startsWith('127.');
  if (isIPv6(h)) return /^(0{0,4}:){1,7}0{0,4}1$|^::1$/.test(h) || /^::ffff:127\./.test(h);
  return false;
}

/**
 * Mosquitto 2's safe default: a broker without security listens on loopback only. Binding another
 * address with security off needs an explicit `allowAnonymous` (`--allow-anonymous`); with neither,
 * the start is refused saying how to go on. Security settings that would do nothing without users
 * (permissions, anonymousRoles with no usersFile) are refused too, rather than silently ignored.
 *
 * @param securityOn a users file is configured or the embedding application passed a SecurityManager
 */
export function checkSafeDefaults(host: string, security: SecurityConfig, securityOn: boolean): void {
  if (securityOn) return;
  const unused = [
    Object.keys(security.permissions).length > 0 ? 'security.permissions' : '',
    security.anonymousRoles.length > 0 ? 'security.anonymousRoles' : '',
  ].filter(Boolean);
  if (unused.length > 0) {
    throw new JunctionError('ERR_CONFIG_INVALID', `${unused.join(' and ')} take effect only with security on: set security.usersFile (a users file made with 'junction user add'; an empty one, {"users":{}}, for anonymous access under permissions)`);
  }
  if (isLoopback(host) || security.allowAnonymous) return;
  throw new JunctionError(
    'ERR_CONFIG_INVALID',
    `refusing to listen on ${host} with security off: anyone who can reach it could read and write every address. ` +
      `Set security.usersFile (users made with 'junction user add --file FILE USER'; docs/security.md), ` +
      `or pass --allow-anonymous (security.allowAnonymous: true) to accept anonymous clients on ${host}`,
  );
}
