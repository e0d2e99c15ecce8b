/**
 * Management jobs: bulk message operations (remove, move, copy, retry; a large purge) run in the
 * background with progress, as the Artemis console's "move messages" is, but without holding the
 * HTTP request open. A job drives a `Core.messageOperation` a slice (~1,000 messages) at a time and
 * yields to the event loop (`setImmediate`) between slices, so clients and other requests keep being
 * served however large the queue.
 *
 * Caps (every resource a caller makes the broker hold is capped and expires): at most 16 jobs run
 * at once (a 17th is refused, 429); finished jobs are kept 15 minutes for their progress to be read,
 * and at most 100 of them (the oldest finished goes first). Jobs are in a Map keyed by a random id.
 * `close()` (the HTTP server's close) cancels what runs and waits for the slice in flight.
 */
import { randomBytes } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { MessageOperation } from '../core/handles.ts';
import type { Logger } from '../log.ts';
import { ApiError } from './http/api-types.ts';

export type JobState = 'running' | 'done' | 'failed' | 'cancelled';

/** A job as the API shows it (`GET /api/v1/jobs/:id`). */
export interface JobInfo {
  id: string;
  action: MessageOperation['action'];
  queue: string;
  target?: string;
  state: JobState;
  processed: number;
  skipped: number;
  total: number;
  error?: string;
  /** Who started it (security on). */
  user?: string;
  startedAt: number;
  finishedAt?: number;
}

export interface JobRunnerOptions {
  log: Logger;
  /** Messages per slice (default 1000). */
  slice?: number;
  maxRunning?: number;
  maxKept?: number;
  /** How long a finished job stays readable, ms (default 15 min). */
  keepMs?: number;
  now?: () => number;
  /** Whether the queue is still there: an operation on a deleted queue ends early, and the job says so (failed) rather than done. */
  queueExists?: (name: string) => boolean;
}

interface Job {
  info: JobInfo;
  op: MessageOperation;
  cancelled: boolean;
  /** Settles when the job's loop has ended (after the slice in flight). */
  ended: Promise<void>;
}

export const JOB_SLICE = 1000;
export const MAX_RUNNING_JOBS = 16;
export const MAX_KEPT_JOBS = 100;
export const JOB_KEEP_MS = 15 * 60_000;

/** Runs message operations as jobs; one per HTTP server. */
export class JobRunner {
  private readonly jobs = new Map<string, Job>();
  private readonly log: Logger;
  private readonly slice: number;
  private readonly maxRunning: number;
  private readonly maxKept: number;
  private readonly keepMs: number;
  private readonly now: () => number;
  private readonly queueExists: ((name: string) => boolean) | undefined;
  private running = 0;
  private closed = false;

  constructor(opts: JobRunnerOptions) {
    this.log = opts.log;
    this.slice = opts.slice ?? JOB_SLICE;
    this.maxRunning = opts.maxRunning ?? MAX_RUNNING_JOBS;
    this.maxKept = opts.maxKept ?? MAX_KEPT_JOBS;
    this.keepMs = opts.keepMs ?? JOB_KEEP_MS;
    this.now = opts.now ?? Date.now;
    this.queueExists = opts.queueExists;
  }

  /** Throws 429 when a job more would exceed the running cap, 503 once closed: call before creating the operation. */
  assertRoom(): void {
    if (this.closed) throw new ApiError(503, 'ERR_BROKER_CLOSED', 'The management server is closing');
    if (this.running >= this.maxRunning) throw new ApiError(429, 'ERR_RESOURCE_LIMIT', `${this.maxRunning} jobs are running: wait for one to finish or cancel one`);
  }

  /**
   * Starts a job over `op` (made by `Core.messageOperation`, which checked the caller's permissions).
   * Its first slice runs on the next turn of the event loop. Refused (and `op` cancelled) when full or closed.
   */
  start(op: MessageOperation, meta: { queue: string; target?: string; user?: string }): JobInfo {
    try {
      this.assertRoom();
    } catch (err) {
      op.cancel?.();
      throw err;
    }
    this.prune();
    const info: JobInfo = { id: randomBytes(12).toString('base64url'), action: op.action, queue: meta.queue, state: 'running', processed: op.processed, skipped: op.skipped, total: op.total, startedAt: this.now() };
    if (meta.target !== undefined) info.target = meta.target;
    if (meta.user !== undefined) info.user = meta.user;
    const job: Job = { info, op, cancelled: false, ended: Promise.resolve() };
    this.jobs.set(info.id, job);
    this.running++;
    job.ended = this.run(job);
    return { ...info };
  }

  /** Every job kept, newest first. */
  list(): JobInfo[] {
    this.prune();
    return [...this.jobs.values()].map((j) => ({ ...j.info })).reverse();
  }

  get(id: string): JobInfo | undefined {
    this.prune();
    const job = this.jobs.get(id);
    return job && { ...job.info };
  }

  /**
   * Cancels a running job: it stops after the slice in flight (what that slice did stays done: each
   * slice is stored on its own, as Artemis's moveMessages commits per batch). A finished job is
   * forgotten. Resolves with the job as it ended; undefined when there is no such job.
   */
  async cancel(id: string): Promise<JobInfo | undefined> {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    if (job.info.state !== 'running') {
      this.jobs.delete(id);
      return { ...job.info };
    }
    job.cancelled = true;
    await job.ended;
    return { ...job.info };
  }

  /** Cancels every running job and waits for their slices in flight; later `start`s are refused. */
  async close(): Promise<void> {
    this.closed = true;
    const ended: Promise<void>[] = [];
    for (const job of this.jobs.values()) {
      if (job.info.state !== 'running') continue;
      job.cancelled = true;
      ended.push(job.ended);
    }
    await Promise.all(ended);
  }

  private async run(job: Job): Promise<void> {
    const { op, info } = job;
    try {
      while (!op.done && !job.cancelled) {
        await yieldToLoop();
        if (job.cancelled) break;
        await op.step(this.slice);
        info.processed = op.processed;
        info.skipped = op.skipped;
      }
      info.state = op.done ? 'done' : 'cancelled';
      if (op.done && this.queueExists?.(info.queue) === false) {
        // The core ends the operation of a deleted queue: what was left went with the queue, not to the target.
        info.state = 'failed';
        info.error = `Queue ${info.queue} was deleted while the job ran`;
      }
    } catch (err) {
      info.state = 'failed';
      info.error = err instanceof Error ? err.message : String(err);
      // Logged once, here; the API shows the message with the job.
      this.log.warn({ err, job: info.id, action: info.action, queue: info.queue }, 'management job failed');
    } finally {
      // A cancelled (or closed) job lets go of what the operation holds (the queue's pager) now, not when it times out.
      if (!op.done) op.cancel?.();
      info.processed = op.processed;
      info.skipped = op.skipped;
      info.finishedAt = this.now();
      this.running--;
    }
  }

  /** Drops finished jobs older than `keepMs`, then the oldest finished ones beyond `maxKept`. */
  private prune(): void {
    const cutoff = this.now() - this.keepMs;
    let finished = 0;
    for (const [id, job] of this.jobs) {
      if (job.info.finishedAt === undefined) continue;
      if (job.info.finishedAt < cutoff) this.jobs.delete(id);
      else finished++;
    }
    // Map order is insertion order: the first finished ones met are the oldest started.
    for (const [id, job] of this.jobs) {
      if (finished <= this.maxKept) break;
      if (job.info.finishedAt === undefined) continue;
      this.jobs.delete(id);
      finished--;
    }
  }
}
