/**
 * The MQTT benchmark's idle-memory row: broker RSS growth per idle MQTT connection (raw sockets:
 * CONNECT with keep-alive 0, nothing else), on a fresh broker.
 *
 * Why the old single before/after difference moved between 1.07x and 1.40x (Junction / aedes):
 * a Node broker's RSS after N connections holds, besides what the connections keep alive, the
 * garbage their handshakes left that V8 has not collected yet (tens of MB at 5,000 connections),
 * and when the next mark-compact comes is a matter of heap heuristics and timing. Sampled 2 s after
 * the last connection, Junction's growth was 14 KiB or 20 KiB per connection depending on whether a
 * collection happened to run just before (the same build, two runs a minute apart). Besides, the
 * first ~1,000 connections cost more than the later ones (new space growing to its maximum, tables
 * resizing): with 50 warm-up connections that one-time cost landed inside the measurement.
 *
 * So: `IDLE_WARMUP` connections (default 1,000) are opened first and stay open; then the broker is
 * made to run a full GC (Target.collectGarbage, where its runtime has one), RSS is left to settle,
 * and the baseline is sampled; the `idle` connections are then opened in `STEPS` equal steps with a
 * full GC, settle and sample after each; the result is the Theil-Sen slope of RSS over the
 * connection count (the median of the slopes between every pair of samples, KiB per connection),
 * so no single sample decides it and a one-off jump (aedes's first 1,000-2,000 connections after
 * the warm-up sometimes cost 15-23 KiB each, the later ones 4-7) does not pull it as it pulls a
 * least-squares fit. Measured that way on a busy machine, Junction's own figure is steady (8.1-8.9
 * KiB over four runs; 14-20 before), but bare aedes's still moves (5.4-6.6 KiB), so the ratio still
 * spans about 1.2-1.6x: not solved for aedes; read the row with the per-step values this logs to
 * stderr. It measures what the connections keep alive, not the garbage, so it is lower than the
 * old figures for the Node brokers (Mosquitto: no GC, unchanged at 0.7 KiB).
 *
 * A JVM's RSS is not its heap: pages of the heap it touched once (-Xms is reserved, not touched)
 * stay resident after a GC, so its growth is thread stacks, socket buffers and newly touched heap
 * pages (how many depends on its GC history); its heap in use after the last full GC is reported
 * apart (`jcmd GC.heap_info`).
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { setTimeout as delay } from 'node:timers/promises';
import { connectPacket } from '../helpers/raw-mqtt.ts';
import type { Target } from './mqtt-targets.ts';

const STEPS = 10;

export interface IdleMemory {
  /** KiB per connection after a full GC at each checkpoint (the slope). */
  perConnection: number;
  /** The per-step growth after GC, KiB per connection, to judge the spread. */
  steps: number[];
  /** Growth of the heap in use after a full GC per connection (JVM only). */
  heapPerConnection?: number;
}

export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN; // /proc's kB are KiB
}

/** Waits until RSS stops moving (two samples 250 ms apart within 64 KiB), at most 5 s; returns it. */
async function settledRss(pid: number): Promise<number> {
  let last = rssKiB(pid);
  for (let i = 0; i < 20; i++) {
    await delay(250);
    const now = rssKiB(pid);
    if (Math.abs(now - last) <= 64) return now;
    last = now;
  }
  return last;
}

/** Theil-Sen: the median of the slopes between every pair of points. */
function slope(points: Array<[number, number]>): number {
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const [xi, yi] = points[i]!;
      const [xj, yj] = points[j]!;
      if (xj !== xi) slopes.push((yj - yi) / (xj - xi));
    }
  }
  slopes.sort((a, b) => a - b);
  const m = slopes.length >> 1;
  return slopes.length % 2 === 1 ? slopes[m]! : (slopes[m - 1]! + slopes[m]!) / 2;
}

let seq = 0;

async function open(port: number, count: number, into: net.Socket[], login: Target['connect']): Promise<void> {
  for (let i = 0; i < count; i += 250) {
    await Promise.all(
      Array.from(
        { length: Math.min(250, count - i) },
        () =>
          new Promise<void>((resolve, reject) => {
            const packet = () => connectPacket({ clientId: `idle-${process.pid}-${++seq}`, ...(login?.username !== undefined ? { username: login.username, password: login.password ?? '' } : {}) });
            const s: net.Socket =
              login?.tlsCa === undefined
                ? net.connect({ host: '127.0.0.1', port }, () => s.write(packet()))
                : tls.connect({ host: '127.0.0.1', port, ca: login.tlsCa, servername: 'localhost' }, () => s.write(packet()));
            // The CONNACK (or a refusal: then the row is wrong, so fail loudly).
            s.once('data', (d) => (d[0] === 0x20 && d[3] === 0 ? resolve() : reject(new Error(`CONNECT refused: ${d.toString('hex')}`))));
            s.once('error', reject);
            s.once('close', () => reject(new Error('closed before CONNACK')));
            into.push(s);
          }),
      ),
    );
  }
}

export async function idleMemory(t: Target, idle: number, warmup: number, log: (s: string) => void): Promise<IdleMemory> {
  const socks: net.Socket[] = [];
  try {
    await open(t.port, warmup, socks, t.connect);
    const after: Array<[number, number]> = [];
    const heap0 = t.heapUsedKiB ? (await t.collectGarbage?.(), await t.heapUsedKiB()) : undefined;
    const sample = async (n: number) => {
      await t.collectGarbage?.();
      after.push([n, await settledRss(t.pid)]);
    };
    await sample(0);
    const step = Math.ceil(idle / STEPS);
    for (let n = 0; n < idle; ) {
      const k = Math.min(step, idle - n);
      await open(t.port, k, socks, t.connect);
      n += k;
      await sample(n);
    }
    const heap1 = heap0 !== undefined ? await t.heapUsedKiB!() : undefined;
    const steps = after.slice(1).map(([n, r], i) => (r - after[i]![1]) / (n - after[i]![0]));
    log(`idle RSS after GC (KiB): ${after.map(([n, r]) => `${n}:${r}`).join(' ')}; per step KiB/conn: ${steps.map((s) => s.toFixed(1)).join(' ')}`);
    return {
      perConnection: slope(after),
      steps,
      heapPerConnection: heap0 !== undefined && heap1 !== undefined ? (heap1 - heap0) / idle : undefined,
    };
  } finally {
    for (const s of socks) s.destroy();
    await delay(1000);
  }
}
