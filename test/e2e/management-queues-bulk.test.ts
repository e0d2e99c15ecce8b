/**
 * The queues API at scale (issue 15 acceptance): paging through 100,000 messages over HTTP, and a
 * move of 50,000 messages as a job with progress, counts checked on both queues afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Core } from '../../src/core/core.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { QueuesApi } from '../helpers/queues-api.ts';

let broker: TestBroker;
let api: QueuesApi;

before(async () => {
  // Room in memory for 150,000 small messages without paging them out (paging is the core's, tested there).
  broker = await startBroker({ globalMaxSizeBytes: 512 * 1024 * 1024 });
  api = new QueuesApi(broker);
});
after(() => broker.stop());

/** Sends `n` small non-durable messages in process, 1,000 sends in flight at a time; returns their ids in send order. */
async function fill(core: Core, queue: string, n: number, props: (i: number) => Record<string, string | number> = () => ({})): Promise<string[]> {
  const ids: string[] = [];
  for (let from = 0; from < n; from += 1000) {
    const batch = [];
    for (let i = from; i < Math.min(n, from + 1000); i++) batch.push(core.send({ destination: { type: 'queue', name: queue }, body: Buffer.from(`message ${i}`), properties: props(i) }));
    for (const m of await Promise.all(batch)) ids.push(m.id);
  }
  return ids;
}

test('messages: every one of 100,000 messages is seen exactly once, in order, paging over HTTP', async () => {
  const ids = await fill(broker.core, 'bulk.page', 100_000);
  assert.equal(broker.core.getQueue('bulk.page')?.messageCount, 100_000);
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await api.get(`/queues/bulk.page/messages?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.ok(page.items.length <= 1000);
    for (const m of page.items) seen.push(m.id);
    cursor = page.next;
    pages++;
    assert.ok(pages <= 101, 'paging ends');
  } while (cursor !== undefined);
  assert.equal(seen.length, 100_000);
  assert.equal(new Set(seen).size, 100_000, 'no id twice');
  assert.deepEqual(seen, ids, 'in delivery order: the send order (one priority)');
  assert.equal(broker.core.getQueue('bulk.page')?.messageCount, 100_000, 'browsing removed nothing');
  // A page with a selector: only matching ones (message 99,999's body, not a property: none match).
  const none = await api.get(`/queues/bulk.page/messages?limit=10&selector=${encodeURIComponent("color = 'red'")}`);
  assert.equal(none.total, undefined);
  assert.equal(none.items.length, 0);
});

test('jobs: a move of 50,000 messages runs as a job with progress; both queues counted afterwards', async () => {
  await fill(broker.core, 'bulk.src', 50_000, (i) => ({ n: i }));
  assert.equal((await api.call('POST', '/queues', { name: 'bulk.dst', durable: false })).status, 201);
  const started = await api.call('POST', '/queues/bulk.src/messages/actions', { action: 'move', target: 'bulk.dst' });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const job = started.body.job;
  assert.equal(job.state, 'running');
  assert.equal(job.total, 50_000);
  assert.equal(job.queue, 'bulk.src');
  assert.equal(job.target, 'bulk.dst');
  // While it runs the broker keeps answering: the job list and the queue detail are served.
  assert.ok((await api.get('/jobs')).items.some((j: { id: string }) => j.id === job.id));
  const states = await api.waitJob(job.id);
  for (let i = 1; i < states.length; i++) assert.ok(states[i].processed >= states[i - 1].processed, 'progress never goes back');
  const done = states[states.length - 1];
  assert.equal(done.state, 'done', JSON.stringify(done));
  assert.equal(done.processed, 50_000);
  assert.equal(done.skipped, 0);
  assert.equal((await api.get('/queues/bulk.src')).messages, 0);
  const dst = await api.get('/queues/bulk.dst');
  assert.equal(dst.messages, 50_000);
  // Moved in order, properties kept.
  const first = await api.get('/queues/bulk.dst/messages?limit=2');
  assert.deepEqual(first.items.map((m: { properties: { n: number } }) => m.properties.n), [0, 1]);
  // A large purge is a job too.
  const purge = await api.call('DELETE', '/queues/bulk.dst/messages');
  assert.equal(purge.status, 202);
  const purged = await api.waitJob(purge.body.job.id);
  assert.equal(purged[purged.length - 1].processed, 50_000);
  assert.equal((await api.get('/queues/bulk.dst')).messages, 0);
});
