import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { RawStomp } from './raw-stomp.ts';

/**
 * The measuring side of a hostile-input test: while an attack runs, a well-behaved bystander keeps
 * sending and receiving over its own STOMP connection, and the broker's RSS and event-loop lag are
 * sampled. The bounds checked are generous: they tell a broker that froze or ballooned from one that
 * kept serving, never how fast it is.
 *
 * ```ts
 * const watch = await watchAttack({ stompPort: broker.ports.stomp! });
 * // ... the attack, and what the attacker gets back ...
 * const report = await watch.stop();
 * assertServed(report, { maxRssGrowthMiB: 200 });
 * ```
 */

export interface WatchOptions {
  /** The STOMP port the bystander uses (the broker under attack). */
  stompPort: number;
  /**
   * `true` (default) when the broker runs in this process: its event-loop lag is this process's,
   * measured with `monitorEventLoopDelay`, and its RSS is `process.memoryUsage().rss`. A broker in a
   * child process passes `false` and `pid` for RSS; its lag shows as the bystander's round trips.
   */
  inProcess?: boolean;
  /** The broker's pid, when it runs in a child process (RSS read from /proc). */
  pid?: number;
  /** How often the bystander sends one message and waits for it back, ms (default 50). */
  period?: number;
  /** Queue the bystander uses (default a unique `bystander.<n>`). */
  queue?: string;
}

export interface AttackReport {
  /** Bystander messages sent and received back, in order, during the attack. */
  roundTrips: number;
  /** The slowest bystander round trip, ms (send to MESSAGE back). */
  maxRoundTripMs: number;
  /** Anything that went wrong for the bystander (an ERROR frame, a close, a lost message). */
  bystanderErrors: string[];
  /** Largest event-loop delay seen in this process, ms (in-process brokers only; else 0). */
  maxLagMs: number;
  /** RSS at the start and the largest sampled during the attack, bytes. */
  rssStart: number;
  rssMax: number;
  /** How long the watch ran, ms. */
  durationMs: number;
}

let seq = 0;

async function rssOf(pid: number | undefined): Promise<number> {
  if (pid === undefined) return process.memoryUsage().rss;
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

export interface AttackWatch {
  /** Stops the bystander and the sampling; resolves with what was seen. */
  stop(): Promise<AttackReport>;
  /** Resolves once the bystander has completed at least `n` more round trips (waits for the attack to be under way). */
  roundTrips(n: number, timeoutMs?: number): Promise<void>;
}

/** Starts the bystander and the sampling. */
export async function watchAttack(opts: WatchOptions): Promise<AttackWatch> {
  const inProcess = opts.inProcess ?? true;
  const period = opts.period ?? 50;
  const queue = opts.queue ?? `bystander.${process.pid}.${++seq}`;
  const started = Date.now();
  const histogram = inProcess ? monitorEventLoopDelay({ resolution: 10 }) : undefined;
  histogram?.enable();
  const rssStart = await rssOf(opts.pid);
  let rssMax = rssStart;
  const client = await RawStomp.connect(opts.stompPort, { 'accept-version': '1.2', host: 'localhost' }, { timeout: 60_000 });
  client.send('SUBSCRIBE', { id: '1', destination: `/queue/${queue}`, ack: 'auto' });
  const report: AttackReport = { roundTrips: 0, maxRoundTripMs: 0, bystanderErrors: [], maxLagMs: 0, rssStart, rssMax, durationMs: 0 };
  let running = true;
  const waiters: Array<() => void> = [];

  const loop = (async () => {
    let n = 0;
    while (running) {
      const body = `ping-${++n}`;
      const t0 = Date.now();
      client.send('SEND', { destination: `/queue/${queue}` }, body);
      try {
        const f = await client.nextFrame();
        if (f.command !== 'MESSAGE') report.bystanderErrors.push(`${f.command}: ${f.header('message') ?? ''}`);
        else if (f.text !== body) report.bystanderErrors.push(`expected ${body}, got ${f.text}`);
        else {
          report.roundTrips++;
          for (const w of waiters.splice(0)) w();
        }
      } catch (err) {
        report.bystanderErrors.push(String(err));
        break;
      }
      report.maxRoundTripMs = Math.max(report.maxRoundTripMs, Date.now() - t0);
      await new Promise((r) => setTimeout(r, period));
    }
  })();

  const sampler = setInterval(() => {
    void rssOf(opts.pid).then((rss) => (rssMax = Math.max(rssMax, rss)));
  }, 100);

  return {
    async roundTrips(n: number, timeoutMs = 30_000): Promise<void> {
      const target = report.roundTrips + n;
      const deadline = Date.now() + timeoutMs;
      while (report.roundTrips < target) {
        if (Date.now() > deadline || report.bystanderErrors.length > 0) {
          throw new Error(`bystander made ${report.roundTrips} round trips, waiting for ${target} (errors: ${report.bystanderErrors.join('; ') || 'none'})`);
        }
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200).unref();
        });
      }
    },
    async stop(): Promise<AttackReport> {
      running = false;
      await loop;
      clearInterval(sampler);
      rssMax = Math.max(rssMax, await rssOf(opts.pid));
      client.destroy();
      histogram?.disable();
      report.maxLagMs = histogram ? histogram.max / 1e6 : 0;
      report.rssMax = rssMax;
      report.durationMs = Date.now() - started;
      return report;
    },
  };
}

