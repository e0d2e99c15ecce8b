const CHUNK_BITS = 14;
const CHUNK = 1 << CHUNK_BITS;
const MASK = CHUNK - 1;

/** Flag bits of a slot. */
const USED = 1;
const DURABLE = 2;

interface Chunk {
  seq: Float64Array;
  offset: Float64Array;
  segment: Uint32Array;
  length: Uint32Array;
  size: Uint32Array;
  count: Uint32Array;
  queue: Int32Array;
  flags: Uint8Array;
}

function chunk(): Chunk {
  return {
    seq: new Float64Array(CHUNK),
    offset: new Float64Array(CHUNK),
    segment: new Uint32Array(CHUNK),
    length: new Uint32Array(CHUNK),
    size: new Uint32Array(CHUNK),
    count: new Uint32Array(CHUNK),
    queue: new Int32Array(CHUNK),
    flags: new Uint8Array(CHUNK),
  };
}

/** The fields of one slot, as `SlotTable.set` takes them. */
export interface SlotFields {
  seq: number;
  durable: boolean;
  segment: number;
  offset: number;
  length: number;
  size: number;
}

/**
 * Per-message state of the journal index in columns of typed arrays, allocated in chunks of 16,384
 * slots (37 bytes a slot plus the key, no object per message), with a free list so slots of removed
 * messages are reused. A slot holds where the message's defining record is, its sequence number, its
 * share of the record's bytes, and one inline queue reference (a small queue id, -1 for none) with
 * its delivery count; further references live outside (see JournalIndex).
 */
export class SlotTable {
  private readonly chunks: Chunk[] = [];
  private readonly keys: string[] = [];
  private readonly free: number[] = [];
  private used = 0;

  /** Number of slots in use. */
  get size(): number {
    return this.used;
  }

  /** One past the highest slot ever handed out (the range `scan` and `forEach` cover). */
  get capacity(): number {
    return this.keys.length;
  }

  /** Takes a free slot for `key` and fills it; the inline reference starts empty. */
  alloc(key: string, f: SlotFields): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.keys.length;
      if ((slot & MASK) === 0) this.chunks.push(chunk());
      this.keys.push(key);
    } else this.keys[slot] = key;
    this.used++;
    this.set(slot, f);
    const c = this.chunks[slot >>> CHUNK_BITS]!;
    const i = slot & MASK;
    c.queue[i] = -1;
    c.count[i] = 0;
    return slot;
  }

  /** Overwrites a slot's location and identity fields (not its references). */
  set(slot: number, f: SlotFields): void {
    const c = this.chunks[slot >>> CHUNK_BITS]!;
    const i = slot & MASK;
    c.seq[i] = f.seq;
    c.offset[i] = f.offset;
    c.segment[i] = f.segment;
    c.length[i] = f.length;
    c.size[i] = f.size;
    c.flags[i] = USED | (f.durable ? DURABLE : 0);
  }

  release(slot: number): void {
    const c = this.chunks[slot >>> CHUNK_BITS]!;
    const i = slot & MASK;
    c.flags[i] = 0;
    c.queue[i] = -1;
    this.keys[slot] = '';
    this.free.push(slot);
    this.used--;
  }

  isUsed(slot: number): boolean {
    return (this.chunks[slot >>> CHUNK_BITS]!.flags[slot & MASK]! & USED) !== 0;
  }

  key(slot: number): string {
    return this.keys[slot]!;
  }

  seq(slot: number): number {
    return this.chunks[slot >>> CHUNK_BITS]!.seq[slot & MASK]!;
  }

  durable(slot: number): boolean {
    return (this.chunks[slot >>> CHUNK_BITS]!.flags[slot & MASK]! & DURABLE) !== 0;
  }

  segment(slot: number): number {
    return this.chunks[slot >>> CHUNK_BITS]!.segment[slot & MASK]!;
  }

  offset(slot: number): number {
    return this.chunks[slot >>> CHUNK_BITS]!.offset[slot & MASK]!;
  }

  length(slot: number): number {
    return this.chunks[slot >>> CHUNK_BITS]!.length[slot & MASK]!;
  }

  sizeOf(slot: number): number {
    return this.chunks[slot >>> CHUNK_BITS]!.size[slot & MASK]!;
  }

  /** The inline reference's queue id, -1 for none. */
  queue(slot: number): number {
    return this.chunks[slot >>> CHUNK_BITS]!.queue[slot & MASK]!;
  }

  count(slot: number): number {
    return this.chunks[slot >>> CHUNK_BITS]!.count[slot & MASK]!;
  }

  setInline(slot: number, queue: number, count: number): void {
    const c = this.chunks[slot >>> CHUNK_BITS]!;
    const i = slot & MASK;
    c.queue[i] = queue;
    c.count[i] = count;
  }

  /**
   * Calls `fn` for the used slots of `segment` from `from` on, stopping after `limit` slots were
   * looked at or when `fn` returns false; returns the slot to continue from (`capacity` at the end).
   */
  scanSegment(segment: number, from: number, limit: number, fn: (slot: number) => boolean): number {
    const end = Math.min(this.keys.length, from + limit);
    let s = from;
    while (s < end) {
      const c = this.chunks[s >>> CHUNK_BITS]!;
      const stop = Math.min(end, ((s >>> CHUNK_BITS) + 1) << CHUNK_BITS);
      for (; s < stop; s++) {
        const i = s & MASK;
        if (c.segment[i] === segment && (c.flags[i]! & USED) !== 0 && !fn(s)) return s + 1;
      }
    }
    return s;
  }

  /** Calls `fn` for every used slot. */
  forEach(fn: (slot: number) => void): void {
    for (let s = 0; s < this.keys.length; s++) if (this.isUsed(s)) fn(s);
  }

  /** The used slots in ascending sequence-number order. */
  bySeq(): Uint32Array {
    const out = new Uint32Array(this.used);
    let n = 0;
    let sorted = true;
    let last = -Infinity;
    for (let s = 0; s < this.keys.length; s++) {
      if (!this.isUsed(s)) continue;
      const seq = this.seq(s);
      if (seq < last) sorted = false;
      last = seq;
      out[n++] = s;
    }
    if (!sorted) out.sort((a, b) => this.seq(a) - this.seq(b));
    return out;
  }
}
