/** One paged reference: a message only the store holds, for one queue. */
export interface PagedRef {
  key: string;
  size: number;
  deliveryCount: number;
}

/** A paged reference with its position in the list (see {@link PagedList.refsFrom}). */
export interface PagedAt extends PagedRef {
  /** Its absolute position: stable while it stays listed (pushes and shifts do not move it). */
  at: number;
}

const CHUNK = 4096;
/** The key of a slot removed from the middle (management removed or moved that message). */
const GONE = '';

/** A run of up to CHUNK entries: keys, with sizes and delivery counts in typed arrays. */
interface Chunk {
  keys: string[];
  sizes: Uint32Array;
  counts: Uint32Array;
  /** Entries already shifted off the front. */
  head: number;
}

/**
 * A queue's paged messages, oldest first, kept compact: a list of chunks of 4,096 entries, each a
 * key array and typed arrays of sizes and delivery counts (no object per message, about 16 bytes
 * a message plus its key), so a backlog of millions costs little and shifting never copies it.
 *
 * Each slot has an absolute position (slots dropped before the first chunk + index), so management
 * pages through paged messages by position in O(page) (`refsFrom`) and removes one from the middle
 * (`remove`, leaving an empty key that shifting steps over) without moving the others.
 */
export class PagedList {
  private chunks: Chunk[] = [];
  private count = 0;
  /** Slots in chunks dropped from the front: the absolute position of `chunks[0]`'s first slot. */
  private dropped = 0;
  /** Bytes of the messages listed. */
  bytes = 0;

  get length(): number {
    return this.count;
  }

  /** The absolute position the next push takes. */
  get end(): number {
    let n = this.dropped;
    for (const c of this.chunks) n += c.keys.length;
    return n;
  }

  push(key: string, size: number, deliveryCount: number): void {
    let c = this.chunks.at(-1);
    if (!c || c.keys.length === CHUNK) {
      c = { keys: [], sizes: new Uint32Array(CHUNK), counts: new Uint32Array(CHUNK), head: 0 };
      this.chunks.push(c);
    }
    const i = c.keys.length;
    c.keys.push(key);
    c.sizes[i] = size;
    c.counts[i] = deliveryCount;
    this.count++;
    this.bytes += size;
  }

  /** The keys of the first `n`, without removing them. */
  peekKeys(n: number): string[] {
    const out: string[] = [];
    for (const c of this.chunks) {
      for (let i = c.head; i < c.keys.length && out.length < n; i++) if (c.keys[i] !== GONE) out.push(c.keys[i]!);
      if (out.length >= n) break;
    }
    return out;
  }

  /** Removes and returns the first `n`. */
  shift(n: number): PagedRef[] {
    const out: PagedRef[] = [];
    while (out.length < n && this.chunks.length > 0) {
      const c = this.chunks[0]!;
      for (; c.head < c.keys.length && out.length < n; c.head++) {
        const key = c.keys[c.head]!;
        if (key === GONE) continue;
        const size = c.sizes[c.head]!;
        out.push({ key, size, deliveryCount: c.counts[c.head]! });
        this.bytes -= size;
      }
      // A chunk shifted to its end is dropped (a later push starts a new one).
      if (c.head === c.keys.length) {
        this.dropped += c.keys.length;
        this.chunks.shift();
      }
    }
    this.count -= out.length;
    if (this.count === 0) this.clear();
    return out;
  }

  /** Up to `n` listed references at absolute positions from `from` on, with their positions: O(n) plus removed slots stepped over. */
  refsFrom(from: number, n: number): PagedAt[] {
    const out: PagedAt[] = [];
    let ci = 0;
    let base = this.dropped;
    // Every chunk but the last is full, so the one holding `from` is found by division.
    if (from > base && this.chunks.length > 0) {
      ci = Math.min(Math.floor((from - base) / CHUNK), this.chunks.length - 1);
      base += ci * CHUNK;
    }
    for (; ci < this.chunks.length && out.length < n; ci++, base += CHUNK) {
      const c = this.chunks[ci]!;
      for (let i = Math.max(c.head, from - base); i < c.keys.length && out.length < n; i++) {
        const key = c.keys[i]!;
        if (key !== GONE) out.push({ key, size: c.sizes[i]!, deliveryCount: c.counts[i]!, at: base + i });
      }
    }
    return out;
  }

  /** Whether the reference at absolute position `at` is still `key`. */
  has(at: number, key: string): boolean {
    const off = at - this.dropped;
    if (off < 0 || this.chunks.length === 0) return false;
    const c = this.chunks[Math.floor(off / CHUNK)];
    const i = off % CHUNK;
    return c !== undefined && i >= c.head && c.keys[i] === key;
  }

  /** Removes the reference at absolute position `at` if it is still `key` there; returns its size, or -1. */
  remove(at: number, key: string): number {
    const off = at - this.dropped;
    if (off < 0 || this.chunks.length === 0) return -1;
    const c = this.chunks[Math.floor(off / CHUNK)];
    const i = off % CHUNK;
    if (c === undefined || i < c.head || c.keys[i] !== key) return -1;
    c.keys[i] = GONE;
    const size = c.sizes[i]!;
    this.bytes -= size;
    if (--this.count === 0) this.clear();
    return size;
  }

  /** Empties the list; returns the keys it held. */
  clear(): string[] {
    const keys: string[] = [];
    for (const c of this.chunks) {
      for (let i = c.head; i < c.keys.length; i++) if (c.keys[i] !== GONE) keys.push(c.keys[i]!);
      this.dropped += c.keys.length;
    }
    this.chunks = [];
    this.count = 0;
    this.bytes = 0;
    return keys;
  }
}
