/**
 * Routes benchmark: throughput of `queue -> filter -> setProperty -> choice -> queue` against the
 * same forwarding done (1) by a bare core consumer and producer in the same process (the floor)
 * and (2) by an external STOMP client over TCP (what users do without routes); plus a
 * split/aggregate route. All in one run, on one embedded broker with the memory store (so the
 * numbers compare forwarding cost, not the disk). Each forwarder moves N messages that are
 * already queued, with the same credit (in-flight window) and at-least-once settlement: the input
 * is acknowledged only after the output is accepted.
 *
 * Run alone: node --import tsx test/bench/routes-bench.ts   (BENCH_ROUTE_MESSAGES=N to change N)
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { createBroker, type Broker } from '../../src/broker.ts';
import type { Delivery } from '../../src/core/handles.ts';
import { mgmtLine, MgmtLoad, WITHOUT_MGMT } from './mgmt-load.ts';
import { BENCH_USER, benchSecurityConfig } from './security-fixture.ts';
import { FrameSplitter } from './stomp-frames.ts';

const N = Number(process.env.BENCH_ROUTE_MESSAGES ?? 20_000);
const ORDERS = Math.max(1, Math.floor(N / 10));
const LINES = 10;
const WINDOW = 256;

function reading(i: number): Buffer {
  return Buffer.from(JSON.stringify({ sensor: `s${i % 50}`, celsius: 10 + (i % 40), seq: i }));
}

async function fill(broker: Broker, queue: string, n: number, body: (i: number) => Buffer): Promise<void> {
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    sends.push(broker.core.send({ destination: { type: 'queue', name: queue }, body: body(i), bodyType: 'json', durable: true }));
    if (sends.length >= 1000) await Promise.all(sends.splice(0));
  }
  await Promise.all(sends);
}

function count(broker: Broker, ...queues: string[]): number {
  return queues.reduce((s, q) => s + (broker.core.getQueue(q)?.messageCount ?? 0), 0);
}

/** Waits until `done()` holds, checking every ms; returns elapsed ms since `t0`. */
async function until(done: () => boolean, t0: number): Promise<number> {
  while (!done()) await new Promise((r) => setImmediate(r));
  return performance.now() - t0;
}

async function purge(broker: Broker, ...queues: string[]): Promise<void> {
  for (const q of queues) if (broker.core.getQueue(q)) await broker.core.purge(q);
}

/** The floor: a core consumer that forwards with the same decision in plain code. */
async function bareCore(broker: Broker, tag: string): Promise<number> {
  const outs = [`${tag}.alerts`, `${tag}.readings`];
  const t0 = performance.now();
  const consumer = await broker.core.createConsumer({
    destination: { type: 'queue', name: `${tag}.in` },
    sink: {
      deliver: (d: Delivery) => {
        const body = JSON.parse(d.message.body.toString('utf8')) as { celsius?: number };
        if (body.celsius === undefined || body.celsius === null) {
          void consumer.ack(d.id).then(() => consumer.grant(1));
          return;
        }
        const props = { ...d.message.properties, unit: 'C' };
        void props;
        const target = body.celsius > 30 ? outs[0]! : outs[1]!;
        broker.core
          .send({ destination: { type: 'queue', name: target }, body: d.message.body, bodyType: d.message.bodyType, durable: d.message.durable, properties: { ...d.message.properties } })
          .then(() => consumer.ack(d.id))
          .then(() => consumer.grant(1), (err) => console.error(err));
      },
    },
  });
  consumer.grant(WINDOW);
  const ms = await until(() => count(broker, ...outs) >= N, t0);
  consumer.close();
  return ms;
}

const ROUTE_STEPS = (tag: string) => [
  { filter: { '!=': [{ var: 'body.celsius' }, null] } },
  { setProperty: { name: 'unit', value: 'C' } },
  { choice: { when: [{ if: { '>': [{ var: 'body.celsius' }, 30] }, steps: [{ to: `queue:${tag}.alerts` }] }], otherwise: [{ to: `queue:${tag}.readings` }] } },
];

async function viaRoute(broker: Broker, tag: string, runAs?: string): Promise<number> {
  const t0 = performance.now();
  await broker.routes.deploy({ id: `bench-${tag}`, from: `queue:${tag}.in`, maxInflight: WINDOW, steps: ROUTE_STEPS(tag), ...(runAs !== undefined ? { runAs } : {}) });
  const ms = await until(() => count(broker, `${tag}.alerts`, `${tag}.readings`) >= N, t0);
  await broker.routes.undeploy(`bench-${tag}`);
  return ms;
}

