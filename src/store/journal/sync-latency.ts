import { performance } from 'node:perf_hooks';
import { JOURNAL_SYNC_SECONDS_BUCKETS, type SyncHistogram } from './journal-types.ts';

/**
 * The journal's fdatasync latency, as fixed buckets (Prometheus histogram style), for
 * `junction_journal_fsync_duration_seconds`. One clock read before and one after each fsync, and
 * an index into 15 counters: per group commit, never per message (a group carries every commit of
 * an event-loop turn). Counts are kept per bucket and made cumulative only when read (scrape time).
 */
export class SyncLatency {
  private readonly counts = new Float64Array(JOURNAL_SYNC_SECONDS_BUCKETS.length + 1);
  private count = 0;
  private sum = 0;

  /** The clock reading to pass to {@link record} once the fsync is done. */
  start(): number {
    return performance.now();
  }

  record(startedAt: number): void {
    const seconds = (performance.now() - startedAt) / 1000;
    let i = 0;
    while (i < JOURNAL_SYNC_SECONDS_BUCKETS.length && seconds > JOURNAL_SYNC_SECONDS_BUCKETS[i]!) i++;
    this.counts[i]!++;
    this.count++;
    this.sum += seconds;
  }

  snapshot(): SyncHistogram {
    const buckets: number[] = [];
    let acc = 0;
    for (let i = 0; i < JOURNAL_SYNC_SECONDS_BUCKETS.length; i++) buckets.push((acc += this.counts[i]!));
    return { buckets, count: this.count, sumSeconds: this.sum };
  }
}
