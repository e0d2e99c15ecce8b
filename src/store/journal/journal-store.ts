// Over 400 lines on purpose: the group-commit writer and compaction share the writer's state (pending,
// held, holding, writing); splitting them would put that state behind an interface on the commit path.
// Recovery, free space, segment files, reading back and per-segment liveness are in their own files.
import { open, mkdir, statfs, unlink, type FileHandle } from 'node:fs/promises';
import { JunctionError } from '../../errors.ts';
import type { Log } from '../../core/ports/log.ts';
import type { Message } from '../../core/message.ts';
import type { RecoveredState, Store, StoreOp } from '../../core/ports/store.ts';
import { flatKey } from './flat-key.ts';
import { fitSegmentSize } from './free-space.ts';
import { JournalIndex } from './journal-index.ts';
import { JournalReplay } from './journal-replay.ts';
import type { JournalOptions, JournalStats, Segment, SyncPolicy } from './journal-types.ts';
import { MessageReader } from './message-reader.ts';
import { createSegment } from './segment-file.ts';
import { SyncLatency } from './sync-latency.ts';
import { measureBatch, writeBatchRecord, type JournalOp, type MeasuredBatch } from './op-codec.ts';

export type { JournalOptions, JournalStats, SyncPolicy } from './journal-types.ts';

interface Pending {
  /** Measured at commit; written into the group's buffer when its group is flushed. */
  batch: MeasuredBatch;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Compaction rewrites at most this many bytes of live messages per step, so producers wait one short write at most. */
const COMPACT_CHUNK = 1024 * 1024;
/** Group commit writes at most this many bytes at once. */
const MAX_GROUP = 16 * 1024 * 1024;
/** Groups up to this size are written from one buffer the journal keeps. */
const WRITE_BUFFER = 1024 * 1024;
/**
 * A head segment at least this big (or half a segment, if less) is rolled when the journal's live
 * ratio is low, so its dead bytes can be given back although it never filled up (see maybeCompact).
 */
const RECLAIM_HEAD = 1024 * 1024;

/**
 * The embedded append-only journal. Each `commit` is one CRC-framed record; every record produced
 * in one event-loop turn is written with one write and made durable with one fdatasync (group
 * commit) before any of them is confirmed. Recovery replays the segments; segments whose records
 * are all dead are deleted from the oldest forward, and when the live ratio falls below the
 * threshold the oldest segment's live records are rewritten forward (compaction).
 */
export class JournalStore implements Store {
  readonly kind = 'journal';
  private readonly dir: string;
  private readonly log: Log;
  /** Not readonly: `open` makes it smaller on a file system with less free space than one segment. */
  private segmentSize: number;
  private readonly statfs: NonNullable<JournalOptions['statfs']>;
  /** Segments up to this id were rolled away to give space back: compaction may empty them with fewer than three segments. */
  private reclaimUpTo = 0;
  private readonly sync: SyncPolicy;
  private readonly compactThreshold: number;
  private readonly skipCorrupt: boolean;
  private readonly index: JournalIndex;
  private segments: Segment[] = [];
  private head: FileHandle | null = null;
  private pending: Pending[] = [];
  private held: Pending[] = [];
  private holding = false;
  private writing = false;
  private flushScheduled = false;
  private compacting = false;
  private compactChunk: { segment: number; messages: Map<string, Message> } | null = null;
  private readonly reader: MessageReader;
  private dirty = false;
  private seq = 0;
  private opened = false;
  private closing = false;
  private syncTimer: NodeJS.Timeout | null = null;
  /** Set after a failed write whose partial bytes could not be truncated away: no write may follow them. */
  private truncateTo: number | null = null;
  private readonly stats = { writes: 0, syncs: 0, compactedSegments: 0, bytesWritten: 0, errors: 0 };
  private readonly syncLatency = new SyncLatency();
  private idleWaiters: Array<() => void> = [];
  private writeBuf: Buffer | null = null;

  constructor(opts: JournalOptions) {
    this.dir = opts.dir;
    this.log = opts.log;
    this.segmentSize = opts.segmentSize ?? 32 * 1024 * 1024;
    this.statfs = opts.statfs ?? statfs;
    this.sync = opts.sync ?? { mode: 'always' };
    this.compactThreshold = opts.compactThreshold ?? 0.5;
    this.skipCorrupt = opts.skipCorrupt ?? false;
    this.index = new JournalIndex({ scanSlots: opts.compactScanSlots });
    this.reader = new MessageReader({
      segment: (id) => this.segments.find((s) => s.id === id),
      locate: (key) => this.index.locate(key),
      closing: () => this.closing,
    });
  }

