/**
 * AMQP 1.0 queue throughput: a rhea producer -> one queue -> a rhea consumer (each in a child process of its own), 256-byte bodies,
 * unsettled deliveries settled with `accepted` both ways, non-durable and durable. Junction runs as
 * `bin/junction.js start` in a child process (journal, sync `always`); the references are measured
 * in the same run when they can start: RabbitMQ from Debian's `rabbitmq-server` with
 * `rabbitmq_amqp1_0` (see rabbitmq.ts; durable runs use a durable queue), and ActiveMQ Classic with an
 * `amqp` transport connector (needs the activemq-amqp module, which Debian's build lacks).
 * A reference that cannot start is skipped with the reason, and its ratio shows as n/a.
 *
 * Junction runs four times side by side: as shipped without the management server, with security
 * on (`Junction+auth`: SASL PLAIN as the bench user, every attach and send checked), over AMQPS
 * (`Junction+TLS`) and with the management server under load (`Junction+mgmt`: 2 SSE streams and a
 * 1 s /metrics scrape during its runs, mgmt-load.ts), each workload
 * BENCH_AMQP_ROUNDS times (default 3) round by round, the median shown; the ratios this / Junction
 * compare runs made together.
 *
 * Run alone: `node --import tsx test/bench/amqp-bench.ts` (BENCH_AMQP_MESSAGES, BENCH_BODY_SIZE, BENCH_AMQP_ROUNDS).
 * Measurement only: no assertions; every loop is bounded and a stalled run fails after a timeout.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import rhea, { type Connection } from 'rhea';
import { stopChild } from './processes.ts';
import { rabbitmqMissing, startRabbitMQ } from './rabbitmq.ts';
import { JUNCTION_MGMT, mgmtLine, MgmtLoad, WITHOUT_MGMT } from './mgmt-load.ts';
import { BENCH_PASSWORD, BENCH_USER, benchSecurityConfig } from './security-fixture.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MESSAGES = Number(process.env.BENCH_AMQP_MESSAGES ?? 20_000);
const DURABLE_MESSAGES = Number(process.env.BENCH_AMQP_DURABLE_MESSAGES ?? Math.min(MESSAGES, 10_000));
const BODY_SIZE = Number(process.env.BENCH_BODY_SIZE ?? 256);
const CREDIT = 1000;
/** Measured runs per workload of each Junction variant, interleaved; the table shows the median. */
const ROUNDS = Math.max(1, Number(process.env.BENCH_AMQP_ROUNDS ?? 3));
const STALL_MS = 60_000;

export interface AmqpBenchRow {
  broker: string;
  workload: string;
  messages: number;
  msgPerSec: number | undefined;
  note?: string;
}

/** How a client reaches a broker: its port, the SASL PLAIN login, and for AMQPS the CA (PEM) to trust. */
interface Endpoint {
  port: number;
  username: string;
  password: string;
  tlsCa?: string;
}

interface Target {
  name: string;
  endpoint: Endpoint;
  /** Runs each measured run inside it (the +mgmt variant: with the management load on). */
  around?: <T>(run: () => Promise<T>) => Promise<T>;
  stop(): Promise<void>;
}

async function open(e: Endpoint): Promise<Connection> {
  const container = rhea.create_container();
  const tls = e.tlsCa !== undefined ? { transport: 'tls', ca: e.tlsCa, servername: 'localhost' } : {};
  const conn: Connection = container.connect({ host: '127.0.0.1', port: e.port, reconnect: false, username: e.username, password: e.password, ...tls } as Parameters<typeof container.connect>[0]);
  conn.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    conn.once('connection_open', () => resolve());
    conn.once('connection_error', () => reject(new Error('connection refused')));
    conn.once('disconnected', (ctx) => reject(new Error(`disconnected: ${ctx.error?.message ?? ''}`)));
  });
  return conn;
}

/** Child role: receive `n` messages (auto-accepted, credit window CREDIT), then report. */
async function consume(e: Endpoint, queue: string, n: number): Promise<void> {
  const conn = await open(e);
  let received = 0;
  await new Promise<void>((resolve) => {
    const receiver = conn.open_receiver({ source: { address: queue }, credit_window: CREDIT, autoaccept: true });
    receiver.once('receiver_open', () => process.send!({ ready: true }));
    receiver.on('message', () => {
      if (++received === n) resolve();
    });
  });
  process.send!({ done: true });
  conn.close();
}

