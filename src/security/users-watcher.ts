import { watchFiles } from '../file-watch.ts';
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
 * The file is watched as file-watch.ts watches: its directory (editors and `junction user` replace
 * it by a rename) and a Kubernetes secret's `..data` swap.
 */
export class UsersWatcher {
  private current: UsersTable;
  private readonly file: string;
  private readonly log: Logger;
  private readonly onChange: (table: UsersTable, change: UsersChange) => void;
  /** Stops the file watch (none until started). */
  private unwatch: () => void = () => {};
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
    this.unwatch();
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
    this.unwatch = watchFiles([this.file], {
      debounceMs: RELOAD_DEBOUNCE_MS,
      onChange: () => void this.reload().catch(() => {}),
      onError: (err) => this.log.warn({ file: this.file, err }, 'cannot watch the users file: changes are loaded on SIGHUP only'),
    });
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
