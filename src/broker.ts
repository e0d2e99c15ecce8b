import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from './log.ts';
import { parseConfig } from './config/load-config.ts';
import type { JunctionConfig, JunctionConfigInput } from './config/schema.ts';
import { Core } from './core/core.ts';
import { isJunctionError, JunctionError } from './errors.ts';
import { createLogger } from './log.ts';
import { AmqpProtocol } from './protocols/amqp/amqp-protocol.ts';
import { MqttProtocol } from './protocols/mqtt/mqtt-protocol.ts';
import { StompProtocol } from './protocols/stomp/stomp-protocol.ts';
import { RouteManager } from './routing/route-manager.ts';
import { RoutesDirectory } from './routing/routes-directory.ts';
import { DataDirLock } from './store/data-dir-lock.ts';
import { MemoryStore } from './store/memory-store.ts';
import { RouteRegistry } from './store/route-registry.ts';
import { JournalStore, type SyncPolicy } from './store/journal/journal-store.ts';
import type { Store } from './core/ports/store.ts';
import type { Authenticator } from './core/ports/security.ts';
import { OPEN_ACCESS } from './security/open-access.ts';
import { FileSecurityManager } from './security/file-security-manager.ts';
import { checkSafeDefaults } from './security/safe-defaults.ts';
import type { SecurityManager } from './security/security-manager.ts';
import { Listeners } from './transport/listeners.ts';
import type { ProtocolAdapter } from './transport/protocol-adapter.ts';
import { createTransportGuards } from './transport/transport-guards.ts';
import { TlsContext } from './transport/tls-context.ts';
import { TLS_LISTENERS } from './transport/tls-config.ts';
import { createConnectionDirectory } from './transport/connection-directory.ts';
import type { ManagementContext } from './management/context.ts';
import { startManagementServer } from './management/http/server.ts';

export const VERSION = '0.1.0';

/** Ports the broker listens on (as bound: port 0 in the config becomes the port chosen). */
export interface BoundPorts {
  stomp?: number;
  amqp?: number;
  mqtt?: number;
  ws?: number;
  /** The TLS listeners (`tls.ports`), bound only when `tls.cert` and `tls.key` are set. */
  stompSsl?: number;
  mqttSsl?: number;
  amqps?: number;
  wss?: number;
  /** The management server (console, REST API, /metrics): HTTP on `ports.http`, HTTPS on `tls.ports.https` (with TLS). */
  http?: number;
  https?: number;
}

/**
 * The protocol adapters, in the order their listeners bind (and, reversed, close): STOMP, MQTT, AMQP.
 * A new protocol is one more entry (and its name, port and first bytes in src/transport).
 */
const PROTOCOLS: ReadonlyArray<(core: Core, config: JunctionConfig, log: Logger, auth: Authenticator) => ProtocolAdapter | Promise<ProtocolAdapter>> = [
  (core, config, log, auth) => new StompProtocol(core, { ...config.stomp, serverName: `Junction/${VERSION}` }, log, auth),
  (core, config, log, auth) => MqttProtocol.create(core, config.mqtt, log, auth),
  (core, config, log, auth) => new AmqpProtocol(core, { ...config.amqp, serverName: `Junction/${VERSION}` }, log, auth),
];

export interface BrokerOptions {
  /** Persistence; default: from `config.store`. Pass the same store again to recover its state. */
  store?: Store;
  /** Logger; default: pino to stdout at `config.logLevel`. */
  logger?: Logger;
  /**
   * Security implementation (LDAP, an external hook): logs clients in and decides permissions in
   * place of the users file (`security.usersFile` is then not read). The broker closes it on close.
   */
  securityManager?: SecurityManager;
}

function createStore(config: JunctionConfig, log: Logger): Store {
  if (config.store.type === 'memory') return new MemoryStore();
  return new JournalStore({
    dir: path.join(config.dataDir, 'journal'),
    log: log.child({ component: 'journal' }),
    segmentSize: config.store.segmentSize,
    sync: parseSync(config.store.sync),
    compactThreshold: config.store.compactThreshold,
    skipCorrupt: config.store.recoverSkipCorrupt,
  });
}

function parseSync(s: string): SyncPolicy {
  if (s === 'always' || s === 'never') return { mode: s };
  return { mode: 'interval', ms: Number(s.slice('interval:'.length)) };
}

