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

/** Journal statistics for management and benchmarks. */
export interface JournalStats {
  segments: number;
  bytes: number;
  liveBytes: number;
  messages: number;
  writes: number;
  syncs: number;
  compactedSegments: number;
  /** The segment size in use: the configured one, or smaller on a file system with less free space (see `open`). */
  segmentSize: number;
}

/** One segment file: `journal-<id, 8 digits>.seg`, `size` valid bytes. */
export interface Segment {
  id: number;
  file: string;
  size: number;
}
