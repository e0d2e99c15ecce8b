import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { captureLog } from '../../helpers/log-capture.ts';
import type { UsersChange } from '../../../src/security/audit-log.ts';
import { certificateKey, loadUsersFile, parseUsersFile, writeUsersFile } from '../../../src/security/users-file.ts';
import { UsersWatcher } from '../../../src/security/users-watcher.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'security-users-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const HASH = '$scrypt$ln=10,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

test('parse: users with password, roles and certificates; defaults; certificate index by DN and SAN', () => {
  const t = parseUsersFile(
    JSON.stringify({ users: { alice: { password: HASH, roles: ['admin'] }, dev1: { certificates: ['cn = device1, o=Acme', 'DNS:device1.example'] } } }),
    'f.json',
  );
  assert.deepEqual(t.users.get('alice'), { password: HASH, roles: ['admin'], certificates: [] });
  assert.equal(t.users.get('dev1')!.password, undefined);
  assert.equal(t.byCertificate.get('CN=device1,O=Acme'), 'dev1');
  assert.equal(t.byCertificate.get(certificateKey('CN=device1, O=Acme')), 'dev1');
  assert.equal(t.byCertificate.get('DNS:device1.example'), 'dev1');
});

test('parse: bad files are refused with ERR_CONFIG_INVALID naming the problem', () => {
  const bad: Array<[string, RegExp]> = [
    ['{', /not valid JSON/],
    ['{"users": []}', /users/],
    ['{"users": {"a": {"roles": "admin"}}}', /roles/],
    ['{"users": {"a": {"pasword": "x"}}}', /pasword/],
    ['{"users": {"a b": {}}}', /a b/],
    ['{"users": {"__proto__": {}}}', /__proto__/],
    ['{"users": {}, "extra": 1}', /extra/],
    ['{"users": {"a": {"certificates": ["CN=x"]}, "b": {"certificates": ["CN = x"]}}}', /given to both 'a' and 'b'/],
  ];
  for (const [text, why] of bad) {
    assert.throws(() => parseUsersFile(text, 'f.json'), (e: Error & { code?: string }) => e.code === 'ERR_CONFIG_INVALID' && why.test(e.message), text);
  }
});

test('write: atomic (no temp file left), mode 0600, and read back the same', async () => {
  const f = path.join(dir, 'w.json');
  const content = { users: { alice: { password: HASH, roles: ['a'], certificates: [] } } };
  await writeUsersFile(f, content);
  assert.equal((await stat(f)).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(await readFile(f, 'utf8')), content);
  assert.deepEqual([...(await loadUsersFile(f)).users.keys()], ['alice']);
  assert.deepEqual((await readdir(dir)).filter((n) => n.includes('.tmp')), []);
});

test('watcher: a changed file is loaded by itself; a bad one keeps the users loaded before and logs why; reload() rejects on a bad file', async () => {
  const f = path.join(dir, 'watched.json');
  await writeUsersFile(f, { users: { alice: { roles: ['a'], certificates: [] } } });
  const cap = captureLog('debug');
  const changes: UsersChange[] = [];
  const w = await UsersWatcher.open(f, cap.logger, (_t, c) => changes.push(c));
  try {
    assert.deepEqual(changes[0], { file: f, added: ['alice'], removed: [], changed: [] });
    // Replaced by a rename (as `junction user` and editors do): the directory watch sees it.
    await writeUsersFile(f, { users: { alice: { roles: ['a', 'b'], certificates: [] }, bob: { roles: [], certificates: [] } } });
    await waitUntil(() => changes.length === 2, 'the change to be loaded');
    assert.deepEqual(changes[1], { file: f, added: ['bob'], removed: [], changed: ['alice'] });
    assert.deepEqual(w.table.users.get('alice')!.roles, ['a', 'b']);

    await writeFile(f, '{"users": {"alice": ');
    await cap.waitFor((l) => l.msg === 'users file not reloaded: keeping the users loaded before', 'the bad file logged');
    assert.equal(changes.length, 2);
    assert.deepEqual([...w.table.users.keys()], ['alice', 'bob']);
    await assert.rejects(w.reload(), /not valid JSON/);
    assert.deepEqual([...w.table.users.keys()], ['alice', 'bob']);

    await writeFile(f, JSON.stringify({ users: {} }));
    await w.reload();
    assert.deepEqual(changes.at(-1)!.removed, ['alice', 'bob']);
    assert.equal(w.table.users.size, 0);
  } finally {
    w.close();
  }
});

test('watcher: a bad file at start is an error (the broker does not start on it)', async () => {
  const f = path.join(dir, 'bad-at-start.json');
  await writeFile(f, '[]');
  await assert.rejects(UsersWatcher.open(f, captureLog().logger, () => {}), { code: 'ERR_CONFIG_INVALID' });
  await assert.rejects(UsersWatcher.open(path.join(dir, 'missing.json'), captureLog().logger, () => {}), /cannot read users file/);
});

async function waitUntil(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
