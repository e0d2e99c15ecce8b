/**
 * MQTT benchmark: Junction against bare aedes (the library alone, its default in-memory
 * persistence), Mosquitto (Debian's `/usr/sbin/mosquitto`) and ActiveMQ Classic (Debian's
 * `activemq`, MQTT connector, KahaDB), each started here on loopback in a process of its own
 * (`mqtt-targets.ts`) and measured in the same run with the same MQTT.js load from this process.
 * A broker that is not installed or does not start is skipped with a `skipped:` line saying why.
 *
 *   node --import tsx test/bench/mqtt-bench.ts      (or: npm run bench -- mqtt)
 *
 * Per broker, in this order: memory per idle connection on the fresh broker (`mqtt-idle-memory.ts`:
 * warm-up connections, a full GC in the broker before each sample, the slope over several
 * checkpoints; why, there); then a warm-up phase of every throughput workload (unmeasured, so the
 * JVM's JIT and every broker's buffers and pools are warm; the same for every broker); then QoS 0
 * and QoS 1 fan-in (4 publishers -> 1 subscriber, 256-byte payloads), QoS 0 fan-out (1 -> 16),
 * QoS 1 fan-in into a persistent session (clean session false: Junction's journal with sync
 * `always` and ActiveMQ's KahaDB are on the path; aedes and Mosquitto keep it in memory), and
 * publish-to-delivery latency p50/p99 of QoS 1 at a fixed rate.
 *
 * Junction runs four times: as shipped without the management server, with security on
 * (`Junction+auth`: every client logs in as the bench user, test/bench/security-fixture.ts), over
 * MQTT over TLS (`Junction+TLS`) and with the management server under load during each of its
 * measurements (`Junction+mgmt`: 2 SSE streams and a 1 s /metrics scrape, mgmt-load.ts). After each
 * broker's idle memory and warm-up, the workloads run one by one on every broker in turn, so the
 * ratios variant / Junction compare runs made minutes apart, not a quarter of an hour.
 *
 * Saturation: the load (all publishers and subscribers, MQTT.js) runs in this one process and the
 * machine may have only 2 CPUs, so a throughput row can be bounded by the load instead of the broker.
 * Every throughput window records the CPU time of the broker (from /proc/<pid>/stat, all threads)
 * and of this process (process.cpuUsage()), printed as % of one core: a load near 100% means that
 * row measures MQTT.js as much as the broker. The rest of the machine's busy time in the window
 * (/proc/stat) is printed too: other work on the machine (other helpers' tests, say) takes CPU
 * from both, and a row measured while it did is not comparable. The same for every broker.
 *
 * Measurement only: no assertions, and a missed aim never changes the exit code (non-zero only
 * when Junction itself could not be measured). Everything started is stopped on the way out, also
 * on an error, SIGINT/SIGTERM or the overall timeout. Knobs: BENCH_MQTT_SECONDS (measured seconds
 * per workload, default 3), BENCH_MQTT_WARMUP (warm-up seconds per workload, default 2; 0: none),
 * BENCH_MQTT_IDLE (idle connections measured, default 5000), BENCH_MQTT_IDLE_WARMUP (idle
 * connections opened before the baseline, default 1000), BENCH_MQTT_RATE (latency run, msg/s,
 * default 1000), BENCH_MQTT_TIMEOUT (seconds for the whole run, default 1200).
 */
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { idleMemory } from './mqtt-idle-memory.ts';
import { printReport, type Measured, type Row } from './mqtt-report.ts';
import { STARTERS, type Target } from './mqtt-targets.ts';

function intEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  return Number.isInteger(n) && n >= min ? n : fallback;
}

