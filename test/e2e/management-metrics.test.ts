import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { AmqpTestClient, eventually } from '../helpers/amqp-client.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { captureLog, type LogCapture } from '../helpers/log-capture.ts';
import { TestMqttClient } from '../helpers/mqtt-client.ts';
import { histogramSeries, parseMetrics, seriesValue } from '../helpers/prometheus.ts';
import { openEvents } from '../helpers/sse.ts';
import { connect as stompConnect } from '../helpers/stompjs.ts';

// Issue 15: /metrics and the event stream of a real broker (security off, journal store) under
// traffic from real clients of the three protocols and a route; /metrics parsed with a real
// Prometheus text parser, the stream read as an EventSource reads it.

let broker: TestBroker;
let log: LogCapture;
let base: string;

before(async () => {
  log = captureLog('info');
  broker = await startBroker({ http: { metrics: { maxQueueSeries: 20 } } }, { logger: log.logger });
  base = `http://127.0.0.1:${broker.ports.http}`;
});
after(async () => {
  await broker?.stop();
});

async function scrape(): Promise<{ text: string; families: ReturnType<typeof parseMetrics> }> {
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, families: parseMetrics(text) };
}

test('traffic of STOMP, MQTT, AMQP and a route shows in /metrics and in the event stream', async (t) => {
  const events = await openEvents(`${base}/api/v1/events?topics=stats,routes,connections`);
  t.after(() => events.close());
  await events.waitFor((e) => e.event === 'stats');
  const before = (await scrape()).families;
  const sentBefore = seriesValue(before, 'junction_messages_sent_total')!;

  await broker.routes.deploy({ id: 'm-route', from: 'queue:m.in', steps: [{ setHeader: { name: 'seen', value: 'yes' } }, { to: 'queue:m.out' }] });
  const stomp = await stompConnect(broker);
  t.after(() => stomp.drop());
  const mq = await TestMqttClient.connect(broker, { clientId: 'metrics-mqtt' });
  t.after(() => mq.drop());
  const amqp = await AmqpTestClient.connect(broker.ports.amqp!, { containerId: 'metrics-amqp' });
  t.after(() => amqp.close());
  const opened = await events.waitFor((e) => e.event === 'connection' && JSON.parse(e.data).protocol === 'mqtt');
  assert.equal(JSON.parse(opened.data).type, 'opened');

  for (let i = 0; i < 10; i++) await stomp.send('/queue/m.in', `s${i}`, { persistent: 'true' });
  for (let i = 0; i < 5; i++) await mq.client.publishAsync('m/topic', `q${i}`, { qos: 1 });
  const sender = await amqp.sender('m.amqp');
  for (let i = 0; i < 4; i++) sender.send({ body: `a${i}`, durable: true });
  await eventually(() => broker.core.getQueue('m.amqp')?.messageCount === 4, 'AMQP messages stored', 10_000);
  await eventually(() => broker.core.getQueue('m.out')?.messageCount === 10, 'the route forwarded every message', 10_000);

  const { text, families: f } = await scrape();
  assert.equal(f.get('junction_messages_sent_total')?.type, 'COUNTER');
  // 10 STOMP sends, 10 route sends to m.out, 5 MQTT publishes (no subscriber: unrouted, still sent), 4 AMQP.
  assert.ok(seriesValue(f, 'junction_messages_sent_total')! - sentBefore >= 29, 'sends counted');
  assert.equal(seriesValue(f, 'junction_queue_messages', { queue: 'm.out' }), 10);
  assert.equal(seriesValue(f, 'junction_queue_enqueued_total', { queue: 'm.in' }), 10);
  assert.equal(seriesValue(f, 'junction_queue_acknowledged_total', { queue: 'm.in' }), 10, 'the route acknowledged each');
  assert.equal(seriesValue(f, 'junction_queue_messages', { queue: 'm.amqp' }), 4);
  assert.equal(seriesValue(f, 'junction_queue_consumers', { queue: 'm.in' }), 1, 'the route consumes');
  assert.ok(seriesValue(f, 'junction_messages')! >= 14);
  for (const p of ['stomp', 'mqtt', 'amqp']) {
    assert.ok(seriesValue(f, 'junction_connections', { protocol: p })! >= 1, `${p} connected`);
    assert.ok(seriesValue(f, 'junction_connections_opened_total', { protocol: p })! >= 1);
  }
  assert.equal(f.get('junction_connections')?.type, 'GAUGE');
  assert.equal(seriesValue(f, 'junction_route_exchanges_total', { route: 'm-route', outcome: 'completed' }), 10);
  assert.equal(seriesValue(f, 'junction_route_exchanges_total', { route: 'm-route', outcome: 'failed' }), 0);
  assert.equal(seriesValue(f, 'junction_route_inflight', { route: 'm-route' }), 0);
  assert.equal(seriesValue(f, 'junction_route_state', { route: 'm-route', state: 'started' }), 1);
  assert.equal(seriesValue(f, 'junction_route_step_exchanges_total', { route: 'm-route', step: 'steps.0', outcome: 'completed' }), 10);
  const hist = histogramSeries(text, 'junction_route_step_duration_seconds').get('route="m-route",step="steps.0"');
  assert.equal(hist?.count, 10, 'one processing-time observation per exchange');
  assert.equal(hist?.buckets.get('+Inf'), 10);
  // The journal: persistent sends were synced; bytes written grew.
  assert.ok(seriesValue(f, 'junction_journal_bytes_written_total')! > seriesValue(before, 'junction_journal_bytes_written_total')!);
  const fsync = f.get('junction_journal_fsync_duration_seconds')!;
  assert.equal(fsync.type, 'HISTOGRAM');
  assert.ok(Number(fsync.metrics[0]!.count) > 0, 'fsyncs observed');
  assert.ok(seriesValue(f, 'junction_journal_segments')! >= 1);
  // Node and process metrics under their standard names.
  assert.equal(f.get('nodejs_eventloop_lag_seconds')?.type, 'GAUGE');
  assert.equal(f.get('process_resident_memory_bytes')?.type, 'GAUGE');

  // The event stream: stats with the totals, routes with the route's counters and steps.
  const seen = events.events.length;
  const stats = JSON.parse((await events.waitFor((e) => e.event === 'stats', 5000, seen)).data);
  assert.ok(stats.totals.enqueued >= 24);
  assert.ok(stats.connections.mqtt >= 1);
  const routes = JSON.parse((await events.waitFor((e) => e.event === 'routes' && JSON.parse(e.data).routes.some((r: { stats: { completed: number } }) => r.stats.completed === 10), 5000)).data);
  const r = routes.routes.find((x: { id: string }) => x.id === 'm-route');
  assert.equal(r.state, 'started');
  assert.ok(r.steps.some((s: { id: string; completed: number }) => s.id === 'steps.0' && s.completed === 10));

  await mq.drop();
  await events.waitFor((e) => e.event === 'connection' && JSON.parse(e.data).type === 'closed' && JSON.parse(e.data).protocol === 'mqtt', 5000);
});

