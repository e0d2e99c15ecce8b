/**
 * Security on, for the bench rows that measure it (issue 14: "with security on, authenticated, TLS
 * off, within 5% of security off on every row"): a users file with one user holding one role, and
 * the `security` config granting that role every permission on every address, so the rows do the
 * same work as without security plus the checks (login once per connection, the cached permission
 * lookup on every send and consumer). The login rate cap is off: the MQTT idle-memory row opens
 * thousands of connections in a burst, which is the row's workload, not a CONNECT storm.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PERMISSIONS } from '../../src/core/ports/security.ts';
import { hashPassword } from '../../src/security/password-hash.ts';

export const BENCH_USER = 'bench';
export const BENCH_PASSWORD = 'bench-password';

/** The `security` config slice (as JSON) for a broker whose data dir is `dir`; writes `<dir>/users.json`. */
export async function benchSecurityConfig(dir: string): Promise<Record<string, unknown>> {
  const usersFile = path.join(dir, 'users.json');
  const users = { users: { [BENCH_USER]: { password: await hashPassword(BENCH_PASSWORD), roles: ['bench'] } } };
  await writeFile(usersFile, JSON.stringify(users), { mode: 0o600 });
  return {
    usersFile,
    permissions: { '#': Object.fromEntries(PERMISSIONS.map((p) => [p, ['bench']])) },
    maxConnectRate: 0,
    maxFailedLoginsPerAddress: 0,
    maxFailedLoginsPerUser: 0,
  };
}
