import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import tls from 'node:tls';
import { startBroker } from '../helpers/broker.ts';
import { retryUntil } from '../helpers/retry.ts';
import { makeCerts, type TestCerts } from '../helpers/tls-certs.ts';

/*
 * Attack on certificate reload (issue 14 part 4): a certificate rotated the way a Kubernetes secret
 * volume rotates it (docs/security.md promises it is picked up). The kubelet's AtomicWriter keeps
 * the files in `..<timestamp>/`, points `..data` at it and makes `server.pem` a symlink to
 * `..data/server.pem`; a rotation writes a new `..<timestamp>/`, a `..data_tmp` symlink to it, and
 * renames that over `..data`. The names the broker watched for never changed: no reload.
 */

function fingerprint(port: number, first: TestCerts, second: TestCerts): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: [first.caPem, second.caPem], servername: 'localhost' }, () => {
      resolve(s.getPeerX509Certificate()!.fingerprint256);
      s.destroy();
    });
    s.once('error', reject);
  });
}

test('a certificate rotated as a Kubernetes secret volume rotates it (..data symlink swap) is reloaded', async (t) => {
  const [first, second] = await Promise.all([makeCerts('device1'), makeCerts('device2')]);
  t.after(() => Promise.all([first.remove(), second.remove()]));
  const dir = await mkdtemp(path.join(tmpdir(), 'junction-tls-k8s-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const version = async (name: string, c: TestCerts) => {
    await mkdir(path.join(dir, name));
    await cp(c.cert, path.join(dir, name, 'server.pem'));
    await cp(c.key, path.join(dir, name, 'server-key.pem'));
  };
  await version('..2026_01', first);
  await symlink('..2026_01', path.join(dir, '..data'));
  await symlink('..data/server.pem', path.join(dir, 'server.pem'));
  await symlink('..data/server-key.pem', path.join(dir, 'server-key.pem'));
  const broker = await startBroker({ tls: { cert: path.join(dir, 'server.pem'), key: path.join(dir, 'server-key.pem'), ports: { stomp: 0, mqtt: 0, amqp: 0, ws: 0 } } });
  t.after(() => broker.stop());
  const port = (broker.ports as Record<string, number>).stompSsl!;
  assert.equal(await fingerprint(port, first, second), first.serverFingerprint);

  await version('..2026_02', second);
  await symlink('..2026_02', path.join(dir, '..data_tmp'));
  await rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  await rm(path.join(dir, '..2026_01'), { recursive: true });
  await retryUntil(async () => assert.equal(await fingerprint(port, first, second), second.serverFingerprint), 5000);
});
