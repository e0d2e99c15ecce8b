/** One paged reference: a message only the store holds, for one queue. */
export interface PagedRef {
  key: string;
  size: number;
  deliveryCount: number;
}

const CHUNK = 4096;

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
 */
export class PagedList {
  private chunks: Chunk[] = [];
  private count = 0;
  /** Bytes of the messages listed. */
  bytes = 0;

  get length(): number {
    return this.count;
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
      for (let i = c.head; i < c.keys.length && out.length < n; i++) out.push(c.keys[i]!);
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
        const size = c.sizes[c.head]!;
        out.push({ key: c.keys[c.head]!, size, deliveryCount: c.counts[c.head]! });
        this.bytes -= size;
      }
      // A chunk shifted to its end is dropped (a later push starts a new one).
      if (c.head === c.keys.length) this.chunks.shift();
    }
    this.count -= out.length;
    if (this.count === 0) this.clear();
    return out;
  }

  /** Empties the list; returns the keys it held. */
  clear(): string[] {
    const keys: string[] = [];
    for (const c of this.chunks) for (let i = c.head; i < c.keys.length; i++) keys.push(c.keys[i]!);
    this.chunks = [];
    this.count = 0;
    this.bytes = 0;
    return keys;
  }
}
