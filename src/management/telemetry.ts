/**
 * The once-a-second sampler behind the overview, the console's charts and the `stats` event stream
 * (issue 15). Each tick reads counters the broker already keeps (`Core.totals()`, O(queues);
 * `Core.memory()`; the connection directory's O(1) counts; the routes' states; the journal's
 * statistics) and turns their deltas into rates: nothing is added on the per-message path. Fifteen
 * minutes of samples are kept in a ring preallocated at start (900 slots), as the console's charts
 * show at most that much.
 */
import type { BrokerTotals } from '../core/handles.ts';
import type { AdapterName } from '../transport/protocol-adapter.ts';
import type { ManagementContext } from './context.ts';
import { guardedReader } from './guarded-read.ts';
import type { Sample, Telemetry } from './telemetry-types.ts';

/** Samples retained: 15 minutes at one a second. */
export const HISTORY_SAMPLES = 900;
/** Memory alarm threshold, as a fraction of `globalMaxSizeBytes` (ActiveMQ's memory usage high-water mark warns at 90% too). */
export const MEMORY_ALARM_RATIO = 0.9;
/** A journal write or fsync failure keeps its alarm up this long after it happened. */
const JOURNAL_ALARM_MS = 60_000;

const ZERO_TOTALS: BrokerTotals = Object.freeze({
  messages: 0,
  bytes: 0,
  paged: 0,
  inDelivery: 0,
  enqueued: 0,
  acked: 0,
  expired: 0,
  deadLettered: 0,
  sent: 0,
  unrouted: 0,
  queues: 0,
  topics: 0,
  consumers: 0,
});

export interface TelemetryOptions {
  /** Sampling period, ms (default 1000). */
  intervalMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

type Alarm = Sample['alarms'][number];

/** The sampler; `sampleNow` takes a sample at once (tests, and a caller that needs it fresher than a second). */
export interface SamplingTelemetry extends Telemetry {
  sampleNow(): Sample;
}

/** Starts sampling `ctx` (one sample now, then every `intervalMs` on an unref'd timer); `close()` stops it. */
export function createTelemetry(ctx: ManagementContext, opts: TelemetryOptions = {}): SamplingTelemetry {
  const intervalMs = opts.intervalMs ?? 1000;
  const now = opts.now ?? Date.now;
  const ring: Array<Sample | undefined> = new Array<Sample | undefined>(HISTORY_SAMPLES).fill(undefined);
  let head = 0;
  let size = 0;
  let last: Sample | undefined;
  const subscribers = new Set<(s: Sample) => void>();
  const guarded = guardedReader(ctx.log, 'telemetry: cannot sample this part; reported as zero');
  let journalErrors = 0;
  let journalErrorAt = -Infinity;

  function alarms(memory: Sample['memory'], at: number): Alarm[] {
    const out: Alarm[] = [];
    if (memory.limitBytes > 0 && memory.usedBytes > memory.limitBytes * MEMORY_ALARM_RATIO) {
      const pct = Math.round((memory.usedBytes / memory.limitBytes) * 100);
      out.push({ code: 'MEMORY_HIGH', message: `messages use ${pct}% of globalMaxSizeBytes (${memory.usedBytes} of ${memory.limitBytes} bytes)` });
    }
    if (memory.blockedSends > 0) out.push({ code: 'SENDS_BLOCKED', message: `${memory.blockedSends} sends wait for room (address-full policy BLOCK)` });
    const failed = guarded('routes', () => ctx.routes.list().filter((r) => r.state === 'failed'), []);
    if (failed.length > 0) {
      const ids = failed.slice(0, 5).map((r) => r.id).join(', ');
      out.push({ code: 'ROUTES_FAILED', message: `${failed.length} route(s) failed: ${ids}${failed.length > 5 ? ', ...' : ''}` });
    }
    const journal = guarded('journal', () => ctx.journalStats(), undefined);
    if (journal !== undefined) {
      if (journal.errors > journalErrors) journalErrorAt = at;
      journalErrors = journal.errors;
      if (at - journalErrorAt < JOURNAL_ALARM_MS) out.push({ code: 'JOURNAL_ERRORS', message: `journal write or fsync failed (${journal.errors} since start); see the log` });
    }
    return out;
  }

  function take(): Sample {
    const at = now();
    const totals = guarded('totals', () => ctx.core.totals(), ZERO_TOTALS);
    const mem = guarded('memory', () => ctx.core.memory(), undefined);
    const memory = mem
      ? { limitBytes: Math.max(0, mem.limitBytes), usedBytes: mem.usedBytes, blockedSends: mem.blockedSends }
      : { limitBytes: Math.max(0, ctx.config.globalMaxSizeBytes), usedBytes: 0, blockedSends: 0 };
    const connections = guarded<Record<AdapterName, number>, Record<AdapterName, number>>('connections', () => ctx.connections.counts(), { stomp: 0, mqtt: 0, amqp: 0 });
    const prev = last;
    const dt = prev ? (at - prev.at) / 1000 : 0;
    // A counter read lower than before (never expected: they only grow) gives a rate of 0, not a negative one.
    const rate = (k: 'sent' | 'enqueued' | 'acked' | 'expired' | 'deadLettered'): number => (prev && dt > 0 ? Math.max(0, (totals[k] - prev.totals[k]) / dt) : 0);
    return {
      at,
      totals,
      rates: { sent: rate('sent'), enqueued: rate('enqueued'), acked: rate('acked'), expired: rate('expired'), deadLettered: rate('deadLettered') },
      connections,
      memory,
      alarms: alarms(memory, at),
    };
  }

  function record(): Sample {
    const s = take();
    ring[head] = s;
    head = (head + 1) % HISTORY_SAMPLES;
    if (size < HISTORY_SAMPLES) size++;
    last = s;
    for (const cb of subscribers) {
      try {
        cb(s);
      } catch (err) {
        ctx.log.error({ err }, 'telemetry subscriber failed');
      }
    }
    return s;
  }

  record();
  const timer = setInterval(record, intervalMs);
  timer.unref();

  return {
    sampleNow: record,
    latest: () => last!,
    history(seconds: number): Sample[] {
      const n = Math.max(0, Math.min(size, Math.ceil(seconds * (1000 / intervalMs))));
      const out: Sample[] = [];
      for (let i = n; i > 0; i--) out.push(ring[(head - i + HISTORY_SAMPLES) % HISTORY_SAMPLES]!);
      return out;
    },
    subscribe(cb) {
      subscribers.add(cb);
      return () => void subscribers.delete(cb);
    },
    close() {
      clearInterval(timer);
      subscribers.clear();
    },
  };
}
