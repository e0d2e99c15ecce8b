import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

/** What {@link watchFiles} is told to do on a change and on a watch it cannot keep. */
export interface FileWatchOptions {
  /** Quiet time after the last change event before `onChange` (an editor or `certbot` writes in steps). */
  readonly debounceMs: number;
  /** Called once the files changed and things went quiet. */
  onChange(): void;
  /** A directory could not be watched, or its watch failed: changes there need an explicit reload (SIGHUP). */
  onError(err: unknown, dir: string): void;
}

/**
 * Watches `files` for replacement, the way they are replaced in practice: the directories are
 * watched, not the files, because `junction user`, editors and `certbot` replace a file by a rename,
 * after which a watch on the old file hears nothing more; and an event on a `..`-name counts too,
 * because a Kubernetes secret volume's files are symlinks through `..data`, which the kubelet swaps
 * (a rename of `..data_tmp`) without touching the files' own names. Used by the users file and the
 * TLS files. Returns the call that stops watching.
 */
export function watchFiles(files: readonly string[], opts: FileWatchOptions): () => void {
  const byDir = new Map<string, Set<string>>();
  for (const f of files) {
    const abs = path.resolve(f);
    const names = byDir.get(path.dirname(abs)) ?? new Set<string>();
    names.add(path.basename(abs));
    byDir.set(path.dirname(abs), names);
  }
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  for (const [dir, names] of byDir) {
    try {
      const w = watch(dir, { persistent: false }, (_event, filename) => {
        const name = filename?.toString();
        if (name !== undefined && !names.has(name) && !name.startsWith('..')) return;
        clearTimeout(timer);
        timer = setTimeout(() => opts.onChange(), opts.debounceMs).unref();
      });
      w.on('error', (err) => opts.onError(err, dir));
      watchers.push(w);
    } catch (err) {
      opts.onError(err, dir);
    }
  }
  return () => {
    clearTimeout(timer);
    for (const w of watchers) w.close();
    watchers.length = 0;
  };
}
