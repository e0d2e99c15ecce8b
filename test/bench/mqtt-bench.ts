/**
 * MQTT benchmark: Junction against bare aedes (the library alone, its default in-memory
 * persistence) and Mosquitto (Debian's `/usr/sbin/mosquitto`), each started here on loopback in a
 * process of its own and measured in the same run with the same MQTT.js load from this process.
 *
 *   node --import tsx test/bench/mqtt-bench.ts
 *
 * Workloads: QoS 0 and QoS 1 fan-in (4 publishers -> 1 subscriber, 256-byte payloads), QoS 0 fan-out
 * (1 -> 16), QoS 1 into a persistent session (clean session false: Junction's journal with sync
 * `always` is on the path), publish-to-delivery latency p50/p99 at a fixed rate (QoS 1), and broker
 * memory (RSS) per idle connection. Measurement only: no assertions. Knobs: BENCH_MQTT_SECONDS
 * (measured seconds per workload, default 3), BENCH_MQTT_IDLE (idle connections, default 5000),
 * BENCH_MQTT_RATE (latency run, msg/s, default 1000).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, stopChild } from './processes.ts';
import { pathToFileURL } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { BrokerProcess } from '../helpers/broker-process.ts';
import { connectPacket } from '../helpers/raw-mqtt.ts';

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

const SECONDS = intEnv('BENCH_MQTT_SECONDS', 3);
const IDLE = intEnv('BENCH_MQTT_IDLE', 5000);
const RATE = intEnv('BENCH_MQTT_RATE', 1000);
const PAYLOAD = Buffer.alloc(256, 0x61);
const PUBLISHERS = 4;
const FANOUT = 16;
/** Publishes each publisher keeps outstanding (QoS 0: not yet written; QoS 1: not yet PUBACKed). */
const WINDOW = 100;
const MOSQUITTO = '/usr/sbin/mosquitto';

interface Target {
  name: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

// ------------------------------------------------------------------ brokers

async function startJunction(): Promise<Target> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'junction-mqtt-bench-'));
  const b = await BrokerProcess.start({ dataDir });
  return {
    name: 'Junction',
    port: b.ports.mqtt,
    pid: b.child.pid!,
    async stop() {
      await b.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function waitLine(child: ChildProcess, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`${what} did not start: ${out}`)), 20_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(t);
        resolve(out.slice(0, nl));
      }
    });
    child.once('exit', () => reject(new Error(`${what} exited: ${out}`)));
  });
}

async function startAedes(): Promise<Target> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'aedes-server.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const { port } = JSON.parse(await waitLine(child, 'aedes')) as { port: number };
  return { name: 'bare aedes', port, pid: child.pid!, stop: () => stopChild(child, 5000) };
}

async function startMosquitto(): Promise<Target | { skipped: string }> {
  if (!existsSync(MOSQUITTO)) return { skipped: `${MOSQUITTO} is not installed (apt-get install mosquitto)` };
  const port = await freePort();
  // Mosquitto 2 with only -p listens on loopback and allows anonymous clients.
  // Its log (a line per connection) is not read: discarded, so a full pipe never blocks it.
  const child = spawn(MOSQUITTO, ['-p', String(port)], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline || child.exitCode !== null) return { skipped: 'mosquitto did not start' };
    await delay(50);
  }
  return { name: 'Mosquitto', port, pid: child.pid!, stop: () => stopChild(child, 5000) };
}

// ------------------------------------------------------------------ clients

let seq = 0;

async function client(port: number, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, reconnectPeriod: 0, keepalive: 60, clientId: `bench-${process.pid}-${++seq}`, ...opts });
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

/** Messages/s the subscribers received over SECONDS, after a warm-up of half a second. */
async function measure(counter: () => number): Promise<number> {
  await delay(500);
  const start = counter();
  const t0 = performance.now();
  await delay(SECONDS * 1000);
  return ((counter() - start) * 1000) / (performance.now() - t0);
}

async function fanIn(t: Target, qos: 0 | 1, persistent: boolean): Promise<number> {
  const run = `bench/${++seq}`;
  const subId = `bench-session-${seq}`;
  const sub = await client(t.port, { clientId: subId, clean: !persistent });
  let received = 0;
  sub.on('message', () => received++);
  await sub.subscribeAsync(`${run}/#`, { qos });
  const pubs = await Promise.all(Array.from({ length: PUBLISHERS }, () => client(t.port)));
  const floods = pubs.map((p, i) => flood(p, `${run}/${i}`, qos));
  const rate = await measure(() => received);
  await Promise.all(floods.map((f) => f.stop()));
  await Promise.all(pubs.map((p) => p.endAsync(true)));
  await sub.endAsync(true);
  if (persistent) await (await client(t.port, { clientId: subId, clean: true })).endAsync();
  return rate;
}

async function fanOut(t: Target): Promise<number> {
  const topic = `bench/out/${++seq}`;
  let received = 0;
  const subs = await Promise.all(Array.from({ length: FANOUT }, () => client(t.port)));
  for (const s of subs) {
    s.on('message', () => received++);
    await s.subscribeAsync(topic, { qos: 0 });
  }
  const pub = await client(t.port);
  const f = flood(pub, topic, 0);
  const rate = await measure(() => received);
  await f.stop();
  await pub.endAsync(true);
  await Promise.all(subs.map((s) => s.endAsync(true)));
  return rate;
}

