import type { RecoveredState, StoredQueue } from '../store.ts';
import type { JournalOp } from './op-codec.ts';

/**
 * One stored message, without its body or headers (they stay on disk): where its defining record is,
 * and its queue references with their delivery counts.
 */
interface IndexedMessage {
  seq: number;
  durable: boolean;
  // Queue references with delivery counts. Most messages have one, kept inline (`q`, `c`); the
  // rest go to `more`. A million paged messages then cost no Map each.
  q: string | null;
  c: number;
  more: Map<string, number> | null;
  /** The segment, offset and length of the record that currently defines this message. */
  segment: number;
  offset: number;
  length: number;
  /** This message's share of its record's bytes. */
  size: number;
}

/** Where a batch record was written. */
export interface RecordLocation {
  segment: number;
  offset: number;
  length: number;
}

interface IndexedQueue {
  def: StoredQueue;
  segment: number;
  size: number;
}

/** Live bytes and the live items of one segment. */
interface SegmentLive {
  bytes: number;
  messages: Set<string>;
  queues: Set<string>;
}

/**
 * The journal's view of what is live: every stored message with its queue references, every
 * durable queue definition, and per segment how many bytes of it are still needed. Built by
 * replaying the segments and kept current as batches are written, it decides which segments can be
 * deleted and what compaction must rewrite.
 */
export class JournalIndex {
  private readonly messages = new Map<string, IndexedMessage>();
  private readonly queues = new Map<string, IndexedQueue>();
  private readonly live = new Map<number, SegmentLive>();
  maxSeq = 0;

  /** Applies one batch record, written at `at`. */
  applyBatch(ops: JournalOp[], at: RecordLocation): void {
    const share = Math.floor(at.length / Math.max(1, ops.length));
    for (const op of ops) this.apply(op, share, at);
    // A message whose batch gave it no reference is not live.
    for (const op of ops) {
      if (op.op === 'addMessage' || op.op === 'restoreMessage') {
        const m = this.messages.get(op.key);
        if (m && refCount(m) === 0) this.messages.delete(op.key);
      }
    }
  }

  private apply(op: JournalOp, size: number, at: RecordLocation): void {
    const segment = at.segment;
    switch (op.op) {
      case 'addMessage':
        if (op.seq > this.maxSeq) this.maxSeq = op.seq;
        if (!this.messages.has(op.key)) {
          this.messages.set(op.key, { seq: op.seq, durable: op.message.durable, q: null, c: 0, more: null, segment, offset: at.offset, length: at.length, size });
        }
        return;
      case 'restoreMessage': {
        if (op.seq > this.maxSeq) this.maxSeq = op.seq;
        const old = this.messages.get(op.key);
        if (old && refCount(old) > 0) this.unmark(old.segment, op.key, old.size, 'messages');
        const m: IndexedMessage = { seq: op.seq, durable: op.message.durable, q: null, c: 0, more: null, segment, offset: at.offset, length: at.length, size };
        for (const [queue, count] of op.refs) setRef(m, queue, count);
        this.messages.set(op.key, m);
        if (refCount(m) > 0) this.mark(segment, op.key, size, 'messages');
        return;
      }
      case 'addRef': {
        const m = this.messages.get(op.key);
        if (!m || hasRef(m, op.queue)) return;
        setRef(m, op.queue, 0);
        if (refCount(m) === 1) this.mark(m.segment, op.key, m.size, 'messages');
        return;
      }
      case 'removeRef':
        this.removeRef(op.key, op.queue);
        return;
      case 'deliveryCount': {
        const m = this.messages.get(op.key);
        if (m && hasRef(m, op.queue)) setRef(m, op.queue, op.count);
        return;
      }
      case 'createQueue': {
        const old = this.queues.get(op.queue.name);
        if (old) this.unmark(old.segment, op.queue.name, old.size, 'queues');
        this.queues.set(op.queue.name, { def: op.queue, segment, size });
        this.mark(segment, op.queue.name, size, 'queues');
        return;
      }
      case 'deleteQueue': {
        const old = this.queues.get(op.queue);
        if (old) {
          this.queues.delete(op.queue);
          this.unmark(old.segment, op.queue, old.size, 'queues');
        }
        for (const [key, m] of this.messages) if (hasRef(m, op.queue)) this.removeRef(key, op.queue);
        return;
      }
    }
  }

