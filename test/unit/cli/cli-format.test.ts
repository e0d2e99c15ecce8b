import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiErrorLine, clean } from '../../../src/cli/cli-error.ts';
import { formatPerf, type PerfReport } from '../../../src/cli/perf-command.ts';
import { QUEUE_COLUMNS, QUEUE_SORT_KEYS, type QueueRow } from '../../../src/cli/queue-command.ts';
import { formatBytes, formatTable, sortRows } from '../../../src/cli/table.ts';

const queues: QueueRow[] = [
  { name: 'orders', messages: 1000, consumers: 0, enqueued: 1000, acked: 0, inDelivery: 0, deadLettered: 0 },
  { name: 'DLQ', messages: 3, consumers: 1, enqueued: 12, acked: 9, inDelivery: 2, deadLettered: 0, paused: true },
];

test('queue stat table: upper-case headers, names left-aligned, counts right-aligned, two spaces apart', () => {
  assert.equal(
    formatTable(QUEUE_COLUMNS, queues),
    [
      'NAME          MESSAGES  CONSUMERS  ENQUEUED  ACKED  IN DELIVERY  DLQ',
      'orders            1000          0      1000      0            0    0',
      'DLQ (paused)         3          1        12      9            2    0',
    ].join('\n'),
  );
});

test('an empty table is its header line', () => {
  assert.equal(formatTable(QUEUE_COLUMNS, []), 'NAME  MESSAGES  CONSUMERS  ENQUEUED  ACKED  IN DELIVERY  DLQ');
});

test('cells from the server lose control characters (no terminal escape gets through) and long ones are cut', () => {
  const t = formatTable([{ header: 'name', value: (r: { n: string }) => r.n, max: 10 }], [{ n: 'evil\u001b[2Jname-that-is-long' }]);
  assert.equal(t.split('\n')[1], 'evil?[2Jna…');
  assert.equal(clean('a\nb\tc\u009bd'), 'a?b?c?d');
});

test('sortRows: by name, by a count, descending with -, ties keep their order; an unknown key is refused', () => {
  assert.deepEqual(sortRows(queues, 'name', QUEUE_SORT_KEYS).map((q) => q.name), ['DLQ', 'orders']);
  assert.deepEqual(sortRows(queues, '-messages', QUEUE_SORT_KEYS).map((q) => q.name), ['orders', 'DLQ']);
  assert.deepEqual(sortRows(queues, 'dlq', QUEUE_SORT_KEYS).map((q) => q.name), ['orders', 'DLQ']);
  assert.throws(() => sortRows(queues, 'size', QUEUE_SORT_KEYS), /cannot sort by 'size'/);
  assert.throws(() => sortRows(queues, '__proto__', QUEUE_SORT_KEYS), /cannot sort by/);
});

test('formatBytes', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(5 * 1024 * 1024), '5.0 MiB');
});

test('an API error is one line: code, message, then each issue with its path', () => {
  assert.equal(
    apiErrorLine({ code: 'ERR_ROUTE_INVALID', message: 'route invalid\nsecond line', issues: [{ path: 'steps.1.to', message: 'bad uri' }, { path: '', message: 'x' }] }),
    'ERR_ROUTE_INVALID: route invalid?second line (steps.1.to: bad uri; (root): x)',
  );
});

test('perf report text names every percentile and the max', () => {
  const r: PerfReport = {
    destination: 'queue://p',
    durationSeconds: 5,
    warmupSeconds: 1,
    messageSize: 100,
    persistent: false,
    sent: 10,
    received: 10,
    sendRate: 2.5,
    receiveRate: 2.5,
    latencyMs: { count: 8, mean: 1.2, max: 3, p50: 1, p90: 2, p99: 3, 'p99.9': 3 },
  };
  const lines = formatPerf(r).split('\n');
  assert.equal(lines.length, 4);
  assert.equal(lines[3], 'latency   p50 1 ms  p90 2 ms  p99 3 ms  p99.9 3 ms  max 3 ms  (mean 1.2 ms, 8 samples)');
});
