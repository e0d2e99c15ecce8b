import type { Message } from '../../core/message.ts';
import type { RecoveredState, StoredQueue } from '../store.ts';
import type { JournalOp } from './op-codec.ts';

interface IndexedMessage {
  seq: number;
  message: Message;
  refs: Map<string, number>;
  /** The segment holding the record that currently defines this message. */
  segment: number;
  size: number;
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

  /** Applies one batch written to `segment`; `sizes[i]` is the encoded size of `ops[i]`. */
  applyBatch(ops: JournalOp[], sizes: number[], segment: number): void {
    ops.forEach((op, i) => this.apply(op, sizes[i] ?? 0, segment));
    // A message whose batch gave it no reference is not live.
    for (const op of ops) {
      if (op.op === 'addMessage' || op.op === 'restoreMessage') {
        const m = this.messages.get(op.key);
        if (m && m.refs.size === 0) this.messages.delete(op.key);
      }
    }
  }

  private apply(op: JournalOp, size: number, segment: number): void {
    switch (op.op) {
      case 'addMessage':
        if (op.seq > this.maxSeq) this.maxSeq = op.seq;
        if (!this.messages.has(op.key)) this.messages.set(op.key, { seq: op.seq, message: op.message, refs: new Map(), segment, size });
        return;
      case 'restoreMessage': {
        if (op.seq > this.maxSeq) this.maxSeq = op.seq;
        const old = this.messages.get(op.key);
        if (old && old.refs.size > 0) this.unmark(old.segment, op.key, old.size, 'messages');
        const m: IndexedMessage = { seq: op.seq, message: op.message, refs: new Map(op.refs), segment, size };
        this.messages.set(op.key, m);
        if (m.refs.size > 0) this.mark(segment, op.key, size, 'messages');
        return;
      }
      case 'addRef': {
        const m = this.messages.get(op.key);
        if (!m || m.refs.has(op.queue)) return;
        m.refs.set(op.queue, 0);
        if (m.refs.size === 1) this.mark(m.segment, op.key, m.size, 'messages');
        return;
      }
      case 'removeRef':
        this.removeRef(op.key, op.queue);
        return;
      case 'deliveryCount': {
        const m = this.messages.get(op.key);
        if (m?.refs.has(op.queue)) m.refs.set(op.queue, op.count);
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
        for (const [key, m] of this.messages) if (m.refs.has(op.queue)) this.removeRef(key, op.queue);
        return;
      }
    }
  }

  private removeRef(key: string, queue: string): void {
    const m = this.messages.get(key);
    if (!m || !m.refs.delete(queue)) return;
    if (m.refs.size === 0) {
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

  /**
   * Live items of a segment as rewrite ops, up to about `maxBytes`: messages as `restoreMessage`
   * with their current references, queue definitions as `createQueue`.
   */
  rewriteOps(segment: number, maxBytes: number): JournalOp[] {
    const l = this.live.get(segment);
    if (!l) return [];
    const ops: JournalOp[] = [];
    let bytes = 0;
    for (const name of l.queues) {
      const q = this.queues.get(name);
      if (q) ops.push({ op: 'createQueue', queue: q.def });
    }
    for (const key of l.messages) {
      const m = this.messages.get(key);
      if (!m) continue;
      ops.push({ op: 'restoreMessage', seq: m.seq, key, message: m.message, refs: [...m.refs] });
      bytes += m.size;
      if (bytes >= maxBytes) break;
    }
    return ops;
  }

  get messageCount(): number {
    return this.messages.size;
  }

  /** The state the core rebuilds from: queues, then messages in original send order. */
  recovered(): RecoveredState {
    const messages = [...this.messages.entries()]
      .sort(([, a], [, b]) => a.seq - b.seq)
      .map(([key, m]) => ({ key, message: m.message, refs: [...m.refs].map(([queue, deliveryCount]) => ({ queue, deliveryCount })) }));
    return { queues: [...this.queues.values()].map((q) => q.def), messages };
  }
}
