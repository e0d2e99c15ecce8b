/**
 * `npm run bench`: STOMP queue throughput of Junction, and of ActiveMQ Classic (Debian's
 * `activemq` package) measured in the same run as the reference. See README.md here.
 *
 * Measurement only: no assertions. Exits 0 unless Junction itself could not be measured.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { createBroker, type Broker } from '../../src/broker.ts';
import { JUNCTION_MGMT, mgmtLine, MgmtLoad, WITHOUT_MGMT } from './mgmt-load.ts';
import { BENCH_PASSWORD, BENCH_USER, benchSecurityConfig } from './security-fixture.ts';
import { activemqMissing, startActiveMQ, type ActiveMQ } from './activemq.ts';
import type { LoadOptions, LoadResult } from './stomp-load.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function intEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < min) {
    console.error(`${name} must be an integer >= ${min}, got '${raw}'`);
    process.exit(2);
  }
  return n;
}

const MESSAGES = intEnv('BENCH_MESSAGES', 50_000);
/**
 * A persistent SEND with a receipt costs ActiveMQ one disk sync (~1 ms here), so its run is
 * shorter by default to stay within seconds; msg/s does not depend on the count.
 */
const PERSISTENT_MESSAGES = intEnv('BENCH_PERSISTENT_MESSAGES', Math.min(MESSAGES, 10_000));
/** Warm-up messages before each measured run: a fifth of the run, at most 5,000 (0: none). */
const WARMUP = intEnv('BENCH_WARMUP', 5_000, 0);
const warmupFor = (messages: number) => Math.min(WARMUP, Math.ceil(messages / 5));
const BODY_SIZE = intEnv('BENCH_BODY_SIZE', 256);
const PREFETCH = intEnv('BENCH_PREFETCH', 1000);
const RECEIPT_EVERY = intEnv('BENCH_RECEIPT_EVERY', 100);
const WINDOW = intEnv('BENCH_WINDOW', 1000);
const STALL_TIMEOUT_MS = intEnv('BENCH_STALL_TIMEOUT_MS', 60_000);
/** Producer connections of the concurrent persistent workload (the one that shows group commit). */
const PRODUCERS = intEnv('BENCH_PRODUCERS', 8);
/** Measured runs per workload and broker; the table shows the median. */
const ROUNDS = intEnv('BENCH_ROUNDS', 1);
/** Junction's store: unset = the broker's default (`store.type` in src/config/schema.ts). */
const JUNCTION_STORE = storeEnv(process.env.BENCH_JUNCTION_STORE);

function storeEnv(raw: string | undefined): 'journal' | 'memory' | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'journal' || raw === 'memory') return raw;
  console.error(`BENCH_JUNCTION_STORE must be journal or memory, got '${raw}'`);
  return process.exit(2);
}

interface Workload {
  /** Names the run's queues: `/queue/bench.<key>.<round>`. */
  key: string;
  label: string;
  persistent: boolean;
  receiptEvery: number;
  messages: number;
  /** Producer connections sending concurrently (the messages are split across them). */
  producers: number;
}

const WORKLOADS: Workload[] = [
  { key: 'nonpersistent', label: 'non-persistent', persistent: false, receiptEvery: RECEIPT_EVERY, messages: MESSAGES, producers: 1 },
  { key: 'persistent', label: 'persistent:true', persistent: true, receiptEvery: 1, messages: PERSISTENT_MESSAGES, producers: 1 },
  {
    // Several producers waiting on their RECEIPTs at once: the records of one event-loop turn share one fdatasync.
    key: `persistent-p${PRODUCERS}`,
    label: `persistent:true, ${PRODUCERS} producer${PRODUCERS === 1 ? '' : 's'}`,
    persistent: true,
    receiptEvery: 1,
    messages: PERSISTENT_MESSAGES,
    producers: PRODUCERS,
  },
];
const LABEL_WIDTH = Math.max(...WORKLOADS.map((w) => w.label.length));

