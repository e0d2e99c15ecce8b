/**
 * Prometheus `GET /metrics` (issue 15; docs/management.md#metrics), with prom-client 15.
 *
 * - The broker's families (metric-families.ts) live on a Registry of this broker's own, never
 *   prom-client's global one: two brokers in one process (tests, the bench, an embedding
 *   application with its own metrics) must not collide or see each other's queues.
 * - Collected at scrape time: one snapshot of the counters the broker already keeps (Core.totals,
 *   queue statistics, connection counts, route and step statistics, journal statistics) is taken,
 *   then formatted by the registry. O(queues + routes); nothing is counted per message for it.
 * - Per-queue series are capped (`http.metrics.maxQueueSeries`, default 500): a label per queue is
 *   one time series per queue in Prometheus, and a broker with 100,000 auto-created queues would
 *   flood it (Prometheus's own guidance: keep a metric's cardinality under ~100s to 1000s). Past the
 *   cap the deepest queues keep their series and the rest are summed under `queue="_other"`.
 * - Process and Node metrics (`process_*`, `nodejs_*`: CPU, memory, event-loop lag, GC, handles)
 *   come from prom-client's `collectDefaultMetrics` under their standard names, which the common
 *   Node.js dashboards expect; they describe the process, so one registry per process serves them.
 */
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';
import type { QueueStats } from '../core/handles.ts';
import type { ManagementContext } from './context.ts';
import { guardedReader } from './guarded-read.ts';
import { MGMT, type ApiApp, type ApiDeps } from './http/api-types.ts';
import { METRIC_FAMILIES, OTHER_QUEUES, type ScrapeSnapshot } from './metric-families.ts';

let processRegistry: Registry | undefined;

/** The process-wide registry of prom-client's default metrics, made on first use (their observers are per process). */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export interface BrokerMetrics {
  /** The broker's own registry (the process metrics are not on it). */
  readonly registry: Registry;
  /** The exposition text of one scrape: the broker's families, then the process's. */
  scrape(): Promise<string>;
  readonly contentType: string;
}

/** The queues with series of their own: all of them, or the `cap` deepest (ties by name, so the set is stable) and the sum of the rest. */
export function capQueues(all: readonly QueueStats[], cap: number): { kept: QueueStats[]; other: QueueStats | undefined; dropped: number } {
  const named = all.filter((q) => q.name !== OTHER_QUEUES);
  if (named.length <= cap && named.length === all.length) return { kept: [...all], other: undefined, dropped: 0 };
  const sorted = [...named].sort((a, b) => b.messages - a.messages || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const kept = sorted.slice(0, cap);
  const rest = sorted.slice(cap).concat(all.filter((q) => q.name === OTHER_QUEUES));
  const other: QueueStats = { name: OTHER_QUEUES, kind: 'anycast', durable: false, messages: 0, paged: 0, inDelivery: 0, scheduled: 0, consumers: 0, enqueued: 0, acked: 0, expired: 0, deadLettered: 0, bytes: 0, paused: false };
  for (const q of rest) {
    other.messages += q.messages;
    other.paged += q.paged;
    other.inDelivery += q.inDelivery;
    other.scheduled += q.scheduled;
    other.consumers += q.consumers;
    other.enqueued += q.enqueued;
    other.acked += q.acked;
    other.expired += q.expired;
    other.deadLettered += q.deadLettered;
    other.bytes += q.bytes;
  }
  return { kept, other, dropped: rest.length };
}


/** Builds the broker's metrics over `ctx` (no HTTP: `registerMetrics` serves them). */
export function createBrokerMetrics(ctx: ManagementContext, opts: { maxQueueSeries?: number } = {}): BrokerMetrics {
  const cap = opts.maxQueueSeries ?? ctx.config.http.metrics.maxQueueSeries;
  const registry = new Registry();
  const guarded = guardedReader(ctx.log, 'metrics: cannot read this part; its series are left out');
  const read = <T>(part: string, f: () => T): T | undefined => guarded(part, f, undefined);

  function snapshot(): ScrapeSnapshot {
    const queues = capQueues(read('queues', () => ctx.core.queueStats()) ?? [], cap);
    const addresses = read('addresses', () => {
      let anycast = 0;
      let multicast = 0;
      for (const a of ctx.core.addressList()) a.routing === 'anycast' ? anycast++ : multicast++;
      return { anycast, multicast };
    });
    const routes = (read('routes', () => ctx.routes.list()) ?? []).map((r) => ({ id: r.id, state: r.state, stats: r.stats, steps: read('steps', () => ctx.routes.stepStats(r.id)) ?? [] }));
    return {
      version: ctx.version,
      totals: read('totals', () => ctx.core.totals()),
      memory: read('memory', () => ctx.core.memory()),
      connections: read('connections', () => ctx.connections.counts()),
      connectionTotals: read('connectionTotals', () => ctx.connections.totals()),
      queues: queues.kept,
      otherQueues: queues.other,
      queuesDropped: queues.dropped,
      addresses,
      routes,
      journal: read('journal', () => ctx.journalStats()),
    };
  }

  // The registry formats each family by calling its get(); every get() of one `metrics()` call runs
  // synchronously at its start, so they all read the one snapshot taken just before.
  let current: ScrapeSnapshot | undefined;
  for (const f of METRIC_FAMILIES) {
    const family = { name: f.name, help: f.help, type: f.type, aggregator: 'sum' as const };
    const collector = { ...family, get: async () => ({ ...family, values: current ? f.values(current) : [] }) };
    registry.registerMetric(collector as unknown as Metric);
  }

  return {
    registry,
    contentType: registry.contentType,
    async scrape() {
      current = snapshot();
      const own = registry.metrics();
      current = undefined;
      return `${await own}\n${await processMetrics().metrics()}`;
    },
  };
}

/**
 * Serves `GET /metrics` on the management server (server.ts calls it on the root). Security on and
 * `http.metrics.public` false: basic or bearer credentials with `view` on `$sys.mgmt.metrics`, as
 * Prometheus's `basic_auth` / `authorization` scrape settings send them; otherwise open.
 */
export function registerMetrics(app: ApiApp, deps: ApiDeps): void {
  const metrics = createBrokerMetrics(deps.ctx);
  const isPublic = deps.ctx.config.http.metrics.public;
  app.get('/metrics', { schema: { hide: true }, config: { public: isPublic } }, async (req, reply) => {
    if (!isPublic) deps.authorize(req, 'view', MGMT.metrics);
    const text = await metrics.scrape();
    return reply.header('content-type', metrics.contentType).header('cache-control', 'no-store').send(text);
  });
}
