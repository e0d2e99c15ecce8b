/**
 * Journal benchmark (persistence issue): fills ONE queue with N persistent messages on a broker
 * running as a child process (journal store, `sync: always`, default segment size), stops it,
 * recovers it, drains the queue with client-individual ACKs, and watches the journal give its
 * disk space back. Reports throughput, the broker's RSS (paging keeps it well under N × body),
 * recovery time and journal disk usage at each stage.
 *
 *   node --import tsx test/bench/journal-bench.ts
 *
 * Environment: BENCH_JOURNAL_MESSAGES (default 1,000,000), BENCH_BODY (bytes, default 1024),
 * BENCH_JOURNAL_PRODUCERS (4), BENCH_JOURNAL_WINDOW (SENDs in flight per producer without a
 * RECEIPT, 1000: the broker stops reading a connection with 1024 frames awaiting the store),
 * BENCH_JOURNAL_RECEIPT_EVERY (a receipt on every Nth SEND, 100), BENCH_JOURNAL_PREFETCH (1000),
 * BENCH_JOURNAL_STALL_MS (60000). The broker inherits this process's environment (NODE_OPTIONS
 * with an `--import` preload can profile it).
 *
 * A measurement, not a test: nothing throws on a bad number. A lost or duplicated message is
 * printed as a MISMATCH line. Exits 0 unless the harness itself failed (broker did not start).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { BrokerProcess } from '../helpers/broker-process.ts';
import { FrameSplitter, type ServerFrame } from './stomp-frames.ts';

const NUL_BYTE = Buffer.from([0]);

export interface JournalBenchOptions {
  messages: number;
  bodySize: number;
  log: (line: string) => void;
}

const QUEUE = '/queue/bench.journal';

function intEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got '${raw}'`);
  return n;
}

// ------------------------------------------------------------------ formatting

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rate = (n: number, ms: number) => `${int((n * 1000) / Math.max(ms, 1e-9))} msg/s`;

/** An interval's rate; '-' for intervals too short to mean anything (receipts come in group-commit bursts). */
const rateCell = (r: number, spanMs: number) => (spanMs >= 250 ? `${int(r)}/s` : '-');

/** A two-column markdown table, easy to paste into a report. */
function table(log: (line: string) => void, rows: Array<[string, string]>): void {
  const w = Math.max(6, ...rows.map(([k]) => k.length));
  const v = Math.max(5, ...rows.map(([, x]) => x.length));
  log(`| ${'metric'.padEnd(w)} | ${'value'.padEnd(v)} |`);
  log(`| ${'-'.repeat(w)} | ${'-'.repeat(v)} |`);
  for (const [k, x] of rows) log(`| ${k.padEnd(w)} | ${x.padEnd(v)} |`);
}

// ------------------------------------------------------------------ broker process facts

interface Mem {
  rss: number;
  hwm: number;
}