const SECONDS = intEnv('BENCH_MQTT_SECONDS', 3);
const WARMUP = intEnv('BENCH_MQTT_WARMUP', 2, 0);
const IDLE = intEnv('BENCH_MQTT_IDLE', 5000);
const IDLE_WARMUP = intEnv('BENCH_MQTT_IDLE_WARMUP', 1000, 0);
const RATE = intEnv('BENCH_MQTT_RATE', 1000);
const TIMEOUT_S = intEnv('BENCH_MQTT_TIMEOUT', 1200);
const PAYLOAD = Buffer.alloc(256, 0x61);
const PUBLISHERS = 4;
const FANOUT = 16;
/** Publishes each publisher keeps outstanding (QoS 0: not yet written; QoS 1: not yet PUBACKed). */
const WINDOW = 100;
/** Lead-in of every measured window, after the clients are connected and publishing. */
const LEAD_IN_MS = 500;

// ------------------------------------------------------------------ clients

let seq = 0;

async function client(t: Target, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = t.connect;
  const login = c?.username !== undefined ? { username: c.username, password: c.password ?? '' } : {};
  const tls = c?.tlsCa !== undefined ? { ca: c.tlsCa, servername: 'localhost' } : {};
  return mqtt.connectAsync(`${c?.tlsCa !== undefined ? 'mqtts' : 'mqtt'}://127.0.0.1:${t.port}`, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    keepalive: 60,
    connectTimeout: 30_000,
    clientId: `bench-${process.pid}-${++seq}`,
    ...login,
    ...tls,
    ...opts,
  });
}

/** Publishes as fast as the window allows until `stop()`; counts acknowledged (QoS 1) or written (QoS 0) publishes. */
function flood(c: MqttClient, topic: string, qos: 0 | 1): { stop: () => Promise<void> } {
  let running = true;
  let outstanding = 0;
  let wake: (() => void) | null = null;
  const loop = (async () => {
    while (running) {
      if (outstanding >= WINDOW) {
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      outstanding++;
      c.publish(topic, PAYLOAD, { qos }, () => {
        outstanding--;
        const w = wake;
        wake = null;
        w?.();
      });
      // Let the socket write between bursts.
      if (outstanding % 20 === 0) await new Promise((r) => setImmediate(r));
    }
  })();
  return {
    async stop() {
      running = false;
      const w = wake;
      wake = null;
      w?.();
      await loop;
    },
  };
}

/** CPU seconds all CPUs of the machine have been busy (not idle, not waiting for I/O), from /proc/stat. */
function machineBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  // cpu user nice system idle iowait irq softirq steal ...
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100;
}

/** CPU seconds (user + system, all threads) the process `pid` has used, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command: state(0) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(11) stime(12).
  return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
}

/** Messages/s the subscribers received over `seconds`, after a lead-in; with both processes' CPU share. */
async function measure(t: Target, counter: () => number, seconds: number): Promise<Measured> {
  await delay(LEAD_IN_MS);
  const start = counter();
  const t0 = performance.now();
  const b0 = cpuSeconds(t.pid);
  const l0 = process.cpuUsage();
  const m0 = machineBusySeconds();
  await delay(seconds * 1000);
  const wall = (performance.now() - t0) / 1000;
  const l = process.cpuUsage(l0);
  const broker = cpuSeconds(t.pid) - b0;
  const load = (l.user + l.system) / 1e6;
  return {
    rate: (counter() - start) / wall,
    brokerCpu: (broker / wall) * 100,
    loadCpu: (load / wall) * 100,
    otherCpu: (Math.max(0, machineBusySeconds() - m0 - broker - load) / wall) * 100,
  };
}

async function fanIn(t: Target, qos: 0 | 1, persistent: boolean, seconds: number): Promise<Measured> {
  const run = `bench/${++seq}`;
  const subId = `bench-session-${process.pid}-${seq}`;
  const sub = await client(t, { clientId: subId, clean: !persistent });
  let received = 0;
  sub.on('message', () => received++);
  await sub.subscribeAsync(`${run}/#`, { qos });
  const pubs = await Promise.all(Array.from({ length: PUBLISHERS }, () => client(t)));
  const floods = pubs.map((p, i) => flood(p, `${run}/${i}`, qos));
  try {
    return await measure(t, () => received, seconds);
  } finally {
    await Promise.all(floods.map((f) => f.stop()));
    await Promise.all(pubs.map((p) => p.endAsync(true)));
    await sub.endAsync(true);
    // Drops the session and whatever is still queued for it.
    if (persistent) await (await client(t, { clientId: subId, clean: true })).endAsync();
  }
}

