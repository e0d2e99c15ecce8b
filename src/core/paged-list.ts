/** One paged reference: a message only the store holds, for one queue. */
export interface PagedRef {
  key: string;
  size: number;
  deliveryCount: number;
}

/**
 * A queue's paged messages, oldest first, kept compact: parallel arrays of keys, sizes and delivery
 * counts (no object per message), so a backlog of millions costs tens of bytes a message.
 */
export class PagedList {
  private keys: string[] = [];
  private sizes: number[] = [];
  private counts: number[] = [];
  private head = 0;
  /** Bytes of the messages listed. */
  bytes = 0;

  get length(): number {
    return this.keys.length - this.head;
  }

  push(key: string, size: number, deliveryCount: number): void {
    this.keys.push(key);
    this.sizes.push(size);
    this.counts.push(deliveryCount);
    this.bytes += size;
  }

  /** The keys of the first `n`, without removing them. */
  peekKeys(n: number): string[] {
    return this.keys.slice(this.head, this.head + n);
  }

  /** Removes and returns the first `n`. */
  shift(n: number): PagedRef[] {
    const out: PagedRef[] = [];
    for (let i = this.head; i < this.head + n && i < this.keys.length; i++) {
      out.push({ key: this.keys[i]!, size: this.sizes[i]!, deliveryCount: this.counts[i]! });
      this.bytes -= this.sizes[i]!;
    }
    this.head += out.length;
    if (this.head === this.keys.length) this.clear();
    else if (this.head > 4096 && this.head * 2 > this.keys.length) {
      // Drop the consumed prefix once it is most of the arrays.
      this.keys = this.keys.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.counts = this.counts.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  /** Empties the list; returns the keys it held. */
  clear(): string[] {
    const keys = this.keys.slice(this.head);
    this.keys = [];
    this.sizes = [];
    this.counts = [];
    this.head = 0;
    this.bytes = 0;
    return keys;
  }
}