if (PRODUCERS > PERSISTENT_MESSAGES) {
  console.error(`BENCH_PRODUCERS (${PRODUCERS}) must not exceed BENCH_PERSISTENT_MESSAGES (${PERSISTENT_MESSAGES}): each producer sends one message at least`);
  process.exit(2);
}

type Outcome = { ok: true; result: LoadResult } | { ok: false; error: string };

/** The journal's counters (`JournalStore.statistics()`); only `writes` and `syncs` are used here. */
interface StoreCounters {
  writes: number;
  syncs: number;
}
/** Reads the counters of the store Junction runs with (only made for a store that has `statistics()`). */
type CountersProbe = () => StoreCounters;

// ------------------------------------------------------------------ the load client process

/** The load client runs in a child process of its own, for both brokers alike. */
class LoadClient {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>();
  private seq = 0;

  constructor() {
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'stomp-load.ts');
    this.child = fork(script, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (msg: { id: number; result?: LoadResult; error?: string }) => {
      const w = this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id);
      if (msg.result) w.resolve(msg.result);
      else w.reject(new Error(msg.error ?? 'load client failed'));
    });
    this.child.on('exit', (code, signal) => {
      for (const w of this.waiting.values()) w.reject(new Error(`load client exited (${code ?? signal})`));
      this.waiting.clear();
    });
  }

  run(opts: LoadOptions): Promise<LoadResult> {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ id, opts });
    });
  }

  close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    return exited;
  }
}

// ------------------------------------------------------------------ running and printing

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtMB = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/**
 * Junction's store work in one measured round: fdatasyncs per second next to confirmed messages
 * per second. Confirmed msg/s is over the producers' time (first SEND -> last RECEIPT); fsyncs/s
 * over the whole round (first SEND -> the later of last RECEIPT and last MESSAGE), as the count
 * includes the commits of the consumer's ACKs (each removes a stored message).
 */
function fsyncLine(result: LoadResult, before: StoreCounters, after: StoreCounters): string {
  const syncs = after.syncs - before.syncs;
  const writes = after.writes - before.writes;
  const roundSeconds = Math.max(result.elapsedMs, result.producerMs) / 1000;
  const confirmedSeconds = result.producerMs / 1000;
  const perSync = syncs > 0 ? `${(result.messages / syncs).toFixed(1)} messages per fsync` : 'no fsync in the round';
  return (
    `fsyncs: ${fmtInt(syncs)} (${fmtInt(syncs / roundSeconds)}/s) for ${fmtInt(result.messages)} confirmed messages` +
    ` (${fmtInt(result.messages / confirmedSeconds)} msg/s): ${perSync}${writes !== syncs ? ` (journal writes: ${fmtInt(writes)})` : ''}`
  );
}

/** One broker as the bench drives it: its STOMP port and how the load client connects. */
interface BenchTarget {
  /** Padded into every line. */
  name: string;
  port: number;
  login?: LoadOptions['login'];
  tlsCa?: string;
  counters?: CountersProbe;
  /** Runs each measured run inside it (the +mgmt variant: with the management load on). */
  around?: <T>(run: () => Promise<T>) => Promise<T>;
}

function loadBase(t: BenchTarget, w: Workload): Omit<LoadOptions, 'destination' | 'messages'> {
  return {
    host: '127.0.0.1',
    port: t.port,
    bodySize: BODY_SIZE,
    persistent: w.persistent,
    receiptEvery: w.receiptEvery,
    window: WINDOW,
    prefetch: PREFETCH,
    stallTimeoutMs: STALL_TIMEOUT_MS,
    producers: w.producers,
    ...(t.login ? { login: t.login } : {}),
    ...(t.tlsCa !== undefined ? { tlsCa: t.tlsCa } : {}),
  };
}