async function fanOut(t: Target, seconds: number): Promise<Measured> {
  const topic = `bench/out/${++seq}`;
  let received = 0;
  const subs = await Promise.all(Array.from({ length: FANOUT }, () => client(t)));
  for (const s of subs) {
    s.on('message', () => received++);
    await s.subscribeAsync(topic, { qos: 0 });
  }
  const pub = await client(t);
  const f = flood(pub, topic, 0);
  try {
    return await measure(t, () => received, seconds);
  } finally {
    await f.stop();
    await pub.endAsync(true);
    await Promise.all(subs.map((s) => s.endAsync(true)));
  }
}

/** Publish-to-delivery latency of QoS 1 messages published at a fixed rate. */
async function latency(t: Target): Promise<{ p50: number; p99: number }> {
  const topic = `bench/lat/${++seq}`;
  const sub = await client(t);
  const samples: number[] = [];
  sub.on('message', (_t, payload) => samples.push(performance.now() - payload.readDoubleBE(0)));
  await sub.subscribeAsync(topic, { qos: 1 });
  const pub = await client(t);
  const total = RATE * SECONDS;
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await delay(wait);
    const body = Buffer.alloc(256, 0x61);
    body.writeDoubleBE(performance.now(), 0);
    pub.publish(topic, body, { qos: 1 });
  }
  const deadline = Date.now() + 10_000;
  while (samples.length < total && Date.now() < deadline) await delay(20);
  await pub.endAsync(true);
  await sub.endAsync(true);
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99) };
}

// ------------------------------------------------------------------ the run

const started: Target[] = [];

async function stopAll(): Promise<void> {
  await Promise.all(
    started.splice(0).map(async (t) => {
      console.error(`# stopping ${t.name}`);
      await t.stop().catch((err: unknown) => console.error(`# stopping ${t.name} failed: ${(err as Error).message}`));
    }),
  );
}

/** Stops everything started, then exits; a second signal, or 30 s of stopping, exits at once. */
function abort(why: string, code: number): void {
  console.error(`# ${why}: stopping the brokers`);
  setTimeout(() => process.exit(code), 30_000).unref();
  void stopAll().finally(() => process.exit(code));
}

/** Puts a target's value (and CPU shares) into row `i`. */
function put(rows: Row[], t: Target, i: number, v: number, cpu?: Measured): void {
  rows[i]!.values.set(t.name, v);
  if (cpu) rows[i]!.cpu!.set(t.name, cpu);
}

/** Memory first, on the fresh broker: later workloads leave heap behind that would hide the growth. */
async function measureMemory(t: Target, rows: Row[], log: (s: string) => void): Promise<void> {
  const mem = await idleMemory(t, IDLE, IDLE_WARMUP, log);
  put(rows, t, 6, mem.perConnection);
  if (mem.heapPerConnection !== undefined) log(`heap in use after a full GC: +${mem.heapPerConnection.toFixed(1)} KiB per idle connection`);
  rows[6]!.notes.set(t.name, mem.heapPerConnection);
  log('idle memory done');
  if (WARMUP > 0) {
    await fanIn(t, 0, false, WARMUP);
    await fanIn(t, 1, false, WARMUP);
    await fanOut(t, WARMUP);
    await fanIn(t, 1, true, WARMUP);
    log('warm-up done');
  }
}

/** The measured workloads, in order, each writing its row(s). */
const WORKLOADS: Array<{ name: string; run: (t: Target, rows: Row[]) => Promise<void> }> = [
  { name: 'fan-in QoS 0', run: async (t, rows) => put(rows, t, 0, ...rated(await fanIn(t, 0, false, SECONDS))) },
  { name: 'fan-in QoS 1', run: async (t, rows) => put(rows, t, 1, ...rated(await fanIn(t, 1, false, SECONDS))) },
  { name: 'fan-out', run: async (t, rows) => put(rows, t, 2, ...rated(await fanOut(t, SECONDS))) },
  { name: 'persistent session', run: async (t, rows) => put(rows, t, 3, ...rated(await fanIn(t, 1, true, SECONDS))) },
  {
    name: 'latency',
    run: async (t, rows) => {
      const l = await latency(t);
      put(rows, t, 4, l.p50);
      put(rows, t, 5, l.p99);
    },
  },
];

