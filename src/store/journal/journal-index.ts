import type { RecoveredMessage, RecoveredRef, RecoveredState, StateValue, StoredQueue } from '../../core/ports/store.ts';
import type { Message } from '../../core/message.ts';
import type { JournalOp } from './op-codec.ts';
import { SegmentLiveness } from './segment-liveness.ts';
import { SlotTable } from './slot-table.ts';

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

interface IndexedState {
  value: StateValue;
  segment: number;
  size: number;
}

/** Compaction looks at most this many slots per `liveKeys` call, so one call takes well under a millisecond. */
const SCAN_SLOTS = 65536;

/**
 * The journal's view of what is live: every stored message with its queue references, every
 * durable queue definition, and per segment how many bytes of it are still needed. Built by
 * replaying the segments and kept current as batches are written, it decides which segments can be
 * deleted and what compaction must rewrite.
 *
 * Memory per message is kept small for backlogs of millions: the message's state is a slot of a
 * {@link SlotTable} (typed arrays, no object per message), found through one `key -> slot` map
 * entry. Its first queue reference is inline in the slot as a small queue id; only messages with
 * several references get a map of the others. Segments keep counts, not sets of keys; compaction
 * finds a segment's live messages by scanning the slots in bounded steps.
 */
export class JournalIndex {
  private readonly slots = new SlotTable();
  private readonly bySlot = new Map<string, number>();
  /** References beyond the inline one, by slot. */
  private readonly more = new Map<number, Map<string, number>>();
  private readonly queues = new Map<string, IndexedQueue>();
  /** Live `putState` values: the latest record of a key, until a `null` one deletes it. */
  private readonly states = new Map<string, IndexedState>();
  private readonly live = new SegmentLiveness();
  // Queue names of inline references as small ids, counted so unused ids are reused.
  private readonly queueIds = new Map<string, number>();
  private readonly queueNames: string[] = [];
  private readonly queueUses: number[] = [];
  private readonly freeQueueIds: number[] = [];
  private scan = { segment: -1, next: 0 };
  private readonly scanSlots: number;
  maxSeq = 0;

  /** `scanSlots`: slots one `liveKeys` call looks at (tests make it small). */
  constructor(opts: { scanSlots?: number } = {}) {
    this.scanSlots = opts.scanSlots ?? SCAN_SLOTS;
  }

  /** Applies one batch record, written at `at`. */
  applyBatch(ops: JournalOp[], at: RecordLocation): void {
    const share = Math.floor(at.length / Math.max(1, ops.length));
    for (const op of ops) this.apply(op, share, at);
    // A message whose batch gave it no reference is not live.
    for (const op of ops) {
      if (op.op === 'addMessage' || op.op === 'restoreMessage') {
        const slot = this.bySlot.get(op.key);
        if (slot !== undefined && this.refCount(slot) === 0) this.forget(op.key, slot);
      }
    }
  }

  private apply(op: JournalOp, size: number, at: RecordLocation): void {
    const segment = at.segment;
    switch (op.op) {
      case 'addMessage':
        if (op.seq > this.maxSeq) this.maxSeq = op.seq;
        if (!this.bySlot.has(op.key)) {
          this.bySlot.set(op.key, this.slots.alloc(op.key, { seq: op.seq, durable: op.message.durable, segment, offset: at.offset, length: at.length, size }));
        }
        return;
      case 'restoreMessage': {
        if (op.seq > this.maxSeq) this.maxSeq = op.seq;
        const fields = { seq: op.seq, durable: op.message.durable, segment, offset: at.offset, length: at.length, size };
        let slot = this.bySlot.get(op.key);
        if (slot !== undefined) {
          if (this.refCount(slot) > 0) this.live.unmarkMessage(this.slots.segment(slot), this.slots.sizeOf(slot));
          this.clearRefs(slot);
          this.slots.set(slot, fields);
        } else {
          slot = this.slots.alloc(op.key, fields);
          this.bySlot.set(op.key, slot);
        }
        for (const [queue, count] of op.refs) this.setRef(slot, queue, count);
        if (this.refCount(slot) > 0) this.live.markMessage(segment, size);
        return;
      }
      case 'addRef': {
        const slot = this.bySlot.get(op.key);
        if (slot === undefined || this.hasRef(slot, op.queue)) return;
        this.setRef(slot, op.queue, 0);
        if (this.refCount(slot) === 1) this.live.markMessage(this.slots.segment(slot), this.slots.sizeOf(slot));
        return;
      }
      case 'removeRef':
        this.removeRef(op.key, op.queue);
        return;
      case 'deliveryCount': {
        const slot = this.bySlot.get(op.key);
        if (slot !== undefined && this.hasRef(slot, op.queue)) this.setRef(slot, op.queue, op.count);
        return;
      }
      case 'createQueue': {
        const old = this.queues.get(op.queue.name);
        if (old) this.live.unmarkQueue(old.segment, op.queue.name, old.size);
        this.queues.set(op.queue.name, { def: op.queue, segment, size });
        this.live.markQueue(segment, op.queue.name, size);
        return;
      }
      case 'deleteQueue': {
        const old = this.queues.get(op.queue);
        if (old) {
          this.queues.delete(op.queue);
          this.live.unmarkQueue(old.segment, op.queue, old.size);
        }
        const keys: string[] = [];
        this.slots.forEach((slot) => {
          if (this.hasRef(slot, op.queue)) keys.push(this.slots.key(slot));
        });
        for (const key of keys) this.removeRef(key, op.queue);
        return;
      }
      case 'putState': {
        const old = this.states.get(op.key);
        if (old) {
          this.states.delete(op.key);
          this.live.unmarkState(old.segment, op.key, old.size);
        }
        if (op.value === null) return;
        this.states.set(op.key, { value: op.value, segment, size });
        this.live.markState(segment, op.key, size);
        return;
      }
    }
  }

