import { performance } from 'node:perf_hooks';
import type { Command } from 'commander';
import hdr from 'hdr-histogram-js';
import type { Connection, Sender } from 'rhea';
import { closeAmqp, filler, openAmqp } from './amqp-link.ts';
import { attached, clientSetup, round, withClientOptions, type ClientOpts } from './client-commands.ts';
import { CliError, EXIT } from './cli-error.ts';
import { integer, nonNegativeNumber, positiveNumber, printJson } from './options.ts';

interface PerfOpts extends ClientOpts {
  duration: number;
  warmup: number;
  rate?: number;
  messageSize: number;
  persistent?: boolean;
  maxPending: number;
}

/** Latency percentiles reported, as `artemis perf client` prints them. */
export const PERCENTILES: ReadonlyArray<[string, number]> = [
  ['p50', 50],
  ['p90', 90],
  ['p99', 99],
  ['p99.9', 99.9],
];

/** What `perf` measured (the `--json` output). */
export interface PerfReport {
  destination: string;
  durationSeconds: number;
  warmupSeconds: number;
  messageSize: number;
  persistent: boolean;
  /** Over the whole run, warm-up included. */
  sent: number;
  received: number;
  /** Over the measured window (after the warm-up): messages per second. */
  sendRate: number;
  receiveRate: number;
  /** End-to-end latency (send to receive, one clock: the same process), ms, of the messages sent after the warm-up. */
  latencyMs: { count: number; mean: number; max: number } & Record<string, number>;
}

const nowMicros = (): number => Math.round(performance.now() * 1000);

/** The report as text lines. */
export function formatPerf(r: PerfReport): string {
  const l = r.latencyMs;
  return [
    `perf ${r.destination}: ${r.durationSeconds} s (${r.warmupSeconds} s warm-up), ${r.messageSize} B bodies, ${r.persistent ? 'persistent' : 'non-persistent'}`,
    `sent      ${r.sent} msg, ${r.sendRate} msg/s`,
    `received  ${r.received} msg, ${r.receiveRate} msg/s`,
    `latency   ${PERCENTILES.map(([name]) => `${name} ${l[name]} ms`).join('  ')}  max ${l.max} ms  (mean ${l.mean} ms, ${l.count} samples)`,
  ].join('\n');
}

/**
 * `junction perf`: one producer and one consumer on the destination, for `--duration` seconds.
 * Each message carries its send time; the consumer (same process, same monotonic clock) records
 * the end-to-end latency of those sent after `--warmup` in an HDR histogram, as `artemis perf`.
 */
async function perf(o: PerfOpts): Promise<PerfReport> {
  if (o.warmup >= o.duration) throw new CliError(EXIT.usage, `--warmup (${o.warmup} s) must be shorter than --duration (${o.duration} s)`);
  const { address, link } = await clientSetup(o, 'perf');
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
  const connections: Connection[] = [];
  try {
    const consumerConnection = await openAmqp(address, link(0));
    connections.push(consumerConnection);
    const receiver = consumerConnection.open_receiver({ source: { address: o.destination }, credit_window: 1000, autoaccept: true });
    await attached(receiver, `cannot receive from ${o.destination}`);
    const producerConnection = await openAmqp(address, link(1));
    connections.push(producerConnection);
    const sender: Sender = producerConnection.open_sender({ target: { address: o.destination } });
    await attached(sender, `cannot send to ${o.destination}`);

    const start = performance.now();
    const measureFrom = start + o.warmup * 1000;
    const end = start + o.duration * 1000;
    let sent = 0;
    let sentMeasured = 0;
    let received = 0;
    let receivedMeasured = 0;
    let settled = 0;
    let wake: (() => void) | undefined;
    const kick = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    receiver.on('message', (ctx) => {
      received++;
      const props = ctx.message?.application_properties as { sentAt?: unknown; measured?: unknown } | undefined;
      if (props?.measured === true && typeof props.sentAt === 'number') {
        receivedMeasured++;
        histogram.recordValue(Math.max(1, nowMicros() - props.sentAt));
      }
      kick();
    });
    for (const ev of ['accepted', 'rejected', 'released', 'modified'] as const) {
      sender.on(ev, () => {
        settled++;
        kick();
      });
    }
    sender.on('sendable', kick);
    const body = filler(o.messageSize);
    while (performance.now() < end) {
      if (o.rate !== undefined) {
        const wait = start + (sent * 1000) / o.rate - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, Math.min(wait, end - performance.now())));
        if (performance.now() >= end) break;
      }
      if (!sender.sendable() || sent - settled >= o.maxPending) {
        await Promise.race([new Promise<void>((r) => (wake = r)), new Promise((r) => setTimeout(r, 50))]);
        continue;
      }
      const measured = performance.now() >= measureFrom;
      sender.send({ body, durable: o.persistent === true, application_properties: { sentAt: nowMicros(), measured } });
      sent++;
      if (measured) sentMeasured++;
      if ((sent & 127) === 0) await new Promise((r) => setImmediate(r));
    }
    const window = (performance.now() - measureFrom) / 1000;
    // The messages still in flight arrive (up to 10 s); the receive rate counts them over the window they took.
    const drainUntil = performance.now() + 10_000;
    while (received < sent && performance.now() < drainUntil) await Promise.race([new Promise<void>((r) => (wake = r)), new Promise((r) => setTimeout(r, 100))]);
    const receiveWindow = (performance.now() - measureFrom) / 1000;
    const ms = (micros: number): number => round(micros / 1000, 3);
    const latencyMs: PerfReport['latencyMs'] = { count: histogram.totalCount, mean: ms(histogram.mean), max: ms(histogram.maxValue) };
    // A percentile is the top of its HDR bucket, which can pass the exact max: capped at it.
    for (const [name, p] of PERCENTILES) latencyMs[name] = ms(Math.min(histogram.getValueAtPercentile(p), histogram.maxValue));
    return {
      destination: o.destination,
      durationSeconds: o.duration,
      warmupSeconds: o.warmup,
      messageSize: o.messageSize,
      persistent: o.persistent === true,
      sent,
      received,
      sendRate: round(sentMeasured / Math.max(window, 1e-3)),
      receiveRate: round(receivedMeasured / Math.max(receiveWindow, 1e-3)),
      latencyMs,
    };
  } finally {
    await Promise.all(connections.map((c) => closeAmqp(c)));
  }
}

/** Registers `perf`. */
export function registerPerfCommand(program: Command): void {
  withClientOptions(program.command('perf').description('producer and consumer in one run: throughput and end-to-end latency percentiles (as artemis perf client)'), 'queue://junction.perf')
    .option('--duration <seconds>', 'how long to send', positiveNumber('--duration'), 10)
    .option('--warmup <seconds>', 'first seconds left out of the figures', nonNegativeNumber('--warmup'), 2)
    .option('--rate <n>', 'messages per second (default: as fast as the broker takes them)', positiveNumber('--rate'))
    .option('--message-size <bytes>', 'body size', integer('--message-size', 0), 100)
    .option('--persistent', 'durable messages (default: non-persistent, as artemis perf)')
    .option('--non-persistent', 'non-durable messages (the default)')
    .option('--max-pending <n>', 'most messages sent and not yet acknowledged', integer('--max-pending', 1), 100)
    .action(async (o: PerfOpts & { nonPersistent?: boolean }) => {
      const report = await perf({ ...o, persistent: o.persistent === true && !o.nonPersistent });
      if (o.json) printJson(report);
      else console.log(formatPerf(report));
      process.exitCode = report.received < report.sent ? EXIT.failed : EXIT.ok;
    });
}
