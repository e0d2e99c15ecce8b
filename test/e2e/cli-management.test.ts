import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import rhea, { type Connection } from 'rhea';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { runJunction } from '../helpers/junction-cli.ts';

/**
 * The `junction` management and client commands as a user runs them: bin/junction.js as a child
 * process, over real HTTP to an in-process broker (`http: 0`) and real AMQP (rhea), the AMQP port
 * found through `GET /api/v1/overview` as `junction producer` does against `npm start`.
 */

let broker: TestBroker;
let url = '';
let dir = '';

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'junction-cli-mgmt-'));
  broker = await startBroker();
  url = `http://127.0.0.1:${broker.ports.http}`;
});
after(async () => {
  await broker?.stop();
  await rm(dir, { recursive: true, force: true });
});

const junction = (args: string[], env: NodeJS.ProcessEnv = {}) => runJunction([...args, '--url', url], env);

async function json<T>(args: string[]): Promise<T> {
  const r = await junction([...args, '--json']);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
  return JSON.parse(r.out) as T;
}

type Queue = { name: string; messages: number; consumers: number; enqueued: number; acked: number };
const queue = async (name: string): Promise<Queue | undefined> => (await json<Queue[]>(['queue', 'stat', '--filter', name])).find((q) => q.name === name);

test('producer sends 1,000 messages (AMQP port from the overview), queue stat shows them, browse lists them, consumer takes exactly 400', { timeout: 180_000 }, async () => {
  const p = await junction(['producer', '--destination', 'queue://cli.orders', '--message-count', '1000', '--message-size', '32']);
  assert.equal(p.code, 0, p.err);
  assert.match(p.out, /^produced 1000 message\(s\) to queue:\/\/cli\.orders in [\d.]+ s \([\d.]+ msg\/s\)\n$/);
  assert.equal((await queue('cli.orders'))?.messages, 1000);

  const table = await junction(['queue', 'stat', '--filter', 'cli.', '--sort', '-messages']);
  assert.equal(table.code, 0, table.err);
  assert.match(table.out, /^NAME +MESSAGES +CONSUMERS +ENQUEUED +ACKED +IN DELIVERY +DLQ\ncli\.orders +1000 +0 +1000 +0 +0 +0\n$/);

  const browsed = await json<Array<{ id: string; size: number; preview: { data: string } }>>(['browse', 'cli.orders', '--limit', '5']);
  assert.equal(browsed.length, 5);
  assert.equal(new Set(browsed.map((m) => m.id)).size, 5);
  assert.equal(browsed[0]!.size, 32);
  assert.match(browsed[0]!.preview.data, /^junction-/);
  const text = await junction(['browse', 'cli.orders', '--limit', '2']);
  assert.equal(text.out.trim().split('\n').length, 3, text.out);
  assert.match(text.out, /^ID +TIME +PRIO +DURABLE +BYTES +ORIGIN +BODY\n/);

  const c = await json<{ received: number }>(['consumer', '--destination', 'queue://cli.orders', '--message-count', '400']);
  assert.equal(c.received, 400);
  const after = await queue('cli.orders');
  assert.equal(after?.messages, 600, 'the consumer took exactly its count: none taken and released');
  assert.equal(after?.acked, 400);
});

test('queue create, move as a job to its end, purge, pause/resume, delete; a missing queue is exit 4', { timeout: 180_000 }, async () => {
  assert.equal((await junction(['producer', '--destination', 'queue://cli.src', '--message-count', '300'])).code, 0);
  const created = await junction(['queue', 'create', 'cli.dst']);
  assert.equal(created.code, 0, created.err);
  const move = await junction(['queue', 'move', 'cli.src', '--to', 'cli.dst']);
  assert.equal(move.code, 0, move.err);
  assert.match(move.out, /^move cli\.src: done, 300 processed, 0 skipped of 300\n$/);
  assert.equal((await queue('cli.src'))?.messages, 0);
  assert.equal((await queue('cli.dst'))?.messages, 300);

  const copy = await json<{ state: string; processed: number }>(['queue', 'copy', 'cli.dst', '--to', 'cli.src', '--selector', 'count < 100']);
  assert.deepEqual([copy.state, copy.processed], ['done', 100]);
  assert.equal((await queue('cli.src'))?.messages, 100);

  for (const verb of ['pause', 'resume']) assert.equal((await junction(['queue', verb, 'cli.dst'])).code, 0);
  const purge = await junction(['queue', 'purge', 'cli.dst']);
  assert.equal(purge.code, 0, purge.err);
  assert.match(purge.out, /300 message\(s\) removed/);
  assert.equal((await queue('cli.dst'))?.messages, 0);

  const refused = await junction(['queue', 'delete', 'cli.src']);
  assert.equal(refused.code, 1, 'not empty: refused without --force');
  assert.match(refused.err, /^junction: ERR_QUEUE_IN_USE: /);
  assert.equal((await junction(['queue', 'delete', 'cli.src', '--force'])).code, 0);
  assert.equal(await queue('cli.src'), undefined);

  const missing = await junction(['queue', 'purge', 'cli.nowhere']);
  assert.equal(missing.code, 4, missing.err);
  assert.equal(missing.err.trim().split('\n').length, 1);
});

