import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { isJunctionError } from '../../src/errors.ts';
import { BrokerProcess } from '../helpers/broker-process.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';

/*
 * One broker per data dir (issue 12 item 16), as ActiveMQ Classic's KahaDB `lock`: a second broker
 * on the same dir refuses to start naming the pid that holds it, and a lock left by `kill -9` does
 * not block the next start.
 */

const BIN = path.resolve(import.meta.dirname, '../../bin/junction.js');
const dirs: string[] = [];
const brokers: TestBroker[] = [];
const procs: BrokerProcess[] = [];
after(async () => {
  for (const p of procs) await p.kill();
  for (const b of brokers) await b.close().catch(() => undefined);
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'junction-lock-'));
  dirs.push(d);
  return d;
}

/** Runs `junction start` on `dataDir` to its exit; returns the exit code and everything it wrote to stderr and stdout. */
async function runStart(dataDir: string): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, [BIN, 'start', '--data-dir', dataDir, '--stomp-port', '0', '--mqtt-port', '0', '--amqp-port', '0', '--ws-port', '0', '--http-port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  // A second broker that wrongly starts would run for ever: stop it so the test fails on its assertion.
  const guard = setTimeout(() => child.kill('SIGTERM'), 20_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(guard);
  return { code, stderr, stdout };
}

async function sendAndReceive(port: number, queue: string, body: string): Promise<string> {
  const c = await RawStomp.connect(port, { 'accept-version': '1.2', host: 'localhost' }, { timeout: 15_000 });
  try {
    c.send('SEND', { destination: queue, persistent: 'true', receipt: 's' }, body);
    assert.equal((await c.nextFrame()).command, 'RECEIPT');
    c.send('SUBSCRIBE', { destination: queue, id: '1', ack: 'client-individual' });
    const m = await c.nextFrame();
    assert.equal(m.command, 'MESSAGE');
    c.send('ACK', { id: m.header('ack')!, receipt: 'a' });
    assert.equal((await c.nextFrame()).command, 'RECEIPT');
    return m.body.toString();
  } finally {
    c.destroy();
  }
}

test('a second in-process broker on the same data dir is refused with ERR_STORE_DIR_IN_USE naming the pid', async () => {
  const dataDir = await tempDir();
  const first = await startBroker({ dataDir });
  brokers.push(first);
  await assert.rejects(
    startBroker({ dataDir }).then((b) => (brokers.push(b), b)),
    (err: unknown) => {
      assert.ok(isJunctionError(err), String(err));
      assert.equal(err.code, 'ERR_STORE_DIR_IN_USE');
      assert.match(err.message, new RegExp(`data dir .* is in use by pid ${process.pid}\\b`));
      return true;
    },
  );
  // The refused start took nothing: the first broker still works, and once it is closed the dir is free.
  assert.equal(await sendAndReceive(first.ports.stomp!, '/queue/lock-a', 'still mine'), 'still mine');
  await first.close();
  const second = await startBroker({ dataDir });
  brokers.push(second);
  assert.equal(await sendAndReceive(second.ports.stomp!, '/queue/lock-a', 'now mine'), 'now mine');
  await second.close();
  await assert.rejects(stat(path.join(dataDir, 'lock')), { code: 'ENOENT' }, 'close removes the lock file');
});

test('a second junction process on the same data dir exits 2 with one line naming the running broker pid', async () => {
  const dataDir = await tempDir();
  const first = await BrokerProcess.start({ dataDir });
  procs.push(first);
  const r = await runStart(dataDir);
  assert.equal(r.code, 2, r.stderr + r.stdout);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^junction: data dir .* is in use by pid ${first.child.pid}\\b`));
  assert.ok(first.running, 'the first broker keeps running');
  await first.stop();
});

test('a lock left by kill -9 does not block the next start, and the journal recovers', async () => {
  const dataDir = await tempDir();
  const first = await BrokerProcess.start({ dataDir });
  procs.push(first);
  const c = await RawStomp.connect(first.ports.stomp, { 'accept-version': '1.2', host: 'localhost' }, { timeout: 15_000 });
  c.send('SEND', { destination: '/queue/lock-k', persistent: 'true', receipt: 's' }, 'survives');
  assert.equal((await c.nextFrame()).command, 'RECEIPT');
  c.destroy();
  const lock = JSON.parse(await readFile(path.join(dataDir, 'lock'), 'utf8')) as { pid: number };
  assert.equal(lock.pid, first.child.pid);
  await first.kill();
  const next = await first.restart();
  procs.push(next);
  const c2 = await RawStomp.connect(next.ports.stomp, { 'accept-version': '1.2', host: 'localhost' }, { timeout: 15_000 });
  c2.send('SUBSCRIBE', { destination: '/queue/lock-k', id: '1', ack: 'auto' });
  const m = await c2.nextFrame();
  c2.destroy();
  assert.equal(m.command, 'MESSAGE');
  assert.equal(m.body.toString(), 'survives');
  const lock2 = JSON.parse(await readFile(path.join(dataDir, 'lock'), 'utf8')) as { pid: number };
  assert.equal(lock2.pid, next.child.pid, 'the new broker holds the lock now');
  await next.stop();
  await assert.rejects(stat(path.join(dataDir, 'lock')), { code: 'ENOENT' }, 'a graceful stop removes the lock file');
});
