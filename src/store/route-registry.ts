import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { JSONFilePreset } from 'lowdb/node';
import type { Low } from 'lowdb';
import type { RegisteredRoute, RouteRecords } from '../routing/ports/route-records.ts';

interface RegistryData {
  routes: RegisteredRoute[];
  idempotent: Record<string, string[]>;
}

/**
 * The routes registry, `<dataDir>/routes.json` (lowdb): programmatic deploys and the keys of
 * persisted idempotent consumers. Writes are serialised; each resolves once the file is written.
 */
export class RouteRegistry implements RouteRecords {
  private readonly db: Low<RegistryData>;
  private writing: Promise<void> = Promise.resolve();

  private constructor(db: Low<RegistryData>) {
    this.db = db;
  }

  static async open(dataDir: string): Promise<RouteRegistry> {
    await mkdir(dataDir, { recursive: true });
    const db = await JSONFilePreset<RegistryData>(path.join(dataDir, 'routes.json'), { routes: [], idempotent: {} });
    db.data.routes ??= [];
    db.data.idempotent ??= {};
    return new RouteRegistry(db);
  }

  list(): RegisteredRoute[] {
    return this.db.data.routes.map((r) => ({ ...r }));
  }

  put(route: RegisteredRoute): Promise<void> {
    const routes = this.db.data.routes.filter((r) => r.id !== route.id);
    routes.push(route);
    this.db.data.routes = routes;
    return this.write();
  }

  setSuspended(id: string, suspended: boolean): Promise<void> {
    const r = this.db.data.routes.find((x) => x.id === id);
    if (!r || r.suspended === suspended) return Promise.resolve();
    r.suspended = suspended;
    return this.write();
  }

  remove(id: string): Promise<void> {
    const before = this.db.data.routes.length;
    this.db.data.routes = this.db.data.routes.filter((r) => r.id !== id);
    return before === this.db.data.routes.length ? Promise.resolve() : this.write();
  }

  /** Keys of a persisted idempotent consumer (oldest first). */
  idempotentKeys(name: string): string[] {
    return [...(this.db.data.idempotent[name] ?? [])];
  }

  setIdempotentKeys(name: string, keys: string[]): Promise<void> {
    this.db.data.idempotent[name] = keys;
    return this.write();
  }

  /** Resolves once every write asked for so far is done (broker shutdown). */
  flush(): Promise<void> {
    return this.writing;
  }

  private write(): Promise<void> {
    const next = this.writing.then(() => this.db.write());
    this.writing = next.catch(() => {}); // the caller of this write gets the error; later writes still run
    return next;
  }
}
