import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.ts';
import type { UsersChange } from './audit-log.ts';
import { loadUsersFile, type UserEntry, type UsersTable } from './users-file.ts';

/** Quiet time after the last change event before the file is read (an editor writes in several steps). */
export const RELOAD_DEBOUNCE_MS = 200;

/**
 * Keeps the users file loaded: read at start (a bad file stops the start), read again when it
 * changes and on `reload()` (SIGHUP, `Broker.reload()`). A new file that cannot be read or does
 * not validate keeps the users loaded before and logs why, as Mosquitto does on a bad reload.
 *
 * The directory is watched, not the file: `junction user` and most editors replace the file by a
 * rename, after which a watch on the old file would hear nothing more.
 */
export class UsersWatcher {
  private current: UsersTable;
  private readonly file: string;
  private readonly log: Logger;
  private readonly onChange: (table: UsersTable, change: UsersChange) => void;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The reload in progress, so overlapping triggers read the file once more, not in parallel. */
  private reloading: Promise<void> | undefined;
  private closed = false;

  private constructor(file: string, table: UsersTable, log: Logger, onChange: (table: UsersTable, change: UsersChange) => void) {
    this.file = file;
    this.current = table;
    this.log = log;
    this.onChange = onChange;
  }

  /** Loads the file (throws ERR_CONFIG_INVALID when it is bad) and starts watching it. */
  static async open(file: string, log: Logger, onChange: (table: UsersTable, change: UsersChange) => void): Promise<UsersWatcher> {
    const table = await loadUsersFile(file);
    const w = new UsersWatcher(file, table, log, onChange);
    onChange(table, diffUsers(file, new Map(), table.users));
    w.watch();
    return w;
  }

  get table(): UsersTable {
    return this.current;
  }

  /** Reads the file again; rejects (after logging) when it is bad, keeping the users loaded before. */
  async reload(): Promise<void> {
    while (this.reloading) await this.reloading.catch(() => {});
    this.reloading = this.load();
    try {
      await this.reloading;
    } finally {
      this.reloading = undefined;
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.watcher?.close();
  }

  private async load(): Promise<void> {
    let table: UsersTable;
    try {
      table = await loadUsersFile(this.file);
    } catch (err) {
      this.log.warn({ file: this.file, err }, 'users file not reloaded: keeping the users loaded before');
      throw err;
    }
    if (this.closed) return;
    const change = diffUsers(this.file, this.current.users, table.users);
    this.current = table;
    this.onChange(table, change);
  }

  private watch(): void {
    const dir = path.dirname(path.resolve(this.file));
    const base = path.basename(this.file);
    try {
      this.watcher = watch(dir, { persistent: false }, (_event, name) => {
        if (name !== null && name !== base) return;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.reload().catch(() => {}), RELOAD_DEBOUNCE_MS);
        this.timer.unref();
      });
      this.watcher.on('error', (err) => this.log.warn({ file: this.file, err }, 'users file watch failed: changes are loaded on SIGHUP only'));
    } catch (err) {
      this.log.warn({ file: this.file, err }, 'cannot watch the users file: changes are loaded on SIGHUP only');
    }
  }
}

/** Users added, removed and changed (password, roles or certificates) between two loads. */
export function diffUsers(file: string, before: ReadonlyMap<string, UserEntry>, after: ReadonlyMap<string, UserEntry>): UsersChange {
  const added: string[] = [];
  const changed: string[] = [];
  for (const [name, u] of after) {
    const old = before.get(name);
    if (!old) added.push(name);
    else if (JSON.stringify(old) !== JSON.stringify(u)) changed.push(name);
  }
  const removed = [...before.keys()].filter((n) => !after.has(n));
  return { file, added, removed, changed };
}
