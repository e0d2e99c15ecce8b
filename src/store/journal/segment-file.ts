import { open, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/**
 * Creates segment file `id` in `dir` and makes it durable before anything is written to it:
 * `beforeSwitch` (the old head's fdatasync) then an fsync of the directory, so after a crash the
 * new file exists whenever a record in it was confirmed. When either fails the new file is closed
 * and removed and the error thrown: the journal keeps its open head and the next roll tries again.
 */
export async function createSegment(dir: string, id: number, beforeSwitch: () => Promise<void>): Promise<{ file: string; handle: FileHandle }> {
  const file = path.join(dir, `journal-${String(id).padStart(8, '0')}.seg`);
  const handle = await open(file, 'a');
  try {
    await beforeSwitch();
    await syncDir(dir);
  } catch (err) {
    await handle.close().catch(() => undefined /* nothing written to it */);
    await unlink(file).catch(() => undefined /* the next roll opens it again anyway */);
    throw err;
  }
  return { file, handle };
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
