import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hashPassword } from '../../src/security/password-hash.ts';

/** A cheap scrypt cost for test users (the default ln=15 takes ~100 ms a login). */
export const FAST_SCRYPT = { ln: 10, r: 8, p: 1 };

/** Writes a users file with these users (`name: [password, roles]`) into a new temp dir. */
export async function writeUsersFile(users: Record<string, readonly [password: string, roles: readonly string[]]>): Promise<{ dir: string; usersFile: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'junction-mgmt-'));
  const usersFile = path.join(dir, 'users.json');
  const entries: Record<string, unknown> = {};
  for (const [name, [password, roles]] of Object.entries(users)) entries[name] = { password: await hashPassword(password, FAST_SCRYPT), roles: [...roles] };
  await writeFile(usersFile, JSON.stringify({ users: entries }));
  return { dir, usersFile };
}

/** `Authorization: Basic` for a user and password. */
export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** A fetch against one management server: JSON in, status and JSON (or text) out. */
export function api(base: string) {
  return async (method: string, url: string, opts: { headers?: Record<string, string>; body?: unknown; raw?: string } = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    let body: string | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(base + url, { method, headers, body });
    const text = await res.text();
    let json: any;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, json, text };
  };
}