/** VmRSS and VmHWM (peak RSS) of a process, in bytes; zeros if it is gone. */
function memOf(pid: number | undefined): Mem {
  if (pid === undefined) return { rss: 0, hwm: 0 };
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** CPU time (user + system) a process has used, in ms; 0 if it is gone. */
function cpuOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command: state is 3rd overall, so utime (14th) and stime (15th) are at 11 and 12 here.
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** CPU of the broker and of this (client) process over one phase. */
function cpuMeter(pid: number | undefined): () => { broker: number; client: number } {
  const b0 = cpuOf(pid);
  const c0 = process.cpuUsage();
  return () => {
    const c = process.cpuUsage(c0);
    return { broker: cpuOf(pid) - b0, client: (c.user + c.system) / 1000 };
  };
}
const cpuText = (cpuMs: number, wallMs: number) => `${secs(cpuMs)} (${((cpuMs / Math.max(wallMs, 1)) * 100).toFixed(0)} % of one core)`;

/** Samples a process's RSS in the background, keeping the peak. */
class RssSampler {
  peak = 0;
  private readonly pid: number | undefined;
  private timer: NodeJS.Timeout;
  constructor(pid: number | undefined) {
    this.pid = pid;
    this.timer = setInterval(() => this.sample(), 200);
  }
  sample(): number {
    const { rss } = memOf(this.pid);
    if (rss > this.peak) this.peak = rss;
    return rss;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

interface DiskUsage {
  /** Allocated bytes (what `du` reports). */
  allocated: number;
  /** Apparent bytes (sum of file sizes, `du -b`). */
  apparent: number;
  segments: number;
}

/** `du` of the journal directory, computed from stat (allocated blocks and apparent size). */
async function du(dir: string): Promise<DiskUsage> {
  let allocated = 0;
  let apparent = 0;
  let segments = 0;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return { allocated: 0, apparent: 0, segments: 0 };
  }
  for (const name of names) {
    try {
      const st = await stat(path.join(dir, name));
      allocated += st.blocks * 512;
      apparent += st.size;
      if (name.endsWith('.seg')) segments++;
    } catch {
      // deleted while we looked: it no longer counts
    }
  }
  return { allocated, apparent, segments };
}
/** Allocated bytes of a directory, synchronously (a progress column: a few dozen files at most). */
function duSync(dir: string): number {
  let n = 0;
  try {
    for (const name of readdirSync(dir)) {
      try {
        n += statSync(path.join(dir, name)).blocks * 512;
      } catch {
        // deleted while we looked
      }
    }
  } catch {
    // no directory yet
  }
  return n;
}
const duText = (d: DiskUsage) => `${mib(d.allocated)} (apparent ${mib(d.apparent)}, ${d.segments} segment${d.segments === 1 ? '' : 's'})`;

interface LogLine {
  level?: number;
  time?: number;
  msg?: string;
  [k: string]: unknown;
}

/** The broker's JSON log lines so far. */
function logLines(b: BrokerProcess): LogLine[] {
  const out: LogLine[] = [];
  for (const line of b.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // a partial line at the end of the buffer
    }
  }
  return out;
}

/** Spawns a broker, timing spawn → "broker started"; a start failure is returned, not thrown. */
async function startBroker(dataDir: string, args: string[], env: NodeJS.ProcessEnv, prev?: BrokerProcess): Promise<{ broker: BrokerProcess; spawnedAt: number; ms: number }> {
  const spawnedAt = Date.now();
  const t0 = performance.now();
  const broker = prev ? await prev.restart() : await BrokerProcess.start({ dataDir, args, env });
  return { broker, spawnedAt, ms: performance.now() - t0 };
}

/** Phases of a start from the broker's own log timestamps (pino `time`, epoch ms). */
function startPhases(b: BrokerProcess, spawnedAt: number): Array<[string, string]> {
  const lines = logLines(b);
  const jr = lines.find((l) => l.msg === 'journal recovered');
  const rec = lines.find((l) => l.msg === 'recovered from store');
  const started = lines.find((l) => l.msg === 'broker started');
  const rows: Array<[string, string]> = [];
  if (jr?.time) rows.push(['  spawn → "journal recovered" (segment replay)', `${int(jr.time - spawnedAt)} ms`]);
  if (jr) rows.push(['  journal recovered: segments / messages / queues', `${jr.segments} / ${int(Number(jr.messages))} / ${jr.queues}`]);
  if (rec) rows.push(['  core recovered messages (paged)', int(Number(rec.messages))]);
  if (jr?.time && started?.time) rows.push(['  "journal recovered" → "broker started" (core rebuild)', `${int(started.time - jr.time)} ms`]);
  return rows;
}

// ------------------------------------------------------------------ a minimal raw STOMP client

type Frame = ServerFrame;

/**
 * One STOMP 1.2 connection over `node:net`, raw frames: just what this benchmark needs (pipelined
 * SENDs, MESSAGE/RECEIPT/ERROR in, ACKs out). Header values are left escaped, as received.
 */
class Conn {
  onMessage: (f: Frame) => void = () => {};
  onBatchEnd: () => void = () => {};
  onReceipt: (id: string) => void = () => {};
  onFailure: (err: Error) => void = () => {};
  failed: Error | null = null;
  private readonly frames = new FrameSplitter();
  private connected: ((f: Frame) => void) | null = null;

  readonly socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by the broker')));
  }

  static async open(host: string, port: number): Promise<Conn> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host, port });
      s.once('connect', () => {
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', reject);
    });
    const c = new Conn(socket);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no CONNECTED within 10 s')), 10_000);
      c.connected = () => {
        clearTimeout(timer);
        resolve();
      };
      c.onFailure = (err) => {
        clearTimeout(timer);
        reject(err);
      };
      socket.write('CONNECT\naccept-version:1.2\nhost:localhost\nheart-beat:0,0\n\n\0');
    });
    c.onFailure = () => {};
    return c;
  }

  /** Writes a frame carrying `receipt:<id>`; resolves on its RECEIPT (or after `timeoutMs`, false). */
  request(frame: string, id: string, timeoutMs = 30_000): Promise<boolean> {
    if (this.failed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const prev = this.onReceipt;
      const timer = setTimeout(() => {
        this.onReceipt = prev;
        resolve(false);
      }, timeoutMs);
      this.onReceipt = (rid) => {
        if (rid !== id) return prev(rid);
        clearTimeout(timer);
        this.onReceipt = prev;
        resolve(true);
      };
      this.socket.write(frame);
    });
  }

  async close(): Promise<void> {
    if (!this.failed && !this.socket.destroyed) await this.request('DISCONNECT\nreceipt:bye\n\n\0', 'bye', 10_000);
    this.failed ??= new Error('closed');
    this.socket.destroy();
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    this.onFailure(err);
  }

  private read(chunk: Buffer): void {
    try {
      this.frames.push(chunk, (f) => {
        this.dispatch(f);
        return !this.failed;
      });
    } catch (err) {
      this.fail(err as Error);
      this.socket.destroy();
      return;
    }
    if (!this.failed) this.onBatchEnd();
  }

  private dispatch(f: Frame): void {
    switch (f.command) {
      case 'MESSAGE':
        return this.onMessage(f);
      case 'RECEIPT':
        return this.onReceipt(f.headers.get('receipt-id') ?? '');
      case 'CONNECTED':
        this.connected?.(f);
        this.connected = null;
        return;
      case 'ERROR': {
        const detail = f.body.toString('utf8').trim().slice(0, 300);
        this.fail(new Error(`broker ERROR: ${f.headers.get('message') ?? ''}${detail ? ` (${detail})` : ''}`));
        this.socket.destroy();
        return;
      }
      default:
        this.fail(new Error(`unexpected frame ${f.command.slice(0, 40)}`));
        this.socket.destroy();
    }
  }
}


