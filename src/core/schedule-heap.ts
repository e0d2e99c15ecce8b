import type { Entry } from './entry-list.ts';

/** A binary min-heap of scheduled entries by ready time, then arrival order. */
export class ScheduleHeap {
  private readonly heap: Entry[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  peek(): Entry | undefined {
    return this.heap[0];
  }

  pop(): Entry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }

  /** All entries, in no particular order (some may be stale: check `state`). */
  items(): readonly Entry[] {
    return this.heap;
  }

  drain(): Entry[] {
    return this.heap.splice(0, this.heap.length);
  }

  /** Drops entries no longer scheduled (purged, expired) and restores the heap order: O(n), once per purge. */
  compact(): void {
    const live = this.heap.filter((e) => e.state === 'scheduled');
    this.heap.length = 0;
    for (const e of live) this.push(e);
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.readyAt < b.readyAt || (a.readyAt === b.readyAt && a.seq < b.seq);
}