/** A running broker. */
export interface Broker {
  readonly config: JunctionConfig;
  readonly core: Core;
  /** The store the broker persists to (a `JournalStore` by default; its `statistics()` shows writes and syncs). */
  readonly store: Store;
  readonly ports: BoundPorts;
  readonly log: Logger;
  /** The integration routes: deploy, undeploy, suspend, resume, list, stats (see docs/routes.md). */
  readonly routes: RouteManager;
  /** The security manager clients log in through and the core checks permissions with; undefined while security is off. */
  readonly security: SecurityManager | undefined;
  /**
   * Reloads what can change without a restart (the users file; certificates), as SIGHUP does for
   * `junction start`. Each part reloads on its own; one that cannot keeps what it had, logs why,
   * and makes this reject (after the others have reloaded).
   */
  reload(): Promise<void>;
  /** Stops listening, closes every connection and the store. */
  close(): Promise<void>;
}

/**
 * Starts a broker in this process (ActiveMQ's embedded mode) with the same config schema as
 * `junction start`. Resolves once every listener is bound and the store is recovered.
 */
export async function createBroker(input: JunctionConfigInput | JunctionConfig = {}, opts: BrokerOptions = {}): Promise<Broker> {
  const config = parseConfig(input);
  checkSafeDefaults(config.host, config.security, opts.securityManager !== undefined || config.security.usersFile !== undefined);
  const log = opts.logger ?? createLogger(config.logLevel, { format: config.logFormat });
  await prepareDataDir(config.dataDir);
  // One broker per data dir (ActiveMQ's KahaDB lock), with either store: the route registry and
  // ports.json live there too. Taken before the store opens, released after it closes.
  const lock = await DataDirLock.acquire(config.dataDir);
  try {
    return await start(config, log, opts.store ?? createStore(config, log), lock, opts.securityManager);
  } catch (err) {
    await lock.release();
    throw dataDirError(config.dataDir, err);
  }
}

/**
 * A file system error on a path inside the data dir (a journal left owned by root by a `sudo`
 * start, a file where the journal directory goes) means the data dir cannot be used: said as such,
 * in one line (ERR_STORE_DIR_UNUSABLE), the system error kept as the cause. Anything else as it is.
 */
function dataDirError(dataDir: string, err: unknown): unknown {
  const e = err as NodeJS.ErrnoException;
  if (isJunctionError(err) || typeof e?.syscall !== 'string' || typeof e.path !== 'string') return err;
  const rel = path.relative(path.resolve(dataDir), path.resolve(e.path));
  if (rel.startsWith('..') || path.isAbsolute(rel)) return err;
  return new JunctionError('ERR_STORE_DIR_UNUSABLE', `data dir ${dataDir} cannot be used: ${e.message}`, { cause: err });
}

/** Creates the data dir, or says in one line why it cannot be used (a file in the way, no permission). */
async function prepareDataDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EEXIST' || e.code === 'ENOTDIR' ? 'it (or a parent) is a file, not a directory' : e.message;
    throw new JunctionError('ERR_STORE_DIR_UNUSABLE', `data dir ${dir} cannot be used: ${why}`, { cause: err });
  }
}

/** The users file's manager when `security.usersFile` is set; undefined: security off. */
async function openSecurity(config: JunctionConfig, log: Logger): Promise<SecurityManager | undefined> {
  const { usersFile } = config.security;
  return usersFile === undefined ? undefined : FileSecurityManager.open({ ...config.security, usersFile }, log);
}