/**
 * Measures one workload on several targets: each one's warm-up, then round by round every target
 * in turn (each round starting one target further), so drift on the machine (another process, thermal) falls on all of them alike and the
 * ratios between them (security on/off, TLS/plain) compare runs made side by side. The median
 * round of each target is its result.
 */
async function measure(client: LoadClient, targets: BenchTarget[], w: Workload): Promise<Map<string, Outcome>> {
  const results = new Map<string, LoadResult[]>();
  const failed = new Map<string, Outcome>();
  const label = (t: BenchTarget) => `${t.name.padEnd(NAME_WIDTH)} ${w.label.padEnd(LABEL_WIDTH)}`;
  const fail = (t: BenchTarget, err: unknown) => {
    const error = err instanceof Error ? err.message : String(err);
    console.log(`  ${label(t)} failed: ${error}`);
    failed.set(t.name, { ok: false, error });
  };
  const warmup = warmupFor(w.messages);
  for (const t of targets) {
    results.set(t.name, []);
    if (warmup === 0) continue;
    try {
      await client.run({ ...loadBase(t, w), destination: `/queue/bench.${w.key}.warmup`, messages: warmup });
    } catch (err) {
      fail(t, err);
    }
  }
  for (let round = 1; round <= ROUNDS; round++) {
    // Each round starts with the next target, so none is always the one measured first.
    for (let i = 0; i < targets.length; i++) {
      const t = targets[(i + round - 1) % targets.length]!;
      if (failed.has(t.name)) continue;
      try {
        const before = w.persistent ? t.counters?.() : undefined;
        const once = () => client.run({ ...loadBase(t, w), destination: `/queue/bench.${w.key}.${round}`, messages: w.messages });
        const result = await (t.around ? t.around(once) : once());
        const after = before ? t.counters?.() : undefined;
        results.get(t.name)!.push(result);
        const name = label(t);
        console.log(
          `  ${name} ${fmtInt(result.messages)} messages in ${(result.elapsedMs / 1000).toFixed(2)} s: ${fmtInt(result.rate).padStart(7)} msg/s` +
            ` (${w.producers === 1 ? 'producer' : 'producers'} confirmed after ${(result.producerMs / 1000).toFixed(2)} s; client CPU ${Math.round((100 * result.clientCpuMs) / result.elapsedMs)}%` +
            `${result.redelivered ? `; ${result.redelivered} redelivered` : ''})`,
        );
        if (before && after) console.log(`  ${' '.repeat(name.length)} ${fsyncLine(result, before, after)}`);
      } catch (err) {
        fail(t, err);
      }
    }
  }
  const outcomes = new Map<string, Outcome>();
  for (const t of targets) {
    const f = failed.get(t.name);
    if (f) {
      outcomes.set(t.name, f);
      continue;
    }
    // The median round: one slow outlier (another process on the machine) does not decide it.
    const sorted = [...results.get(t.name)!].sort((a, b) => a.rate - b.rate);
    outcomes.set(t.name, { ok: true, result: sorted[Math.floor((sorted.length - 1) / 2)]! });
  }
  return outcomes;
}

/** What Junction's persistent number means, from the store the broker actually runs with. */
function storeLabel(store: { type: string; sync?: string }): string {
  if (store.type === 'memory') return 'in-memory store, nothing durable';
  if (store.type !== 'journal') return `${store.type} store`;
  return `journal in a temp dir, sync:${store.sync ?? '?'}${store.sync === 'always' ? ' (fdatasync before the RECEIPT)' : ''}`;
}

/** The store's `statistics()` (a `JournalStore` has it), or undefined when it has none. */
function countersOf(store: object): CountersProbe | undefined {
  const stats = (store as { statistics?: unknown }).statistics;
  if (typeof stats !== 'function') return undefined;
  return () => {
    const s = (stats as () => Partial<StoreCounters>).call(store);
    return { writes: s.writes ?? 0, syncs: s.syncs ?? 0 };
  };
}

