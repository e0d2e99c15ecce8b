import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { RouteDefinition } from './definition.ts';
import { isRouteFile, loadRouteFile } from './route-file.ts';
import type { RouteManager } from './route-manager.ts';
import type { Log } from '../core/ports/log.ts';

/** A route file that failed to load or deploy. */
export interface RouteFileProblem {
  file: string;
  error: string;
  at: string;
}

/** Settle time for a file being written before it is read. */
const DEBOUNCE_MS = 100;

/**
 * The routes directory: every route file is deployed at start, and the directory is watched: a
 * new file deploys, a change redeploys (the old version keeps running if the new one is invalid),
 * a deleted file undeploys its routes. A bad file is reported (log and `problems()`) and leaves
 * every other route running.
 */
export class RoutesDirectory {
  readonly dir: string;
  private readonly manager: RouteManager;
  private readonly log: Log;
  /** File -> the route ids it deployed. */
  private readonly files = new Map<string, string[]>();
  private readonly problemList = new Map<string, RouteFileProblem>();
  /** Files waiting for a route id another file still owns (a route moved, a file renamed). */
  private readonly waiting = new Map<string, string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** File events handed to the queue and not yet handled. */
  private queued = 0;
  /**
   * Route ids whose file went (or no longer has them), undeployed with their durable
   * subscription kept until the events seen so far are handled: a rename's other half deploys
   * them again with what waited there; otherwise it is removed then.
   */
  private readonly orphans = new Set<string>();
  private watcher: FSWatcher | undefined;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  /** Resolves at close: a file still loading (a first type check takes seconds) is not waited for. */
  private readonly closing: Promise<undefined>;
  private signalClose!: () => void;
  private readonly load: (file: string) => Promise<RouteDefinition[]>;

  constructor(dir: string, manager: RouteManager, log: Log, load: (file: string) => Promise<RouteDefinition[]> = loadRouteFile) {
    this.dir = path.resolve(dir);
    this.manager = manager;
    this.log = log;
    this.load = load;
    this.closing = new Promise<undefined>((resolve) => {
      this.signalClose = () => resolve(undefined);
    });
  }

  /** Deploys what is there and starts watching. A missing directory is watched for nothing (logged). */
  async start(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      this.log.info({ routesDir: this.dir }, 'no routes directory; file deployment off');
      return;
    }
    for (const n of names.filter(isRouteFile).sort()) await this.sync(path.join(this.dir, n));
    this.watcher = watch(this.dir, (_event, name) => {
      if (name && isRouteFile(name.toString())) this.changed(path.join(this.dir, name.toString()));
    });
    this.watcher.on('error', (err) => this.log.error({ err, routesDir: this.dir }, 'routes directory watch failed'));
    this.log.info({ routesDir: this.dir, files: this.files.size, problems: this.problemList.size }, 'routes directory deployed');
  }

  problems(): RouteFileProblem[] {
    return [...this.problemList.values()];
  }

  /** Resolves once every file event seen so far has been handled (tests, route CLI). */
  idle(): Promise<void> {
    return this.queue;
  }

  private changed(file: string): void {
    clearTimeout(this.timers.get(file));
    this.timers.set(
      file,
      setTimeout(() => {
        this.timers.delete(file);
        this.queued++;
        this.queue = this.queue.then(async () => {
          await this.sync(file);
          this.queued--;
          await this.dropOrphans();
        });
      }, DEBOUNCE_MS),
    );
  }

  /** Brings the deployed routes in line with the file: deploy, redeploy or undeploy. */
  private async sync(file: string): Promise<void> {
    if (this.closed) return;
    const exists = await stat(file).then(() => true, () => false);
    const before = this.files.get(file) ?? [];
    this.waiting.delete(file);
    if (!exists) {
      this.problemList.delete(file);
      for (const id of before) await this.undeploy(id, file);
      this.files.delete(file);
      await this.released(before);
      return;
    }
    let defs: RouteDefinition[] | undefined;
    try {
      const loading = this.load(file);
      loading.catch(() => undefined /* after a close nobody waits for it; before, the race below reports it */);
      defs = await Promise.race([loading, this.closing]);
    } catch (err) {
      if (!this.closed) this.problem(file, (err as Error).message);
      return;
    }
    // Closed while it loaded: nothing more is deployed.
    if (defs === undefined || this.closed) return;
    const owner = defs.map((d) => [d.id, this.ownerOf(d.id)] as const).find(([, f]) => f !== undefined && f !== file);
    if (owner) {
      // Deployed once the owner lets the id go (see `released`), whichever file event comes first.
      this.waiting.set(file, owner[0]);
      this.problem(file, `${file}: route id '${owner[0]}' is already deployed from ${owner[1]}`);
      return;
    }
    const deployed: string[] = [];
    let failed: string | undefined;
    for (const def of defs) {
      try {
        await this.manager.deploy(def, { origin: file });
        deployed.push(def.id);
      } catch (err) {
        failed ??= `${file}: ${(err as Error).message}`;
        if (before.includes(def.id)) deployed.push(def.id); // the previous version is still running
      }
    }
    const dropped = before.filter((id) => !defs.some((d) => d.id === id));
    for (const id of dropped) await this.undeploy(id, file);
    this.files.set(file, deployed);
    if (failed) this.problem(file, failed);
    else this.problemList.delete(file);
    await this.released(dropped);
  }

  /** Route ids a file no longer has: files that were waiting for one of them are synced again. */
  private async released(ids: string[]): Promise<void> {
    for (const [file, id] of [...this.waiting]) if (ids.includes(id)) await this.sync(file);
  }

  private ownerOf(id: string): string | undefined {
    for (const [f, ids] of this.files) if (ids.includes(id)) return f;
    return undefined;
  }

  private async undeploy(id: string, file: string): Promise<void> {
    try {
      await this.manager.undeploy(id, { keepState: true });
      this.orphans.add(id);
    } catch (err) {
      this.log.warn({ err, route: id, file }, 'undeploy of a removed route failed');
    }
  }

  /** Once no file event is pending: the orphans no file took back lose their durable subscription. */
  private async dropOrphans(): Promise<void> {
    if (this.queued > 0 || this.timers.size > 0 || this.closed) return;
    const ids = [...this.orphans];
    this.orphans.clear();
    for (const id of ids) {
      await this.manager.forgetState(id).catch((err: unknown) => this.log.warn({ err, route: id }, 'removing the durable subscription of a removed route failed'));
    }
  }

  private problem(file: string, error: string): void {
    this.problemList.set(file, { file, error, at: new Date().toISOString() });
    this.log.error({ file, error }, 'route file not deployed');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.signalClose();
    this.watcher?.close();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.queue;
  }
}