/**
 * Runs `attack` under a watch and resolves with the report: one bystander round trip first (the watch
 * is under way), two more after the attack (the broker still serves once it is over). The watch is
 * stopped whatever happens, so a failed case leaves no bystander running into the next one.
 */
export async function watchDuring(opts: WatchOptions, attack: () => Promise<void>): Promise<AttackReport> {
  const watch = await watchAttack(opts);
  let report: AttackReport;
  try {
    await watch.roundTrips(1);
    await attack();
    await watch.roundTrips(2);
  } finally {
    report = await watch.stop();
  }
  return report;
}

export interface ServedBounds {
  /** Least bystander round trips during the attack (default 1: the broker kept serving). */
  minRoundTrips?: number;
  /** Largest allowed RSS growth over the attack, MiB (default 256). */
  maxRssGrowthMiB?: number;
  /** Largest allowed event-loop lag (in process) or bystander round trip (child process), ms (default 2000). */
  maxLagMs?: number;
}

/**
 * Asserts that the broker kept serving the bystander during the attack, within generous bounds on
 * memory and on lag. These are not speed measurements: a healthy broker is two orders of magnitude
 * inside them; a frozen or ballooning one is far outside.
 */
export function assertServed(r: AttackReport, bounds: ServedBounds = {}): void {
  const minRoundTrips = bounds.minRoundTrips ?? 1;
  const maxGrowth = (bounds.maxRssGrowthMiB ?? 256) * 1024 * 1024;
  const maxLag = bounds.maxLagMs ?? 2000;
  const summary = JSON.stringify({ ...r, rssStartMiB: Math.round(r.rssStart / 1048576), rssMaxMiB: Math.round(r.rssMax / 1048576) });
  assert.deepEqual(r.bystanderErrors, [], `the bystander failed: ${summary}`);
  assert.ok(r.roundTrips >= minRoundTrips, `the bystander made ${r.roundTrips} round trips (want >= ${minRoundTrips}): ${summary}`);
  assert.ok(r.rssMax - r.rssStart <= maxGrowth, `RSS grew by ${Math.round((r.rssMax - r.rssStart) / 1048576)} MiB: ${summary}`);
  assert.ok(Math.max(r.maxLagMs, r.maxRoundTripMs) <= maxLag, `lag ${Math.max(r.maxLagMs, r.maxRoundTripMs)} ms: ${summary}`);
}
