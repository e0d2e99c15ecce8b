/**
 * The brokers the MQTT benchmark measures, each started on loopback in a process of its own:
 * Junction (`bin/junction.js start`, journal with sync `always`), bare aedes (`aedes-server.ts`),
 * Mosquitto (`/usr/sbin/mosquitto -p PORT`) and ActiveMQ Classic (`activemq.ts` with an MQTT
 * connector, KahaDB). A broker that is not installed or does not start is skipped with the reason.
 *
 * Each target can run a full garbage collection on request (`collectGarbage`), for the idle-memory
 * row: the Node brokers through `gc-on-signal.ts` (preloaded with `--expose-gc`, triggered by
 * SIGUSR2), the JVM through `jcmd <pid> GC.run` (System.gc(), a full G1 collection); Mosquitto (C,
 * malloc) has none.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { BrokerProcess } from '../helpers/broker-process.ts';
import { listening } from '../helpers/ports.ts';
import { JUNCTION_MGMT, mgmtLine, MgmtLoad, WITHOUT_MGMT } from './mgmt-load.ts';
import { BENCH_PASSWORD, BENCH_USER, benchSecurityConfig } from './security-fixture.ts';
import { activemqMissing, startActiveMQ } from './activemq.ts';
import { freePort, stopChild } from './processes.ts';

const MOSQUITTO = '/usr/sbin/mosquitto';
const GC_PRELOAD = path.join(import.meta.dirname, 'gc-on-signal.ts');

export interface Target {
  name: string;
  port: number;
  /** The broker's process (the JVM itself for ActiveMQ): RSS and CPU time are read from /proc/<pid>. */
  pid: number;
  /** One line on how it runs (version, settings), for the report. */
  about: string;
  /** How clients connect when not plainly and anonymously: a user name and password, TLS trusting `tlsCa` (PEM). */
  connect?: { username?: string; password?: string; tlsCa?: string };
  /** A full garbage collection in the broker, resolved once it is done; absent when the runtime has none. */
  collectGarbage?(): Promise<void>;
  /** Extra facts after the idle-memory run (the JVM's heap after a full GC), or undefined. */
  heapUsedKiB?(): Promise<number | undefined>;
  /** Runs each measurement inside it (Junction+mgmt: with the management load on). */
  around?<T>(run: () => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

export type Started = Target | { skipped: string };

/** NODE_OPTIONS for a Node broker: this process's own, plus the GC hook. */
function gcNodeOptions(): string {
  return [process.env.NODE_OPTIONS ?? '', '--expose-gc', '--import', 'tsx', '--import', GC_PRELOAD].join(' ').trim();
}

/** Sends SIGUSR2 to `pid` and waits until `output()` shows gc-on-signal.ts's answer number `n`. */
async function signalledGc(pid: number, n: number, output: () => string): Promise<void> {
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 20_000;
  const mark = `junction-bench-gc ${n} `;
  for (;;) {
    const out = output();
    const at = out.lastIndexOf(mark);
    if (at >= 0) {
      if (out.startsWith(`${mark}unavailable`, at)) throw new Error('gc() unavailable in the broker (--expose-gc missing)');
      return;
    }
    if (Date.now() > deadline) throw new Error(`no answer to SIGUSR2 (gc) from pid ${pid}`);
    await delay(10);
  }
}

function version(pkg: string): string {
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout ? r.stdout.replace(/\+.*$/, '') : '?';
}

/**
 * Junction as `bin/junction.js start` with the bench's config plus `extra` (written next to the
 * data dir; `extra` may write files there too), named `name`.
 */
interface JunctionExtra {
  config: Record<string, unknown>;
  connect?: Target['connect'];
  port?: (p: Record<string, number>) => number;
  around?: (p: Record<string, number>) => NonNullable<Target['around']>;
  close?: () => void;
}

async function startJunctionWith(name: string, about: string, extra: (dataDir: string) => Promise<JunctionExtra>): Promise<Started> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'junction-mqtt-bench-'));
  let b: BrokerProcess;
  let more: Awaited<ReturnType<typeof extra>>;
  try {
    more = await extra(dataDir);
    // Every bench connection comes from 127.0.0.1: the idle-memory row alone opens 6,000 (warm-up
    // included), past the per-address default (connections.maxPerAddress 1,000); connections.max
    // (10,000) still bounds them.
    const config = path.join(dataDir, 'bench.json');
    // Only Junction+mgmt runs the management server (it sets http.enabled); the others measure the broker without it.
    await writeFile(config, JSON.stringify({ connections: { maxPerAddress: 1_000_000 }, ...WITHOUT_MGMT, ...more.config }));
    b = await BrokerProcess.start({ dataDir, args: ['--config', config], env: { NODE_OPTIONS: gcNodeOptions() } });
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  let gcs = 0;
  return {
    name,
    port: more.port ? more.port(b.ports as unknown as Record<string, number>) : b.ports.mqtt,
    ...(more.connect ? { connect: more.connect } : {}),
    pid: b.child.pid!,
    about: `bin/junction.js start, journal with sync always, ${process.version}${about}`,
    collectGarbage: () => signalledGc(b.child.pid!, ++gcs, () => b.output()),
    ...(more.around ? { around: more.around(b.ports as unknown as Record<string, number>) } : {}),
    async stop() {
      more.close?.();
      const stopped = b.stop();
      const killer = setTimeout(() => void b.kill(), 10_000);
      await stopped;
      clearTimeout(killer);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function startJunction(): Promise<Started> {
  return startJunctionWith('Junction', '', async () => ({ config: {} }));
}

/** Junction with security on: every client logs in as the bench user, every PUBLISH and SUBSCRIBE is checked. */
export function startJunctionAuth(): Promise<Started> {
  return startJunctionWith('Junction+auth', '; security on (users file, each client logs in)', async (dir) => ({
    config: { security: await benchSecurityConfig(dir) },
    connect: { username: BENCH_USER, password: BENCH_PASSWORD },
  }));
}

/** Junction's MQTT over TLS listener (examples/tls/make-certs.sh's certificates, security off). */
export function startJunctionTls(): Promise<Started> {
  return startJunctionWith('Junction+TLS', '; MQTT over TLS (TLS 1.2+), security off', async (dir) => {
    const certs = path.join(dir, 'certs');
    const made = spawnSync('bash', [path.join(import.meta.dirname, '../../examples/tls/make-certs.sh'), certs], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`examples/tls/make-certs.sh failed: ${made.stderr}`);
    return {
      config: { tls: { cert: path.join(certs, 'server.pem'), key: path.join(certs, 'server-key.pem'), ports: { stomp: 0, mqtt: 0, amqp: 0, ws: 0, https: 0 } } },
      connect: { tlsCa: readFileSync(path.join(certs, 'ca.pem'), 'utf8') },
      port: (p) => p.mqttSsl!,
    };
  });
}

/** Junction with the management server under load during every measurement: 2 SSE streams on every topic and a 1 s /metrics scrape (mgmt-load.ts). */
export function startJunctionMgmt(): Promise<Started> {
  return startJunctionWith(JUNCTION_MGMT, '; management server with 2 SSE streams and a 1 s /metrics scrape during the measurements', async () => {
    const load = MgmtLoad.start();
    return {
      config: { http: { enabled: true } },
      around: (p) => async (run) => {
        const { result, load: s } = await load.during(`http://127.0.0.1:${p.http}`, run);
        console.error(`#   ${JUNCTION_MGMT}: ${mgmtLine(s)}`);
        return result;
      },
      close: () => load.close(),
    };
  });
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
    child.once('exit', () => {
      clearTimeout(t);
      reject(new Error(`${what} exited: ${out}`));
    });
  });
}

export async function startAedes(): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'aedes-server.ts')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: gcNodeOptions() },
  });
  // Its stderr carries gc-on-signal.ts's answers (and anything aedes reports, kept for errors).
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-100_000)));
  let port: number;
  try {
    ({ port } = JSON.parse(await waitLine(child, 'aedes')) as { port: number });
  } catch (e) {
    await stopChild(child, 2000);
    throw new Error(`${(e as Error).message}${err}`);
  }
  let gcs = 0;
  return {
    name: 'bare aedes',
    port,
    pid: child.pid!,
    about: `aedes 1.2 alone, in-memory persistence, ${process.version}`,
    collectGarbage: () => signalledGc(child.pid!, ++gcs, () => err),
    stop: () => stopChild(child, 5000),
  };
}

