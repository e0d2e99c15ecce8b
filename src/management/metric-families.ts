/**
 * The broker's Prometheus metric families (issue 15; names and their reasons in
 * docs/management.md#metrics). Each family turns one scrape's {@link ScrapeSnapshot} into series:
 * the values are counters the broker already keeps, read at scrape time, so nothing is counted per
 * message for Prometheus. Names follow the Prometheus conventions (base units: `_seconds`,
 * `_bytes`; counters end in `_total`; `junction_` namespace).
 */
import type { BrokerTotals, QueueStats } from '../core/handles.ts';
import type { RouteInfo } from '../routing/route-manager.ts';
import { STEP_SECONDS_BUCKETS, type StepStats } from '../routing/route-telemetry.ts';
import { JOURNAL_SYNC_SECONDS_BUCKETS, type JournalStats } from '../store/journal/journal-types.ts';
import type { AdapterName } from '../transport/protocol-adapter.ts';

/** Everything one scrape reads, taken once before the families are formatted. A part that cannot be read is undefined. */
export interface ScrapeSnapshot {
  readonly version: string;
  readonly totals: BrokerTotals | undefined;
  readonly memory: { limitBytes: number; usedBytes: number; blockedSends: number; dropped: number } | undefined;
  readonly connections: Record<AdapterName, number> | undefined;
  readonly connectionTotals: Record<AdapterName, { opened: number; closed: number }> | undefined;
  /** Queues with a series of their own (all, or the largest by depth when over the cap). */
  readonly queues: readonly QueueStats[];
  /** The sum of the queues left out by the cap (undefined: none left out). */
  readonly otherQueues: QueueStats | undefined;
  readonly queuesDropped: number;
  readonly addresses: { anycast: number; multicast: number } | undefined;
  readonly routes: ReadonlyArray<{ id: string; state: string; stats: RouteCounters; steps: readonly StepStats[] }>;
  readonly journal: JournalStats | undefined;
}

/** The route counters the families read (RouteManager's `RouteInfo.stats`). */
export type RouteCounters = Pick<RouteInfo['stats'], 'completed' | 'failed' | 'released' | 'inFlight' | 'deadLettered' | 'redeliveries'>;

/** One series value, as prom-client's registry formats it (`metricName` for a histogram's `_bucket`/`_sum`/`_count`). */
export interface SeriesValue {
  value: number;
  labels?: Record<string, string | number>;
  metricName?: string;
}

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  values(s: ScrapeSnapshot): SeriesValue[];
}

const PROTOCOLS: readonly AdapterName[] = ['stomp', 'mqtt', 'amqp'];

function one(v: number | undefined, labels?: Record<string, string>): SeriesValue[] {
  return v === undefined ? [] : [labels ? { value: v, labels } : { value: v }];
}

/** A family of one broker-wide value. */
function scalar(name: string, type: 'counter' | 'gauge', help: string, read: (s: ScrapeSnapshot) => number | undefined): MetricFamily {
  return { name, type, help, values: (s) => one(read(s)) };
}

/** Histogram series from cumulative bucket counts (prom-client's Histogram cannot be set from outside, so its exposition is written here). */
export function histogramValues(name: string, bounds: readonly number[], h: { buckets: readonly number[]; count: number; sumSeconds: number }, labels: Record<string, string> = {}): SeriesValue[] {
  const out: SeriesValue[] = [];
  for (let i = 0; i < bounds.length; i++) out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: String(bounds[i]) }, value: h.buckets[i] ?? h.count });
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
  out.push({ metricName: `${name}_sum`, labels, value: h.sumSeconds });
  out.push({ metricName: `${name}_count`, labels, value: h.count });
  return out;
}

/** A per-queue family: one series per kept queue, plus `queue="_other"` for those the cap left out. */
function perQueue(name: string, type: 'counter' | 'gauge', help: string, read: (q: QueueStats) => number): MetricFamily {
  return {
    name,
    type,
    help,
    values(s) {
      const out: SeriesValue[] = s.queues.map((q) => ({ value: read(q), labels: { queue: q.name } }));
      if (s.otherQueues) out.push({ value: read(s.otherQueues), labels: { queue: OTHER_QUEUES } });
      return out;
    },
  };
}

/**
 * The label value the queues beyond the series cap are summed under. A queue really named `_other`
 * is always summed there too (never a series of its own), so no two series share a label set.
 */
export const OTHER_QUEUES = '_other';

