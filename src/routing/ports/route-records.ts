/** A route deployed through the API, as recorded to come back after a restart. */
export interface RegisteredRoute {
  id: string;
  version: number;
  /** The JSON definition (routes with functions cannot be recorded). */
  definition: unknown;
  suspended: boolean;
  deployedAt: string;
}

/**
 * What the route manager keeps across restarts: programmatic deploys and the keys of persisted
 * idempotent consumers. Owned by routing and implemented by the store (`src/store/route-registry.ts`,
 * lowdb), so routing never imports the store. Each write resolves once it is durable.
 */
export interface RouteRecords {
  list(): RegisteredRoute[];
  put(route: RegisteredRoute): Promise<void>;
  setSuspended(id: string, suspended: boolean): Promise<void>;
  remove(id: string): Promise<void>;
  /** Keys of a persisted idempotent consumer (oldest first). */
  idempotentKeys(name: string): string[];
  setIdempotentKeys(name: string, keys: string[]): Promise<void>;
  /** Resolves once every write asked for so far is done (broker shutdown). */
  flush(): Promise<void>;
}