export async function startMosquitto(): Promise<Started> {
  if (!existsSync(MOSQUITTO)) return { skipped: `Mosquitto: ${MOSQUITTO} is not installed (apt-get install mosquitto)` };
  const port = await freePort();
  // Mosquitto 2 with only -p listens on loopback and allows anonymous clients.
  // Its log (a line per connection) is not read: discarded, so a full pipe never blocks it.
  const child = spawn(MOSQUITTO, ['-p', String(port)], { stdio: 'ignore' });
  if (!(await listening(port, 10_000, () => child.exitCode === null))) {
    await stopChild(child, 1000);
    return { skipped: 'Mosquitto: did not start' };
  }
  return { name: 'Mosquitto', port, pid: child.pid!, about: `Mosquitto ${version('mosquitto')}, -p PORT (in memory)`, stop: () => stopChild(child, 5000) };
}

const jcmd = promisify(execFile);

export async function startActiveMQClassic(): Promise<Started> {
  const missing = activemqMissing({ mqtt: true });
  if (missing) return { skipped: `ActiveMQ Classic: ${missing}` };
  let amq;
  try {
    amq = await startActiveMQ({ mqtt: true });
  } catch (err) {
    return { skipped: `ActiveMQ Classic: did not start: ${(err as Error).message}` };
  }
  const pid = amq.pid;
  return {
    name: 'ActiveMQ Classic',
    port: amq.mqttPort!,
    pid,
    about: `ActiveMQ ${version('activemq')}, mqtt:// (blocking TCP, a thread per connection), KahaDB (journal disk syncs on), JVM ${amq.javaOpts}`,
    async collectGarbage() {
      await jcmd('jcmd', [String(pid), 'GC.run'], { timeout: 60_000 });
    },
    async heapUsedKiB() {
      const { stdout } = await jcmd('jcmd', [String(pid), 'GC.heap_info'], { timeout: 60_000 });
      const m = /total \d+K, used (\d+)K/.exec(stdout);
      return m ? Number(m[1]) : undefined;
    },
    stop: () => amq.stop(),
  };
}

export const STARTERS = [startJunction, startJunctionAuth, startJunctionTls, startJunctionMgmt, startAedes, startMosquitto, startActiveMQClassic];
