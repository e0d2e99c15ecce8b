import type { Message } from './message.ts';
import { PagedList, type PagedAt, type PagedRef } from './paged-list.ts';
import type { QueueHost } from './queue-host.ts';

/** Paged queues keep about this many messages ready in memory, read back ahead of delivery. */
const DEPAGE_WINDOW = 1000;
const DEPAGE_BATCH = 200;
/** After a failed read-back, the next try waits this long rather than spin on a failing disk. */
const RETRY_MS = 1000;

/** What a pager needs from its queue. */
export interface PagedQueue {
  readonly deleted: boolean;
  /** Entries ready in memory. */
  readonly readyCount: number;
  /** Whether the queue's own `maxSizeBytes` or the broker-wide memory limit is reached. */
  overMemoryLimit(): boolean;
  /** Takes a message read back into memory. */
  holdPaged(ref: PagedRef, message: Message): void;
}

/**
 * A queue's paged messages: those only the store holds (past a memory limit, or recovered), oldest
 * first, read back into memory a batch at a time as the ready ones run low. While any are paged,
 * new messages are paged behind them, so order is kept. A queue makes one when it first pages.
 */
export class QueuePager {
  private readonly queue: PagedQueue;
  private readonly host: Pick<QueueHost, 'read' | 'backgroundError'>;
  private readonly list = new PagedList();
  private reading = false;
  /** Paged messages are not read back while above 0 (a purge or a management operation is going through them). */
  private holds = 0;
  /** Bumped by {@link cancel}, so a read-back in flight is discarded. */
  private generation = 0;

  constructor(queue: PagedQueue, host: Pick<QueueHost, 'read' | 'backgroundError'>) {
    this.queue = queue;
    this.host = host;
  }

  /** Messages paged. */
  get length(): number {
    return this.list.length;
  }

  /** Bytes of the messages paged. */
  get bytes(): number {
    return this.list.bytes;
  }

  /** Adds a message only the store holds, behind those already paged. */
  push(key: string, size: number, deliveryCount: number): void {
    this.list.push(key, size, deliveryCount);
  }

  /**
   * Reads the next paged messages back when the queue's ready window runs low. Over a memory limit,
   * only when the queue has nothing ready, so it never starves.
   */
  readBack(): void {
    const q = this.queue;
    if (this.reading || this.holds > 0 || this.list.length === 0 || q.deleted || q.readyCount >= DEPAGE_WINDOW) return;
    if (q.readyCount > 0 && q.overMemoryLimit()) return;
    this.reading = true;
    const keys = this.list.peekKeys(Math.min(DEPAGE_BATCH, DEPAGE_WINDOW - q.readyCount));
    const generation = this.generation;
    this.host.read(keys).then(
      (messages) => {
        // A read discarded by hold(): hold() already cleared `reading`, and a newer read may be in flight.
        if (generation !== this.generation) return;
        if (q.deleted) {
          this.reading = false;
          return;
        }
        // Take the batch off the paged list before holding it: holding dispatches, which may read back more.
        const refs = this.list.shift(keys.length);
        refs.forEach((ref, i) => {
          const m = messages[i];
          if (m) q.holdPaged(ref, m);
          else this.host.backgroundError(new Error(`paged message ${ref.key} is missing from the store`), 'read back');
        });
        this.reading = false;
        this.readBack();
      },
      (err) => {
        if (generation !== this.generation) return;
        this.reading = false;
        this.host.backgroundError(err, 'read back of paged messages');
        setTimeout(() => this.readBack(), RETRY_MS).unref();
      },
    );
  }

  /**
   * Stops reading back while a purge or a management operation goes through paged messages: a
   * read-back in flight is discarded (its messages stay paged). Holds nest; each {@link resume} ends one.
   */
  hold(): void {
    this.holds++;
    this.generation++;
    this.reading = false;
  }

  /** Ends one {@link hold}; reading back goes on once none is left. */
  resume(): void {
    if (this.holds > 0) this.holds--;
    this.readBack();
  }

  /** The absolute position the next paged message takes (see {@link PagedList}). */
  get end(): number {
    return this.list.end;
  }

  /** Up to `n` paged references from absolute position `from` on (management browsing). */
  refsFrom(from: number, n: number): PagedAt[] {
    return this.list.refsFrom(from, n);
  }

  /** Whether a paged reference is still listed (management found it, then awaited). */
  has(ref: PagedAt): boolean {
    return this.list.has(ref.at, ref.key);
  }

  /**
   * Removes a paged reference from the middle if it is still there (management removed or moved its
   * message); a read-back in flight is discarded, since it may hold that message. False if gone.
   */
  remove(ref: PagedAt): boolean {
    if (this.list.remove(ref.at, ref.key) < 0) return false;
    this.generation++;
    this.reading = false;
    return true;
  }

  /** Removes and returns the first `n` paged references. */
  shift(n: number): PagedRef[] {
    return this.list.shift(n);
  }

  /** Forgets every paged message (the queue is discarded). */
  clear(): void {
    this.list.clear();
  }
}