// ------------------------------------------------------------------ fill

interface FillResult {
  ok: boolean;
  confirmed: number;
  ms: number;
  error?: string;
}

/**
 * `producers` connections each pipeline their share of the N SENDs (ids are global, 0..N-1, in a
 * `bench-id` header), a receipt on every `receiptEvery`th one and the last, at most `window`
 * not yet covered by a RECEIPT. RECEIPTs come in frame order, so one covers all SENDs before it.
 */
async function fill(
  o: { host: string; port: number; messages: number; bodySize: number; producers: number; window: number; receiptEvery: number; stallMs: number },
  progress: (confirmed: number) => void,
): Promise<FillResult> {
  const conns: Conn[] = [];
  try {
    for (let p = 0; p < o.producers; p++) conns.push(await Conn.open(o.host, o.port));
  } catch (err) {
    for (const c of conns) c.socket.destroy();
    return { ok: false, confirmed: 0, ms: 0, error: `connect: ${(err as Error).message}` };
  }
  const tail = Buffer.concat([Buffer.alloc(o.bodySize, 'x'), NUL_BYTE]);
  const head = `SEND\ndestination:${QUEUE}\ncontent-length:${o.bodySize}\npersistent:true\n`;
  const per = Math.ceil(o.messages / o.producers);
  let total = 0;
  const start = performance.now();
  let lastProgress = start;

  const result = await new Promise<FillResult>((resolve) => {
    let done = 0;
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      resolve({ ok: !err, confirmed: total, ms: performance.now() - start, error: err?.message });
    };
    const watchdog = setInterval(() => {
      if (performance.now() - lastProgress > o.stallMs) finish(new Error(`no RECEIPT for ${o.stallMs} ms`));
    }, 250);

    conns.forEach((c, p) => {
      const first = p * per;
      const end = Math.min(o.messages, first + per);
      const count = Math.max(0, end - first);
      if (count === 0) {
        if (++done === conns.length) finish();
        return;
      }
      let sent = 0;
      let confirmed = 0;
      let blocked = false;
      const frame = (i: number) => {
        const last = (i + 1) % o.receiptEvery === 0 || i === count - 1;
        return Buffer.concat([Buffer.from(`${head}bench-id:${first + i}\n${last ? `receipt:r${i}\n` : ''}\n`, 'latin1'), tail]);
      };
      const pump = () => {
        while (!blocked && sent < count && sent - confirmed < o.window) {
          const stop = Math.min(count, confirmed + o.window, sent + 64);
          const parts: Buffer[] = [];
          for (; sent < stop; sent++) parts.push(frame(sent));
          if (!c.socket.write(Buffer.concat(parts))) {
            blocked = true;
            c.socket.once('drain', () => {
              blocked = false;
              pump();
            });
          }
        }
      };
      c.onReceipt = (id) => {
        if (id.charCodeAt(0) !== 0x72 /* r */) return;
        const upTo = Number(id.slice(1)) + 1;
        if (upTo <= confirmed) return;
        total += upTo - confirmed;
        confirmed = upTo;
        lastProgress = performance.now();
        progress(total);
        if (confirmed === count) {
          if (++done === conns.length) finish();
        } else pump();
      };
      c.onFailure = (err) => finish(new Error(`producer ${p}: ${err.message}`));
      pump();
    });
  });
  await Promise.all(conns.map((c) => c.close()));
  return result;
}

// ------------------------------------------------------------------ drain

/** A consumer on the bench queue: client-individual ACK of every message, counted by id. */
class Drainer {
  received = 0;
  unique = 0;
  duplicates = 0;
  unknown = 0;
  redelivered = 0;
  pokes = 0;
  outOfOrder = 0;
  acked = 0;
  lastMessageAt = 0;
  lastActivity = performance.now();
  error: Error | null = null;
  private readonly seen: Uint8Array;
  private readonly lastOfProducer: Float64Array;
  private acks: string[] = [];
  private ackWaiters = new Map<string, () => void>();
  private onReceived: (n: number) => void = () => {};
  onSubscribed: (at: number) => void = () => {};

  readonly conn: Conn;
  private readonly n: number;
  private readonly per: number;