/** Publish-to-delivery latency of QoS 1 messages published at a fixed rate. */
async function latency(t: Target): Promise<{ p50: number; p99: number }> {
  const topic = `bench/lat/${++seq}`;
  const sub = await client(t.port);
  const samples: number[] = [];
  sub.on('message', (_t, payload) => samples.push(performance.now() - payload.readDoubleBE(0)));
  await sub.subscribeAsync(topic, { qos: 1 });
  const pub = await client(t.port);
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

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** Broker RSS growth per idle MQTT connection (raw sockets: CONNECT, keep-alive 0, nothing else). */
async function idleMemory(t: Target, n: number): Promise<number> {
  const open = async (count: number, into: net.Socket[]) => {
    for (let i = 0; i < count; i += 250) {
      await Promise.all(
        Array.from({ length: Math.min(250, count - i) }, () =>
          new Promise<void>((resolve, reject) => {
            const s = net.connect({ host: '127.0.0.1', port: t.port }, () => s.write(connectPacket({ clientId: `idle-${process.pid}-${++seq}` })));
            s.once('data', () => resolve());
            s.once('error', reject);
            into.push(s);
          }),
        ),
      );
    }
  };
  const warm: net.Socket[] = [];
  await open(50, warm);
  await delay(1000);
  const before = rssKiB(t.pid);
  const socks: net.Socket[] = [];
  await open(n, socks);
  await delay(2000);
  const after = rssKiB(t.pid);
  for (const s of [...warm, ...socks]) s.destroy();
  await delay(500);
  return (after - before) / n; // /proc's kB are KiB
}

// ------------------------------------------------------------------ the run

interface Row {
  label: string;
  unit: string;
  /** Lower is better (latency, memory). */
  lower?: boolean;
  values: Map<string, number>;
}

export async function runMqttBench(): Promise<void> {
  const targets: Target[] = [];
  const skipped: string[] = [];
  for (const start of [startJunction, startAedes, startMosquitto]) {
    try {
      const t = await start();
      if ('skipped' in t) skipped.push(t.skipped);
      else targets.push(t);
    } catch (err) {
      skipped.push((err as Error).message);
    }
  }
  const rows: Row[] = [
    { label: 'QoS 0 fan-in 4 -> 1', unit: 'msg/s', values: new Map() },
    { label: 'QoS 1 fan-in 4 -> 1', unit: 'msg/s', values: new Map() },
    { label: 'QoS 0 fan-out 1 -> 16', unit: 'deliveries/s', values: new Map() },
    { label: 'QoS 1 fan-in into a persistent session', unit: 'msg/s', values: new Map() },
    { label: `QoS 1 latency p50 at ${RATE} msg/s`, unit: 'ms', lower: true, values: new Map() },
    { label: `QoS 1 latency p99 at ${RATE} msg/s`, unit: 'ms', lower: true, values: new Map() },
    { label: `RSS per idle connection (${IDLE})`, unit: 'KiB', lower: true, values: new Map() },
  ];
  try {
    for (const t of targets) {
      console.error(`# measuring ${t.name} on port ${t.port}`);
      const step = (s: string) => console.error(`#   ${t.name}: ${s}`);
      // Memory first, on the fresh broker: later workloads leave heap behind that would hide the growth.
      rows[6]!.values.set(t.name, await idleMemory(t, IDLE));
      step('idle');
      rows[0]!.values.set(t.name, await fanIn(t, 0, false));
      step('fan-in 0');
      rows[1]!.values.set(t.name, await fanIn(t, 1, false));
      step('fan-in 1');
      rows[2]!.values.set(t.name, await fanOut(t));
      step('fan-out');
      rows[3]!.values.set(t.name, await fanIn(t, 1, true));
      step('persistent');
      const lat = await latency(t);
      step('latency');
      rows[4]!.values.set(t.name, lat.p50);
      rows[5]!.values.set(t.name, lat.p99);
    }
  } finally {
    for (const t of targets) {
      console.error(`# stopping ${t.name}`);
      await t.stop();
    }
  }
  const names = targets.map((t) => t.name);
  const refs = names.filter((n) => n !== 'Junction');
  const fmt = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '-' : v >= 100 ? Math.round(v).toLocaleString('en') : v.toFixed(2));
  console.log(`MQTT benchmark (${SECONDS} s per workload, 256-byte payloads, MQTT.js load in one process, ${os.cpus().length} CPUs; Junction: journal, sync always)`);
  const header = ['workload', 'unit', ...names, ...refs.map((r) => `Junction / ${r}`)];
  const lines = rows.map((r) => {
    const j = r.values.get('Junction');
    return [r.label, r.unit, ...names.map((n) => fmt(r.values.get(n))), ...refs.map((n) => (j !== undefined && r.values.get(n) ? `${(j / r.values.get(n)!).toFixed(2)}x` : '-'))];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(row(header));
  for (const l of lines) console.log(row(l));
  console.log('Ratios: throughput higher is better; latency and memory lower is better.');
  for (const s of skipped) console.log(`skipped: ${s}`);
  console.log('ActiveMQ Classic: not measured by this benchmark.');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runMqttBench();
}
