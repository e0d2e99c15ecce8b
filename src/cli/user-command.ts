import { parseArgs } from 'node:util';
import { JunctionError } from '../errors.ts';
import { hashPassword } from '../security/password-hash.ts';
import { MAX_PASSWORD_BYTES, readUsersForEdit, saveUsersFile } from '../security/users-file.ts';

export const USER_USAGE = `Usage: junction user add --file USERS_FILE USER [--role ROLE]... [--certificate DN_OR_SAN]...
       junction user passwd --file USERS_FILE USER
       junction user remove --file USERS_FILE USER
       junction user list --file USERS_FILE

  add       Adds USER with the roles and client-certificate subjects given (docs/security.md).
  passwd    Sets USER's password.
  remove    Removes USER.
  list      Prints each user with its roles and certificates (never a password hash).

  The password is asked on the terminal without echo (twice), or read from the first line of
  standard input with --password-stdin. --password PASSWORD also works but is UNSAFE: the password
  ends up in the shell history and in every process listing. add --no-password makes a user that
  logs in only with a client certificate. The file is written atomically (a temp file, fsync,
  rename) with mode 0600; a running broker reloads it by itself.`;

/** Longest password read from standard input or the terminal, bytes. */
const MAX_PASSWORD = MAX_PASSWORD_BYTES;

/** `junction user ...`; writes to stdout, returns the exit code. */
export async function userCommand(argv: string[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'add' && sub !== 'passwd' && sub !== 'remove' && sub !== 'list') {
    out(USER_USAGE);
    return sub === undefined || sub === 'help' || sub === '--help' ? 0 : 2;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    strict: true,
    allowPositionals: true,
    options: {
      file: { type: 'string' },
      role: { type: 'string', multiple: true },
      certificate: { type: 'string', multiple: true },
      'password-stdin': { type: 'boolean' },
      password: { type: 'string' },
      'no-password': { type: 'boolean' },
    },
  });
  const file = values.file;
  if (file === undefined) throw usage('--file USERS_FILE is required');
  const content = await readUsersForEdit(file);
  // Looked up through a Map: a user name is never used as a key of a plain object here.
  const users = new Map(Object.entries(content.users));
  if (sub === 'list') {
    if (positionals.length > 0) throw usage('list takes no user name');
    for (const [name, u] of [...users].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const parts = [name, `roles=${u.roles.join(',')}`];
      if (u.certificates.length > 0) parts.push(`certificates=${u.certificates.map((c) => JSON.stringify(c)).join(',')}`);
      if (u.password === undefined) parts.push('(certificate only)');
      out(parts.join('  '));
    }
    return 0;
  }
  const [user, ...extra] = positionals;
  if (user === undefined || extra.length > 0) throw usage(`${sub} takes exactly one user name`);
  const existing = users.get(user);
  if (sub === 'remove') {
    if (!existing) throw usage(`no user '${user}' in ${file}`);
    users.delete(user);
    await saveUsersFile(file, users);
    out(`removed ${user}`);
    return 0;
  }
  if (sub === 'add' && existing) throw usage(`user '${user}' already exists in ${file} (passwd changes its password)`);
  if (sub === 'passwd' && !existing) throw usage(`no user '${user}' in ${file}`);
  const password = values['no-password'] && sub === 'add' ? undefined : await readPassword(values);
  const hash = password === undefined ? undefined : await hashPassword(password);
  if (sub === 'add') {
    users.set(user, { ...(hash === undefined ? {} : { password: hash }), roles: values.role ?? [], certificates: values.certificate ?? [] });
  } else {
    users.set(user, { ...existing!, password: hash });
  }
  await saveUsersFile(file, users);
  out(`${sub === 'add' ? 'added' : 'password changed for'} ${user}`);
  return 0;
}

function usage(message: string): JunctionError {
  return new JunctionError('ERR_CONFIG_INVALID', message);
}

async function readPassword(values: { 'password-stdin'?: boolean; password?: string }): Promise<string> {
  let password: string;
  if (values.password !== undefined) password = values.password;
  else if (values['password-stdin']) password = await firstLineOfStdin();
  else {
    password = await promptHidden('Password: ');
    if ((await promptHidden('Again: ')) !== password) throw usage('the two passwords differ');
  }
  if (password === '') throw usage('the password is empty');
  if (Buffer.byteLength(password) > MAX_PASSWORD) throw usage(`the password is longer than ${MAX_PASSWORD} bytes`);
  return password;
}

async function firstLineOfStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += (chunk as Buffer).toString('utf8');
    const nl = text.indexOf('\n');
    if (nl >= 0) return text.slice(0, nl).replace(/\r$/, '');
    if (text.length > MAX_PASSWORD) break;
  }
  return text.replace(/\r?\n?$/, '');
}

/** Reads a line from the terminal with echo off (raw mode), as passwd(1) does. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) return Promise.reject(usage('no terminal to ask the password on: pipe it in with --password-stdin'));
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          done();
          resolve(typed);
          return;
        }
        if (ch === '\u0003' || ch === '\u0004') {
          done();
          reject(usage('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else if (typed.length < MAX_PASSWORD) typed += ch;
      }
    };
    stdin.on('data', onData);
  });
}