  private constructor(conn: Conn, n: number, per: number, producers: number) {
    this.conn = conn;
    this.n = n;
    this.per = per;
    this.seen = new Uint8Array(n);
    this.lastOfProducer = new Float64Array(producers).fill(-1);
    conn.onMessage = (f) => this.message(f);
    conn.onBatchEnd = () => this.flushAcks();
    conn.onReceipt = (id) => {
      const w = this.ackWaiters.get(id);
      if (w) {
        this.ackWaiters.delete(id);
        w();
      }
      this.lastActivity = performance.now();
    };
    conn.onFailure = (err) => {
      this.error = err;
      for (const w of this.ackWaiters.values()) w();
      this.ackWaiters.clear();
    };
  }

  /** Connects; SUBSCRIBE with `subscribe()` once the watchers are in place. */
  static async open(host: string, port: number, n: number, per: number, producers: number): Promise<Drainer> {
    return new Drainer(await Conn.open(host, port), n, per, producers);
  }

  /** SUBSCRIBEs and resolves with the time (performance.now) its RECEIPT was read, before any MESSAGE behind it. */
  subscribe(prefetch: number, timeoutMs = 30_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`SUBSCRIBE not confirmed within ${timeoutMs} ms${this.error ? `: ${this.error.message}` : ''}`)), timeoutMs);
      this.ackWaiters.set('sub', () => {
        clearTimeout(timer);
        const t = performance.now();
        this.onSubscribed(t);
        if (this.error) reject(this.error);
        else resolve(t);
      });
      this.conn.socket.write(`SUBSCRIBE\nid:bench\ndestination:${QUEUE}\nack:client-individual\nactivemq.prefetchSize:${prefetch}\nreceipt:sub\n\n\0`);
    });
  }

  /** Called on every message counted towards N (not pokes). */
  watch(fn: (n: number) => void): void {
    this.onReceived = fn;
  }

  private message(f: Frame): void {
    const ack = f.headers.get('ack');
    if (ack === undefined) {
      this.error = new Error('MESSAGE without an ack header');
      return;
    }
    // Receipts only where they are useful: every 10,000th ACK (progress) and the N-th message.
    const id = f.headers.get('bench-id');
    if (f.headers.get('bench-poke') !== undefined) {
      this.pokes++;
      this.acks.push(`ACK\nid:${ack}\n\n\0`);
      return;
    }
    this.received++;
    this.lastMessageAt = performance.now();
    this.lastActivity = this.lastMessageAt;
    if (f.headers.get('redelivered') === 'true') this.redelivered++;
    const i = id === undefined ? -1 : Number(id);
    if (!Number.isInteger(i) || i < 0 || i >= this.n) this.unknown++;
    else {
      if (this.seen[i]) this.duplicates++;
      else {
        this.seen[i] = 1;
        this.unique++;
      }
      const p = Math.floor(i / this.per);
      if (i < this.lastOfProducer[p]!) this.outOfOrder++;
      else this.lastOfProducer[p] = i;
    }
    const wantsReceipt = this.received === this.n || this.received % 10_000 === 0;
    this.acks.push(wantsReceipt ? `ACK\nid:${ack}\nreceipt:a${this.received}\n\n\0` : `ACK\nid:${ack}\n\n\0`);
    this.onReceived(this.received);
  }

  private flushAcks(): void {
    if (this.acks.length === 0) return;
    this.acked += this.acks.length;
    this.conn.socket.write(Buffer.from(this.acks.join(''), 'latin1'));
    this.acks = [];
  }

  /** Resolves when the ACK of the `nth` counted message has its RECEIPT (all ACKs before it handled). */
  ackReceipt(nth: number, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.ackWaiters.delete(`a${nth}`);
        resolve(false);
      }, timeoutMs);
      this.ackWaiters.set(`a${nth}`, () => {
        clearTimeout(timer);
        resolve(!this.error);
      });
    });
  }

  /** Ids never received, the first few (for a MISMATCH line). */
  missing(limit: number): { count: number; first: number[] } {
    let count = 0;
    const first: number[] = [];
    for (let i = 0; i < this.n; i++) {
      if (this.seen[i]) continue;
      count++;
      if (first.length < limit) first.push(i);
    }
    return { count, first };
  }
}

// ------------------------------------------------------------------ the benchmark