/** Child role: send `n` messages within the broker's credit, each settled by the broker's `accepted`. */
async function produce(e: Endpoint, queue: string, n: number, durable: boolean): Promise<void> {
  const conn = await open(e);
  const body = rhea.message.data_section(Buffer.alloc(BODY_SIZE, 0x61));
  let sent = 0;
  let accepted = 0;
  await new Promise<void>((resolve, reject) => {
    const sender = conn.open_sender({ target: { address: queue } });
    sender.on('sendable', () => {
      while (sent < n && sender.sendable()) {
        sender.send({ body, durable });
        sent++;
      }
    });
    sender.on('accepted', () => {
      if (++accepted === n) resolve();
    });
    sender.on('rejected', (ctx) => reject(new Error(`rejected: ${JSON.stringify(ctx.delivery?.remote_state)}`)));
  });
  process.send!({ done: true });
  conn.close();
}

/** Runs a client role in a child process of its own (the two clients then do not share a CPU). */
function role(args: string[]): { child: ChildProcess; next: (what: 'ready' | 'done') => Promise<void> } {
  const child = fork(fileURLToPath(import.meta.url), args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const seen = new Set<string>();
  const waiters = new Map<string, () => void>();
  child.on('message', (m: Record<string, unknown>) => {
    for (const k of Object.keys(m)) {
      seen.add(k);
      waiters.get(k)?.();
    }
  });
  const next = (what: 'ready' | 'done') =>
    new Promise<void>((resolve, reject) => {
      if (seen.has(what)) return resolve();
      const timer = setTimeout(() => reject(new Error(`client ${args[0]} stalled waiting for ${what}`)), STALL_MS);
      child.once('exit', (code) => (seen.has(what) ? resolve() : reject(new Error(`client ${args[0]} exited (${code}) before ${what}`))));
      waiters.set(what, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  return { child, next };
}

/** One run: the consumer attaches first, then the producer sends `n` messages; msg/s from the producer's start to the last message received and accepted. */
async function measure(e: Endpoint, queue: string, n: number, durable: boolean): Promise<number> {
  const consumer = role(['consume', JSON.stringify(e), queue, String(n)]);
  const producer: { child?: ChildProcess } = {};
  try {
    await consumer.next('ready');
    const start = process.hrtime.bigint();
    const p = role(['produce', JSON.stringify(e), queue, String(n), durable ? '1' : '0']);
    producer.child = p.child;
    await Promise.all([consumer.next('done'), p.next('done')]);
    return n / (Number(process.hrtime.bigint() - start) / 1e9);
  } finally {
    for (const c of [consumer.child, producer.child]) if (c && c.exitCode === null) c.kill();
  }
}

/**
 * `bin/junction.js start` with `config` (a JSON file in its data dir; `config` may write files
 * there too), the AMQP port (or another of ports.json) taken from its ports file.
 */
async function startJunction(
  name: string,
  config: (dataDir: string) => Promise<Record<string, unknown>> = async () => ({}),
  client: (dataDir: string, ports: Record<string, number>) => Endpoint = (_d, p) => ({ port: p.amqp!, username: 'guest', password: 'guest' }),
  mgmt?: MgmtLoad,
): Promise<Target> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-amqp-bench-'));
  const configFile = path.join(dataDir, 'bench.json');
  // Only the +mgmt variant runs the management server (the others measure the broker without it).
  await writeFile(configFile, JSON.stringify({ ...(mgmt ? {} : WITHOUT_MGMT), ...(await config(dataDir)) }));
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'bin/junction.js'), 'start', '--config', configFile, '--data-dir', dataDir, '--host', '127.0.0.1', '--amqp-port', '0', '--stomp-port', '0', '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--log-level', 'warn'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const portsFile = path.join(dataDir, 'ports.json');
  const deadline = Date.now() + 30_000;
  let ports: Record<string, number> | undefined;
  while (ports === undefined) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${name} did not start`);
    try {
      ports = JSON.parse(await readFile(portsFile, 'utf8')) as Record<string, number>;
    } catch {
      await sleep(50);
    }
  }
  const url = `http://127.0.0.1:${ports.http}`;
  return {
    name,
    endpoint: client(dataDir, ports),
    ...(mgmt
      ? {
          around: async <T>(run: () => Promise<T>): Promise<T> => {
            const { result, load } = await mgmt.during(url, run);
            console.log(`  ${name}: ${mgmtLine(load)}`);
            return result;
          },
        }
      : {}),
    async stop() {
      await stopChild(child);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const JUNCTION = 'Junction (journal, sync always)';
const JUNCTION_AUTH = 'Junction+auth';
const JUNCTION_TLS = 'Junction+TLS';

/** Junction with security on: SASL PLAIN as the bench user, every send and attach checked. */
function startJunctionAuth(): Promise<Target> {
  return startJunction(
    JUNCTION_AUTH,
    async (dir) => ({ security: await benchSecurityConfig(dir) }),
    (_d, p) => ({ port: p.amqp!, username: BENCH_USER, password: BENCH_PASSWORD }),
  );
}

/** Junction's AMQPS listener (examples/tls/make-certs.sh's certificates; security off). */
function startJunctionTls(): Promise<Target> {
  return startJunction(
    JUNCTION_TLS,
    async (dir) => {
      const certs = path.join(dir, 'certs');
      const made = spawnSync('bash', [path.join(ROOT, 'examples/tls/make-certs.sh'), certs], { encoding: 'utf8' });
      if (made.status !== 0) throw new Error(`examples/tls/make-certs.sh failed: ${made.stderr}`);
      return { tls: { cert: path.join(certs, 'server.pem'), key: path.join(certs, 'server-key.pem'), ports: { stomp: 0, mqtt: 0, amqp: 0, ws: 0, https: 0 } } };
    },
    (dir, p) => ({ port: p.amqps!, username: 'guest', password: 'guest', tlsCa: readFileSync(path.join(dir, 'certs', 'ca.pem'), 'utf8') }),
  );
}

/** Why ActiveMQ Classic cannot serve AMQP here, or undefined. */
function activemqAmqpMissing(): string | undefined {
  const home = process.env.ACTIVEMQ_HOME ?? '/usr/share/activemq';
  const lib = path.join(home, 'lib');
  if (!existsSync(path.join(home, 'bin', 'activemq.jar'))) return `ActiveMQ Classic is not installed (${home})`;
  const jars = existsSync(lib) ? readdirSync(lib) : [];
  if (!jars.some((j) => /^activemq-amqp.*\.jar$/.test(j))) {
    return `ActiveMQ Classic here has no AMQP module (no activemq-amqp*.jar in ${lib}; Debian's build ships stomp and mqtt only)`;
  }
  return 'ActiveMQ Classic with activemq-amqp is not wired into this bench yet (only the Debian build was available to test it)';
}

function fmt(n: number | undefined): string {
  return n === undefined ? 'n/a' : Math.round(n).toLocaleString('en-US');
}

/** Runs the AMQP benchmark, prints its table, and returns the rows. */
export async function runAmqpBench(): Promise<AmqpBenchRow[]> {
  const rows: AmqpBenchRow[] = [];
  const workloads = [
    { key: 'nondurable', label: 'non-durable, unsettled + accepted', durable: false, n: MESSAGES },
    { key: 'durable', label: 'durable, unsettled + accepted', durable: true, n: DURABLE_MESSAGES },
  ];
  // Junction as shipped, with security on and over AMQPS, side by side: every variant's warm-up,
  // then workload by workload each variant in turn, so the ratios compare runs made together.
  const variants: Target[] = [];
  const mgmtLoad = MgmtLoad.start();
  try {
    for (const start of [() => startJunction(JUNCTION), startJunctionAuth, startJunctionTls, () => startJunction(JUNCTION_MGMT, undefined, undefined, mgmtLoad)]) variants.push(await start());
    // Warm-up: JIT and the journal's first segment.
    for (const v of variants) await measure(v.endpoint, 'bench.amqp.warmup', Math.min(2000, MESSAGES), false);
    for (const w of workloads) {
      const runs = new Map<string, number[]>(variants.map((v) => [v.name, []]));
      for (let round = 0; round < ROUNDS; round++) {
        // Each round starts with the next variant, so none is always measured first.
        for (let i = 0; i < variants.length; i++) {
          const v = variants[(i + round) % variants.length]!;
          const once = () => measure(v.endpoint, `bench.amqp.${w.key}.${round}`, w.n, w.durable);
          runs.get(v.name)!.push(await (v.around ? v.around(once) : once()));
        }
      }
      for (const v of variants) {
        const sorted = runs.get(v.name)!.sort((a, b) => a - b);
        rows.push({ broker: v.name, workload: w.label, messages: w.n, msgPerSec: sorted[Math.floor((sorted.length - 1) / 2)] });
      }
    }
  } finally {
    mgmtLoad.close();
    for (const v of variants) await v.stop();
  }
  const junction = { name: JUNCTION };
  const activemqWhy = activemqAmqpMissing();
  for (const w of workloads) rows.push({ broker: 'ActiveMQ Classic (AMQP)', workload: w.label, messages: w.n, msgPerSec: undefined, note: `skipped: ${activemqWhy}` });
  const rabbitName = 'RabbitMQ 3 (rabbitmq_amqp1_0)';
  const rabbitWhy = rabbitmqMissing();
  if (rabbitWhy) {
    for (const w of workloads) rows.push({ broker: rabbitName, workload: w.label, messages: w.n, msgPerSec: undefined, note: `skipped: ${rabbitWhy}` });
  } else {
    let rabbit: Awaited<ReturnType<typeof startRabbitMQ>> | undefined;
    try {
      rabbit = await startRabbitMQ();
      const endpoint: Endpoint = { port: rabbit.port, username: 'guest', password: 'guest' };
      await measure(endpoint, '/queue/bench.amqp.warmup', Math.min(2000, MESSAGES), false);
      for (const w of workloads) {
        // `/queue/NAME` declares a transient queue; durable messages need a durable one (`/amq/queue/NAME`).
        let address = `/queue/bench.amqp.${w.key}`;
        if (w.durable) {
          rabbit.declareDurableQueue(`bench.amqp.${w.key}`);
          address = `/amq/queue/bench.amqp.${w.key}`;
        }
        rows.push({ broker: rabbitName, workload: w.label, messages: w.n, msgPerSec: await measure(endpoint, address, w.n, w.durable) });
      }
    } catch (err) {
      for (const w of workloads) if (!rows.some((r) => r.broker === rabbitName && r.workload === w.label)) rows.push({ broker: rabbitName, workload: w.label, messages: w.n, msgPerSec: undefined, note: `skipped: ${(err as Error).message}` });
    } finally {
      await rabbit?.stop();
    }
  }
  console.log(`\nAMQP 1.0 queue throughput (${BODY_SIZE}-byte bodies, rhea producer -> queue -> rhea consumer, credit ${CREDIT})`);
  console.log(
    `(${JUNCTION_AUTH}: security on, SASL PLAIN, every attach and send checked; ${JUNCTION_TLS}: AMQPS, TLS 1.2+, security off;` +
      ` ${JUNCTION_MGMT}: the management server with 2 SSE streams and a 1 s /metrics scrape during its runs, the others without it; all measured beside Junction)`,
  );
  console.log('| broker | workload | messages | msg/s | Junction / this | this / Junction |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    const mine = rows.find((x) => x.broker === junction.name && x.workload === r.workload)?.msgPerSec;
    const variant = r.broker.startsWith('Junction+');
    const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? `${(a / b).toFixed(2)}x` : 'n/a');
    const vsRef = r.broker === junction.name || variant ? '-' : ratio(mine, r.msgPerSec);
    const vsJunction = variant ? ratio(r.msgPerSec, mine) : '-';
    console.log(`| ${r.broker} | ${r.workload} | ${r.messages} | ${fmt(r.msgPerSec)} | ${vsRef} | ${vsJunction} |`);
  }
  for (const r of rows) if (r.note) console.log(`- ${r.broker}, ${r.workload}: ${r.note}`);
  return rows;
}

const [roleName, roleEndpoint, roleQueue, roleN, roleDurable] = process.argv.slice(2);
if (process.send && (roleName === 'consume' || roleName === 'produce')) {
  const endpoint = JSON.parse(roleEndpoint!) as Endpoint;
  const run = roleName === 'consume' ? consume(endpoint, roleQueue!, Number(roleN)) : produce(endpoint, roleQueue!, Number(roleN), roleDurable === '1');
  run.then(
    () => setTimeout(() => process.exit(0), 100),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
} else if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runAmqpBench().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