  private removeRef(key: string, queue: string): void {
    const slot = this.bySlot.get(key);
    if (slot === undefined || !this.deleteRef(slot, queue)) return;
    if (this.refCount(slot) === 0) {
      this.live.unmarkMessage(this.slots.segment(slot), this.slots.sizeOf(slot));
      this.forget(key, slot);
    }
  }

  /** Drops a message whose references are gone (or were never marked live). */
  private forget(key: string, slot: number): void {
    this.clearRefs(slot);
    this.bySlot.delete(key);
    this.slots.release(slot);
  }

  // ------------------------------------------------------------ references

  private refCount(slot: number): number {
    return (this.slots.queue(slot) >= 0 ? 1 : 0) + (this.more.get(slot)?.size ?? 0);
  }

  private hasRef(slot: number, queue: string): boolean {
    const q = this.slots.queue(slot);
    return (q >= 0 && this.queueNames[q] === queue) || (this.more.get(slot)?.has(queue) ?? false);
  }

  private setRef(slot: number, queue: string, count: number): void {
    const q = this.slots.queue(slot);
    if (q >= 0 && this.queueNames[q] === queue) this.slots.setInline(slot, q, count);
    else if (this.more.get(slot)?.has(queue)) this.more.get(slot)!.set(queue, count);
    else if (q < 0) this.slots.setInline(slot, this.useQueueId(queue), count);
    else {
      let m = this.more.get(slot);
      if (!m) this.more.set(slot, (m = new Map()));
      m.set(queue, count);
    }
  }

  private deleteRef(slot: number, queue: string): boolean {
    const q = this.slots.queue(slot);
    if (q < 0 || this.queueNames[q] !== queue) {
      const m = this.more.get(slot);
      if (!m?.delete(queue)) return false;
      if (m.size === 0) this.more.delete(slot);
      return true;
    }
    this.slots.setInline(slot, -1, 0);
    this.releaseQueueId(q);
    return true;
  }

  private clearRefs(slot: number): void {
    const q = this.slots.queue(slot);
    if (q >= 0) {
      this.slots.setInline(slot, -1, 0);
      this.releaseQueueId(q);
    }
    this.more.delete(slot);
  }

  /** The references in their order: the inline one first, then the others as they were added. */
  private refEntries(slot: number): Array<[string, number]> {
    const q = this.slots.queue(slot);
    const out: Array<[string, number]> = q >= 0 ? [[this.queueNames[q]!, this.slots.count(slot)]] : [];
    const m = this.more.get(slot);
    if (m) out.push(...m);
    return out;
  }

  private useQueueId(queue: string): number {
    let id = this.queueIds.get(queue);
    if (id === undefined) {
      id = this.freeQueueIds.pop() ?? this.queueNames.length;
      this.queueIds.set(queue, id);
      this.queueNames[id] = queue;
      this.queueUses[id] = 0;
    }
    this.queueUses[id]!++;
    return id;
  }

  private releaseQueueId(id: number): void {
    if (--this.queueUses[id]! > 0) return;
    this.queueIds.delete(this.queueNames[id]!);
    this.queueNames[id] = '';
    this.freeQueueIds.push(id);
  }

