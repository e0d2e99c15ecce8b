import { performance } from 'node:perf_hooks';

/** Longest synchronous run of sliced work, ms, before the event loop gets a turn. */
const SLICE_MS = 5;
/**
 * Most items in one slice. An item's own run is short (it is timed), but the work it starts in
 * microtasks (a core consumer attached, a durable subscription stored) runs after it, untimed:
 * the count bounds that part (~64 restored subscriptions cost a few ms).
 */
const SLICE_ITEMS = 64;

interface OwnerQueue {
  items: Array<() => void>;
  head: number;
}

/**
 * Runs the control-path work a client can make long (one SUBSCRIBE of thousands of filters, a
 * persistent session of 50,000 subscriptions restored at CONNECT, a session's bindings closed at
 * its end) in slices: an item runs at once while the current slice has budget and its owner has
 * nothing queued, else it waits for the next slice (a `setImmediate`, after the sockets had their
 * turn). Each owner's items run in the order given; owners take turns, so one connection's 50,000
 * items do not hold up another's single SUBSCRIBE. Nothing here is on the publish/deliver path.
 */
export class WorkSlicer {
  private readonly queues = new Map<object, OwnerQueue>();
  /** Resolvers of pending `yield`s, which `drop` keeps. */
  private readonly kept = new Set<() => void>();
  private readonly onError: (err: unknown) => void;
  /** Start of the current slice (performance.now()), -1 between slices. */
  private sliceStart = -1;
  private sliceItems = 0;
  private scheduled = false;

  constructor(onError: (err: unknown) => void) {
    this.onError = onError;
  }

  /** Runs `fn` for `owner` now if the slice has room and `owner` has nothing waiting, else in a later slice. */
  run(owner: object, fn: () => void): void {
    if (!this.queues.has(owner) && this.hasRoom()) {
      this.sliceItems++;
      this.call(fn);
      return;
    }
    let q = this.queues.get(owner);
    if (!q) this.queues.set(owner, (q = { items: [], head: 0 }));
    q.items.push(fn);
    this.schedule();
  }

  /**
   * Resolves in a later slice (for async loops: `if (slicer.mustYield()) await slicer.yield()`). A
   * yield is never dropped with its owner: the loop behind it is work that must finish (a clean
   * CONNECT's purge of the stored session goes on when the client leaves before CONNACK; dropped,
   * it stopped half done and the next CONNECT found part of the old session).
   */
  yield(owner: object): Promise<void> {
    return new Promise((resolve) => {
      this.kept.add(resolve);
      this.run(owner, resolve);
    });
  }

  /** Whether the current slice is spent (an async loop should `yield` before its next item). */
  mustYield(): boolean {
    if (!this.hasRoom()) return true;
    this.sliceItems++;
    return false;
  }

  /** Forgets what `owner` still has queued (its connection is gone and the work is moot), but for yields. */
  drop(owner: object): void {
    const q = this.queues.get(owner);
    if (q === undefined) return;
    const kept = q.items.slice(q.head).filter((fn) => this.kept.has(fn));
    if (kept.length === 0) this.queues.delete(owner);
    // A new queue object: a slice running `owner`'s items now must not put the old one back.
    else this.queues.set(owner, { items: kept, head: 0 });
  }

  /** Whether `owner` has items waiting (or running in the current slice). */
  has(owner: object): boolean {
    return this.queues.has(owner);
  }

  /** Items waiting, all owners (for tests and statistics). */
  get waiting(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.items.length - q.head;
    return n;
  }

  private hasRoom(): boolean {
    if (this.sliceStart < 0) {
      // Work outside a slice (aedes calling a hook from a socket read) opens one that ends with this macrotask.
      this.sliceStart = performance.now();
      this.sliceItems = 0;
      setImmediate(endSlice, this);
      return true;
    }
    return this.sliceItems < SLICE_ITEMS && performance.now() - this.sliceStart < SLICE_MS;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(runSlice, this);
  }

  /** One slice: owners in turn, a few items each, until the budget is spent. */
  slice(): void {
    this.scheduled = false;
    this.sliceStart = performance.now();
    this.sliceItems = 0;
    while (this.queues.size > 0) {
      const [owner, q] = this.queues.entries().next().value as [object, OwnerQueue];
      let taken = 0;
      // Still in `queues` while its items run: a `run` for this owner from inside one queues behind them.
      while (q.head < q.items.length && taken < 8 && this.hasRoom() && this.queues.get(owner) === q) {
        const fn = q.items[q.head]!;
        q.items[q.head++] = noop;
        taken++;
        this.sliceItems++;
        this.call(fn);
      }
      // Rotated to the back (or gone when empty): the next owner goes first next time round. Unless
      // an item dropped the owner meanwhile: then what `drop` left (or a later `run`) is its queue now.
      if (this.queues.get(owner) !== q) continue;
      this.queues.delete(owner);
      if (q.head < q.items.length) {
        if (q.head > 1024 && q.head * 2 > q.items.length) {
          q.items = q.items.slice(q.head);
          q.head = 0;
        }
        this.queues.set(owner, q);
      }
      if (!this.hasRoom()) break;
    }
    this.sliceStart = -1;
    if (this.queues.size > 0) this.schedule();
  }

  /** The macrotask that opened a slice outside `slice` is over. */
  endSlice(): void {
    this.sliceStart = -1;
  }

  private call(fn: () => void): void {
    this.kept.delete(fn);
    try {
      fn();
    } catch (err) {
      this.onError(err);
    }
  }
}

function noop(): void {}

function runSlice(s: WorkSlicer): void {
  s.slice();
}

function endSlice(s: WorkSlicer): void {
  s.endSlice();
}
