import { STEP_SECONDS_BUCKETS, type RouteGraphModel, type StepStats } from './route-telemetry.ts';
import type { Core } from '../core/core.ts';
import { JunctionError } from '../errors.ts';
import type { Origin } from '../core/reserved.ts';
import type { RouteRecords } from './ports/route-records.ts';
import type { RouteIdentityResolver } from './ports/route-identity.ts';
import { isSerializable, RouteDefinitionError, validateDefinition, type RouteDefinition } from './definition.ts';
import { ROUTE_ORIGIN } from './endpoints/core-endpoint.ts';
import { Expressions } from './expression.ts';
import { routeGraph } from './route-graph.ts';
import { DEAD_LETTER_NODE, routeGraphModel } from './route-graph-model.ts';
import { routeIssues, type RouteIssue } from './route-issues.ts';
import { loadRouteSource } from './route-source.ts';
import { runSandboxCases, type CaseResult, type RouteTestCase } from './route-test-runner.ts';
import { redactSecrets, redactUri } from './endpoints/endpoint-uri.ts';
import { Route, type RouteStats } from './route.ts';
import type { RouteState } from './route-machine.ts';
import type { RouteFileProblem } from './routes-directory.ts';
import type { Log } from '../core/ports/log.ts';
import type { IdempotentRepository } from './types.ts';

/** What `list()` shows of a route (ready for the REST management API). */
export interface RouteInfo {
  id: string;
  version: number;
  state: RouteState;
  from: string;
  /** `api` or the file it was deployed from. */
  origin: string;
  error?: string;
  stats: RouteStats;
  definition?: RouteDefinition;
}

export interface DeployOptions {
  /** Where the definition came from: `api` (recorded in the registry) or a file path. */
  origin?: string;
}

/** A core of its own for route test cases (memory store, nothing else on it), made by the composition root. */
export type RouteSandbox = () => Promise<{ core: Core; close(): Promise<void> }>;

/** Test cases one request may run, and the longest a case may wait for its outputs (ms). */
export const MAX_TEST_CASES = 20;
export const MAX_TEST_TIMEOUT = 30_000;

/** Something that can give a definition: a JSON object or the TypeScript builder. */
export type Deployable = unknown | { build(): unknown };

function definitionOf(d: Deployable): unknown {
  if (d !== null && typeof d === 'object' && typeof (d as { build?: unknown }).build === 'function') return (d as { build(): unknown }).build();
  return d;
}

/**
 * The broker's routes (`broker.routes`): deploy, undeploy, suspend, resume, list, stats.
 * Deploys are versioned and transactional: a new version is compiled (validated) before the old
 * one is touched, and if it does not start the old version is started again.
 */
export class RouteManager {
  /** json-logic custom operations of this broker: `broker.routes.expressions.addOperation(name, fn)`. */
  readonly expressions = new Expressions();
  private readonly core: Core;
  private readonly log: Log;
  private readonly registry: RouteRecords | undefined;
  /** Security on: who each route runs as. Undefined: security off, every route acts as {@link ROUTE_ORIGIN}. */
  private readonly identities: RouteIdentityResolver | undefined;
  private readonly routes = new Map<string, Route>();
  private readonly versions = new Map<string, number>();
  /** Persisted idempotent repositories by name (route:step), shared by the versions of a route. */
  private readonly repositories = new Map<string, { window: number; repo: IdempotentRepository }>();
  /** Routes undeployed with their durable subscription kept, by id. */
  private readonly detached = new Map<string, Route>();
  /** One deploy/undeploy at a time per route id. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private closed = false;
  private sandbox: RouteSandbox | undefined;
  /** The test run in progress (one at a time: each case is a core of its own); close() aborts it and waits for its sandbox to close. */
  private testRun: { abort: AbortController; done: Promise<unknown> } | undefined;
  /** Graph models by deployed version (the definition does not change while it runs). */
  private readonly models = new WeakMap<Route, RouteGraphModel>();
  private directory: { problems(): RouteFileProblem[]; idle(): Promise<void>; close(): Promise<void> } | undefined;

  constructor(core: Core, log: Log, registry?: RouteRecords, identities?: RouteIdentityResolver) {
    this.core = core;
    this.log = log;
    this.registry = registry;
    this.identities = identities;
  }

  /** The routes directory whose files this manager deploys (the broker attaches it at start). */
  attachDirectory(dir: { problems(): RouteFileProblem[]; idle(): Promise<void>; close(): Promise<void> }): void {
    this.directory = dir;
  }

