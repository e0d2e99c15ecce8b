/**
 * Durability of the management operations (issue 15): a broker in a child process is killed with
 * SIGKILL in the middle of a move job, a retry job and a purge by selector, after a persisted pause
 * and a createQueue, then restarted on the same data dir. Each move/retry step stores the removal
 * from the source and the copy in the target in one journal batch, so after the restart every
 * message is in exactly one of the two queues (Artemis's moveMessages is transactional per batch
 * too): none lost, none in both.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { BrokerProcess } from '../helpers/broker-process.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'junction-mgmt-durability-'));
  dirs.push(d);
  return d;
}

function httpPort(b: BrokerProcess): number {
  const port = (b.ports as unknown as { http?: number }).http;
  assert.ok(port, 'the broker has an HTTP port');
  return port;
}

async function api(b: BrokerProcess, method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${httpPort(b)}/api/v1${p}`, { method, ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** Sends `n` persistent messages to `destination` over STOMP, each with a receipt, all confirmed before it returns. */
async function fill(b: BrokerProcess, destination: string, n: number, headers: (i: number) => Record<string, string> = () => ({})): Promise<void> {
  const c = await RawStomp.connect(b.ports.stomp);
  for (let from = 0; from < n; from += 500) {
    const to = Math.min(n, from + 500);
    for (let i = from; i < to - 1; i++) c.send('SEND', { destination, persistent: 'true', n: String(i), ...headers(i) }, `m${i}`);
    await c.request('SEND', { destination, persistent: 'true', n: String(to - 1), ...headers(to - 1) }, `m${to - 1}`);
  }
  c.destroy();
}

