import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { verifyPassword } from '../../src/security/password-hash.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/junction.js');
const ANY_PORT_FLAGS = ['--stomp-port', '0', '--mqtt-port', '0', '--amqp-port', '0', '--ws-port', '0', '--http-port', '0'];
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'junction-cli-user-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `junction ...` to completion with `stdin` piped in; resolves with its exit code and output. */
async function junction(args: string[], stdin = ''): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  child.stdin.end(stdin);
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out, err };
}

type Users = { users: Record<string, { password?: string; roles: string[]; certificates: string[] }> };
const read = async (f: string) => JSON.parse(await readFile(f, 'utf8')) as Users;

test('user add / passwd / remove / list edit the users file; the password comes from stdin and is stored hashed', async () => {
  const f = path.join(dir, 'users.json');
  let r = await junction(['user', 'add', '--file', f, 'alice', '--role', 'admin', '--role', 'ops', '--password-stdin'], 'first-pw\n');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.trim(), 'added alice');
  assert.equal((await stat(f)).mode & 0o777, 0o600);
  let users = await read(f);
  assert.deepEqual(users.users.alice!.roles, ['admin', 'ops']);
  assert.match(users.users.alice!.password!, /^\$scrypt\$ln=15,r=8,p=1\$/);
  assert.equal(await verifyPassword('first-pw', users.users.alice!.password!), true);

  r = await junction(['user', 'add', '--file', f, 'device1', '--no-password', '--role', 'device', '--certificate', 'CN=device1,O=Acme']);
  assert.equal(r.code, 0, r.err);

  r = await junction(['user', 'passwd', '--file', f, 'alice', '--password-stdin'], 'second-pw\r\n');
  assert.equal(r.code, 0, r.err);
  users = await read(f);
  assert.equal(await verifyPassword('second-pw', users.users.alice!.password!), true);
  assert.deepEqual(users.users.alice!.roles, ['admin', 'ops'], 'passwd keeps the roles');

  r = await junction(['user', 'list', '--file', f]);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.out.trim().split('\n'), ['alice  roles=admin,ops', 'device1  roles=device  certificates="CN=device1,O=Acme"  (certificate only)']);
  assert.equal(r.out.includes('$scrypt$'), false, 'list never prints a hash');

  r = await junction(['user', 'remove', '--file', f, 'device1']);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(Object.keys((await read(f)).users), ['alice']);
});

test('user: refusals leave the file as it was and say why in one line', async () => {
  const f = path.join(dir, 'refusals.json');
  assert.equal((await junction(['user', 'add', '--file', f, 'bob', '--password', 'unsafe-but-documented'])).code, 0);
  const before = await readFile(f, 'utf8');
  const cases: Array<[string[], string, RegExp]> = [
    [['user', 'add', '--file', f, 'bob', '--password-stdin'], 'pw\n', /already exists/],
    [['user', 'passwd', '--file', f, 'nobody', '--password-stdin'], 'pw\n', /no user 'nobody'/],
    [['user', 'remove', '--file', f, 'nobody'], '', /no user 'nobody'/],
    [['user', 'add', '--file', f, 'bad name', '--password-stdin'], 'pw\n', /bad name/],
    [['user', 'add', '--file', f, 'carol', '--password-stdin'], '\n', /password is empty/],
    // No terminal to prompt on (stdin is a pipe) and no --password-stdin.
    [['user', 'add', '--file', f, 'carol'], '', /--password-stdin/],
    [['user', 'add', 'carol', '--password-stdin'], 'pw\n', /--file/],
  ];
  for (const [args, stdin, why] of cases) {
    const r = await junction(args, stdin);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, why, args.join(' '));
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
  assert.equal(await readFile(f, 'utf8'), before);
  const bad = path.join(dir, 'not-json.json');
  await writeFile(bad, '{');
  const r = await junction(['user', 'list', '--file', bad]);
  assert.equal(r.code, 2);
  assert.match(r.err, /not valid JSON/);
});

test('start on a non-loopback host with security off is refused, saying how; --allow-anonymous or --users-file starts it', async () => {
  const refused = await junction(['start', '--data-dir', path.join(dir, 'd1'), '--host', '0.0.0.0', ...ANY_PORT_FLAGS]);
  assert.equal(refused.code, 2);
  assert.match(refused.err, /^junction: refusing to listen on 0\.0\.0\.0 with security off/);
  assert.match(refused.err, /security\.usersFile/);
  assert.match(refused.err, /--allow-anonymous/);

  for (const extra of [['--allow-anonymous'], ['--users-file', path.join(dir, 'users.json')]]) {
    const child = spawn(process.execPath, [bin, 'start', '--data-dir', path.join(dir, `d-${extra[0]}`), '--host', '0.0.0.0', ...ANY_PORT_FLAGS, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = once(child, 'exit');
    await new Promise<void>((resolve, reject) => {
      const check = () => /"broker started"/.test(out) && resolve();
      child.stdout.on('data', check);
      child.once('exit', () => reject(new Error(`exited before starting:\n${out}`)));
    });
    assert.match(out, new RegExp(`"security":"${extra[0] === '--allow-anonymous' ? 'off' : 'on'}"`));
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, out);
  }
});

test('SIGHUP makes a running broker reload its users file', async () => {
  const f = path.join(dir, 'hup.json');
  assert.equal((await junction(['user', 'add', '--file', f, 'alice', '--password-stdin'], 'pw\n')).code, 0);
  const child = spawn(process.execPath, [bin, 'start', '--data-dir', path.join(dir, 'hup'), ...ANY_PORT_FLAGS, '--users-file', f], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = once(child, 'exit');
  const waitFor = (re: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!re.test(out)) return;
        child.stdout.off('data', check);
        resolve();
      };
      child.stdout.on('data', check);
      child.once('exit', () => reject(new Error(`exited waiting for ${re}:\n${out}`)));
      check();
    });
  await waitFor(/"broker started"/);
  assert.match(out, /"event":"users.changed".*"added":\["alice"\]/);
  const linesBefore = out.split('\n').length;
  child.kill('SIGHUP');
  await waitFor(/"signal":"SIGHUP","msg":"reloading"/);
  // The reload after the signal logs the users it loaded (nothing changed: no user added).
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      const after = out.split('\n').slice(linesBefore);
      if (after.some((l) => /"event":"users.changed"/.test(l) && /"added":\[\]/.test(l))) resolve();
    };
    child.stdout.on('data', check);
    child.once('exit', () => reject(new Error(out)));
    check();
  });
  child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  assert.equal(code, 0, out);
});
