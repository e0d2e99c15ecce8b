import { open, mkdir, readdir, readFile, statfs, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { JunctionError } from '../../errors.ts';
import type { Log } from '../../core/ports/log.ts';
import type { Message } from '../../core/message.ts';
import type { RecoveredState, Store, StoreOp } from '../../core/ports/store.ts';
import { flatKey, JournalIndex } from './journal-index.ts';
import { decodeBatch, measureBatch, writeBatchRecord, type JournalOp, type MeasuredBatch } from './op-codec.ts';
import { findNextValidRecord, readRecord, RecordType, type DecodedRecord } from './record.ts';
import { readSegmentRecords, REPLAY_WINDOW, type ReadWindow } from './segment-reader.ts';

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

interface Pending {
  /** Measured at commit; written into the group's buffer when its group is flushed. */
  batch: MeasuredBatch;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** A segment's read handle and the reads using it: a dead segment's handle closes when its last read is done. */
interface Reader {
  handle: Promise<FileHandle>;
  reads: number;
  closing: boolean;
}

interface Segment {
  id: number;
  file: string;
  size: number;
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

const SEGMENT_RE = /^journal-(\d{8})\.seg$/;
/** Compaction rewrites at most this many bytes of live messages per step, so producers wait one short write at most. */
const COMPACT_CHUNK = 1024 * 1024;
/** Group commit writes at most this many bytes at once. */
const MAX_GROUP = 16 * 1024 * 1024;
/** Groups up to this size are written from one buffer the journal keeps. */
const WRITE_BUFFER = 1024 * 1024;
/** The smallest segment (the config's minimum too). */
const MIN_SEGMENT = 64 * 1024;
/**
 * A head segment at least this big (or half a segment, if less) is rolled when the journal's live
 * ratio is low, so its dead bytes can be given back although it never filled up (see maybeCompact).
 */
const RECLAIM_HEAD = 1024 * 1024;
/** Rounds of `read` that locate keys again after compaction deleted their segment mid-read. */
const MAX_READ_ROUNDS = 16;

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
  private readonly readers = new Map<number, Reader>();
  /** Unlinks of dead segments and closes of their read handles under way: the space is back once they are done. */
  private readonly releasing = new Set<Promise<unknown>>();
  private dirty = false;
  private seq = 0;
  private opened = false;
  private closing = false;
  private syncTimer: NodeJS.Timeout | null = null;
  /** Set after a failed write whose partial bytes could not be truncated away: no write may follow them. */
  private truncateTo: number | null = null;
  private readonly stats = { writes: 0, syncs: 0, compactedSegments: 0 };
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
  }

  // ---------------------------------------------------------------- recovery

  async open(): Promise<RecoveredState> {
    await mkdir(this.dir, { recursive: true });
    await this.checkSpace();
    const names = (await readdir(this.dir)).filter((n) => SEGMENT_RE.test(n)).sort();
    const window: ReadWindow = { buf: Buffer.allocUnsafe(REPLAY_WINDOW) };
    for (let i = 0; i < names.length; i++) {
      const file = path.join(this.dir, names[i]!);
      const id = Number(SEGMENT_RE.exec(names[i]!)![1]);
      const size = await this.replaySegment(file, id, i === names.length - 1, window);
      this.segments.push({ id, file, size });
    }
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

  /**
   * A file system with less free space than one segment: segments never fill, so none is ever
   * deleted, and the disk fills while consumed records sit in the one head (seen: a 2 MiB disk
   * 97% full after a drain). As ActiveMQ Classic resets its store limit to the usable space of the
   * data directory with a warning at start, the journal warns and uses segments of a quarter of the
   * free space (at least MIN_SEGMENT), so several fit and the dead ones are deleted. It does not
   * refuse to start: segments are not preallocated, a broker that holds little runs fine, and a
   * disk that does fill is reported per send (ERR_STORE_FAILED) and recovers when space returns.
   */
  private async checkSpace(): Promise<void> {
    let free: number;
    try {
      const s = await this.statfs(this.dir);
      free = Number(s.bavail) * Number(s.bsize);
    } catch (err) {
      this.log.warn({ err, dir: this.dir }, 'cannot read the free space of the journal file system; not checked');
      return;
    }
    if (free >= this.segmentSize) return;
    const using = Math.max(MIN_SEGMENT, Math.floor(free / 4 / 4096) * 4096);
    this.log.warn(
      { dir: this.dir, free, segmentSize: this.segmentSize, using },
      using * 2 > free
        ? 'journal file system is nearly full (less free space than two of the smallest segments); sends will fail when it fills'
        : 'journal file system has less free space than one segment (store.segmentSize); using smaller segments so consumed messages give their space back',
    );
    this.segmentSize = using;
  }

  /** Replays one segment into the index; returns its valid length. */
  private async replaySegment(file: string, id: number, isLast: boolean, window: ReadWindow): Promise<number> {
    const r = await readSegmentRecords(file, window, (record, offset) => this.replayRecord(file, id, record, offset));
    if (r.clean) return r.offset;
    // Damage (rare): the rest of the file decides whether it is a torn tail or corruption in the middle.
    return this.replayDamaged(await readFile(file), file, id, isLast, r.offset);
  }

  private replayRecord(file: string, id: number, record: DecodedRecord, offset: number): void {
    if (record.type !== RecordType.BATCH) return;
    let ops: JournalOp[];
    try {
      ops = decodeBatch(record.payload, { keysOnly: true });
    } catch (err) {
      throw new JunctionError('ERR_STORE_CORRUPT', `Journal ${file} offset ${offset}: undecodable record: ${(err as Error).message}`, { cause: err });
    }
    this.index.applyBatch(ops, { segment: id, offset, length: record.size });
  }

  /** Replays a segment's bytes from `offset`, where a record is not valid; returns its valid length. */
  private async replayDamaged(buf: Buffer, file: string, id: number, isLast: boolean, from: number): Promise<number> {
    let offset = from;
    for (;;) {
      const r = readRecord(buf, offset);
      if (r.ok) {
        this.replayRecord(file, id, r.record, offset);
        offset += r.record.size;
        continue;
      }
      if (r.reason === 'end') return offset;
      const next = findNextValidRecord(buf, r.offset);
      if (next < 0 && isLast) {
        // A torn tail: the write that was in progress when the process died. Nothing confirmed is in it.
        this.log.warn({ file, offset: r.offset, reason: r.reason, dropped: buf.length - r.offset }, 'journal tail truncated');
        const fh = await open(file, 'r+');
        try {
          await fh.truncate(r.offset);
          await fh.datasync();
        } finally {
          await fh.close();
        }
        return r.offset;
      }
      const where = `${file} offset ${r.offset} (${r.reason})`;
      if (!this.skipCorrupt) {
        throw new JunctionError(
          'ERR_STORE_CORRUPT',
          `Journal corrupt at ${where}; valid data follows it, so it is not a torn tail. Start with --recover-skip-corrupt to skip it (the corrupt record's operations are lost).`,
        );
      }
      this.log.error({ file, offset: r.offset, reason: r.reason, skippedTo: next }, 'corrupt journal record skipped');
      if (next < 0) return r.offset;
      offset = next;
    }
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
      if (bytesWritten !== bytes) throw new Error(`short write: ${bytesWritten} of ${bytes} bytes`);
      seg.size += bytes;
      if (this.sync.mode === 'always') {
        await this.head!.datasync();
        this.stats.syncs++;
      } else this.dirty = true;
      let offset = goodSize;
      for (const p of group) {
        this.index.applyBatch(p.batch.ops, { segment: seg.id, offset, length: p.batch.size });
        offset += p.batch.size;
      }
      for (const p of group) p.resolve();
    } catch (err) {
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
    const last = this.segments.at(-1);
    const id = (last?.id ?? 0) + 1;
    const file = path.join(this.dir, `journal-${String(id).padStart(8, '0')}.seg`);
    const next = await open(file, 'a');
    const old = this.head;
    try {
      if (old && this.dirty) await old.datasync();
      await syncDir(this.dir);
    } catch (err) {
      await next.close().catch(() => undefined /* nothing written to it */);
      await unlink(file).catch(() => undefined /* the next roll opens it again anyway */);
      throw err;
    }
    this.head = next;
    this.segments.push({ id, file, size: 0 });
    this.dirty = false;
    await old?.close().catch((err) => this.log.error({ err }, 'journal: closing the previous head segment failed'));
  }

  private async syncNow(): Promise<void> {
    if (!this.dirty || !this.head || this.writing) return;
    this.dirty = false;
    try {
      await this.head.datasync();
      this.stats.syncs++;
    } catch (err) {
      this.dirty = true;
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
      const ops: JournalOp[] = this.index.liveQueues(chunk.segment).map((queue) => ({ op: 'createQueue' as const, queue }));
      for (const { key, value } of this.index.liveStates(chunk.segment)) ops.push({ op: 'putState', key, value });
      for (const [key, message] of chunk.messages) {
        const at = this.index.locate(key);
        if (at && at.segment === chunk.segment && at.refs.length > 0) ops.push({ op: 'restoreMessage', seq: at.seq, key, message, refs: at.refs });
      }
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

  /**
   * Reads messages back from their records (paging, recovery, compaction). The records are located
   * first and read one after another; compaction may meanwhile move some forward and delete their
   * segment (it runs from open on, while the core reads its retained messages back), so the keys of
   * a record whose segment is gone are located again. Bounded: each round follows at least one
   * deletion, and a key moves only when its segment is compacted.
   */
  async read(keys: string[]): Promise<Array<Message | undefined>> {
    if (!this.opened || this.closing) throw new JunctionError('ERR_STORE_CLOSED');
    const out: Array<Message | undefined> = keys.map(() => undefined);
    let todo = keys.map((key, i) => ({ i, key }));
    for (let round = 0; todo.length > 0; round++) {
      if (round === MAX_READ_ROUNDS) throw new JunctionError('ERR_STORE_FAILED', `Journal read: ${todo.length} records kept moving while being read`);
      const byRecord = new Map<string, Array<{ i: number; key: string }>>();
      for (const w of todo) {
        const at = this.index.locate(w.key);
        if (!at) continue;
        const id = `${at.segment}:${at.offset}:${at.length}`;
        let list = byRecord.get(id);
        if (!list) byRecord.set(id, (list = []));
        list.push(w);
      }
      const moved: typeof todo = [];
      for (const [id, wanted] of byRecord) {
        const [segment, offset, length] = id.split(':').map(Number) as [number, number, number];
        const ops = await this.readRecordAt(segment, offset, length);
        if (!ops) {
          moved.push(...wanted);
          continue;
        }
        for (const { i, key } of wanted) {
          const op = ops.find((o) => (o.op === 'addMessage' || o.op === 'restoreMessage') && o.key === key);
          out[i] = op && (op.op === 'addMessage' || op.op === 'restoreMessage') ? op.message : undefined;
        }
      }
      todo = moved;
    }
    return out;
  }

  /** The operations of one record, or null when its segment was deleted (its live records moved on). */
  private async readRecordAt(segment: number, offset: number, length: number): Promise<JournalOp[] | null> {
    const seg = this.segments.find((s) => s.id === segment);
    if (!seg) return null;
    // A read handle opened once close has begun would never be closed (close already closed them all).
    if (this.closing) throw new JunctionError('ERR_STORE_CLOSED');
    const reader = this.readHandle(seg);
    const buf = Buffer.allocUnsafe(length);
    let bytesRead: number;
    reader.reads++;
    try {
      ({ bytesRead } = await (await reader.handle).read(buf, 0, length, offset));
    } catch (err) {
      // Deleted before its read handle was open (the open lost the race with the unlink): moved on.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !this.segments.includes(seg)) return null;
      throw err;
    } finally {
      if (--reader.reads === 0 && reader.closing) this.closeHandle(reader);
    }
    const r = readRecord(buf.subarray(0, bytesRead), 0);
    if (!r.ok) throw new JunctionError('ERR_STORE_CORRUPT', `Journal ${seg.file} offset ${offset}: cannot read back a record (${r.reason})`);
    return decodeBatch(r.record.payload);
  }

  /** One read handle per segment, kept while the segment lives (an unlinked file stays readable through it). */
  private readHandle(seg: Segment): Reader {
    let r = this.readers.get(seg.id);
    if (!r) {
      const handle = open(seg.file, 'r');
      r = { handle, reads: 0, closing: false };
      this.readers.set(seg.id, r);
      handle.catch(() => this.readers.get(seg.id)?.handle === handle && this.readers.delete(seg.id));
    }
    return r;
  }

  /**
   * A dead segment's read handle closes once the reads using it are done, at once if none is: an
   * unlinked file keeps its blocks while a descriptor is open on it, so a handle kept open would
   * keep the space the deletion gives back.
   */
  private closeReader(id: number): void {
    const r = this.readers.get(id);
    if (!r) return;
    this.readers.delete(id);
    r.closing = true;
    if (r.reads === 0) this.closeHandle(r);
  }

  private closeHandle(r: Reader): void {
    this.track(r.handle.then((fh) => fh.close()).catch(() => undefined /* never opened, or already closed */));
  }

  private track(p: Promise<unknown>): void {
    this.releasing.add(p);
    void p.finally(() => this.releasing.delete(p));
  }

  private deleteDeadSegments(): void {
    // Only the oldest may go: a later segment can hold removals of messages in older ones.
    while (this.segments.length > 1 && this.index.liveBytes(this.segments[0]!.id) === 0) {
      const dead = this.segments.shift()!;
      this.closeReader(dead.id);
      this.track(unlink(dead.file).catch((err) => this.log.error({ err, file: dead.file }, 'cannot delete journal segment')));
    }
  }

  /** Resolves once the deletions of dead segments started so far are done (their space is back). */
  async released(): Promise<void> {
    while (this.releasing.size > 0) await Promise.all(this.releasing);
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
    for (const r of this.readers.values()) await r.handle.then((fh) => fh.close()).catch(() => undefined /* never opened */);
    this.readers.clear();
    await this.released();
    if (this.head) {
      if (this.dirty) await this.head.datasync().catch((err) => this.log.error({ err }, 'journal fsync at close failed'));
      await this.head.close();
      this.head = null;
    }
    this.opened = false;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