async function start(config: JunctionConfig, log: Logger, store: Store, lock: DataDirLock, given: SecurityManager | undefined): Promise<Broker> {
  const startedAt = Date.now();
  // Security first: a bad users file stops the start before anything listens.
  const security = given ?? (await openSecurity(config, log));
  // What `reload()` (and SIGHUP) reloads, in order; each part that can change at run time adds itself.
  const reloaders: Array<() => Promise<void>> = [];
  if (security) reloaders.push(() => security.reload());
  let core: Core;
  try {
    core = await Core.open({
      store,
      log: log.child({ component: 'core' }),
      brokerName: config.name,
      addressSettings: config.addressSettings,
      queues: config.queues,
      topics: config.topics,
      expiryScanPeriod: config.expiryScanPeriod,
      maxScheduledDelay: config.scheduler.maxScheduledDelay,
      selectorLimits: config.selectors,
      retainedLimits: { maxMessages: config.mqtt.maxRetainedMessages, maxBytes: config.mqtt.maxRetainedBytes },
      globalMaxSizeBytes: config.globalMaxSizeBytes,
      transactionLimits: { maxBytes: config.transactions.maxBytes, maxPerOwner: config.transactions.maxPerConnection },
      resourceLimits: config.core,
      authorizer: security,
    });
  } catch (err) {
    await security?.close();
    throw err;
  }
  const closers: Array<() => Promise<void>> = [];
  if (security) closers.push(async () => security.close());
  const ports: BoundPorts = {};
  // Handed on to the management server: it shares the connection limits and the TLS material.
  let guards: ReturnType<typeof createTransportGuards>;
  let tls: TlsContext | undefined;
  let listeners: Listeners;
  try {
    // One set of connection limits over every listener.
    guards = createTransportGuards(config.connections, log);
    closers.push(async () => {
      guards.gate.close();
      guards.wrongProtocolLog.close();
    });
    // TLS listeners only with a certificate and key; a file that does not load refuses the start.
    tls = config.tls.cert !== undefined ? await TlsContext.open(config.tls, log.child({ component: 'tls' })) : undefined;
    if (tls) {
      const context = tls;
      closers.push(async () => context.close());
      reloaders.push(async () => {
        // The context has logged why; the listeners keep the certificate they have.
        if (!(await context.reload())) throw new JunctionError('ERR_TRANSPORT_TLS_CONFIG', 'TLS reload failed: the listeners keep their certificate (the log says why)');
      });
    }
    listeners = new Listeners(guards);
    const bound = listeners;
    closers.push(() => bound.close());
    // Each adapter made, registered and bound in turn (then its TLS listener); the WebSocket ports then carry them all.
    // Security off: every login is open (OPEN_ACCESS) and the core has no authorizer.
    const auth: Authenticator = security ?? OPEN_ACCESS;
    for (const make of PROTOCOLS) {
      const adapter = await make(core, config, log, auth);
      ports[adapter.name] = await listeners.listen(adapter, config.ports[adapter.name], config.host);
      if (tls) ports[TLS_LISTENERS[adapter.name]] = await listeners.listenTls(adapter, TLS_LISTENERS[adapter.name], tls, config.tls.ports[adapter.name], config.host);
    }
    ports.ws = await listeners.listenWs(config.ports.ws, config.host);
    if (tls) ports.wss = await listeners.listenWss(tls, config.tls.ports.ws, config.host);
  } catch (err) {
    for (const close of closers.reverse()) await close();
    await core.close();
    throw err;
  }
  // Routes start once the listeners are up (their remote endpoints may point at this broker) and stop first.
  const routeLog = log.child({ component: 'routes' });
  let routes: RouteManager;
  try {
    // Security on: each route runs as its runAs user (else security.routes.defaultUser), checked like a client.
    const { defaultUser } = config.security.routes;
    const runAs = (user: string | undefined) => {
      const name = user ?? defaultUser;
      return name === undefined ? undefined : security?.identity(name);
    };
    routes = new RouteManager(core, routeLog, await RouteRegistry.open(config.dataDir), security ? runAs : undefined);
    closers.push(() => routes.close());
    await routes.restore();
    const dir = new RoutesDirectory(config.routesDir, routes, routeLog);
    routes.attachDirectory(dir);
    // Route test cases (management API) run on a core of their own with the memory store, never on this one's addresses.
    routes.attachSandbox(async () => {
      const sandbox = await Core.open({ store: new MemoryStore(), log: routeLog.child({ sandbox: true }), brokerName: `${config.name}-route-test`, globalMaxSizeBytes: 64 * 1024 * 1024 });
      return { core: sandbox, close: () => sandbox.close() };
    });
    await dir.start();
  } catch (err) {
    for (const close of closers.reverse()) await close();
    await core.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  const reload = async () => {
    const errors: unknown[] = [];
    for (const reload of reloaders) {
      try {
        await reload();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} parts could not reload`);
  };
  // The management plane starts last, once everything it reports on is up, and closes first.
  if (config.http.enabled) {
    const ctx: ManagementContext = {
      version: VERSION,
      startedAt,
      config,
      core,
      routes,
      connections: createConnectionDirectory(listeners.adapters, log.child({ component: 'connections' })),
      security,
      journalStats: () => (store instanceof JournalStore ? store.statistics() : undefined),
      ports: () => ({ ...ports }),
      readiness: () => (closing ? ['broker is shutting down'] : []),
      reload,
      log,
    };
    try {
      const server = await startManagementServer({ ctx, guards, tls });
      closers.push(() => server.close());
      Object.assign(ports, server.ports);
    } catch (err) {
      for (const close of closers.reverse()) await close();
      await core.close();
      throw err;
    }
  }
  // The ports file is complete before the log says the broker started, so a watcher can read it then.
  await writeFile(path.join(config.dataDir, 'ports.json'), JSON.stringify({ host: config.host, ...ports }, null, 2) + '\n');
  log.info({ host: config.host, ports, store: store.kind, dataDir: path.resolve(config.dataDir), security: security ? 'on' : 'off' }, 'broker started');

  return {
    config,
    core,
    store,
    ports,
    log,
    routes,
    security,
    reload,
    close() {
      closing ??= (async () => {
        for (const close of closers.reverse()) await close();
        await core.close();
        await lock.release();
        log.info('broker stopped');
      })();
      return closing;
    },
  };
}
