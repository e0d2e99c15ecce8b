/**
 * The peer's IP from a transport's `host:port` (IPv6 `::1:5555` too), an IPv4-mapped IPv6 address
 * as IPv4: what the authenticator throttles by (LoginRequest.remoteAddress), so that failed logins
 * from one host count together whatever source port each connection used. Every protocol's login
 * passes this: a `host:port` would make each new connection a new throttle key (and a new audit-log
 * key), so a guesser reconnecting would never be throttled.
 */
export function remoteIp(remote: string): string {
  const host = remote.replace(/:\d+$/, '');
  return host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host;
}