  // ---------------------------------------------------------------- recovery

  async open(): Promise<RecoveredState> {
    await mkdir(this.dir, { recursive: true });
    this.segmentSize = await fitSegmentSize(this.dir, this.segmentSize, this.statfs, this.log);
    this.segments = await new JournalReplay(this.index, this.log, this.skipCorrupt).replay(this.dir);
    this.seq = this.index.maxSeq;
    this.index.dropNonDurable();
    const last = this.segments.at(-1);
    if (last) this.head = await open(last.file, 'a');
    else await this.roll();
    if (this.sync.mode === 'interval') {
      this.syncTimer = setInterval(() => void this.syncNow(), this.sync.ms);
      this.syncTimer.unref();
    }
    this.opened = true;
    const state = this.index.recovered();
    this.log.info({ segments: this.segments.length, messages: this.index.messageCount, queues: state.queues.length }, 'journal recovered');
    // Space an earlier run left dead (a drain below the running threshold, a crash before the roll)
    // is given back now, whatever its size: one roll at start costs nothing that matters.
    this.maybeCompact(1);
    return state;
  }

  // ---------------------------------------------------------------- writing

  commit(batch: StoreOp[]): Promise<void> {
    if (!this.opened || this.closing) return Promise.reject(new JunctionError('ERR_STORE_CLOSED'));
    const ops: JournalOp[] = [];
    for (const op of batch) ops.push(op.op === 'addMessage' ? { op: 'addMessage', key: flatKey(op.key), message: op.message, seq: ++this.seq } : op);
    return new Promise<void>((resolve, reject) => {
      const item = this.item(ops, resolve, reject);
      if (this.holding) this.held.push(item);
      else this.enqueue(item);
    });
  }

  private item(ops: JournalOp[], resolve: () => void, reject: (err: Error) => void): Pending {
    return { batch: measureBatch(ops), resolve, reject };
  }

  private enqueue(item: Pending): void {
    this.pending.push(item);
    if (!this.flushScheduled && !this.writing) {
      this.flushScheduled = true;
      // Everything committed in this event-loop turn goes out in one write.
      setImmediate(() => {
        this.flushScheduled = false;
        void this.flush();
      });
    }
  }

  private async flush(): Promise<void> {
    if (this.writing || this.pending.length === 0) return;
    this.writing = true;
    let bytes = 0;
    let n = 0;
    while (n < this.pending.length && (n === 0 || bytes + this.pending[n]!.batch.size <= MAX_GROUP)) bytes += this.pending[n++]!.batch.size;
    const group = this.pending.splice(0, n);
    let seg = this.segments.at(-1)!;
    let goodSize = -1;
    try {
      if (this.truncateTo !== null) await this.repairTail();
      if (seg.size > 0 && seg.size + bytes > this.segmentSize) {
        await this.roll();
        seg = this.segments.at(-1)!;
      }
      goodSize = seg.size;
      const buf = this.groupBuffer(bytes);
      let at = 0;
      for (const p of group) {
        writeBatchRecord(buf, at, p.batch);
        at += p.batch.size;
      }
      const { bytesWritten } = await this.head!.write(buf, 0, bytes);
      this.stats.writes++;
      this.stats.bytesWritten += bytesWritten;
      if (bytesWritten !== bytes) throw new Error(`short write: ${bytesWritten} of ${bytes} bytes`);
      seg.size += bytes;
      if (this.sync.mode === 'always') {
        const t = this.syncLatency.start();
        await this.head!.datasync();
        this.syncLatency.record(t);
        this.stats.syncs++;
      } else this.dirty = true;
      let offset = goodSize;
      for (const p of group) {
        this.index.applyBatch(p.batch.ops, { segment: seg.id, offset, length: p.batch.size });
        offset += p.batch.size;
      }
      for (const p of group) p.resolve();
    } catch (err) {
      this.stats.errors++;
      const failure = new JunctionError('ERR_STORE_FAILED', `Journal write failed: ${(err as Error).message}`, { cause: err });
      this.log.error({ err, file: seg.file, messages: group.length }, 'journal write failed; the batch was not confirmed');
      if (goodSize >= 0) {
        this.truncateTo = goodSize;
        seg.size = goodSize;
        // If this fails too, truncateTo stays set and the next flush retries it before writing.
        await this.repairTail().catch((e) => this.log.error({ err: e, file: seg.file }, 'journal tail repair failed'));
      }
      for (const p of group) p.reject(failure);
    } finally {
      this.writing = false;
    }
    this.afterFlush();
  }

