import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import type { MessageOperation } from '../../../src/core/handles.ts';
import { JobRunner } from '../../../src/management/jobs.ts';
import { ApiError } from '../../../src/management/http/api-types.ts';

/** An operation over `total` messages; every fifth one counts as skipped. Records the slice sizes it was asked for. */
function fakeOp(total: number, opts: { failAt?: number; gate?: () => Promise<void> } = {}): MessageOperation & { asked: number[]; cancelled: number } {
  let processed = 0;
  let cancelled = 0;
  let skipped = 0;
  const asked: number[] = [];
  return {
    action: 'move',
    asked,
    total,
    get processed() {
      return processed;
    },
    get skipped() {
      return skipped;
    },
    get done() {
      return processed + skipped >= total;
    },
    get cancelled() {
      return cancelled;
    },
    cancel() {
      cancelled++;
    },
    async step(max: number) {
      asked.push(max);
      await opts.gate?.();
      const n = Math.min(max, total - processed - skipped);
      for (let i = 0; i < n; i++) {
        if (opts.failAt !== undefined && processed + skipped === opts.failAt) throw new Error('store failed');
        if ((processed + skipped) % 5 === 4) skipped++;
        else processed++;
      }
      return n;
    },
  };
}

const silent = pino({ level: 'silent' });

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(cond(), 'condition never held');
}

test('jobs: a job runs its operation in slices, yielding between them, and ends done with its counts', async () => {
  const jobs = new JobRunner({ log: silent, slice: 1000 });
  const op = fakeOp(10_500);
  const started = jobs.start(op, { queue: 'q', target: 't', user: 'ann' });
  assert.equal(started.state, 'running');
  assert.equal(started.total, 10_500);
  assert.deepEqual(op.asked, [], 'the first slice runs on a later turn of the event loop, not inside start');
  // Between slices the loop turns: a timer set now fires before the job is done.
  let turns = 0;
  const ticker = setInterval(() => turns++, 0);
  await until(() => jobs.get(started.id)?.state !== 'running');
  clearInterval(ticker);
  const done = jobs.get(started.id)!;
  assert.equal(done.state, 'done');
  assert.equal(done.processed + done.skipped, 10_500);
  assert.equal(done.skipped, 2100);
  assert.equal(done.target, 't');
  assert.equal(done.user, 'ann');
  assert.ok(done.finishedAt !== undefined);
  assert.ok(op.asked.length === 11 && op.asked.every((n) => n === 1000), `slices asked: ${op.asked}`);
  assert.ok(turns > 0, 'timers ran while the job ran');
});

test('jobs: a failing step fails the job with its message, logged once', async () => {
  const lines: unknown[] = [];
  const log = pino({ level: 'warn' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  const jobs = new JobRunner({ log, slice: 100 });
  const { id } = jobs.start(fakeOp(1000, { failAt: 250 }), { queue: 'q' });
  await until(() => jobs.get(id)?.state !== 'running');
  const job = jobs.get(id)!;
  assert.equal(job.state, 'failed');
  assert.equal(job.error, 'store failed');
  assert.equal(job.processed + job.skipped, 250);
  assert.equal(lines.length, 1);
});

test('jobs: cancel stops after the slice in flight; a finished job is forgotten by cancel', async () => {
  let release!: () => void;
  let gate = new Promise<void>((r) => (release = r));
  const jobs = new JobRunner({ log: silent, slice: 10 });
  const op = fakeOp(1000, { gate: () => gate });
  const { id } = jobs.start(op, { queue: 'q' });
  await until(() => op.asked.length === 1);
  const cancelling = jobs.cancel(id);
  gate = Promise.resolve();
  release();
  const ended = await cancelling;
  assert.equal(ended?.state, 'cancelled');
  assert.equal(ended?.processed + ended!.skipped, 10, 'the slice in flight completed, no other began');
  assert.equal(op.asked.length, 1);
  assert.equal(op.cancelled, 1, "the operation's own cancel let go of what it holds");
  assert.equal(jobs.get(id)?.state, 'cancelled');
  assert.equal((await jobs.cancel(id))?.state, 'cancelled');
  assert.equal(jobs.get(id), undefined);
  assert.equal(await jobs.cancel('nope'), undefined);
});

test('jobs: at most maxRunning run at once (429), close cancels them and refuses more (503)', async () => {
  const gates: Array<() => void> = [];
  const jobs = new JobRunner({ log: silent, slice: 10, maxRunning: 3 });
  const ops = [0, 1, 2].map(() => fakeOp(100, { gate: () => new Promise<void>((r) => gates.push(r)) }));
  const ids = ops.map((op) => jobs.start(op, { queue: 'q' }).id);
  const refused = fakeOp(1);
  assert.throws(() => jobs.start(refused, { queue: 'q' }), (e: unknown) => e instanceof ApiError && e.status === 429);
  assert.equal(refused.cancelled, 1, 'a refused operation is cancelled, not left holding the queue');
  await until(() => gates.length === 3);
  const closing = jobs.close();
  for (const g of gates.splice(0)) g();
  await closing;
  for (const id of ids) assert.equal(jobs.get(id)?.state, 'cancelled');
  assert.throws(() => jobs.start(fakeOp(1), { queue: 'q' }), (e: unknown) => e instanceof ApiError && e.status === 503);
});

test('jobs: finished jobs are kept keepMs and at most maxKept of them, oldest first out', async () => {
  let now = 1_000_000;
  const jobs = new JobRunner({ log: silent, maxKept: 3, keepMs: 60_000, now: () => now });
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const { id } = jobs.start(fakeOp(1), { queue: `q${i}` });
    ids.push(id);
    await until(() => jobs.get(id)?.state === 'done');
    now += 1000;
  }
  assert.deepEqual(
    jobs.list().map((j) => j.queue),
    ['q4', 'q3', 'q2'],
    'newest first; the two oldest dropped',
  );
  now += 60_000 - 1500; // now is start +63,500: q2 (finished at +2000) and q3 (+3000) are over 60 s old, q4 (+4000) is not
  assert.deepEqual(
    jobs.list().map((j) => j.queue),
    ['q4'],
  );
  assert.notEqual(new Set(ids).size, 1);
});

test('a job whose queue is deleted while it runs ends failed, saying so, not done', async () => {
  const existing = new Set(['kept', 'doomed']);
  const jobs = new JobRunner({ log: silent, slice: 10, queueExists: (name) => existing.has(name) });
  const kept = jobs.start(fakeOp(30), { queue: 'kept', target: 't' });
  // The core ends a deleted queue's operation early: done, though what was left never reached the target.
  const doomed = jobs.start(fakeOp(30, { gate: async () => void existing.delete('doomed') }), { queue: 'doomed', target: 't' });
  await until(() => jobs.get(kept.id)!.state !== 'running' && jobs.get(doomed.id)!.state !== 'running');
  assert.equal(jobs.get(kept.id)!.state, 'done');
  assert.equal(jobs.get(doomed.id)!.state, 'failed');
  assert.match(jobs.get(doomed.id)!.error ?? '', /Queue doomed was deleted/);
});
