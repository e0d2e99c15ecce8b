import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capQueues, createBrokerMetrics } from '../../../src/management/metrics.ts';
import { STEP_SECONDS_BUCKETS } from '../../../src/routing/route-telemetry.ts';
import { JOURNAL_SYNC_SECONDS_BUCKETS } from '../../../src/store/journal/journal-types.ts';
import { histogramSeries, parseMetrics, seriesValue } from '../../helpers/prometheus.ts';
import { fakeContext, fakeQueue, fakeTotals } from './fake-context.ts';

/*
 * /metrics text for a fake broker (issue 15), parsed by a real Prometheus text parser: names,
 * types, labels and values; the per-queue series cap; histograms from buckets kept elsewhere.
 */

const step = (id: string, over: Partial<{ entered: number; completed: number; failed: number; inFlight: number }> = {}) => ({
  id,
  entered: 10,
  completed: 9,
  failed: 1,
  inFlight: 0,
  buckets: STEP_SECONDS_BUCKETS.map((_, i) => (i < 3 ? i * 2 : 10)),
  count: 10,
  sumSeconds: 0.125,
  ...over,
});

test('broker totals, queues, connections, routes, steps and the journal, as Prometheus text', async () => {
  const { ctx } = fakeContext({
    totals: fakeTotals({ sent: 42, enqueued: 50, acked: 40, expired: 3, deadLettered: 2, unrouted: 1, messages: 7, inDelivery: 2, paged: 1, queues: 2, topics: 1, consumers: 3 }),
    memory: { limitBytes: 1 << 20, usedBytes: 4096, blockedSends: 1, dropped: 5 },
    connections: { stomp: 2, mqtt: 1, amqp: 0 },
    opened: { stomp: 5, mqtt: 1, amqp: 3 },
    queues: [fakeQueue('orders', { messages: 5, enqueued: 30, acked: 25, consumers: 1, bytes: 1234 }), fakeQueue('a "quoted"\\name', { messages: 2, deadLettered: 2 })],
    addresses: [
      { name: 'orders', routing: 'anycast', queues: ['orders'], temporary: false, autoCreated: false },
      { name: 'news', routing: 'multicast', queues: [], temporary: false, autoCreated: true },
    ],
    routes: [{ id: 'r1', state: 'started', stats: { completed: 8, failed: 1, released: 0, inFlight: 1, deadLettered: 1, redeliveries: 4, meanMs: 1, maxMs: 2 }, steps: [step('from'), step('steps.0', { inFlight: 1 })] }],
    journal: { segments: 2, bytes: 5000, liveBytes: 3000, messages: 7, writes: 12, syncs: 3, compactedSegments: 1, errors: 0, bytesWritten: 9000, syncSeconds: { buckets: JOURNAL_SYNC_SECONDS_BUCKETS.map((_, i) => (i < 4 ? 1 : 3)), count: 3, sumSeconds: 0.004 }, segmentSize: 1 << 20 },
  });
  const m = createBrokerMetrics(ctx);
  const text = await m.scrape();
  assert.match(m.contentType, /^text\/plain; version=0\.0\.4/);
  const f = parseMetrics(text);

  const types: Record<string, string> = {
    junction_messages_sent_total: 'COUNTER',
    junction_messages_enqueued_total: 'COUNTER',
    junction_messages_acknowledged_total: 'COUNTER',
    junction_messages_expired_total: 'COUNTER',
    junction_messages_dead_lettered_total: 'COUNTER',
    junction_messages: 'GAUGE',
    junction_memory_used_bytes: 'GAUGE',
    junction_memory_limit_bytes: 'GAUGE',
    junction_paged_messages: 'GAUGE',
    junction_sends_blocked: 'GAUGE',
    junction_queue_messages: 'GAUGE',
    junction_queue_enqueued_total: 'COUNTER',
    junction_connections: 'GAUGE',
    junction_connections_opened_total: 'COUNTER',
    junction_route_exchanges_total: 'COUNTER',
    junction_route_inflight: 'GAUGE',
    junction_route_dead_lettered_total: 'COUNTER',
    junction_route_step_exchanges_total: 'COUNTER',
    junction_route_step_duration_seconds: 'HISTOGRAM',
    junction_journal_fsync_duration_seconds: 'HISTOGRAM',
    junction_journal_bytes_written_total: 'COUNTER',
    junction_journal_segments: 'GAUGE',
    junction_journal_compactions_total: 'COUNTER',
    process_cpu_user_seconds_total: 'COUNTER',
    nodejs_eventloop_lag_seconds: 'GAUGE',
    nodejs_heap_size_used_bytes: 'GAUGE',
  };
  for (const [name, type] of Object.entries(types)) assert.equal(f.get(name)?.type, type, name);

  assert.equal(seriesValue(f, 'junction_messages_sent_total'), 42);
  assert.equal(seriesValue(f, 'junction_messages_enqueued_total'), 50);
  assert.equal(seriesValue(f, 'junction_messages_acknowledged_total'), 40);
  assert.equal(seriesValue(f, 'junction_messages_dropped_total'), 5);
  assert.equal(seriesValue(f, 'junction_memory_limit_bytes'), 1 << 20);
  assert.equal(seriesValue(f, 'junction_sends_blocked'), 1);
  assert.equal(seriesValue(f, 'junction_queue_messages', { queue: 'orders' }), 5);
  assert.equal(seriesValue(f, 'junction_queue_memory_bytes', { queue: 'orders' }), 1234);
  assert.equal(seriesValue(f, 'junction_queue_dead_lettered_total', { queue: 'a "quoted"\\name' }), 2, 'label values escaped and read back');
  assert.equal(seriesValue(f, 'junction_metrics_queue_series_dropped'), 0);
  assert.equal(seriesValue(f, 'junction_addresses', { routing: 'multicast' }), 1);
  assert.equal(seriesValue(f, 'junction_connections', { protocol: 'stomp' }), 2);
  assert.equal(seriesValue(f, 'junction_connections_opened_total', { protocol: 'amqp' }), 3);
  assert.equal(seriesValue(f, 'junction_route_exchanges_total', { route: 'r1', outcome: 'completed' }), 8);
  assert.equal(seriesValue(f, 'junction_route_exchanges_total', { route: 'r1', outcome: 'failed' }), 1);
  assert.equal(seriesValue(f, 'junction_route_exchanges_total', { route: 'r1', outcome: 'released' }), 0);
  assert.equal(seriesValue(f, 'junction_route_inflight', { route: 'r1' }), 1);
  assert.equal(seriesValue(f, 'junction_route_state', { route: 'r1', state: 'started' }), 1);
  assert.equal(seriesValue(f, 'junction_route_step_exchanges_total', { route: 'r1', step: 'steps.0', outcome: 'entered' }), 10);
  assert.equal(seriesValue(f, 'junction_route_step_inflight', { route: 'r1', step: 'steps.0' }), 1);
  assert.equal(seriesValue(f, 'junction_journal_bytes_written_total'), 9000);
  assert.equal(seriesValue(f, 'junction_build_info', { version: '0.0.0-test' }), 1);

  const fsync = f.get('junction_journal_fsync_duration_seconds')!.metrics[0]!;
  assert.equal(fsync.count, '3');
  assert.equal(fsync.sum, '0.004');
  assert.equal(fsync.buckets?.['+Inf'], '3');
  assert.equal(fsync.buckets?.['0.001'], '1');

  const steps = histogramSeries(text, 'junction_route_step_duration_seconds');
  assert.deepEqual([...steps.keys()], ['route="r1",step="from"', 'route="r1",step="steps.0"']);
  const s0 = steps.get('route="r1",step="steps.0"')!;
  assert.equal(s0.buckets.size, STEP_SECONDS_BUCKETS.length + 1);
  assert.equal(s0.buckets.get('0.0005'), 0);
  assert.equal(s0.buckets.get('0.001'), 2);
  assert.equal(s0.buckets.get('+Inf'), 10);
  assert.equal(s0.count, 10);
  assert.equal(s0.sum, 0.125);
});

