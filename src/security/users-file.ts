import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { JunctionError } from '../errors.ts';

/**
 * The users file (`security.usersFile`, docs/security.md#users-file):
 *
 * ```json
 * { "users": { "alice": { "password": "$scrypt$ln=15,r=8,p=1$...$...", "roles": ["admin"],
 *                         "certificates": ["CN=device1,O=Acme", "DNS:device1.acme.example"] } } }
 * ```
 *
 * `password` is a PHC scrypt string (src/security/password-hash.ts); a user without one logs in
 * only with a client certificate. `certificates` lists the subject DNs (RFC 4514, `CN=...,O=...`) or
 * subjectAltName entries (`DNS:x`, `email:x`, `URI:x`, `IP Address:x`) whose certificate is this user
 * (mTLS, AMQP SASL EXTERNAL).
 */

/** Largest users file read, bytes: a few hundred thousand users; more is refused rather than held. */
export const MAX_USERS_FILE_BYTES = 64 * 1024 * 1024;

/** Longest password `junction user` and the management API set, bytes (the login refuses longer ones at once). */
export const MAX_PASSWORD_BYTES = 4096;

/** User names: printable, no separators a pattern or a log line would misread. */
export const userName = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\s\x00-\x1f\x7f:]+$/, 'a user name has no spaces, control characters or colons');

const userEntry = z.strictObject({
  password: z.string().min(1).max(512).optional(),
  roles: z.array(z.string().min(1).max(256)).max(1000).default([]),
  certificates: z.array(z.string().min(1).max(4096)).max(1000).default([]),
});

const usersFileSchema = z.strictObject({
  users: z.record(userName, userEntry),
});

/** One user as the file holds it. */
export type UserEntry = z.output<typeof userEntry>;
/** The whole file. */
export type UsersFileContent = z.output<typeof usersFileSchema>;

/** The file, indexed: users by name, users by certificate subject or SAN. */
export interface UsersTable {
  readonly users: ReadonlyMap<string, UserEntry>;
  readonly byCertificate: ReadonlyMap<string, string>;
}

/**
 * A DN as a comparable key: RDNs split on unescaped commas, spaces around them and around `=`
 * dropped, attribute types upper-cased (`cn = x, o=Acme` is `CN=x,O=Acme`). SAN entries (`DNS:x`)
 * are kept as they are, their type prefix normalised the same way Node prints it.
 */
export function certificateKey(s: string): string {
  if (/^(DNS|URI|email|IP Address):/i.test(s)) return s.trim();
  return s
    .split(/(?<!\\),/)
    .map((rdn) => {
      const eq = rdn.indexOf('=');
      return eq < 0 ? rdn.trim() : `${rdn.slice(0, eq).trim().toUpperCase()}=${rdn.slice(eq + 1).trim()}`;
    })
    .join(',');
}

/** Parses and indexes the file's text; throws ERR_CONFIG_INVALID naming the problem. */
export function parseUsersFile(text: string, source: string): UsersTable {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new JunctionError('ERR_CONFIG_INVALID', `users file ${source} is not valid JSON: ${(err as Error).message}`);
  }
  // zod's record skips this key (it would set an object's prototype): said, rather than the user silently dropped.
  const users = (json as { users?: unknown } | null)?.users;
  if (typeof users === 'object' && users !== null && Object.hasOwn(users, '__proto__')) {
    throw new JunctionError('ERR_CONFIG_INVALID', `users file ${source} is invalid: a user cannot be named __proto__`);
  }
  const r = usersFileSchema.safeParse(json);
  if (!r.success) throw new JunctionError('ERR_CONFIG_INVALID', `users file ${source} is invalid:\n${z.prettifyError(r.error)}`);
  return indexUsers(r.data, source);
}

/** Indexes parsed content; a certificate named by two users is an error (it would log in as either). */
export function indexUsers(content: UsersFileContent, source: string): UsersTable {
  const users = new Map<string, UserEntry>(Object.entries(content.users));
  const byCertificate = new Map<string, string>();
  for (const [name, u] of users) {
    for (const c of u.certificates) {
      const key = certificateKey(c);
      const other = byCertificate.get(key);
      if (other !== undefined && other !== name) {
        throw new JunctionError('ERR_CONFIG_INVALID', `users file ${source}: certificate '${c}' is given to both '${other}' and '${name}'`);
      }
      byCertificate.set(key, name);
    }
  }
  return { users, byCertificate };
}

/** Reads the file (at most {@link MAX_USERS_FILE_BYTES}) as text. */
export async function readUsersText(file: string): Promise<string> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw new JunctionError('ERR_CONFIG_INVALID', `cannot read users file ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const size = (await fh.stat()).size;
    if (size > MAX_USERS_FILE_BYTES) throw new JunctionError('ERR_CONFIG_INVALID', `users file ${file} is ${size} bytes, more than the ${MAX_USERS_FILE_BYTES} read`);
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

/** Reads, parses and indexes the users file. */
export async function loadUsersFile(file: string): Promise<UsersTable> {
  return parseUsersFile(await readUsersText(file), file);
}

/** Reads the file for editing: its parsed content, or an empty one when the file does not exist yet. */
export async function readUsersForEdit(file: string): Promise<UsersFileContent> {
  try {
    await stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { users: {} };
    throw err;
  }
  const text = await readUsersText(file);
  const table = parseUsersFile(text, file);
  return { users: Object.fromEntries(table.users) };
}

/**
 * Writes the file atomically: a temp file in the same directory, written, fsynced, mode 0600, then
 * renamed over the old one (a reader, the broker's watcher included, sees the old file or the new
 * one, never half of one); the directory is fsynced so the rename survives a crash.
 */
export async function writeUsersFile(file: string, content: UsersFileContent): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(JSON.stringify(content, null, 2) + '\n');
    await fh.chmod(0o600);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/**
 * Validates `users` as the broker will read them (user names, a certificate given to two users)
 * and writes them with {@link writeUsersFile}; nothing is written when they are invalid
 * (ERR_CONFIG_INVALID). What `junction user` and the management API save.
 */
export async function saveUsersFile(file: string, users: ReadonlyMap<string, UserEntry>): Promise<void> {
  // Object.fromEntries defines own properties (no prototype setter), whatever the name.
  const content: UsersFileContent = { users: Object.fromEntries(users) };
  parseUsersFile(JSON.stringify(content), file);
  await writeUsersFile(file, content);
}