/**
 * The Junction variants, measured side by side: as shipped without the management server, with
 * security on (every connection logs in), over STOMP+SSL, and with the management server under
 * load (+mgmt: 2 SSE streams on every topic and a 1 s /metrics scrape, test/bench/mgmt-load.ts).
 */
const JUNCTION = 'Junction';
const JUNCTION_AUTH = 'Junction+auth';
const JUNCTION_TLS = 'Junction+TLS';
const NAME_WIDTH = JUNCTION_AUTH.length;

/** A Junction broker in this process on a temp data dir, with `extra` config on top of the bench's. */
async function startJunction(extra: (dataDir: string) => Promise<Record<string, unknown>>): Promise<{ broker: Broker; dataDir: string }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'junction-bench-'));
  // Ctrl-C in the middle: the data dir goes anyway.
  process.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
  const broker = await createBroker(
    {
      dataDir,
      host: '127.0.0.1',
      ports: { stomp: 0, ws: 0, mqtt: 0, amqp: 0, http: 0 },
      logLevel: 'silent',
      ...(JUNCTION_STORE ? { store: { type: JUNCTION_STORE } } : {}),
      ...WITHOUT_MGMT,
      ...(await extra(dataDir)),
    },
    { logger: pino({ level: 'silent' }) },
  );
  return { broker, dataDir };
}

/**
 * Junction three times in this process, each on its own data dir: as shipped (security off), with
 * security on (a users file, the bench user granted everything: test/bench/security-fixture.ts;
 * each connection logs in with login/passcode, each SEND and subscription is checked) and with
 * STOMP+SSL (examples/tls/make-certs.sh's certificates, security off). The rows run interleaved
 * (see measure), so the ratios compare runs made side by side.
 */
async function benchJunction(client: LoadClient): Promise<{ outcomes: Map<string, Map<string, Outcome>>; rss: number; heapUsed: number; store: string; fsyncs: boolean }> {
  const started: Array<{ broker: Broker; dataDir: string }> = [];
  const mgmtLoad = MgmtLoad.start();
  try {
    const plain = await startJunction(async () => ({}));
    started.push(plain);
    const auth = await startJunction(async (dir) => ({ security: await benchSecurityConfig(dir) }));
    started.push(auth);
    const certs = await mkdtemp(path.join(os.tmpdir(), 'junction-bench-certs-'));
    process.once('exit', () => rmSync(certs, { recursive: true, force: true }));
    const made = spawnSync('bash', [path.join(ROOT, 'examples/tls/make-certs.sh'), certs], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`examples/tls/make-certs.sh failed: ${made.stderr}`);
    const secure = await startJunction(async () => ({
      tls: { cert: path.join(certs, 'server.pem'), key: path.join(certs, 'server-key.pem'), ports: { stomp: 0, mqtt: 0, amqp: 0, ws: 0, https: 0 } },
    }));
    started.push(secure);
    const managed = await startJunction(async () => ({ http: { enabled: true } }));
    started.push(managed);
    const mgmtUrl = `http://127.0.0.1:${managed.broker.ports.http!}`;
    const store = storeLabel(plain.broker.config.store);
    console.log(
      `  (store: ${store}; ${JUNCTION_AUTH}: security on, login/passcode on every connection; ${JUNCTION_TLS}: STOMP+SSL, TLS 1.2+, security off;` +
        ` ${JUNCTION_MGMT}: management server with 2 SSE streams and a 1 s /metrics scrape during its runs; the others without the management server)`,
    );
    const counters = countersOf(plain.broker.store);
    const targets: BenchTarget[] = [
      { name: JUNCTION, port: plain.broker.ports.stomp!, ...(counters ? { counters } : {}) },
      { name: JUNCTION_AUTH, port: auth.broker.ports.stomp!, login: { user: BENCH_USER, passcode: BENCH_PASSWORD } },
      { name: JUNCTION_TLS, port: secure.broker.ports.stompSsl!, tlsCa: readFileSync(path.join(certs, 'ca.pem'), 'utf8') },
      {
        name: JUNCTION_MGMT,
        port: managed.broker.ports.stomp!,
        around: async (run) => {
          const { result, load } = await mgmtLoad.during(mgmtUrl, run);
          console.log(`  ${' '.repeat(NAME_WIDTH)} ${mgmtLine(load)}`);
          return result;
        },
      },
    ];
    const outcomes = new Map<string, Map<string, Outcome>>();
    for (const w of WORKLOADS) outcomes.set(w.key, await measure(client, targets, w));
    const mem = process.memoryUsage();
    return { outcomes, rss: mem.rss, heapUsed: mem.heapUsed, store, fsyncs: counters !== undefined };
  } finally {
    mgmtLoad.close();
    for (const s of started) {
      await s.broker.close();
      await rm(s.dataDir, { recursive: true, force: true });
    }
  }
}

