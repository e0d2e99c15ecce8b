import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { watchFiles } from '../../src/file-watch.ts';

/** Resolves at the next onChange of a watch on `files`; rejects after 10 s (a wait with a bound, not a timing assertion). */
async function nextChange(files: string[], act: () => Promise<void>): Promise<void> {
  let stop = () => {};
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no change seen within 10 s')), 10_000);
      stop = watchFiles(files, { debounceMs: 20, onChange: () => (clearTimeout(t), resolve()), onError: (err) => reject(err) });
      void act().catch(reject);
    });
  } finally {
    stop();
  }
}

test('a file replaced by a rename (editors, junction user, certbot) is seen', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'file-watch-'));
  try {
    const file = path.join(dir, 'users.json');
    await writeFile(file, '{}');
    await nextChange([file], async () => {
      await writeFile(path.join(dir, 'users.json.tmp'), '{"users":{}}');
      await rename(path.join(dir, 'users.json.tmp'), file);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a Kubernetes secret volume's ..data swap is seen, though the file's own name never changes", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'file-watch-'));
  try {
    await mkdir(path.join(dir, '..2026_12_07_v1'));
    await writeFile(path.join(dir, '..2026_12_07_v1', 'users.json'), '{}');
    const file = path.join(dir, 'users.json');
    await nextChange([file], async () => {
      await mkdir(path.join(dir, '..2026_12_07_v2'));
      await writeFile(path.join(dir, '..2026_12_07_v2', 'users.json'), '{"users":{}}');
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a directory that cannot be watched is reported, not thrown', () => {
  const errors: string[] = [];
  const stop = watchFiles(['/nonexistent-dir-for-file-watch/users.json'], { debounceMs: 20, onChange: () => {}, onError: (_err, dir) => errors.push(dir) });
  stop();
  assert.deepEqual(errors, ['/nonexistent-dir-for-file-watch']);
});