/** The ids of every message in `queue`, browsed a page at a time over HTTP. */
async function ids(b: BrokerProcess, queue: string, selector?: string): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  do {
    const r = await api(b, 'GET', `/queues/${queue}/messages?limit=1000${selector !== undefined ? `&selector=${encodeURIComponent(selector)}` : ''}${cursor !== undefined ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (r.status === 404) return out;
    assert.equal(r.status, 200, JSON.stringify(r.body));
    for (const m of r.body.items) out.push(m.id);
    cursor = r.body.next;
  } while (cursor !== undefined);
  return out;
}

/** Starts `action` and kills the broker once the job has processed some but not all messages. */
async function killMidJob(b: BrokerProcess, queue: string, action: Record<string, unknown>): Promise<number> {
  const started = await api(b, 'POST', `/queues/${queue}/messages/actions`, action);
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const id = started.body.job.id as string;
  for (;;) {
    const job = (await api(b, 'GET', `/jobs/${id}`)).body;
    if (job.processed > 0 || job.state !== 'running') {
      await b.kill();
      return job.processed as number;
    }
    await delay(2);
  }
}

test('kill -9 in the middle of a move job: every message in exactly one of source and target', { timeout: 300_000 }, async () => {
  const N = 10_000;
  let b = await BrokerProcess.start({ dataDir: await dataDir() });
  try {
    await fill(b, '/queue/d.src', N);
    assert.equal((await api(b, 'POST', '/queues', { name: 'd.dst', durable: true })).status, 201);
    const before = await ids(b, 'd.src');
    assert.equal(before.length, N);
    const processed = await killMidJob(b, 'd.src', { action: 'move', target: 'd.dst' });
    b = await b.restart();
    const src = await ids(b, 'd.src');
    const dst = await ids(b, 'd.dst');
    const inSrc = new Set(src);
    assert.equal(new Set(dst).size, dst.length, 'no id twice in the target');
    assert.equal(inSrc.size, src.length, 'no id twice in the source');
    assert.deepEqual(dst.filter((id) => inSrc.has(id)), [], 'no message in both');
    assert.deepEqual([...src, ...dst].sort(), [...before].sort(), `none lost (processed ${processed} before the kill)`);
    assert.ok(dst.length >= processed, 'what the job reported moved stays moved');
  } finally {
    await b.kill();
  }
});

test('kill -9 in the middle of a retry job and of a purge by selector; a persisted pause and a created queue survive', { timeout: 400_000 }, async () => {
  const N = 6_000;
  let b = await BrokerProcess.start({ dataDir: await dataDir() });
  try {
    await fill(b, '/queue/r.origin', N, (i) => ({ tail: String(i % 5) }));
    const all = await ids(b, 'r.origin');
    // Parked in r.parked (originalDestination r.origin), then retried, killed midway.
    const park = await api(b, 'POST', '/queues/r.origin/messages/actions', { action: 'move', target: 'r.parked' });
    assert.equal(park.status, 202);
    while ((await api(b, 'GET', `/jobs/${park.body.job.id}`)).body.state === 'running') await delay(20);
    assert.equal((await ids(b, 'r.parked')).length, N);
    const retried = await killMidJob(b, 'r.parked', { action: 'retry' });
    b = await b.restart();
    const origin = await ids(b, 'r.origin');
    const parked = await ids(b, 'r.parked');
    const inOrigin = new Set(origin);
    assert.equal(inOrigin.size, origin.length, 'no id twice in the origin');
    assert.deepEqual(parked.filter((id) => inOrigin.has(id)), [], 'no message both retried and parked');
    assert.deepEqual([...origin, ...parked].sort(), [...all].sort(), `none lost (retried ${retried} before the kill)`);

    // Purge by selector as a job (more than a synchronous purge takes), killed midway.
    const ret = await api(b, 'POST', '/queues/r.parked/messages/actions', { action: 'retry' });
    while ((await api(b, 'GET', `/jobs/${ret.body.job.id}`)).body.state === 'running') await delay(20);
    const purge = await api(b, 'DELETE', `/queues/r.origin/messages?selector=${encodeURIComponent("tail <> '0'")}`);
    assert.equal(purge.status, 202, JSON.stringify(purge.body));
    let purged = 0;
    for (;;) {
      const job = (await api(b, 'GET', `/jobs/${purge.body.job.id}`)).body;
      if (job.processed > 0 || job.state !== 'running') {
        purged = job.processed;
        await b.kill();
        break;
      }
      await delay(2);
    }
    b = await b.restart();
    const left = await ids(b, 'r.origin');
    assert.equal(new Set(left).size, left.length, 'no id twice after the purge');
    assert.ok(left.length <= N - purged, `what the job reported purged stays purged (${purged})`);
    assert.equal((await ids(b, 'r.origin', "tail = '0'")).length, N / 5, 'what the selector does not match is all still there');

    // A persisted pause: still paused after kill -9, a consumer attached before the resume gets nothing until it.
    assert.equal((await api(b, 'POST', '/queues/r.origin/pause?persist=true')).status, 200);
    assert.equal((await api(b, 'POST', '/queues', { name: 'r.created', durable: true })).status, 201);
    await b.kill();
    b = await b.restart();
    assert.equal((await api(b, 'GET', '/queues/r.created')).status, 200, 'the created queue is there after kill -9');
    assert.equal((await api(b, 'GET', '/queues/r.origin')).body.paused, true, 'still paused');
    const c = await RawStomp.connect(b.ports.stomp);
    await c.request('SUBSCRIBE', { destination: '/queue/r.origin', id: '1', ack: 'client-individual' });
    await c.request('SEND', { destination: '/queue/r.origin', persistent: 'true' }, 'while paused');
    assert.equal(c.pending, 0, 'nothing delivered while paused');
    const resumed = await api(b, 'POST', '/queues/r.origin/resume');
    assert.equal(resumed.status, 200);
    assert.equal(resumed.body.paused, false);
    const first = await c.nextFrame();
    assert.equal(first.command, 'MESSAGE');
    c.destroy();
  } finally {
    await b.kill();
  }
});
