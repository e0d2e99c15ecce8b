import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { JunctionError } from '../errors.ts';

/** What the lock file records about the broker holding the data dir (JSON). */
export interface LockOwner {
  pid: number;
  /** The holder's start time in clock ticks since boot (`/proc/<pid>/stat` field 22), where there is a /proc. */
  start?: number;
  /** `/proc/sys/kernel/random/boot_id` when the lock was taken: a lock from before a reboot is stale whatever its pid. */
  boot?: string;
  host: string;
  /** Unique per acquisition, so a release never removes another broker's lock. */
  token: string;
  since: string;
}

/** How a lock's holder is judged alive; tests replace it to fake a dead or reused pid. */
export interface LivenessProbe {
  /** True when a process with this pid exists (`process.kill(pid, 0)`; EPERM means it exists). */
  exists(pid: number): boolean;
  startTime(pid: number): number | undefined;
  bootId(): string | undefined;
}

export const LOCK_FILE = 'lock';

/**
 * One broker per data dir, as ActiveMQ Classic's KahaDB keeps `<dataDir>/lock`. KahaDB holds an OS
 * file lock that the kernel drops when the process dies; Node has no flock, so the lock here is a
 * file created atomically (O_EXCL) that names its holder, and a lock whose holder is gone (`kill -9`,
 * a crash, a reboot) is taken over. "Gone" is: no such pid, or the pid now belongs to a process
 * that started at another time (pid reuse, or a container's broker that is pid 1 again), or the
 * machine booted since. A holder on another host (a shared network volume) is judged by pid only,
 * like KahaDB's lock over NFS, which is only as good as the server's locking.
 */
export class DataDirLock {
  readonly file: string;
  private readonly owner: LockOwner;
  private released = false;

  private constructor(file: string, owner: LockOwner) {
    this.file = file;
    this.owner = owner;
  }

  /**
   * Takes the lock of `dataDir` (which must exist) or throws ERR_STORE_DIR_IN_USE naming the pid
   * that holds it. Two brokers starting at once: exactly one wins, the other sees it alive.
   */
  static async acquire(dataDir: string, probe: LivenessProbe = procProbe): Promise<DataDirLock> {
    const file = path.join(dataDir, LOCK_FILE);
    const owner: LockOwner = {
      pid: process.pid,
      start: probe.startTime(process.pid),
      boot: probe.bootId(),
      host: hostname(),
      token: randomUUID(),
      since: new Date().toISOString(),
    };
    // The lock appears whole: written under a name of its own (O_EXCL), then hard-linked to `lock`,
    // which fails with EEXIST when the name is taken. So a reader never sees a half-written lock.
    const tmp = `${file}.new-${owner.token}`;
    try {
      await writeFile(tmp, JSON.stringify(owner) + '\n', { flag: 'wx', mode: 0o644 });
    } catch (err) {
      throw unusable(dataDir, err);
    }
    try {
      // Bounded: each round either takes the lock, finds a live holder, or removes one stale lock.
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await link(tmp, file);
          return new DataDirLock(file, owner);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw unusable(dataDir, err);
        }
        const holder = await readOwner(file).catch((err: unknown) => Promise.reject(unusable(dataDir, new Error(`its lock file ${file} cannot be read: ${(err as Error).message}`, { cause: err }))));
        if (holder === 'gone') continue;
        if (holder !== 'unreadable' && isAlive(holder, probe)) throw inUse(dataDir, holder);
        await removeStale(file, probe);
      }
    } finally {
      await unlink(tmp).catch(() => undefined /* nothing to clean */);
    }
    throw new JunctionError('ERR_STORE_DIR_IN_USE', `data dir ${dataDir} is in use: its lock file ${file} keeps being replaced by another broker starting`);
  }

  /** Who holds the lock now. */
  get holder(): LockOwner {
    return this.owner;
  }

  /** Removes the lock file if it is still this broker's (idempotent). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const now = await readOwner(this.file);
    if (typeof now === 'object' && now.token === this.owner.token) await unlink(this.file).catch(() => undefined /* removed meanwhile by hand */);
  }
}

async function readOwner(file: string): Promise<LockOwner | 'gone' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    return Number.isInteger(o.pid) && (o.pid as number) > 0 ? (o as LockOwner) : 'unreadable';
  } catch {
    // Not a lock this code wrote (locks appear whole): stale.
    return 'unreadable';
  }
}

function isAlive(o: LockOwner, probe: LivenessProbe): boolean {
  if (o.boot !== undefined && o.host === hostname()) {
    const boot = probe.bootId();
    if (boot !== undefined && boot !== o.boot) return false;
  }
  if (!probe.exists(o.pid)) return false;
  if (o.start !== undefined && o.host === hostname()) {
    const start = probe.startTime(o.pid);
    if (start !== undefined && start !== o.start) return false;
  }
  return true;
}

/**
 * Removes a stale lock without removing a live one that replaced it meanwhile: the file is moved
 * aside atomically, judged again, and put back (only if the name is still free) when it turns out
 * to be a live broker's lock taken between our read and our move.
 */
async function removeStale(file: string, probe: LivenessProbe): Promise<void> {
  const aside = `${file}.stale-${process.pid}-${randomUUID()}`;
  try {
    await rename(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const moved = await readOwner(aside);
  if (typeof moved === 'object' && isAlive(moved, probe)) await link(aside, file).catch(() => undefined /* another broker took the name: it holds the lock now */);
  await unlink(aside).catch(() => undefined /* already gone */);
}

function inUse(dataDir: string, o: LockOwner): JunctionError {
  const who = o.pid === process.pid ? `pid ${o.pid} (this process)` : `pid ${o.pid}`;
  const host = o.host && o.host !== hostname() ? ` on host ${o.host}` : '';
  return new JunctionError(
    'ERR_STORE_DIR_IN_USE',
    `data dir ${dataDir} is in use by ${who}${host} since ${o.since}; stop that broker or use another --data-dir`,
  );
}

function unusable(dataDir: string, err: unknown): JunctionError {
  return new JunctionError('ERR_STORE_DIR_UNUSABLE', `data dir ${dataDir} cannot be used: ${(err as Error).message}`, { cause: err });
}

/** The probe over the running system: `kill(pid, 0)` and Linux's /proc where there is one. */
export const procProbe: LivenessProbe = {
  exists(pid) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      // EPERM: the process exists but belongs to another user.
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  },
  startTime(pid) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // proc(5): field 2 is the command in parentheses and may hold spaces or ')'; fields after the
      // last ')' start at field 3 (state), so starttime (field 22) is the 20th of them.
      const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
      return Number.isFinite(start) ? start : undefined;
    } catch {
      return undefined; // no /proc (macOS) or no such process
    }
  },
  bootId() {
    try {
      return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
    } catch {
      return undefined; // no /proc
    }
  },
};