test('GET /api/v1/overview over the real broker', async () => {
  const res = await fetch(`${base}/api/v1/overview`);
  assert.equal(res.status, 200);
  const o = (await res.json()) as { version: string; uptimeSeconds: number; ports: Record<string, number>; memory: { limitBytes: number }; alarms: unknown[] };
  assert.match(o.version, /^\d+\.\d+\.\d+/);
  assert.equal(o.ports.stomp, broker.ports.stomp);
  assert.ok(o.uptimeSeconds >= 0);
  assert.deepEqual(o.alarms, []);
  const h = (await (await fetch(`${base}/api/v1/overview/history?seconds=60`)).json()) as { samples: unknown[] };
  assert.ok(h.samples.length >= 1);
});

test('more queues than http.metrics.maxQueueSeries: the deepest 20 keep their series, the rest are summed under _other', async () => {
  const stomp = await stompConnect(broker);
  try {
    // 30 queues with 1..30 messages each: cap.q.30 is the deepest.
    for (let i = 1; i <= 30; i++) for (let k = 0; k < i; k++) await stomp.send(`/queue/cap.q.${i}`, 'x');
    await eventually(() => broker.core.getQueue('cap.q.30')?.messageCount === 30, 'sent', 10_000);
  } finally {
    await stomp.drop();
  }
  const { families: f } = await scrape();
  const all = broker.core.queueStats();
  const series = f.get('junction_queue_messages')!.metrics.map((m) => m.labels!.queue!);
  assert.equal(series.length, 21, '20 queues and _other');
  for (let i = 11; i <= 30; i++) assert.ok(series.includes(`cap.q.${i}`), `cap.q.${i} kept (deeper than every queue left out)`);
  const kept = new Set(series);
  const other = all.filter((q) => !kept.has(q.name)).reduce((n, q) => n + q.messages, 0);
  assert.equal(seriesValue(f, 'junction_queue_messages', { queue: '_other' }), other);
  assert.equal(seriesValue(f, 'junction_metrics_queue_series_dropped'), all.length - 20);
});

test('an event stream whose client never reads is dropped once 1 MiB waits for it', async () => {
  // Queues with long names whose counters change every second make each `queues` event ~500 KB.
  const names = Array.from({ length: 400 }, (_, i) => `slow.${String(i).padStart(3, '0')}.${'n'.repeat(1000)}`);
  const sock = net.connect(broker.ports.http!, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.write(`GET /api/v1/events?topics=queues HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  sock.pause(); // never reads
  let stop = false;
  const traffic = (async () => {
    for (let round = 0; !stop && round < 120; round++) {
      for (const n of names) await broker.core.send({ destination: { type: 'queue', name: n }, body: Buffer.from('x') }).catch(() => {});
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  try {
    const line = await log.waitFor((l) => l.msg === 'event stream dropped: the client does not read it', 'slow stream dropped', 90_000);
    const buffered = line.buffered as number;
    assert.ok(buffered > 1024 * 1024 && buffered < 1024 * 1024 + 1024 * 1024, `held ${buffered} bytes when dropped: the cap plus one event at most`);
  } finally {
    stop = true;
    await traffic;
    sock.destroy();
  }
  // The slot is free again and a reading client is served.
  const s = await openEvents(`${base}/api/v1/events?topics=stats`);
  await s.waitFor((e) => e.event === 'stats');
  s.close();
});