test('more queues than the cap: the deepest keep their series, the rest are summed under queue="_other"', async () => {
  const queues = Array.from({ length: 30 }, (_, i) => fakeQueue(`q${String(i).padStart(2, '0')}`, { messages: i, enqueued: 100 + i, consumers: 1 }));
  queues.push(fakeQueue('_other', { messages: 1000, enqueued: 1 }));
  const { ctx } = fakeContext({ queues });
  const f = parseMetrics(await createBrokerMetrics(ctx, { maxQueueSeries: 10 }).scrape());
  const depth = f.get('junction_queue_messages')!.metrics;
  assert.equal(depth.length, 11, '10 queues and _other');
  const names = depth.map((s) => s.labels!.queue).sort();
  assert.deepEqual(names, ['_other', 'q20', 'q21', 'q22', 'q23', 'q24', 'q25', 'q26', 'q27', 'q28', 'q29']);
  // q00..q19 (0+..+19 = 190) and the queue really named _other (1000).
  assert.equal(seriesValue(f, 'junction_queue_messages', { queue: '_other' }), 1190);
  assert.equal(seriesValue(f, 'junction_queue_enqueued_total', { queue: '_other' }), 20 * 100 + 190 + 1);
  assert.equal(seriesValue(f, 'junction_queue_consumers', { queue: '_other' }), 20);
  assert.equal(seriesValue(f, 'junction_metrics_queue_series_dropped'), 21);
});