  /** What route test cases run on (the broker attaches it at start): never the live core, whose addresses carry real traffic. */
  attachSandbox(make: RouteSandbox): void {
    this.sandbox = make;
  }

  /** Route files that are not deployed (invalid, or failed to start), with the error. */
  problems(): RouteFileProblem[] {
    return this.directory?.problems() ?? [];
  }

  /** Resolves once the routes directory has handled every change seen so far. */
  async idle(): Promise<void> {
    await this.directory?.idle();
  }

  /** Starts the routes recorded in the registry (programmatic deploys of an earlier run). */
  async restore(): Promise<void> {
    if (!this.registry) return;
    for (const r of this.registry.list()) {
      try {
        await this.deployNow(validateDefinition(r.definition), 'api', r.version, r.suspended);
      } catch (err) {
        this.log.error({ err, route: r.id }, 'recorded route failed to deploy');
      }
    }
  }

  /**
   * Validates and compiles a definition as `deploy` would, without starting it (expressions,
   * endpoints and JSON Schemas included). Remote producers are not connected.
   */
  check(d: Deployable): RouteDefinition {
    const def = validateDefinition(definitionOf(d));
    Route.check(def, { expressions: this.expressions, log: this.log });
    return def;
  }

  /**
   * Dry run of a deploy: validates and compiles the definition (expressions, endpoints, JSON
   * Schemas) and resolves who it would run as, deploying nothing. Returns its issues (none: it
   * would deploy; starting may still fail, e.g. a remote endpoint down).
   */
  validate(d: Deployable): RouteIssue[] {
    try {
      this.identityOf(this.check(d));
      return [];
    } catch (err) {
      if (err instanceof JunctionError && err.code === 'ERR_ROUTE_INVALID') return routeIssues(err);
      throw err;
    }
  }

  /** A route from TypeScript source (the API's `{source, language: 'ts'}`), loaded as a route file is: RouteSourceError with its issues. */
  loadSource(source: string): Promise<RouteDefinition> {
    return loadRouteSource(source);
  }

  /** Validates, compiles and starts a route; replaces the running version of the same id. */
  deploy(d: Deployable, opts: DeployOptions = {}): Promise<RouteInfo> {
    let def: RouteDefinition;
    try {
      def = validateDefinition(definitionOf(d));
    } catch (err) {
      return Promise.reject(err); // a rejection like every other failure, never a throw at the call
    }
    return this.locked(def.id, () => this.deployNow(def, opts.origin ?? 'api'));
  }

  private async deployNow(def: RouteDefinition, origin: string, version?: number, suspended = !def.autoStart): Promise<RouteInfo> {
    this.assertOpen();
    const old = this.routes.get(def.id);
    const v = version ?? (this.versions.get(def.id) ?? 0) + 1;
    // Compiling checks everything that can be checked: the old version keeps running if it throws.
    const next = new Route(def, v, origin, this.services(def.id, this.identityOf(def)));
    if (old) await old.stop();
    try {
      await next.start(suspended);
    } catch (err) {
      await next.stop().catch(() => {}); // failed already; the start error is reported
      if (old) {
        const again = new Route(old.definition, old.version, old.origin, this.services(def.id, old.identity));
        this.routes.set(def.id, again);
        await again.start().catch((e: unknown) => this.log.error({ err: e, route: def.id }, 'previous route version failed to restart'));
      }
      throw err;
    }
    this.routes.set(def.id, next);
    this.versions.set(def.id, v);
    // A topic route's durable subscription keeps collecting while nothing reads it: when the new
    // version reads elsewhere it goes (topic to topic reuses the same name, replaced by the core).
    const previous = old ?? this.detached.get(def.id);
    this.detached.delete(def.id);
    if (previous && previous.definition.from.startsWith('topic:') && !def.from.startsWith('topic:')) {
      await previous.removeState().catch((err: unknown) => this.log.error({ err, route: def.id }, 'removing the previous version\'s durable subscription failed'));
    }
    if (origin === 'api' && this.registry) {
      if (isSerializable(def)) await this.registry.put({ id: def.id, version: v, definition: def, suspended, deployedAt: new Date().toISOString() });
      else this.log.warn({ route: def.id }, 'route has functions: deployed, but not recorded for restart');
    }
    this.log.info({ route: def.id, version: v, origin, replaced: old !== undefined }, 'route deployed');
    return this.info(next);
  }