async function benchActiveMQ(
  client: LoadClient,
): Promise<{ outcomes: Map<string, Outcome>; rss: number | undefined; javaOpts: string } | { skipped: string }> {
  const missing = activemqMissing();
  if (missing) return { skipped: missing };
  let amq: ActiveMQ;
  const t0 = Date.now();
  try {
    amq = await startActiveMQ();
  } catch (err) {
    return { skipped: `it did not start: ${err instanceof Error ? err.message : String(err)}` };
  }
  console.log(`  (ActiveMQ pid ${amq.pid} up on STOMP port ${amq.stompPort} after ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  const outcomes = new Map<string, Outcome>();
  try {
    for (const w of WORKLOADS) outcomes.set(w.key, (await measure(client, [{ name: 'ActiveMQ', port: amq.stompPort }], w)).get('ActiveMQ')!);
    return { outcomes, rss: amq.rss(), javaOpts: amq.javaOpts };
  } finally {
    await amq.stop();
  }
}

function activemqVersion(): string {
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'activemq'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout ? r.stdout.trim() : 'version unknown';
}

function javaVersion(): string {
  const r = spawnSync(process.env.BENCH_JAVA ?? 'java', ['-version'], { encoding: 'utf8' });
  const line = (r.stderr || r.stdout || '').split('\n').find((l) => /version/.test(l));
  return line?.trim() ?? 'java version unknown';
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r, i) => {
      const line = r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('   ');
      return i === 0 ? `${line}\n${'-'.repeat(line.length)}` : line;
    })
    .join('\n');
}

async function main(): Promise<number> {
  const cpus = os.cpus();
  console.log(`Junction STOMP benchmark: queue throughput, 1 (or ${PRODUCERS} concurrent) producer(s) -> 1 queue -> 1 consumer`);
  console.log(
    `  ${fmtInt(MESSAGES)} non-persistent / ${fmtInt(PERSISTENT_MESSAGES)} persistent messages of ${BODY_SIZE} B per run, each after` +
      ` ${fmtInt(warmupFor(MESSAGES))} / ${fmtInt(warmupFor(PERSISTENT_MESSAGES))} warm-up messages on another queue;`,
  );
  console.log(`  consumer SUBSCRIBEs with ack:client-individual and activemq.prefetchSize:${PREFETCH} and ACKs every message;`);
  console.log(
    `  producer pipelines SENDs with a receipt on every ${RECEIPT_EVERY}th (non-persistent) or every (persistent) SEND,` +
      ` at most ${WINDOW} unconfirmed per producer; msg/s = messages / (first SEND -> last MESSAGE)`,
  );
  console.log(
    `  persistent:true, ${PRODUCERS} producers: the persistent run's messages split across ${PRODUCERS} producer connections sending at once` +
      ' (group commit: one fdatasync for the records of one event-loop turn)',
  );
  if (ROUNDS > 1) console.log(`  ${ROUNDS} measured rounds per workload; the table shows the median round`);
  console.log(`  client: test/bench/stomp-load.ts in its own process; Node ${process.version}, ${cpus.length} x ${cpus[0]?.model.trim() ?? 'cpu'}`);
  console.log('');

  const client = new LoadClient();
  let junction: Awaited<ReturnType<typeof benchJunction>>;
  let activemq: Awaited<ReturnType<typeof benchActiveMQ>>;
  try {
    console.log(`Junction (in-process, createBroker; ${JUNCTION}, ${JUNCTION_AUTH}, ${JUNCTION_TLS} and ${JUNCTION_MGMT} round by round):`);
    junction = await benchJunction(client);
    console.log(`ActiveMQ Classic (${activemqVersion()}, ${javaVersion()}, KahaDB):`);
    activemq = await benchActiveMQ(client);
    if ('skipped' in activemq) console.log(`  skipped: ${activemq.skipped}`);
  } finally {
    await client.close();
  }

  const rate = (o: Outcome | undefined) => (o?.ok ? o.result.rate : undefined);
  const num = (n: number | undefined) => (n !== undefined ? fmtInt(n) : 'failed');
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? `${(a / b).toFixed(2)}x` : '-');
  const rows = [['workload', 'Junction msg/s', '+auth msg/s', 'auth/off', '+TLS msg/s', 'TLS/off', '+mgmt msg/s', 'mgmt/off', 'ActiveMQ msg/s', 'Junction/ActiveMQ']];
  for (const w of WORKLOADS) {
    const mine = junction.outcomes.get(w.key);
    const j = rate(mine?.get(JUNCTION));
    const auth = rate(mine?.get(JUNCTION_AUTH));
    const tls = rate(mine?.get(JUNCTION_TLS));
    const mgmt = rate(mine?.get(JUNCTION_MGMT));
    const a = 'skipped' in activemq ? undefined : rate(activemq.outcomes.get(w.key));
    const label = w.persistent ? `${w.label} (*)` : w.label;
    rows.push([label, num(j), num(auth), ratio(auth, j), num(tls), ratio(tls, j), num(mgmt), ratio(mgmt, j), 'skipped' in activemq ? 'skipped' : num(a), ratio(j, a)]);
  }
  console.log('');
  console.log(table(rows));
  console.log(
    `+auth: ${JUNCTION_AUTH}, security on (users file, login/passcode, every SEND and SUBSCRIBE checked); +TLS: ${JUNCTION_TLS}, STOMP+SSL;` +
      ` +mgmt: ${JUNCTION_MGMT}, the management server with 2 SSE streams (every topic) and a 1 s /metrics scrape from another process during its runs; all measured round by round beside Junction.`,
  );
  console.log(`(*) Junction: ${junction.store}. ActiveMQ: KahaDB, stock settings (journal disk sync always).`);
  if (junction.fsyncs) {
    console.log(
      'fsyncs: fdatasyncs of Junction\'s journal in the round (for the SENDs and the consumer\'s ACKs alike; broker.store.statistics()),' +
        ' per second of the round (first SEND -> last RECEIPT or MESSAGE, whichever is later);' +
        ' confirmed msg/s = messages / (first SEND -> last RECEIPT).',
    );
  }
  if ('skipped' in activemq) console.log('ActiveMQ reference skipped, so there is no ratio.');
  console.log('');
  console.log(`Junction process RSS after the run: ${fmtMB(junction.rss)} (heap used ${fmtMB(junction.heapUsed)}; the four brokers + harness, the load clients are separate processes)`);
  if (!('skipped' in activemq) && activemq.rss !== undefined) console.log(`ActiveMQ JVM RSS after the run: ${fmtMB(activemq.rss)} (${activemq.javaOpts})`);

  const junctionFailed = [...junction.outcomes.values()].some((byTarget) => [...byTarget.values()].some((o) => !o.ok));
  return junctionFailed ? 1 : 0;
}

// Ctrl-C: exit through process.exit so the 'exit' hooks (ActiveMQ's tree kill) run.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