test('capQueues keeps all under the cap and is stable on ties', () => {
  const qs = [fakeQueue('b'), fakeQueue('a'), fakeQueue('c', { messages: 1 })];
  assert.deepEqual(capQueues(qs, 3).kept.map((q) => q.name), ['b', 'a', 'c']);
  assert.equal(capQueues(qs, 3).other, undefined);
  const two = capQueues(qs, 2);
  assert.deepEqual(two.kept.map((q) => q.name), ['c', 'a']);
  assert.equal(two.dropped, 1);
});

test('a part not readable yet (facade stub) leaves its series out; the rest is served', async () => {
  const { ctx, logs } = fakeContext({ queues: [fakeQueue('x', { messages: 3 })] });
  (ctx.core as unknown as { totals: () => never }).totals = () => {
    throw new Error('not implemented');
  };
  const m = createBrokerMetrics(ctx);
  await m.scrape();
  const f = parseMetrics(await m.scrape());
  assert.equal(f.get('junction_messages_sent_total')?.metrics.length, 0);
  assert.equal(seriesValue(f, 'junction_queue_messages', { queue: 'x' }), 3);
  assert.equal(logs.filter((l) => l.level === 'warn').length, 1, 'logged once over two scrapes');
});

test('scrape with 10,000 queues: every series under the default cap of 500 (timing printed, not asserted)', async () => {
  const queues = Array.from({ length: 10_000 }, (_, i) => fakeQueue(`load.queue.${i}`, { messages: i % 997, enqueued: i }));
  const { ctx } = fakeContext({ queues });
  const m = createBrokerMetrics(ctx);
  await m.scrape();
  const t0 = performance.now();
  const text = await m.scrape();
  const ms = performance.now() - t0;
  const f = parseMetrics(text);
  assert.equal(f.get('junction_queue_messages')!.metrics.length, 501);
  assert.equal(seriesValue(f, 'junction_metrics_queue_series_dropped'), 9500);
  console.log(`# scrape of 10,000 queues (500 kept): ${ms.toFixed(1)} ms, ${text.length} bytes`);
});