test('route deploy, list, graph (Mermaid and --json), suspend, resume, undeploy; a second deploy is refused without --replace', { timeout: 180_000 }, async () => {
  const file = path.join(dir, 'cli-r.route.json');
  await writeFile(file, JSON.stringify({ id: 'cli-r', from: 'queue:cli.r.in', steps: [{ setHeader: { name: 'seen', value: 'yes' } }, { to: 'queue:cli.r.out' }] }));
  const d = await junction(['route', 'deploy', file]);
  assert.equal(d.code, 0, d.err);
  assert.equal(d.out, 'deployed cli-r\n');
  const again = await junction(['route', 'deploy', file]);
  assert.equal(again.code, 1);
  assert.match(again.err, /^junction: ERR_ROUTE_EXISTS: /);
  assert.equal((await junction(['route', 'deploy', file, '--replace'])).code, 0);

  const list = await json<Array<{ id: string; state: string }>>(['route', 'list']);
  assert.equal(list.find((r) => r.id === 'cli-r')?.state, 'started');
  const graph = await junction(['route', 'graph', 'cli-r']);
  assert.equal(graph.code, 0, graph.err);
  assert.match(graph.out, /^flowchart /m);
  const model = await json<{ model: { routeId: string; nodes: Array<{ path: string }> }; steps: Array<{ id: string }> }>(['route', 'graph', 'cli-r']);
  assert.equal(model.model.routeId, 'cli-r');
  assert.deepEqual(model.model.nodes.map((n) => n.path).slice(0, 3), ['from', 'steps.0', 'steps.1']);
  assert.ok(Array.isArray(model.steps));

  assert.equal((await junction(['route', 'suspend', 'cli-r'])).code, 0);
  assert.equal((await json<Array<{ id: string; state: string }>>(['route', 'list'])).find((r) => r.id === 'cli-r')?.state, 'suspended');
  assert.equal((await junction(['route', 'resume', 'cli-r'])).code, 0);
  assert.equal((await junction(['route', 'undeploy', 'cli-r'])).code, 0);
  assert.equal((await json<Array<{ id: string }>>(['route', 'list'])).some((r) => r.id === 'cli-r'), false);
  assert.equal((await junction(['route', 'graph', 'cli-r'])).code, 4);
});

test('connection list shows an AMQP client by its container id; connection close closes it with the protocol close', { timeout: 120_000 }, async () => {
  const container = rhea.create_container({ id: 'cli-test-client' });
  const conn: Connection = container.connect({ host: '127.0.0.1', port: broker.ports.amqp!, reconnect: false });
  await once(conn as unknown as NodeJS.EventEmitter, 'connection_open');
  const closed = new Promise<string | undefined>((resolve) => {
    conn.on('connection_close', (ctx) => resolve((ctx.connection.error as { condition?: string } | undefined)?.condition));
    conn.on('disconnected', () => resolve('disconnected'));
  });
  const list = await json<Array<{ id: number; protocol: string; clientId?: string }>>(['connection', 'list', '--protocol', 'amqp']);
  const mine = list.find((c) => c.clientId === 'cli-test-client');
  assert.ok(mine, JSON.stringify(list));
  const text = await junction(['connection', 'list']);
  assert.match(text.out, new RegExp(`^ +${mine.id} +amqp +127\\.0\\.0\\.1:\\d+ .*cli-test-client`, 'm'));
  const close = await junction(['connection', 'close', String(mine.id)]);
  assert.equal(close.code, 0, close.err);
  assert.equal(await closed, 'amqp:connection:forced');
  assert.equal((await junction(['connection', 'close', String(mine.id)])).code, 4);
});

test('perf runs a producer and a consumer and reports throughput and HDR latency percentiles', { timeout: 120_000 }, async () => {
  const r = await json<{ sent: number; received: number; sendRate: number; latencyMs: Record<string, number> }>(['perf', '--destination', 'queue://cli.perf', '--duration', '2', '--warmup', '0.5', '--message-size', '64', '--rate', '200']);
  assert.ok(r.sent > 0);
  assert.equal(r.received, r.sent);
  assert.ok(r.sendRate > 0);
  for (const k of ['p50', 'p90', 'p99', 'p99.9', 'max', 'mean', 'count']) assert.equal(typeof r.latencyMs[k], 'number', k);
  assert.ok(r.latencyMs.count! > 0);
  assert.ok(r.latencyMs.p50! <= r.latencyMs.p99! && r.latencyMs.p99! <= r.latencyMs['p99.9']! && r.latencyMs['p99.9']! <= r.latencyMs.max!);
  const text = await junction(['perf', '--destination', 'queue://cli.perf', '--duration', '1', '--warmup', '0']);
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /^latency +p50 [\d.]+ ms +p90 [\d.]+ ms +p99 [\d.]+ ms +p99\.9 [\d.]+ ms +max [\d.]+ ms/m);
});

test('queue stat --watch --json prints one JSON line per refresh until Ctrl-C (SIGINT), then exits 0', { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, [path.resolve(import.meta.dirname, '../../bin/junction.js'), 'queue', 'stat', '--watch', '0.2', '--json', '--filter', 'cli.', '--url', url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.split('\n').length > 2) resolve();
    });
    child.once('exit', () => reject(new Error(`exited early: ${out}`)));
  });
  child.kill('SIGINT');
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0);
  const lines = out.trim().split('\n');
  assert.ok(lines.length >= 2);
  for (const l of lines) {
    const snap = JSON.parse(l) as { at: string; queues: Array<{ name: string }> };
    assert.ok(!Number.isNaN(Date.parse(snap.at)));
    assert.ok(snap.queues.every((q) => q.name.includes('cli.')));
  }
});

test('a broker that is not there: exit 5 for management and client commands alike', { timeout: 60_000 }, async () => {
  const r = await junction(['producer', '--destination', 'queue://x', '--broker', 'amqp://127.0.0.1:1']);
  assert.equal(r.code, 5, r.err);
  assert.match(r.err, /^junction: cannot connect to amqp:\/\/127\.0\.0\.1:1/);
});