  /**
   * The buffer one group's records are written into: reused from write to write (writes never
   * overlap), unpooled, so no body kept in memory shares a slab with it; a group larger than
   * WRITE_BUFFER gets a buffer of its own that is not kept.
   */
  private groupBuffer(bytes: number): Buffer {
    if (bytes > WRITE_BUFFER) return Buffer.allocUnsafeSlow(bytes);
    return (this.writeBuf ??= Buffer.allocUnsafeSlow(WRITE_BUFFER));
  }

  /** Cuts partial bytes of a failed write off the head segment, so no record follows garbage. */
  private async repairTail(): Promise<void> {
    if (this.truncateTo === null) return;
    await this.head!.truncate(this.truncateTo);
    this.truncateTo = null;
  }

  private afterFlush(): void {
    if (this.holding && this.pending.length === 0) this.compactStep();
    if (this.pending.length > 0) void this.flush();
    else if (!this.holding) {
      this.maybeCompact();
      // A roll to give space back (maybeCompact) holds the writer: idle once it is done.
      if (!this.writing) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /**
   * Starts a new head segment. The new file is opened before the old head is closed: when it cannot
   * be (EMFILE, a name in the way) the journal keeps its open head and the next group tries again,
   * instead of holding a closed handle that fails every later write until a restart.
   */
  private async roll(): Promise<void> {
    const id = (this.segments.at(-1)?.id ?? 0) + 1;
    const old = this.head;
    const { file, handle: next } = await createSegment(this.dir, id, async () => {
      if (old && this.dirty) await old.datasync();
    });
    this.head = next;
    this.segments.push({ id, file, size: 0 });
    this.dirty = false;
    await old?.close().catch((err) => this.log.error({ err }, 'journal: closing the previous head segment failed'));
  }

  private async syncNow(): Promise<void> {
    if (!this.dirty || !this.head || this.writing) return;
    this.dirty = false;
    try {
      const t = this.syncLatency.start();
      await this.head.datasync();
      this.syncLatency.record(t);
      this.stats.syncs++;
    } catch (err) {
      this.dirty = true;
      this.stats.errors++;
      this.log.error({ err }, 'journal fsync failed');
    }
  }

  // ---------------------------------------------------------------- reclaiming space

  /**
   * Deletes dead segments from the oldest forward; starts compaction when the live ratio is low.
   * Runs when the writer goes idle (once per group of writes, not per write): a sum over the few
   * segments and a comparison.
   *
   * Compaction empties old segments into the head, so it needs segments other than the head; with
   * fewer than three, the dead bytes of a head that never reached segmentSize would stay on disk
   * for ever (a drain of everything written, all in the first segment). So when the live ratio is
   * low and the head holds at least `minHead` bytes, the head is rolled: the old head is then an
   * ordinary segment that is deleted when dead or compacted when something in it is still live (a
   * durable subscription's definition, protocol state, a message not yet consumed).
   */
  private maybeCompact(minHead = Math.min(RECLAIM_HEAD, this.segmentSize / 2)): void {
    if (this.compacting || this.closing || this.writing) return;
    this.deleteDeadSegments();
    const total = this.segments.reduce((n, s) => n + s.size, 0);
    if (total === 0 || this.index.totalLiveBytes() / total >= this.compactThreshold) return;
    if (this.segments.length >= 3 || (this.segments.length === 2 && this.segments[0]!.id <= this.reclaimUpTo)) {
      this.compacting = true;
      void this.prepareCompactionStep(this.segments[0]!.id);
    } else if (this.segments.at(-1)!.size >= minHead) void this.rollToReclaim();
  }

  /** Rolls the head so its space can be given back; the writer is held meanwhile (commits queue). */
  private async rollToReclaim(): Promise<void> {
    this.writing = true;
    const from = this.segments.at(-1)!.id;
    let rolled = false;
    try {
      await this.roll();
      this.reclaimUpTo = from;
      rolled = true;
    } catch (err) {
      this.log.error({ err, dir: this.dir }, 'journal roll to give space back failed; will retry after the next write');
    } finally {
      this.writing = false;
    }
    if (rolled) this.afterFlush();
    else if (this.pending.length > 0) void this.flush();
    else for (const w of this.idleWaiters.splice(0)) w();
  }

  /**
   * Reads the next chunk of the oldest segment's live messages (outside any pause), then holds new
   * commits back until the writer is idle for the rewrite itself.
   */
  private async prepareCompactionStep(segment: number): Promise<void> {
    if (this.closing) return;
    if (this.index.liveBytes(segment) === 0 || this.segments[0]?.id !== segment) {
      this.compacting = false;
      this.stats.compactedSegments++;
      this.deleteDeadSegments();
      return;
    }
    try {
      const { keys, more } = this.index.liveKeys(segment, COMPACT_CHUNK);
      if (keys.length === 0 && more) {
        // The bounded scan of the index has not reached this segment's messages yet.
        setImmediate(() => void this.prepareCompactionStep(segment));
        return;
      }
      if (keys.length === 0 && this.index.liveQueues(segment).length === 0 && this.index.liveStates(segment).length === 0) {
        this.compacting = false;
        this.log.error({ segment, liveBytes: this.index.liveBytes(segment) }, 'journal compaction found nothing live in a segment counted live; compaction stopped');
        return;
      }
      const messages = await this.read(keys);
      this.compactChunk = { segment, messages: new Map(keys.map((k, i) => [k, messages[i]] as const).filter((e): e is [string, Message] => !!e[1])) };
    } catch (err) {
      this.compacting = false;
      if (!this.closing) this.log.error({ err }, 'journal compaction read failed; will retry later');
      return;
    }
    if (this.closing) return;
    this.holding = true;
    if (!this.writing && this.pending.length === 0) this.compactStep();
  }

  /**
   * One compaction step, run while the writer is idle and new commits are held back, so the rewrite
   * records the references as they are now and every later operation follows it in the log.
   */
  private compactStep(): void {
    const chunk = this.compactChunk;
    this.compactChunk = null;
    this.holding = false;
    if (chunk && !this.closing) {
      const ops = this.index.rewriteOps(chunk.segment, chunk.messages);
      const next = () => setImmediate(() => void this.prepareCompactionStep(chunk.segment));
      if (ops.length > 0) {
        this.enqueue(
          this.item(ops, next, (err) => {
            this.log.error({ err }, 'journal compaction step failed; will retry later');
            this.compacting = false;
          }),
        );
      } else next();
    }
    for (const h of this.held.splice(0)) this.enqueue(h);
  }

  // ---------------------------------------------------------------- reading back

  async read(keys: string[]): Promise<Array<Message | undefined>> {
    if (!this.opened || this.closing) throw new JunctionError('ERR_STORE_CLOSED');
    return this.reader.read(keys);
  }

  private deleteDeadSegments(): void {
    // Only the oldest may go: a later segment can hold removals of messages in older ones.
    while (this.segments.length > 1 && this.index.liveBytes(this.segments[0]!.id) === 0) {
      const dead = this.segments.shift()!;
      this.reader.segmentDeleted(dead.id);
      this.reader.track(unlink(dead.file).catch((err) => this.log.error({ err, file: dead.file }, 'cannot delete journal segment')));
    }
  }

  /** Resolves once the deletions of dead segments started so far are done (their space is back). */
  released(): Promise<void> {
    return this.reader.released();
  }

  // ---------------------------------------------------------------- lifecycle

  /** Resolves once nothing is pending or being written. */
  idle(): Promise<void> {
    if (!this.writing && this.pending.length === 0 && this.held.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  statistics(): JournalStats {
    return {
      segments: this.segments.length,
      bytes: this.segments.reduce((n, s) => n + s.size, 0),
      liveBytes: this.index.totalLiveBytes(),
      messages: this.index.messageCount,
      ...this.stats,
      syncSeconds: this.syncLatency.snapshot(),
      segmentSize: this.segmentSize,
    };
  }

  async close(): Promise<void> {
    if (!this.opened || this.closing) return;
    // A commit made between idle resolving and this continuation (an ack in a microtask) is waited
    // for too: `closing` is set only in the same synchronous step that saw the writer idle.
    do await this.idle();
    while (this.writing || this.pending.length > 0 || this.held.length > 0);
    this.closing = true;
    if (this.syncTimer) clearInterval(this.syncTimer);
    await this.reader.close();
    if (this.head) {
      if (this.dirty) await this.head.datasync().catch((err) => this.log.error({ err }, 'journal fsync at close failed'));
      await this.head.close();
      this.head = null;
    }
    this.opened = false;
  }
}