/** A throughput measurement as `put`'s value and CPU arguments. */
function rated(m: Measured): [number, Measured] {
  return [m.rate, m];
}

export async function runMqttBench(): Promise<number> {
  const onSignal = (sig: NodeJS.Signals) => abort(sig, 130);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const watchdog = setTimeout(() => abort(`overall timeout of ${TIMEOUT_S} s`, 1), TIMEOUT_S * 1000);
  watchdog.unref();
  const load0 = os.loadavg()[0]!;
  const skipped: string[] = [];
  const failed = new Map<string, string>();
  const row = (label: string, unit: string, kind: Row['kind']): Row => ({ label, unit, kind, values: new Map(), cpu: new Map(), notes: new Map() });
  const rows: Row[] = [
    row('QoS 0 fan-in 4 -> 1', 'msg/s', 'throughput'),
    row('QoS 1 fan-in 4 -> 1', 'msg/s', 'throughput'),
    row('QoS 0 fan-out 1 -> 16', 'deliveries/s', 'throughput'),
    row('QoS 1 fan-in into a persistent session', 'msg/s', 'persistent'),
    row(`QoS 1 latency p50 at ${RATE} msg/s`, 'ms', 'latency'),
    row(`QoS 1 latency p99 at ${RATE} msg/s`, 'ms', 'latency'),
    row(`RSS per idle connection (${IDLE}, after full GC)`, 'KiB', 'memory'),
  ];
  try {
    for (const start of STARTERS) {
      try {
        const t = await start();
        if ('skipped' in t) skipped.push(t.skipped);
        else started.push(t);
      } catch (err) {
        skipped.push(`${start.name.replace(/^start/, '')}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    // Each broker's idle memory and warm-up, then workload by workload every broker in turn, so
    // drift on the machine falls on all of them alike and side-by-side ratios (Junction with
    // security or TLS against Junction) compare runs made minutes, not a quarter of an hour, apart.
    const measuring = [...started];
    const fail = (t: Target, err: unknown) => {
      failed.set(t.name, (err as Error).message.split('\n')[0]!);
      console.error(`#   ${t.name} failed: ${(err as Error).stack}`);
    };
    for (const t of measuring) {
      console.error(`# measuring ${t.name} on port ${t.port} (pid ${t.pid}; ${t.about})`);
      const memory = () => measureMemory(t, rows, (s) => console.error(`#   ${t.name}: ${s}`));
      await (t.around ? t.around(memory) : memory()).catch((err: unknown) => fail(t, err));
    }
    for (const w of WORKLOADS) {
      for (const t of measuring) {
        if (failed.has(t.name)) continue;
        try {
          await (t.around ? t.around(() => w.run(t, rows)) : w.run(t, rows));
          console.error(`#   ${t.name}: ${w.name} done`);
        } catch (err) {
          fail(t, err);
        }
      }
    }
  } finally {
    const targets = [...started];
    await stopAll();
    clearTimeout(watchdog);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    printReport({
      targets: targets.map((t) => ({ name: t.name, about: t.about })),
      rows,
      skipped,
      failed,
      conditions: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model.trim() ?? '?',
        loadBefore: load0,
        loadAfter: os.loadavg()[0]!,
        seconds: SECONDS,
        warmup: WARMUP,
        leadInMs: LEAD_IN_MS,
        window: WINDOW,
        publishers: PUBLISHERS,
        fanout: FANOUT,
        idle: IDLE,
        idleWarmup: IDLE_WARMUP,
        rate: RATE,
      },
    });
  }
  return rows[0]!.values.has('Junction') && !failed.has('Junction') ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runMqttBench();
}
