import { open, type FileHandle } from 'node:fs/promises';
import { JunctionError } from '../../errors.ts';
import type { Message } from '../../core/message.ts';
import type { RecordLocation } from './journal-index.ts';
import type { Segment } from './journal-types.ts';
import { decodeBatch, type JournalOp } from './op-codec.ts';
import { readRecord } from './record.ts';

/** Rounds of `read` that locate keys again after compaction deleted their segment mid-read. */
const MAX_READ_ROUNDS = 16;

/** A segment's read handle and the reads using it: a dead segment's handle closes when its last read is done. */
interface Reader {
  handle: Promise<FileHandle>;
  reads: number;
  closing: boolean;
}

/** What the reader asks the journal (closures made once, at construction). */
export interface MessageReaderHost {
  /** The live segment of this id, if any. */
  segment(id: number): Segment | undefined;
  /** Where the live message of `key` is defined. */
  locate(key: string): RecordLocation | undefined;
  /** True once the journal's close has begun. */
  closing(): boolean;
}

/**
 * Reads stored messages back from the journal's segments (paging, recovery, compaction) through
 * one read handle per segment, and tracks what is being released (handles of dead segments, their
 * unlinks) so the journal can wait until their space is back.
 */
export class MessageReader {
  private readonly host: MessageReaderHost;
  private readonly readers = new Map<number, Reader>();
  /** Unlinks of dead segments and closes of their read handles under way: the space is back once they are done. */
  private readonly releasing = new Set<Promise<unknown>>();

  constructor(host: MessageReaderHost) {
    this.host = host;
  }

  /**
   * Reads messages back from their records (paging, recovery, compaction). The records are located
   * first and read one after another; compaction may meanwhile move some forward and delete their
   * segment (it runs from open on, while the core reads its retained messages back), so the keys of
   * a record whose segment is gone are located again. Bounded: each round follows at least one
   * deletion, and a key moves only when its segment is compacted.
   */
  async read(keys: string[]): Promise<Array<Message | undefined>> {
    const out: Array<Message | undefined> = keys.map(() => undefined);
    let todo = keys.map((key, i) => ({ i, key }));
    for (let round = 0; todo.length > 0; round++) {
      if (round === MAX_READ_ROUNDS) throw new JunctionError('ERR_STORE_FAILED', `Journal read: ${todo.length} records kept moving while being read`);
      const byRecord = new Map<string, Array<{ i: number; key: string }>>();
      for (const w of todo) {
        const at = this.host.locate(w.key);
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
    const seg = this.host.segment(segment);
    if (!seg) return null;
    // A read handle opened once close has begun would never be closed (close already closed them all).
    if (this.host.closing()) throw new JunctionError('ERR_STORE_CLOSED');
    const reader = this.readHandle(seg);
    const buf = Buffer.allocUnsafe(length);
    let bytesRead: number;
    reader.reads++;
    try {
      ({ bytesRead } = await (await reader.handle).read(buf, 0, length, offset));
    } catch (err) {
      // Deleted before its read handle was open (the open lost the race with the unlink): moved on.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && this.host.segment(segment) !== seg) return null;
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
  segmentDeleted(id: number): void {
    const r = this.readers.get(id);
    if (!r) return;
    this.readers.delete(id);
    r.closing = true;
    if (r.reads === 0) this.closeHandle(r);
  }

  private closeHandle(r: Reader): void {
    this.track(r.handle.then((fh) => fh.close()).catch(() => undefined /* never opened, or already closed */));
  }

  /** Tracks a release under way (a handle closing, a segment file being unlinked) for {@link released}. */
  track(p: Promise<unknown>): void {
    this.releasing.add(p);
    void p.finally(() => this.releasing.delete(p));
  }

  /** Resolves once the releases started so far are done (their space is back). */
  async released(): Promise<void> {
    while (this.releasing.size > 0) await Promise.all(this.releasing);
  }

  /** Closes every read handle (the journal is closing) and waits for the releases under way. */
  async close(): Promise<void> {
    for (const r of this.readers.values()) await r.handle.then((fh) => fh.close()).catch(() => undefined /* never opened */);
    this.readers.clear();
    await this.released();
  }
}