  /**
   * Stops a route (draining it) and forgets it, with its durable subscription; `keepState`: the
   * subscription stays until {@link forgetState} (a route file renamed is deployed again from
   * the new name, and must find the messages that waited there).
   */
  undeploy(id: string, opts: { keepState?: boolean; drainTimeout?: number } = {}): Promise<void> {
    return this.locked(id, async () => {
      const r = this.get(id);
      await r.stop(opts.drainTimeout);
      if (opts.keepState) this.detached.set(id, r);
      else await r.removeState();
      this.routes.delete(id);
      await this.registry?.remove(id);
      this.log.info({ route: id }, 'route undeployed');
    });
  }

  /** Removes the durable subscription of a route undeployed with `keepState`, unless it was deployed again. */
  forgetState(id: string): Promise<void> {
    return this.locked(id, async () => {
      const r = this.detached.get(id);
      this.detached.delete(id);
      if (r && !this.routes.has(id)) await r.removeState();
    });
  }

  async suspend(id: string): Promise<RouteInfo> {
    const r = this.get(id);
    await r.suspend();
    await this.registry?.setSuspended(id, true);
    return this.info(r);
  }

  async resume(id: string): Promise<RouteInfo> {
    const r = this.get(id);
    await r.resume();
    await this.registry?.setSuspended(id, false);
    return this.info(r);
  }

  /**
   * Stops the route (draining it) and starts its definition again as a new instance: counters from
   * zero, endpoints reconnected, the same version and user. Started, whatever its state was.
   */
  restart(id: string): Promise<RouteInfo> {
    return this.locked(id, async () => {
      this.assertOpen();
      const old = this.get(id);
      await old.stop();
      const next = new Route(old.definition, old.version, old.origin, this.services(id, old.identity));
      this.routes.set(id, next); // shown as failed if it does not start
      await next.start();
      if (old.origin === 'api') await this.registry?.setSuspended(id, false);
      this.log.info({ route: id, version: old.version }, 'route restarted');
      return this.info(next);
    });
  }

  /**
   * Runs test cases against the route's definition, each on a sandbox core of its own (see
   * route-test-runner.ts): the live broker's addresses are never read or written. One run at a time.
   */
  async test(id: string, cases: readonly RouteTestCase[]): Promise<CaseResult[]> {
    const def = this.get(id).definition;
    const sandbox = this.sandbox;
    if (!sandbox) throw new JunctionError('ERR_ROUTE_STATE', 'route tests need a sandbox core, which this broker was not given');
    if (cases.length > MAX_TEST_CASES) throw new JunctionError('ERR_ROUTE_INVALID', `at most ${MAX_TEST_CASES} cases per run`);
    if (this.testRun) throw new JunctionError('ERR_ROUTE_STATE', 'a route test run is in progress; try again when it ends');
    this.assertOpen();
    const abort = new AbortController();
    // Security is not checked there (no live address is touched): the route runs as the route origin.
    const done = runSandboxCases(sandbox, (core) => new RouteManager(core, this.log), def, cases, MAX_TEST_TIMEOUT, abort.signal);
    this.testRun = { abort, done };
    try {
      return await done;
    } finally {
      this.testRun = undefined;
    }
  }

  list(): RouteInfo[] {
    return [...this.routes.values()].map((r) => this.info(r));
  }

  has(id: string): boolean {
    return this.routes.has(id);
  }

  /** One route's info with its definition and its Mermaid graph. */
  describe(id: string): RouteInfo & { graph: string } {
    const r = this.get(id);
    // Remote endpoints' passwords masked (as in every listing); the registry keeps them to reconnect.
    return { ...this.info(r), definition: redactSecrets(r.definition), graph: routeGraph(r.definition) };
  }

  /** The route's steps as a graph for the console (issue 15; see route-telemetry.ts). ERR_ROUTE_NOT_FOUND when no such route. */
  graphModel(id: string): RouteGraphModel {
    return this.modelOf(this.get(id));
  }

  /**
   * Per-node counters of a deployed route, one per `graphModel` node, same ids and order. A node
   * without counters of its own (a multicast branch given as a URI) shows zeros; the route's
   * dead-letter channel node counts the exchanges dead-lettered.
   */
  stepStats(id: string): StepStats[] {
    const r = this.get(id);
    const byId = new Map(r.stepStats().map((s) => [s.id, s]));
    const dead = r.stats().deadLettered;
    return this.modelOf(r).nodes.map((n) => byId.get(n.id) ?? { ...zeroStats(n.id), ...(n.id === DEAD_LETTER_NODE ? { entered: dead, completed: dead } : {}) });
  }