/** An external STOMP client: SUBSCRIBE (client-individual, prefetch WINDOW), SEND with receipt, ACK on the receipt. */
async function viaStomp(broker: Broker, tag: string): Promise<number> {
  const socket: Socket = tcpConnect(broker.ports.stomp!, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const splitter = new FrameSplitter();
  const t0 = performance.now();
  let forwarded = 0;
  const done = new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) =>
      splitter.push(chunk, (f) => {
        if (f.command === 'CONNECTED') {
          socket.write(`SUBSCRIBE\nid:0\ndestination:/queue/${tag}.in\nack:client-individual\nactivemq.prefetchSize:${WINDOW}\n\n\0`);
        } else if (f.command === 'MESSAGE') {
          const body = JSON.parse(f.body.toString('utf8')) as { celsius?: number };
          const ack = f.headers.get('ack')!;
          if (body.celsius === undefined || body.celsius === null) {
            socket.write(`ACK\nid:${ack}\n\n\0`);
            forwarded++;
            return true;
          }
          const target = body.celsius > 30 ? `${tag}.alerts` : `${tag}.readings`;
          socket.write(`SEND\ndestination:/queue/${target}\npersistent:true\nunit:C\nreceipt:${ack}\ncontent-length:${f.body.length}\n\n`);
          socket.write(Buffer.concat([f.body, Buffer.from([0])]));
        } else if (f.command === 'RECEIPT') {
          socket.write(`ACK\nid:${f.headers.get('receipt-id')}\n\n\0`);
          if (++forwarded === N) resolve();
        } else if (f.command === 'ERROR') reject(new Error(`STOMP ERROR: ${f.headers.get('message')}`));
        return true;
      }),
    );
  });
  socket.write('CONNECT\naccept-version:1.2\nhost:localhost\nheart-beat:0,0\n\n\0');
  await done;
  const ms = await until(() => count(broker, `${tag}.in`) === 0, t0);
  socket.destroy();
  return ms;
}

async function splitAggregate(broker: Broker, runAs?: string): Promise<number> {
  // A run before this one on the same broker left its orders in sa.out.
  await purge(broker, 'sa.in', 'sa.out');
  await fill(broker, 'sa.in', ORDERS, (i) => Buffer.from(JSON.stringify({ id: `o${i}`, lines: Array.from({ length: LINES }, (_, n) => ({ sku: `k${n}`, qty: n + 1, price: 2 })) })));
  const t0 = performance.now();
  await broker.routes.deploy({
    id: 'bench-split-aggregate',
    from: 'queue:sa.in',
    maxInflight: WINDOW,
    ...(runAs !== undefined ? { runAs } : {}),
    steps: [
      { setProperty: { name: 'order', value: { var: 'body.id' } } },
      { split: { by: { var: 'body.lines' } } },
      { setBody: { object: ['sku', { var: 'body.sku' }, 'total', { '*': [{ var: 'body.qty' }, { var: 'body.price' }] }] } },
      { aggregate: { correlation: { var: 'properties.order' }, completionSize: { var: 'properties.splitSize' } } },
      { setBody: { object: ['order', { var: 'properties.order' }, 'total', { reduce: [{ var: 'body' }, { '+': [{ var: 'current.total' }, { var: 'accumulator' }] }, 0] }] } },
      { to: 'queue:sa.out' },
    ],
  });
  const ms = await until(() => count(broker, 'sa.out') >= ORDERS && count(broker, 'sa.in') === 0, t0);
  await broker.routes.undeploy('bench-split-aggregate');
  return ms;
}

/** An embedded broker for the bench (memory store), with `extra` config on top. */
async function start(extra: (dataDir: string) => Promise<Record<string, unknown>> = async () => ({})): Promise<{ broker: Broker; dataDir: string }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-routes-bench-'));
  const broker = await createBroker(
    { dataDir, routesDir: path.join(dataDir, 'routes'), store: { type: 'memory' }, globalMaxSizeBytes: -1, ports: { stomp: 0, ws: 0, mqtt: 0, amqp: 0, http: 0 }, ...WITHOUT_MGMT, ...(await extra(dataDir)) },
    { logger: pino({ level: 'warn' }) },
  );
  return { broker, dataDir };
}