export async function runJournalBench(opts: JournalBenchOptions): Promise<void> {
  const { messages: N, bodySize, log } = opts;
  const producers = Math.min(intEnv('BENCH_JOURNAL_PRODUCERS', 4), N);
  const window = intEnv('BENCH_JOURNAL_WINDOW', 1000);
  const receiptEvery = Math.min(intEnv('BENCH_JOURNAL_RECEIPT_EVERY', 100), window);
  const prefetch = intEnv('BENCH_JOURNAL_PREFETCH', 1000);
  const stallMs = intEnv('BENCH_JOURNAL_STALL_MS', 60_000);
  const per = Math.ceil(N / producers);
  const dataBytes = N * bodySize;

  const tmp = await mkdtemp(path.join(os.tmpdir(), 'junction-journal-bench-'));
  const dataDir = path.join(tmp, 'data');
  const journalDir = path.join(dataDir, 'journal');
  const configFile = path.join(tmp, 'junction.json');
  await writeFile(configFile, JSON.stringify({ store: { type: 'journal', sync: 'always' }, logLevel: 'info' }, null, 2));
  const args = ['--config', configFile];
  const env: NodeJS.ProcessEnv = {};

  const summary: Array<[string, string]> = [];
  const problems: string[] = [];
  let broker: BrokerProcess | undefined;
  const pid = () => broker?.child.pid;
  let completed = false;

  log(`# Junction journal benchmark`);
  log('');
  table(log, [
    ['messages (N)', int(N)],
    ['body', `${int(bodySize)} B`],
    ['data (N × body)', `${mib(dataBytes)}`],
    ['store', 'journal, sync always, default segmentSize (32 MiB), default compactThreshold (0.5)'],
    ['memory limit', 'globalMaxSizeBytes default (64 MiB), addressFullPolicy default (PAGE)'],
    ['producers', `${producers} STOMP connections, ≤ ${int(window)} SENDs unconfirmed each, receipt every ${receiptEvery}`],
    ['consumer', `1 connection, ack:client-individual, prefetch ${int(prefetch)}, ACK per message`],
    ['machine', `${os.cpus().length} CPUs, ${mib(os.totalmem())} RAM, node ${process.version}, ${os.platform()} ${os.release()}`],
    ['data dir', dataDir],
  ]);

  try {
    // ---------------------------------------------------------- 1. start
    log('');
    log('## 1. Start (empty data dir)');
    let s = await startBroker(dataDir, args, env);
    broker = s.broker;
    const base = memOf(pid());
    const emptyStartMs = s.ms;
    table(log, [
      ['spawn → "broker started"', `${int(s.ms)} ms`],
      ['broker pid', String(pid())],
      ['RSS after start (baseline)', mib(base.rss)],
    ]);
    summary.push(['RSS empty broker', mib(base.rss)]);

    // ---------------------------------------------------------- 2. fill
    log('');
    log(`## 2. Fill ${QUEUE} with ${int(N)} persistent messages`);
    const sampler = new RssSampler(pid());
    let nextMark = Math.ceil(N / 10);
    let markAt = performance.now();
    let markCount = 0;
    const fillStart = markAt;
    log(`| ${'confirmed'.padStart(11)} | ${'elapsed'.padStart(8)} | ${'interval rate'.padStart(14)} | ${'broker RSS'.padStart(11)} | ${'journal du'.padStart(11)} |`);
    log(`| ${'-'.repeat(11)} | ${'-'.repeat(8)} | ${'-'.repeat(14)} | ${'-'.repeat(11)} | ${'-'.repeat(11)} |`);
    const fillCpu = cpuMeter(pid());
    const fillMarks: Array<{ confirmed: number; at: number; rate: number; span: number; rss: number; du: number }> = [];
    const f = await fill({ host: broker.ports.host, port: broker.ports.stomp, messages: N, bodySize, producers, window, receiptEvery, stallMs }, (confirmed) => {
      if (confirmed < nextMark && confirmed < N) return;
      const now = performance.now();
      const rss = sampler.sample();
      fillMarks.push({ confirmed, at: now - fillStart, rate: ((confirmed - markCount) * 1000) / (now - markAt), span: now - markAt, rss, du: duSync(journalDir) });
      markAt = now;
      markCount = confirmed;
      while (nextMark <= confirmed) nextMark += Math.ceil(N / 10);
    });
    const fillCpuUsed = fillCpu();
    const fillEndRss = sampler.sample();
    sampler.stop();
    const fillMem = memOf(pid());
    for (const m of fillMarks) {
      log(`| ${int(m.confirmed).padStart(11)} | ${secs(m.at).padStart(8)} | ${rateCell(m.rate, m.span).padStart(14)} | ${mib(m.rss).padStart(11)} | ${mib(m.du).padStart(11)} |`);
    }
    const duFill = await du(journalDir);
    // RSS slope between the mark nearest half-way and the end: what each further message costs in memory.
    const mid = fillMarks.find((m) => m.confirmed >= N / 2);
    const slope = mid && f.confirmed > mid.confirmed ? (fillEndRss - mid.rss) / (f.confirmed - mid.confirmed) : undefined;
    log('');
    if (!f.ok) {
      problems.push(`fill failed after ${int(f.confirmed)} of ${int(N)} confirmed: ${f.error}`);
      log(`FILL FAILED: ${f.error} (${int(f.confirmed)} of ${int(N)} confirmed)`);
    }
    table(log, [
      ['messages confirmed (RECEIPT)', `${int(f.confirmed)} of ${int(N)}`],
      ['fill time (first SEND → last RECEIPT)', secs(f.ms)],
      ['fill throughput', rate(f.confirmed, f.ms)],
      ['broker CPU during fill', cpuText(fillCpuUsed.broker, f.ms)],
      ['bench client CPU during fill', cpuText(fillCpuUsed.client, f.ms)],
      ['fill throughput (MiB/s of bodies)', `${((f.confirmed * bodySize) / 2 ** 20 / (f.ms / 1000)).toFixed(1)} MiB/s`],
      ['data size (N × body)', mib(dataBytes)],
      ['broker RSS at end of fill', mib(fillEndRss)],
      ['broker peak RSS during fill (sampled 200 ms)', mib(sampler.peak)],
      ['broker VmHWM (peak RSS since start)', mib(fillMem.hwm)],
      ['RSS / data size', `${((fillEndRss / dataBytes) * 100).toFixed(1)} %`],
      ['(RSS - baseline) / N', `${int((fillEndRss - base.rss) / Math.max(1, N))} B per message`],
      ['RSS growth over the second half of the fill', slope === undefined ? 'n/a' : `${int(slope)} B per message (0 if memory were bounded)`],
      ['journal du at end of fill', duText(duFill)],
      ['journal bytes / N', `${int(duFill.apparent / Math.max(1, N))} B per message`],
    ]);
    summary.push(['fill throughput', rate(f.confirmed, f.ms)]);
    summary.push(['RSS end of fill / data', `${mib(fillEndRss)} / ${mib(dataBytes)}`]);
    summary.push(['journal du after fill', mib(duFill.allocated)]);
    // Only meaningful when the data is well over the 64 MiB memory limit (a small N fits in memory anyway).
    if (dataBytes >= 256 * 2 ** 20 && fillEndRss >= dataBytes / 2) {
      problems.push(
        `RSS at end of fill (${mib(fillEndRss)}) is not well under the data size (${mib(dataBytes)}); over the second half of the fill it grew ${slope === undefined ? '?' : int(slope)} B per message`,
      );
    }
    if (!f.ok) return;

    // ---------------------------------------------------------- 3. stop, restart
    log('');
    log('## 3. Stop (SIGTERM) and recover');
    let t0 = performance.now();
    const exit = await broker.stop();
    const stopMs = performance.now() - t0;
    const duStopped = await du(journalDir);
    s = await startBroker(dataDir, args, env, broker);
    broker = s.broker;
    const afterStart = memOf(pid());
    const recoveryCpu = cpuOf(pid());
    const phases = startPhases(broker, s.spawnedAt);
    table(log, [
      ['SIGTERM → exit', `${int(stopMs)} ms (code ${exit.code}, signal ${exit.signal})`],
      ['journal du (stopped)', duText(duStopped)],
      ['recovery: spawn → "broker started"', `${int(s.ms)} ms`],
      ['  minus an empty start (step 1): replay cost', `${int(s.ms - emptyStartMs)} ms`],
      ...phases,
      ['broker CPU from spawn to started', cpuText(recoveryCpu, s.ms)],
      ['RSS right after start', mib(afterStart.rss)],
      ['VmHWM (peak RSS during recovery)', mib(afterStart.hwm)],
    ]);
    summary.push(['recovery (spawn → started)', `${int(s.ms)} ms`]);
    summary.push(['RSS after recovery', mib(afterStart.rss)]);
    const jr = logLines(broker).find((l) => l.msg === 'journal recovered');
    if (dataBytes >= 256 * 2 ** 20 && afterStart.rss >= dataBytes / 2) {
      problems.push(`RSS right after recovery (${mib(afterStart.rss)}) is not well under the data size (${mib(dataBytes)}): recovery holds per-message state for all ${int(N)} paged messages`);
    }
    if (exit.code !== 0) problems.push(`broker exit on SIGTERM: code ${exit.code} signal ${exit.signal}`);
    if (!jr) problems.push('no "journal recovered" line at restart');
    else if (Number(jr.messages) !== N) problems.push(`journal recovered ${int(Number(jr.messages))} messages, expected ${int(N)}`);

    // ---------------------------------------------------------- 4. drain
    log('');
    log(`## 4. Drain ${QUEUE} (client-individual, ACK per message)`);
    const drainSampler = new RssSampler(pid());
    const drainStart = performance.now();
    const drainCpu = cpuMeter(pid());
    const d = await Drainer.open(broker.ports.host, broker.ports.stomp, N, per, producers);
    let subscribedAt = 0;
    let rssConsumerStarted = 0;
    let firstMessageMs = -1;
    const drainMarks: Array<{ n: number; at: number; rate: number; span: number; rss: number }> = [];
    let dNext = Math.ceil(N / 10);
    let dMarkAt = 0;
    let dMarkN = 0;
    d.watch((n) => {
      if (n === 1) firstMessageMs = performance.now() - subscribedAt;
      if (n === Math.min(prefetch, N)) rssConsumerStarted = drainSampler.sample();
      if (n < dNext && n < N) return;
      const now = performance.now();
      drainMarks.push({ n, at: now - subscribedAt, rate: ((n - dMarkN) * 1000) / (now - dMarkAt), span: now - dMarkAt, rss: drainSampler.sample() });
      dMarkAt = now;
      dMarkN = n;
      while (dNext <= n) dNext += Math.ceil(N / 10);
    });
    const lastAck = d.ackReceipt(N, 24 * 3600_000);
    const subscribing = d.subscribe(prefetch);
    // The RECEIPT's time is taken while the socket chunk is read, before the MESSAGEs behind it.
    d.onSubscribed = (t) => {
      subscribedAt = t;
      dMarkAt = t;
    };
    await subscribing;
    // Wait for the last ACK's RECEIPT, or a stall (nothing received or confirmed for stallMs).
    const drained = await new Promise<boolean>((resolve) => {
      const timer = setInterval(() => {
        if (d.error || performance.now() - d.lastActivity > stallMs) {
          clearInterval(timer);
          resolve(false);
        }
      }, 250);
      void lastAck.then((ok) => {
        clearInterval(timer);
        resolve(ok);
      });
    });
    const drainMs = performance.now() - subscribedAt;
    const drainCpuUsed = drainCpu();
    const lastMsgMs = d.lastMessageAt > 0 ? d.lastMessageAt - subscribedAt : 0;
    // Anything more than N would show up now (prefetch credit is open).
    await new Promise((r) => setTimeout(r, 500));
    const drainEndRss = drainSampler.sample();
    drainSampler.stop();
    log(`| ${'received'.padStart(11)} | ${'elapsed'.padStart(8)} | ${'interval rate'.padStart(14)} | ${'broker RSS'.padStart(11)} |`);
    log(`| ${'-'.repeat(11)} | ${'-'.repeat(8)} | ${'-'.repeat(14)} | ${'-'.repeat(11)} |`);
    for (const m of drainMarks) log(`| ${int(m.n).padStart(11)} | ${secs(m.at).padStart(8)} | ${rateCell(m.rate, m.span).padStart(14)} | ${mib(m.rss).padStart(11)} |`);
    log('');
    table(log, [
      ['SUBSCRIBE → RECEIPT', `${int(subscribedAt - drainStart)} ms (incl. connect)`],
      ['SUBSCRIBE RECEIPT → first MESSAGE', `${int(firstMessageMs)} ms`],
      ['messages received', `${int(d.received)} of ${int(N)} (unique ${int(d.unique)}, duplicates ${int(d.duplicates)}, unknown ${int(d.unknown)})`],
      ['redelivered:true', int(d.redelivered)],
      ['out of per-producer order', int(d.outOfOrder)],
      ['drain time (SUBSCRIBE RECEIPT → last MESSAGE)', secs(lastMsgMs)],
      ['drain time (→ RECEIPT of the last ACK)', drained ? secs(drainMs) : 'not confirmed'],
      ['drain throughput (to last ACK confirmed)', drained ? rate(d.received, drainMs) : rate(d.received, lastMsgMs)],
      ['broker CPU during drain', cpuText(drainCpuUsed.broker, drainMs)],
      ['bench client CPU during drain', cpuText(drainCpuUsed.client, drainMs)],
      ['RSS after consumer started (first prefetch delivered)', mib(rssConsumerStarted)],
      ['peak RSS during drain (sampled 200 ms)', mib(drainSampler.peak)],
      ['RSS at end of drain', mib(drainEndRss)],
      ['VmHWM (peak RSS since restart)', mib(memOf(pid()).hwm)],
    ]);
    summary.push(['drain throughput', drained ? rate(d.received, drainMs) : 'not confirmed']);
    summary.push(['received / N', `${int(d.unique)} unique / ${int(N)}`]);
    if (d.unique !== N || d.received !== N) {
      const miss = d.missing(10);
      const line = `MISMATCH: received ${int(d.received)} messages (${int(d.unique)} unique, ${int(d.duplicates)} duplicates, ${int(d.unknown)} unknown ids), expected ${int(N)}; ${int(miss.count)} ids never received${miss.count ? ` (first: ${miss.first.join(', ')})` : ''}`;
      log(line);
      problems.push(line);
    }
    if (!drained) problems.push(`drain not confirmed: ${d.error ? d.error.message : `no progress for ${stallMs} ms`} (received ${int(d.received)})`);
    if (d.outOfOrder > 0) problems.push(`${int(d.outOfOrder)} messages out of per-producer order`);
    if (d.redelivered > 0) problems.push(`${int(d.redelivered)} messages flagged redelivered`);

    // ---------------------------------------------------------- 5. disk reclaimed
    log('');
    log('## 5. Journal disk space after the drain');
    const duDrained = await du(journalDir);
    log(`right after the drain: ${duText(duDrained)}`);
    log('then: 5 small persistent messages (\"pokes\", consumed and ACKed) every 500 ms to trigger flushes; du polled every 500 ms until it has not shrunk for 3 s (bounded: 30 s); rows show each shrink');
    log(`| ${'t'.padStart(7)} | ${'journal du'.padStart(12)} | ${'apparent'.padStart(12)} | segments |`);
    log(`| ${'-'.repeat(7)} | ${'-'.repeat(12)} | ${'-'.repeat(12)} | -------- |`);
    const poker = await Conn.open(broker.ports.host, broker.ports.stomp);
    const reclaimStart = performance.now();
    let low = duDrained;
    let lastShrink = reclaimStart;
    let pokeSeq = 0;
    let cur = duDrained;
    const row = (t: number, u: DiskUsage) => log(`| ${secs(t).padStart(7)} | ${mib(u.allocated).padStart(12)} | ${mib(u.apparent).padStart(12)} | ${String(u.segments).padStart(8)} |`);
    row(0, duDrained);
    while (performance.now() - reclaimStart < 30_000) {
      const frames: string[] = [];
      for (let k = 0; k < 5; k++) {
        const id = pokeSeq++;
        frames.push(`SEND\ndestination:${QUEUE}\npersistent:true\nbench-poke:${id}\n${k === 4 ? `receipt:p${id}\n` : ''}\npoke\0`);
      }
      await poker.request(frames.join(''), `p${pokeSeq - 1}`, 5000);
      await new Promise((r) => setTimeout(r, 500));
      cur = await du(journalDir);
      const now = performance.now();
      // Pokes make the head segment grow a little: only a deleted segment or a real drop counts.
      if (cur.segments < low.segments || cur.allocated < low.allocated - 64 * 1024) {
        row(now - reclaimStart, cur);
        lastShrink = now;
        low = cur;
      } else if (now - lastShrink >= 3000) break;
    }
    const reclaimMs = lastShrink - reclaimStart;
    row(performance.now() - reclaimStart, cur);
    await poker.close();
    // Pokes ACKed before the final measurement of the journal's content (restart below).
    await new Promise((r) => setTimeout(r, 300));
    log('');
    table(log, [
      ['journal du after fill', duText(duFill)],
      ['journal du right after drain', duText(duDrained)],
      ['journal du after reclaim settled', duText(cur)],
      ['time from end of drain to last shrink', reclaimMs > 0 ? `${int(reclaimMs)} ms` : 'no shrink after the drain'],
      ['reclaimed', `${mib(duDrained.allocated - cur.allocated)} (${duDrained.allocated ? (((duDrained.allocated - cur.allocated) / duDrained.allocated) * 100).toFixed(1) : '0'} %)`],
      ['pokes sent / consumed', `${pokeSeq} / ${d.pokes}`],
    ]);
    summary.push(['journal du right after drain', mib(duDrained.allocated)]);
    summary.push(['journal du after reclaim', `${mib(cur.allocated)} (${cur.segments} segments)`]);
    // One live head segment (up to segmentSize) is the floor; more than two segments left means space was not reclaimed.
    if (cur.segments > 2) problems.push(`journal not reclaimed: ${cur.segments} segments, ${mib(cur.allocated)} left after the queue was drained`);

    // Check: a restart now recovers nothing (every ACK is in the journal).
    await d.conn.close();
    t0 = performance.now();
    await broker.stop();
    s = await startBroker(dataDir, args, env, broker);
    broker = s.broker;
    const jr2 = logLines(broker).find((l) => l.msg === 'journal recovered');
    log('');
    table(log, [
      ['restart after drain: spawn → "broker started"', `${int(s.ms)} ms`],
      ['journal recovered: segments / messages', jr2 ? `${jr2.segments} / ${int(Number(jr2.messages))}` : 'no "journal recovered" line'],
      ['RSS after this restart', mib(memOf(pid()).rss)],
    ]);
    if (!jr2 || Number(jr2.messages) !== 0) problems.push(`restart after the drain recovered ${jr2 ? int(Number(jr2.messages)) : '?'} messages, expected 0`);
    completed = true;
  } catch (err) {
    problems.push(`bench aborted: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    throw err;
  } finally {
    // ---------------------------------------------------------- 6. clean up
    const warns = broker ? logLines(broker).filter((l) => (l.level ?? 0) >= 40) : [];
    if (broker) {
      // SIGTERM first (a clean exit), SIGKILL if it has not exited within 10 s.
      const b = broker;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([b.stop(), new Promise((r) => (timer = setTimeout(r, 10_000)))]);
      clearTimeout(timer);
      await b.kill();
    }
    await rm(tmp, { recursive: true, force: true });
    log('');
    log('## Summary');
    table(log, summary);
    if (warns.length > 0) {
      log('');
      log(`broker warnings/errors in the last broker process's log: ${warns.length}; first ones:`);
      for (const w of warns.slice(0, 5)) log(`  ${JSON.stringify(w).slice(0, 400)}`);
    }
    log('');
    if (problems.length === 0 && completed) log('RESULT: no problems seen (count matches, RSS under data size, journal recovered, disk reclaimed).');
    else for (const p of problems) log(`PROBLEM: ${p}`);
  }
}

// ------------------------------------------------------------------ run alone

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let messages: number;
  let bodySize: number;
  try {
    messages = intEnv('BENCH_JOURNAL_MESSAGES', 1_000_000);
    bodySize = intEnv('BENCH_BODY', 1024);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  const t0 = performance.now();
  runJournalBench({ messages, bodySize, log: (line) => console.log(line) }).then(
    () => {
      console.log(`total bench time: ${secs(performance.now() - t0)}`);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(`journal bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      process.exit(1);
    },
  );
}