  private modelOf(r: Route): RouteGraphModel {
    let m = this.models.get(r);
    if (!m) this.models.set(r, (m = routeGraphModel(r.definition)));
    return m;
  }

  stats(id: string): RouteStats {
    return this.get(id).stats();
  }

  /** Stops every route (broker shutdown): durable subscriptions and registry entries stay. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.testRun?.abort.abort();
    await this.testRun?.done.catch(() => {});
    await this.directory?.close();
    await Promise.all([...this.locks.values()].map((p) => p.catch(() => {})));
    await Promise.all([...this.routes.values()].map((r) => r.stop().catch((err: unknown) => this.log.error({ err, route: r.id }, 'route stop failed'))));
    this.routes.clear();
    // Idempotent keys are stored as their exchanges complete, without the route waiting: keep them.
    await this.registry?.flush();
    this.expressions.dispose();
  }

  private get(id: string): Route {
    const r = this.routes.get(id);
    if (!r) throw new JunctionError('ERR_ROUTE_NOT_FOUND', `No route ${id}`);
    return r;
  }

  private info(r: Route): RouteInfo {
    const out: RouteInfo = { id: r.id, version: r.version, state: r.state, from: redactUri(r.definition.from), origin: r.origin, stats: r.stats() };
    if (r.error !== undefined) out.error = r.error;
    return out;
  }

  /**
   * Who a route acts as on the broker (issue 14 part 8): with security on, the subject of its `runAs`
   * user (or of `security.routes.defaultUser`), so the core checks its consumer and its sends like a
   * client's; a route nobody can be resolved for is not deployed.
   */
  private identityOf(def: RouteDefinition): Origin {
    if (this.identities === undefined) return ROUTE_ORIGIN;
    const subject = this.identities(def.runAs);
    if (subject === undefined) {
      throw new RouteDefinitionError(
        'runAs',
        def.runAs !== undefined
          ? `route ${def.id} cannot run as '${def.runAs.slice(0, 100)}': no such user (security is on: a route runs as a user whose permissions are checked)`
          : `route ${def.id} has no identity: set its runAs, or security.routes.defaultUser to a known user (security is on: a route runs as a user whose permissions are checked)`,
      );
    }
    return Object.freeze({ component: 'route', subject });
  }

  private services(routeId: string, identity: Origin) {
    return {
      core: this.core,
      identity,
      expressions: this.expressions,
      log: this.log,
      repository: (_route: string, step: string, window: number, persisted: boolean) => this.repository(`${routeId}:${step}`, window, persisted),
    };
  }

  /**
   * An idempotent repository; persisted ones keep their keys in the registry and are one object per
   * name across versions: a redeploy compiles the new version while the old one still runs (and
   * stores keys as its exchanges complete while it drains), so a copy read at compile time would
   * miss those keys, and its first write would drop them from the registry.
   */
  private repository(name: string, window: number, persisted: boolean): IdempotentRepository {
    if (persisted && this.registry) {
      let shared = this.repositories.get(name);
      if (!shared || shared.window !== window) {
        shared = { window, repo: this.newRepository(name, window, persisted) };
        this.repositories.set(name, shared);
      }
      return shared.repo;
    }
    return this.newRepository(name, window, persisted);
  }

  private newRepository(name: string, window: number, persisted: boolean): IdempotentRepository {
    const registry = persisted ? this.registry : undefined;
    const keys = new Set(registry?.idempotentKeys(name) ?? []);
    const save = () => registry?.setIdempotentKeys(name, [...keys]) ?? Promise.resolve();
    return {
      has: (k) => keys.has(k),
      add: (k) => {
        keys.add(k);
        if (keys.size > window) keys.delete(keys.values().next().value!);
        return save();
      },
      remove: (k) => (keys.delete(k) ? save() : Promise.resolve()),
    };
  }

  private locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const run = prev.catch(() => {}).then(fn);
    this.locks.set(id, run);
    void run.finally(() => {
      if (this.locks.get(id) === run) this.locks.delete(id);
    }).catch(() => {}); // the caller handles run's error
    return run;
  }

  private assertOpen(): void {
    if (this.closed) throw new JunctionError('ERR_BROKER_CLOSED');
  }
}

function zeroStats(id: string): StepStats {
  return { id, entered: 0, completed: 0, failed: 0, inFlight: 0, buckets: STEP_SECONDS_BUCKETS.map(() => 0), count: 0, sumSeconds: 0 };
}