  // ------------------------------------------------------------ live bytes per segment

  /** Bytes of `segment` still needed. */
  liveBytes(segment: number): number {
    return this.live.bytes(segment);
  }

  totalLiveBytes(): number {
    return this.live.totalBytes();
  }

  /**
   * Keys of live messages defined in `segment`, up to about `maxBytes` of them, found by a scan of
   * the slots that goes on where the previous call for the same segment stopped and looks at a
   * bounded number of slots per call. `more` is false when this call reached the last slot (the
   * next call starts over from the first); an empty `keys` with `more` true only means "not here yet".
   */
  liveKeys(segment: number, maxBytes: number): { keys: string[]; more: boolean } {
    if (this.scan.segment !== segment) this.scan = { segment, next: 0 };
    const keys: string[] = [];
    if (this.live.messages(segment) === 0) {
      this.scan.next = 0;
      return { keys, more: false };
    }
    let bytes = 0;
    const next = this.slots.scanSegment(segment, this.scan.next, this.scanSlots, (slot) => {
      keys.push(this.slots.key(slot));
      bytes += this.slots.sizeOf(slot);
      return bytes < maxBytes;
    });
    const more = next < this.slots.capacity;
    this.scan.next = more ? next : 0;
    return { keys, more };
  }

  /** Durable queue definitions recorded in `segment`. */
  liveQueues(segment: number): StoredQueue[] {
    return [...this.live.queues(segment)].map((n) => this.queues.get(n)!.def);
  }

  /** Live state values recorded in `segment` (compaction rewrites them at the head). */
  liveStates(segment: number): Array<{ key: string; value: StateValue }> {
    return [...this.live.states(segment)].map((key) => ({ key, value: this.states.get(key)!.value }));
  }

  /**
   * Compaction's rewrite of `segment`'s live records at the head: its current queue definitions
   * and state values, and those of `messages` (read back from it) still defined there and
   * referenced, with their sequence numbers (recovery order) and current references.
   */
  rewriteOps(segment: number, messages: Map<string, Message>): JournalOp[] {
    const ops: JournalOp[] = this.liveQueues(segment).map((queue) => ({ op: 'createQueue' as const, queue }));
    for (const { key, value } of this.liveStates(segment)) ops.push({ op: 'putState', key, value });
    for (const [key, message] of messages) {
      const at = this.locate(key);
      if (at && at.segment === segment && at.refs.length > 0) ops.push({ op: 'restoreMessage', seq: at.seq, key, message, refs: at.refs });
    }
    return ops;
  }

  /** Where a live message's defining record is, with its sequence number and current references. */
  locate(key: string): (RecordLocation & { seq: number; refs: Array<[string, number]> }) | undefined {
    const slot = this.bySlot.get(key);
    if (slot === undefined) return undefined;
    const s = this.slots;
    return { segment: s.segment(slot), offset: s.offset(slot), length: s.length(slot), seq: s.seq(slot), refs: this.refEntries(slot) };
  }

  /** Forgets messages that must not outlive a restart (non-durable ones written for paging). */
  dropNonDurable(): void {
    const gone: number[] = [];
    this.slots.forEach((slot) => {
      if (!this.slots.durable(slot)) gone.push(slot);
    });
    for (const slot of gone) {
      if (this.refCount(slot) > 0) this.live.unmarkMessage(this.slots.segment(slot), this.slots.sizeOf(slot));
      this.forget(this.slots.key(slot), slot);
    }
  }

  get messageCount(): number {
    return this.slots.size;
  }

  /**
   * The state the core rebuilds from: queues, then messages in original send order. The messages
   * are not materialised as one array: the order is fixed now (one 4-byte slot number a message)
   * and each message is made as the iteration reaches it, from the index as it is then, so iterate
   * before committing anything.
   */
  recovered(): RecoveredState {
    const order = this.slots.bySeq();
    const index = this;
    const messages: Iterable<RecoveredMessage> = {
      *[Symbol.iterator]() {
        for (const slot of order) {
          if (!index.slots.isUsed(slot)) continue;
          const refs: RecoveredRef[] = index.refEntries(slot).map(([queue, deliveryCount]) => ({ queue, deliveryCount }));
          yield { key: index.slots.key(slot), size: index.slots.sizeOf(slot), refs };
        }
      },
    };
    const states = [...this.states].map(([key, s]) => ({ key, value: s.value }));
    return { queues: [...this.queues.values()].map((q) => q.def), messages, states };
  }
}