  private removeRef(key: string, queue: string): void {
    const m = this.messages.get(key);
    if (!m || !deleteRef(m, queue)) return;
    if (refCount(m) === 0) {
      this.messages.delete(key);
      this.unmark(m.segment, key, m.size, 'messages');
    }
  }

  private mark(segment: number, id: string, size: number, kind: 'messages' | 'queues'): void {
    let l = this.live.get(segment);
    if (!l) this.live.set(segment, (l = { bytes: 0, messages: new Set(), queues: new Set() }));
    l.bytes += size;
    l[kind].add(id);
  }

  private unmark(segment: number, id: string, size: number, kind: 'messages' | 'queues'): void {
    const l = this.live.get(segment);
    if (!l || !l[kind].delete(id)) return;
    l.bytes -= size;
    if (l.messages.size === 0 && l.queues.size === 0) this.live.delete(segment);
  }

  /** Bytes of `segment` still needed. */
  liveBytes(segment: number): number {
    return this.live.get(segment)?.bytes ?? 0;
  }

  totalLiveBytes(): number {
    let n = 0;
    for (const l of this.live.values()) n += l.bytes;
    return n;
  }

  /** Keys of live messages defined in `segment`, up to about `maxBytes` of them. */
  liveKeys(segment: number, maxBytes: number): string[] {
    const l = this.live.get(segment);
    if (!l) return [];
    const keys: string[] = [];
    let bytes = 0;
    for (const key of l.messages) {
      keys.push(key);
      bytes += this.messages.get(key)?.size ?? 0;
      if (bytes >= maxBytes) break;
    }
    return keys;
  }

  /** Durable queue definitions recorded in `segment`. */
  liveQueues(segment: number): StoredQueue[] {
    const l = this.live.get(segment);
    return l ? [...l.queues].map((n) => this.queues.get(n)!.def) : [];
  }

  /** Where a live message's defining record is, with its sequence number and current references. */
  locate(key: string): (RecordLocation & { seq: number; refs: Array<[string, number]> }) | undefined {
    const m = this.messages.get(key);
    return m && { segment: m.segment, offset: m.offset, length: m.length, seq: m.seq, refs: refEntries(m) };
  }

  /** Forgets messages that must not outlive a restart (non-durable ones written for paging). */
  dropNonDurable(): void {
    for (const [key, m] of this.messages) {
      if (m.durable) continue;
      this.messages.delete(key);
      if (refCount(m) > 0) this.unmark(m.segment, key, m.size, 'messages');
    }
  }

  get messageCount(): number {
    return this.messages.size;
  }

  /** The state the core rebuilds from: queues, then messages in original send order. */
  recovered(): RecoveredState {
    const messages = [...this.messages.entries()]
      .sort(([, a], [, b]) => a.seq - b.seq)
      .map(([key, m]) => ({ key, size: m.size, refs: refEntries(m).map(([queue, deliveryCount]) => ({ queue, deliveryCount })) }));
    return { queues: [...this.queues.values()].map((q) => q.def), messages };
  }
}

function refCount(m: IndexedMessage): number {
  return (m.q !== null ? 1 : 0) + (m.more?.size ?? 0);
}

function hasRef(m: IndexedMessage, queue: string): boolean {
  return m.q === queue || (m.more?.has(queue) ?? false);
}

function setRef(m: IndexedMessage, queue: string, count: number): void {
  if (m.q === queue) m.c = count;
  else if (m.more?.has(queue)) m.more.set(queue, count);
  else if (m.q === null) {
    m.q = queue;
    m.c = count;
  } else (m.more ??= new Map()).set(queue, count);
}

function deleteRef(m: IndexedMessage, queue: string): boolean {
  if (m.q !== queue) return m.more?.delete(queue) ?? false;
  m.q = null;
  m.c = 0;
  return true;
}

function refEntries(m: IndexedMessage): Array<[string, number]> {
  const out: Array<[string, number]> = m.q !== null ? [[m.q, m.c]] : [];
  if (m.more) out.push(...m.more);
  return out;
}
