import type { Log } from '../../core/ports/log.ts';

/** When the journal makes a write durable: on every group commit, never (the OS decides), or every `ms`. */
export type SyncPolicy = { mode: 'always' } | { mode: 'never' } | { mode: 'interval'; ms: number };

export interface JournalOptions {
  /** Directory of the segment files (`<dataDir>/journal`). */
  dir: string;
  log: Log;
  /** Segment file size before rolling to a new one (default 32 MiB). */
  segmentSize?: number;
  sync?: SyncPolicy;
  /** Compact when live bytes / journal bytes falls below this (default 0.5). */
  compactThreshold?: number;
  /** Skip corrupt records in the middle of a segment instead of refusing to start. */
  skipCorrupt?: boolean;
  /** Index slots one compaction step scans for live messages (default 65,536; tests make it small). */
  compactScanSlots?: number;
  /** Free space of the journal's file system (default `fs.statfs`); tests pass a small disk. */
  statfs?: (dir: string) => Promise<{ bavail: number | bigint; bsize: number | bigint }>;
}

/**
 * Upper bounds (seconds) of the fsync latency histogram buckets (Prometheus style: cumulative, +Inf
 * implied). From 100 µs (a battery-backed cache) to 2.5 s (a disk in trouble).
 */
export const JOURNAL_SYNC_SECONDS_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Latency of the journal's fdatasyncs: cumulative counts per {@link JOURNAL_SYNC_SECONDS_BUCKETS} bound, then count and sum. */
export interface SyncHistogram {
  buckets: number[];
  count: number;
  sumSeconds: number;
}

/** Journal statistics for management and benchmarks. */
export interface JournalStats {
  segments: number;
  bytes: number;
  liveBytes: number;
  messages: number;
  writes: number;
  syncs: number;
  compactedSegments: number;
  /** Writes and fsyncs that failed since open (each logged): the management overview raises an alarm on a new one. */
  errors: number;
  /** Bytes written to segment files since open (group commits and compaction rewrites). */
  bytesWritten: number;
  /** Latency of every fdatasync since open (one clock pair per fsync, never per message). */
  syncSeconds: SyncHistogram;
  /** The segment size in use: the configured one, or smaller on a file system with less free space (see `open`). */
  segmentSize: number;
}

/** One segment file: `journal-<id, 8 digits>.seg`, `size` valid bytes. */
export interface Segment {
  id: number;
  file: string;
  size: number;
}
