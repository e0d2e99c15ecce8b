import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { DataDirLock, procProbe, type LivenessProbe, type LockOwner } from '../../../src/store/data-dir-lock.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'junction-lock-unit-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A system where `alive` pids run with the given start times, on boot `boot`. */
function probe(alive: Record<number, number>, boot = 'boot-1'): LivenessProbe {
  return {
    exists: (pid) => pid in alive || pid === process.pid,
    startTime: (pid) => (pid === process.pid ? 1000 : alive[pid]),
    bootId: () => boot,
  };
}

async function writeLock(o: Partial<LockOwner>): Promise<void> {
  await writeFile(path.join(dir, 'lock'), JSON.stringify({ host: hostname(), token: 'old', since: '2026-01-01T00:00:00.000Z', ...o }));
}

async function lockPid(): Promise<number> {
  return (JSON.parse(await readFile(path.join(dir, 'lock'), 'utf8')) as LockOwner).pid;
}

test('a lock held by a live process with the same start time is refused, naming the pid', async () => {
  await writeLock({ pid: 4242, start: 77, boot: 'boot-1' });
  await assert.rejects(DataDirLock.acquire(dir, probe({ 4242: 77 })), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'ERR_STORE_DIR_IN_USE');
    assert.match(err.message, /is in use by pid 4242 since 2026-01-01/);
    return true;
  });
  assert.equal(await lockPid(), 4242, 'the live lock is left as it was');
  assert.deepEqual((await readdir(dir)).sort(), ['lock'], 'no temporary file is left behind');
});

test('a lock whose pid is gone (kill -9) is taken over', async () => {
  await writeLock({ pid: 4242, start: 77, boot: 'boot-1' });
  const lock = await DataDirLock.acquire(dir, probe({}));
  assert.equal(await lockPid(), process.pid);
  await lock.release();
  assert.deepEqual(await readdir(dir), []);
});

test('a lock whose pid was reused by a process started at another time is taken over', async () => {
  await writeLock({ pid: 4242, start: 77, boot: 'boot-1' });
  const lock = await DataDirLock.acquire(dir, probe({ 4242: 99 }));
  assert.equal(await lockPid(), process.pid);
  await lock.release();
});

test('a lock from before a reboot is taken over, whatever runs under its pid now', async () => {
  await writeLock({ pid: 4242, start: 77, boot: 'boot-0' });
  const lock = await DataDirLock.acquire(dir, probe({ 4242: 77 }, 'boot-1'));
  assert.equal(await lockPid(), process.pid);
  await lock.release();
});

test('a lock file that is not a lock (empty, not JSON, no pid) is taken over', async () => {
  for (const text of ['', '{"pid', '{"pid":"x"}', '[]']) {
    await writeFile(path.join(dir, 'lock'), text);
    const lock = await DataDirLock.acquire(dir, probe({}));
    assert.equal(await lockPid(), process.pid, `after ${JSON.stringify(text)}`);
    await lock.release();
  }
});

test('release removes only this broker’s lock, and twice is harmless', async () => {
  const lock = await DataDirLock.acquire(dir, probe({}));
  await writeLock({ pid: 4243, start: 1, boot: 'boot-1', token: 'someone-else' });
  await lock.release();
  await lock.release();
  assert.equal(await lockPid(), 4243);
});

test('two acquisitions at once in one process: exactly one wins', async () => {
  const results = await Promise.allSettled([DataDirLock.acquire(dir), DataDirLock.acquire(dir), DataDirLock.acquire(dir)]);
  const won = results.filter((r) => r.status === 'fulfilled');
  assert.equal(won.length, 1);
  for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as { code?: string }).code, 'ERR_STORE_DIR_IN_USE');
  await (won[0] as PromiseFulfilledResult<DataDirLock>).value.release();
});

test('the system probe: this process exists and has a start time and boot id on Linux; a free pid does not exist', () => {
  assert.equal(procProbe.exists(process.pid), true);
  assert.equal(procProbe.exists(2 ** 22 + 12345), false);
  if (process.platform === 'linux') {
    assert.ok(Number.isInteger(procProbe.startTime(process.pid)));
    assert.match(procProbe.bootId() ?? '', /^[0-9a-f-]{36}$/);
  }
});
