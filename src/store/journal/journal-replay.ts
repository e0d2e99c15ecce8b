import { open, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { JunctionError } from '../../errors.ts';
import type { Log } from '../../core/ports/log.ts';
import type { JournalIndex } from './journal-index.ts';
import type { Segment } from './journal-types.ts';
import { decodeBatch, type JournalOp } from './op-codec.ts';
import { findNextValidRecord, readRecord, RecordType, type DecodedRecord } from './record.ts';
import { readSegmentRecords, REPLAY_WINDOW, type ReadWindow } from './segment-reader.ts';

/** A segment file's name: `journal-<id, 8 digits>.seg`. */
export const SEGMENT_RE = /^journal-(\d{8})\.seg$/;

/**
 * Recovery: replays every segment of a journal directory, oldest first, into the index. A torn
 * tail of the last segment (the write in progress when the process died; nothing confirmed is in
 * it) is cut off; a bad record with valid data after it is corruption, which stops the start
 * unless `skipCorrupt` (its operations are then lost, and logged).
 */
export class JournalReplay {
  private readonly index: JournalIndex;
  private readonly log: Log;
  private readonly skipCorrupt: boolean;

  constructor(index: JournalIndex, log: Log, skipCorrupt: boolean) {
    this.index = index;
    this.log = log;
    this.skipCorrupt = skipCorrupt;
  }

  /** Replays the segments of `dir` into the index; returns them with their valid lengths. */
  async replay(dir: string): Promise<Segment[]> {
    const segments: Segment[] = [];
    const names = (await readdir(dir)).filter((n) => SEGMENT_RE.test(n)).sort();
    const window: ReadWindow = { buf: Buffer.allocUnsafe(REPLAY_WINDOW) };
    for (let i = 0; i < names.length; i++) {
      const file = path.join(dir, names[i]!);
      const id = Number(SEGMENT_RE.exec(names[i]!)![1]);
      const size = await this.replaySegment(file, id, i === names.length - 1, window);
      segments.push({ id, file, size });
    }
    return segments;
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
}