const perProtocol = (name: string, type: 'counter' | 'gauge', help: string, read: (s: ScrapeSnapshot, p: AdapterName) => number | undefined): MetricFamily => ({
  name,
  type,
  help,
  values: (s) => PROTOCOLS.flatMap((p) => one(read(s, p), { protocol: p })),
});

const perRoute = (name: string, type: 'counter' | 'gauge', help: string, read: (r: ScrapeSnapshot['routes'][number]) => SeriesValue[]): MetricFamily => ({
  name,
  type,
  help,
  values: (s) => s.routes.flatMap(read),
});

/** Every family of the broker's registry, in exposition order. */
export const METRIC_FAMILIES: readonly MetricFamily[] = [
  { name: 'junction_build_info', type: 'gauge', help: 'Always 1; the version label says which Junction is running.', values: (s) => [{ value: 1, labels: { version: s.version } }] },
  // Broker totals (Core.totals(): summed over queues at scrape time; a deleted queue keeps counting).
  scalar('junction_messages_sent_total', 'counter', 'Sends accepted by the broker (one per send, whatever the queues it reached).', (s) => s.totals?.sent),
  scalar('junction_messages_enqueued_total', 'counter', 'Messages added to queues (a send to a topic with 3 subscriptions counts 3).', (s) => s.totals?.enqueued),
  scalar('junction_messages_acknowledged_total', 'counter', 'Messages delivered and acknowledged by consumers.', (s) => s.totals?.acked),
  scalar('junction_messages_expired_total', 'counter', 'Messages that expired in a queue.', (s) => s.totals?.expired),
  scalar('junction_messages_dead_lettered_total', 'counter', 'Messages moved to a dead-letter address.', (s) => s.totals?.deadLettered),
  scalar('junction_messages_unrouted_total', 'counter', 'Sends that reached no queue.', (s) => s.totals?.unrouted),
  scalar('junction_messages_dropped_total', 'counter', 'Messages left out of a full queue under the DROP address-full policy.', (s) => s.memory?.dropped),
  scalar('junction_messages', 'gauge', 'Messages held in every queue now (ready, scheduled, in delivery and paged).', (s) => s.totals?.messages),
  scalar('junction_messages_in_delivery', 'gauge', 'Messages delivered to consumers and not yet settled.', (s) => s.totals?.inDelivery),
  scalar('junction_paged_messages', 'gauge', 'Messages held only in the store (paged out of memory).', (s) => s.totals?.paged),
  scalar('junction_memory_used_bytes', 'gauge', 'Bytes of messages held in memory, counted against globalMaxSizeBytes.', (s) => s.memory?.usedBytes),
  scalar('junction_memory_limit_bytes', 'gauge', 'globalMaxSizeBytes (0: no limit).', (s) => (s.memory ? Math.max(0, s.memory.limitBytes) : undefined)),
  scalar('junction_sends_blocked', 'gauge', 'Sends waiting for room now (address-full policy BLOCK).', (s) => s.memory?.blockedSends),
  scalar('junction_queues', 'gauge', 'Queues (anycast queues and topic subscriptions).', (s) => s.totals?.queues),
  scalar('junction_topics', 'gauge', 'Topics.', (s) => s.totals?.topics),
  scalar('junction_consumers', 'gauge', 'Consumers attached to queues.', (s) => s.totals?.consumers),
  {
    name: 'junction_addresses',
    type: 'gauge',
    help: 'Addresses by routing type (anycast: a queue; multicast: a topic).',
    values: (s) => (s.addresses ? [{ value: s.addresses.anycast, labels: { routing: 'anycast' } }, { value: s.addresses.multicast, labels: { routing: 'multicast' } }] : []),
  },
  // Per queue, capped (cardinality: see docs/management.md#metrics).
  perQueue('junction_queue_messages', 'gauge', 'Messages held by the queue (its depth).', (q) => q.messages),
  perQueue('junction_queue_messages_in_delivery', 'gauge', 'Messages of the queue delivered and not yet settled.', (q) => q.inDelivery),
  perQueue('junction_queue_messages_paged', 'gauge', 'Messages of the queue held only in the store.', (q) => q.paged),
  perQueue('junction_queue_memory_bytes', 'gauge', 'Bytes of the queue\'s messages held in memory.', (q) => q.bytes),
  perQueue('junction_queue_consumers', 'gauge', 'Consumers of the queue.', (q) => q.consumers),
  perQueue('junction_queue_enqueued_total', 'counter', 'Messages added to the queue.', (q) => q.enqueued),
  perQueue('junction_queue_acknowledged_total', 'counter', 'Messages of the queue acknowledged by consumers.', (q) => q.acked),
  perQueue('junction_queue_expired_total', 'counter', 'Messages of the queue that expired.', (q) => q.expired),
  perQueue('junction_queue_dead_lettered_total', 'counter', 'Messages of the queue moved to a dead-letter address.', (q) => q.deadLettered),
  scalar('junction_metrics_queue_series_dropped', 'gauge', 'Queues without series of their own (summed under queue="_other") because there are more than http.metrics.maxQueueSeries.', (s) => s.queuesDropped),
  // Connections.
  perProtocol('junction_connections', 'gauge', 'Client connections open now.', (s, p) => s.connections?.[p]),
  perProtocol('junction_connections_opened_total', 'counter', 'Client connections accepted since start.', (s, p) => s.connectionTotals?.[p]?.opened),
  perProtocol('junction_connections_closed_total', 'counter', 'Client connections closed since start.', (s, p) => s.connectionTotals?.[p]?.closed),
  // Routes and their steps.
  perRoute('junction_route_state', 'gauge', 'Always 1; the state label is the route\'s lifecycle state (started, suspended, failed, ...).', (r) => [{ value: 1, labels: { route: r.id, state: r.state } }]),
  perRoute('junction_route_exchanges_total', 'counter', 'Source messages the route finished: completed (acknowledged), failed (returned as failed), released (handed back unprocessed).', (r) =>
    (['completed', 'failed', 'released'] as const).map((o) => ({ value: r.stats[o], labels: { route: r.id, outcome: o } })),
  ),
  perRoute('junction_route_inflight', 'gauge', 'Exchanges in the route now.', (r) => [{ value: r.stats.inFlight, labels: { route: r.id } }]),
  perRoute('junction_route_dead_lettered_total', 'counter', 'Exchanges the route sent to its dead-letter channel.', (r) => [{ value: r.stats.deadLettered, labels: { route: r.id } }]),
  perRoute('junction_route_redeliveries_total', 'counter', 'Redelivery attempts made by the route\'s steps.', (r) => [{ value: r.stats.redeliveries, labels: { route: r.id } }]),
  perRoute('junction_route_step_exchanges_total', 'counter', 'Exchanges per step: entered, completed, failed (the step threw).', (r) =>
    r.steps.flatMap((st) => (['entered', 'completed', 'failed'] as const).map((o) => ({ value: st[o], labels: { route: r.id, step: st.id, outcome: o } }))),
  ),
  perRoute('junction_route_step_inflight', 'gauge', 'Exchanges in the step now.', (r) => r.steps.map((st) => ({ value: st.inFlight, labels: { route: r.id, step: st.id } }))),
  {
    name: 'junction_route_step_duration_seconds',
    type: 'histogram',
    help: 'Processing time of each step.',
    values: (s) => s.routes.flatMap((r) => r.steps.flatMap((st) => histogramValues('junction_route_step_duration_seconds', STEP_SECONDS_BUCKETS, st, { route: r.id, step: st.id }))),
  },
  // Journal (absent with the memory store).
  {
    name: 'junction_journal_fsync_duration_seconds',
    type: 'histogram',
    help: 'Latency of the journal\'s fdatasyncs (one per group commit).',
    values: (s) => (s.journal ? histogramValues('junction_journal_fsync_duration_seconds', JOURNAL_SYNC_SECONDS_BUCKETS, s.journal.syncSeconds) : []),
  },
  scalar('junction_journal_bytes_written_total', 'counter', 'Bytes written to journal segments (commits and compaction).', (s) => s.journal?.bytesWritten),
  scalar('junction_journal_writes_total', 'counter', 'Journal writes (one per group commit).', (s) => s.journal?.writes),
  scalar('junction_journal_errors_total', 'counter', 'Journal writes and fsyncs that failed.', (s) => s.journal?.errors),
  scalar('junction_journal_compactions_total', 'counter', 'Journal segments emptied by compaction.', (s) => s.journal?.compactedSegments),
  scalar('junction_journal_segments', 'gauge', 'Journal segment files.', (s) => s.journal?.segments),
  scalar('junction_journal_bytes', 'gauge', 'Bytes in journal segment files.', (s) => s.journal?.bytes),
  scalar('junction_journal_live_bytes', 'gauge', 'Bytes of journal records still live (the rest is reclaimed by compaction).', (s) => s.journal?.liveBytes),
  scalar('junction_journal_messages', 'gauge', 'Messages stored in the journal.', (s) => s.journal?.messages),
];
