import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { hashPassword } from '../../src/security/password-hash.ts';
import { writeUsersFile } from '../../src/security/users-file.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { runJunction } from '../helpers/junction-cli.ts';

/**
 * The CLI against a broker with security on: no login is exit 3 (401), a wrong password exit 3, a
 * view-only user reads `queue stat` and is refused a purge (403, exit 3), the password comes from
 * JUNCTION_PASSWORD for HTTP and for the producer's AMQP SASL login alike.
 */

const FAST = { ln: 10, r: 8, p: 1 };
let dir = '';
let broker: TestBroker;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'junction-cli-sec-'));
  const usersFile = path.join(dir, 'users.json');
  await writeUsersFile(usersFile, {
    users: {
      vera: { password: await hashPassword('vera-pw', FAST), roles: ['viewer'], certificates: [] },
      adam: { password: await hashPassword('adam-pw', FAST), roles: ['admin'], certificates: [] },
    },
  });
  const all = ['send', 'consume', 'browse', 'createAddress', 'createDurableQueue', 'deleteDurableQueue', 'createNonDurableQueue', 'deleteNonDurableQueue', 'manage', 'view'];
  const admin = Object.fromEntries(all.map((p) => [p, ['admin']]));
  broker = await startBroker({
    security: { usersFile, permissions: { '#': admin, 'sec.>': { ...admin, view: ['viewer', 'admin'] }, '$sys.mgmt.broker': { view: ['viewer', 'admin'] } } },
  });
});
after(async () => {
  await broker?.stop();
  await rm(dir, { recursive: true, force: true });
});

const junction = (args: string[], env: NodeJS.ProcessEnv = {}) => runJunction([...args, '--url', `http://127.0.0.1:${broker.ports.http}`], env);

test('security on: the producer logs in over AMQP with JUNCTION_PASSWORD; a viewer reads queue stat and is refused purge (exit 3); no login or a wrong password is exit 3', { timeout: 180_000 }, async () => {
  const p = await junction(['producer', '--destination', 'queue://sec.orders', '--message-count', '10', '--user', 'adam'], { JUNCTION_PASSWORD: 'adam-pw' });
  assert.equal(p.code, 0, p.err);

  const stat = await junction(['queue', 'stat', '--json'], { JUNCTION_USER: 'vera', JUNCTION_PASSWORD: 'vera-pw' });
  assert.equal(stat.code, 0, stat.err);
  assert.deepEqual((JSON.parse(stat.out) as Array<{ name: string; messages: number }>).map((q) => [q.name, q.messages]), [['sec.orders', 10]]);

  const purge = await junction(['queue', 'purge', 'sec.orders', '--user', 'vera'], { JUNCTION_PASSWORD: 'vera-pw' });
  assert.equal(purge.code, 3, purge.err);
  assert.match(purge.err, /^junction: ERR_SECURITY_UNAUTHORIZED: /);

  const anonymous = await junction(['queue', 'stat']);
  assert.equal(anonymous.code, 3, anonymous.err);
  assert.match(anonymous.err, /log in with --user/);
  assert.equal(anonymous.err.trim().split('\n').length, 1);

  const wrong = await junction(['queue', 'stat', '--user', 'vera'], { JUNCTION_PASSWORD: 'nope' });
  assert.equal(wrong.code, 3, wrong.err);

  const amqpWrong = await junction(['consumer', '--destination', 'queue://sec.orders', '--user', 'adam', '--broker', `amqp://127.0.0.1:${broker.ports.amqp}`], { JUNCTION_PASSWORD: 'nope' });
  assert.equal(amqpWrong.code, 3, amqpWrong.err);

  const purged = await junction(['queue', 'purge', 'sec.orders', '--user', 'adam'], { JUNCTION_PASSWORD: 'adam-pw' });
  assert.equal(purged.code, 0, purged.err);
  assert.match(purged.out, /10 message\(s\) removed/);
});