export async function runRoutesBench(): Promise<void> {
  const brokers: Array<{ broker: Broker; dataDir: string }> = [];
  const mgmtLoad = MgmtLoad.start();
  try {
    const plain = await start();
    brokers.push(plain);
    // Security on: the route runs as the bench user (runAs), so its consumer and every send are checked.
    const secured = await start(async (dir) => ({ security: await benchSecurityConfig(dir) }));
    brokers.push(secured);
    // The management server on, under load while its runs are measured (2 SSE streams on every topic, a 1 s /metrics scrape: mgmt-load.ts).
    const managed = await start(async () => ({ http: { enabled: true } }));
    brokers.push(managed);
    const mgmtUrl = `http://127.0.0.1:${managed.broker.ports.http!}`;
    const underMgmt = async (run: () => Promise<number>): Promise<number> => {
      const { result, load } = await mgmtLoad.during(mgmtUrl, run);
      console.error(`# ${mgmtLine(load)}`);
      return result;
    };
    const broker = plain.broker;
    const kinds: ReadonlyArray<readonly [string, Broker, (b: Broker, tag: string) => Promise<number>]> = [
      ['bare core consumer+producer', broker, bareCore],
      ['route filter/setProperty/choice', broker, (b, tag) => viaRoute(b, tag)],
      ['route, security on (runAs)', secured.broker, (b, tag) => viaRoute(b, tag, BENCH_USER)],
      ['route, management on (+mgmt)', managed.broker, (b, tag) => underMgmt(() => viaRoute(b, tag))],
      ['external STOMP client', broker, viaStomp],
    ];
    // Warm-up (JIT) of each, then four measured runs, interleaved; the best counts (the machine is shared, so the best run is the least disturbed).
    const best = new Map<string, number>();
    for (const round of [0, 1, 2, 3, 4]) {
      for (const [name, b, fn] of kinds) {
        const tag = `b${round}${name.length}`;
        await fill(b, `${tag}.in`, N, reading);
        const ms = await fn(b, tag);
        await purge(b, `${tag}.in`, `${tag}.alerts`, `${tag}.readings`);
        if (round > 0) best.set(name, Math.min(best.get(name) ?? Infinity, ms));
      }
    }
    const floor = N / (best.get('bare core consumer+producer')! / 1000);
    const rateOf = (name: string) => N / (best.get(name)! / 1000);
    console.log(`\nRoutes: forwarding ${N} queued messages (memory store, window ${WINDOW}, at-least-once)`);
    console.log('| forwarder | msg/s | vs bare core |');
    console.log('|---|---:|---:|');
    for (const [name] of kinds) console.log(`| ${name} | ${Math.round(rateOf(name)).toLocaleString('en-US')} | ${(rateOf(name) / floor).toFixed(2)} |`);
    // Split/aggregate without and with security, alternated: the best of two each.
    let sa = Infinity;
    let saAuth = Infinity;
    let saMgmt = Infinity;
    for (let i = 0; i < 2; i++) {
      sa = Math.min(sa, await splitAggregate(broker));
      saAuth = Math.min(saAuth, await splitAggregate(secured.broker, BENCH_USER));
      saMgmt = Math.min(saMgmt, await underMgmt(() => splitAggregate(managed.broker)));
    }
    for (const [name, ms] of [['split/aggregate route', sa], ['split/aggregate route, security on (runAs)', saAuth], ['split/aggregate route, management on (+mgmt)', saMgmt]] as const) {
      const orders = ORDERS / (ms / 1000);
      console.log(`| ${name} (${ORDERS} orders x ${LINES} lines) | ${Math.round(orders).toLocaleString('en-US')} orders/s = ${Math.round(orders * LINES).toLocaleString('en-US')} lines/s | ${((orders * LINES) / floor).toFixed(2)} (lines) |`);
    }
    console.log(
      `Security on / off: route ${(rateOf('route, security on (runAs)') / rateOf('route filter/setProperty/choice')).toFixed(2)}x, split/aggregate ${(sa / saAuth).toFixed(2)}x` +
        ' (the secured broker: a users file, the route runs as the bench user granted everything, every consume and send checked)',
    );
    console.log(
      `Management on / off: route ${(rateOf('route, management on (+mgmt)') / rateOf('route filter/setProperty/choice')).toFixed(2)}x, split/aggregate ${(sa / saMgmt).toFixed(2)}x` +
        ' (the management server with 2 SSE streams on every topic and a 1 s /metrics scrape from another process during those runs; the other brokers run without it)',
    );
  } finally {
    mgmtLoad.close();
    for (const b of brokers) {
      await b.broker.close();
      await rm(b.dataDir, { recursive: true, force: true });
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runRoutesBench();
}
