import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A small real file system for disk-space tests: a tmpfs of `size` (e.g. '2m') mounted by the test. */
export interface SmallDisk {
  /** The mount point (a temp dir when the mount failed). */
  readonly mnt: string;
  /** False where mounting is not allowed (needs root and a working `mount`): the test skips. */
  readonly mounted: boolean;
  /** Unmounts and removes the temp dirs. */
  remove(): void;
}

export function mountSmallDisk(prefix: string, size: string): SmallDisk {
  const root = mkdtempSync(path.join(tmpdir(), prefix));
  const mnt = path.join(root, 'mnt');
  mkdirSync(mnt);
  let mounted = false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt], { stdio: 'ignore' });
    mounted = true;
  } catch {
    // not root, or no mount: the caller skips
  }
  return {
    mnt,
    mounted,
    remove() {
      if (mounted) execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
      rmSync(root, { recursive: true, force: true });
    },
  };
}
