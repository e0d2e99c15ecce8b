import { JunctionError } from '../errors.ts';
import type { Queue } from './queue.ts';

/** A queue a message goes to, and whether it is paged there (kept only in the store). */
export interface Target {
  q: Queue;
  paged: boolean;
}

interface Waiter {
  ready: () => boolean;
  resolve: () => void;
}

/**
 * Memory accounting and address-full policies: the bytes of messages queues hold in memory, against
 * each queue's `maxSizeBytes` and the broker-wide limit (ActiveMQ's memoryUsage). Messages admitted
 * but not yet enqueued (their store write is in flight) are reserved, so pipelined producers cannot
 * overshoot a limit.
 */
export class MemoryLimits {
  /** Bytes of messages held in memory by all queues. */
  memoryBytes = 0;
  /** Messages left out of a full queue under DROP. */
  dropped = 0;
  private readonly globalMaxSizeBytes: number;
  private reservedBytes = 0;
  /** Sends waiting for room under BLOCK, per queue, in arrival order. */
  private readonly waiters = new Map<Queue, Waiter[]>();

  constructor(globalMaxSizeBytes: number) {
    this.globalMaxSizeBytes = globalMaxSizeBytes;
  }

  /** The broker-wide limit in bytes; -1: none. */
  get limitBytes(): number {
    return this.globalMaxSizeBytes;
  }

  get blockedSends(): number {
    let n = 0;
    for (const list of this.waiters.values()) n += list.length;
    return n;
  }

  /** Queues report every change of the bytes they hold. */
  changed(delta: number): void {
    this.memoryBytes += delta;
    if (delta < 0 && this.waiters.size > 0) this.wake();
  }

  /** Whether the broker-wide limit is reached. */
  full(): boolean {
    return this.globalMaxSizeBytes >= 0 && this.memoryBytes >= this.globalMaxSizeBytes;
  }

  /**
   * Applies the limits per target: PAGE keeps the message only in the store, BLOCK waits for room,
   * FAIL rejects the send, DROP leaves that queue out. A queue that is paging pages every new
   * message, so order is kept. Non-paged targets come back with their room reserved.
   */
  async admit(size: number, targets: Queue[]): Promise<Target[]> {
    const out: Target[] = [];
    for (const q of targets) {
      if (this.roomNow(q, size)) {
        this.reserve(q, size);
        out.push({ q, paged: false });
        continue;
      }
      switch (q.settings.addressFullPolicy) {
        case 'PAGE':
          out.push({ q, paged: true });
          break;
        case 'BLOCK':
          await this.room(q, size);
          out.push({ q, paged: false });
          break;
        case 'FAIL':
          throw new JunctionError(
            'ERR_ADDRESS_FULL',
            `Queue ${q.name} is full (${q.bytes} bytes in memory; queue limit ${q.settings.maxSizeBytes}, broker limit ${this.globalMaxSizeBytes})`,
          );
        case 'DROP':
          this.dropped++;
          break;
      }
    }
    return out;
  }

  /**
   * As {@link admit} when no target has to wait or be paged: each has room now (reserved) or is left
   * out under DROP. Undefined, with nothing reserved or counted, when any other policy would apply.
   */
  admitNow(size: number, targets: Queue[]): Target[] | undefined {
    const out: Target[] = [];
    let drops = 0;
    for (const q of targets) {
      if (this.roomNow(q, size)) {
        this.reserve(q, size);
        out.push({ q, paged: false });
      } else if (q.settings.addressFullPolicy === 'DROP') {
        drops++;
      } else {
        if (out.length > 0) this.release(size, out);
        return undefined;
      }
    }
    this.dropped += drops;
    return out;
  }

  /**
   * For a management move or copy (message-operations.ts): as {@link admitNow}, but a queue without
   * room is paged under PAGE and refused under every other policy (BLOCK, FAIL, DROP): the queue
   * returned instead of targets, nothing reserved. An operation stops there rather than wait for
   * ever or drop a message it has taken from its source.
   */
  admitOrRefuse(size: number, targets: Queue[]): Target[] | Queue {
    const out: Target[] = [];
    for (const q of targets) {
      if (this.roomNow(q, size)) {
        this.reserve(q, size);
        out.push({ q, paged: false });
      } else if (q.settings.addressFullPolicy === 'PAGE') out.push({ q, paged: true });
      else {
        this.release(size, out);
        return q;
      }
    }
    return out;
  }

  /** Whether sends to `q` are waiting for room under BLOCK. */
  isBlocking(q: Queue): boolean {
    return this.waiters.has(q);
  }

  reserve(q: Queue, size: number): void {
    q.reservedBytes += size;
    this.reservedBytes += size;
  }

  /** Gives back the reservations of an admitted message (enqueued, or failed to store). */
  release(size: number, targets: Target[]): void {
    for (const { q, paged } of targets) {
      if (paged) continue;
      q.reservedBytes -= size;
      this.reservedBytes -= size;
    }
    if (this.waiters.size > 0) this.wake();
  }

  /** Lets every blocked send go on (at shutdown: they then fail at the closed store). */
  close(): void {
    for (const list of this.waiters.values()) for (const w of list) w.resolve();
    this.waiters.clear();
  }

  /** Whether `q` takes `size` bytes now: not paging, under its limits, and (BLOCK order) no send waiting for it. */
  private roomNow(q: Queue, size: number): boolean {
    return !q.paging && !this.waiters.has(q) && !this.isFull(q, size);
  }

  private isFull(q: Queue, size: number): boolean {
    const { maxSizeBytes } = q.settings;
    if (maxSizeBytes >= 0 && q.bytes + q.reservedBytes + size > maxSizeBytes) return true;
    return this.globalMaxSizeBytes >= 0 && this.memoryBytes + this.reservedBytes + size > this.globalMaxSizeBytes;
  }

  /** Resolves once `q` has room for `size` bytes, with the room reserved. */
  private room(q: Queue, size: number): Promise<void> {
    return new Promise((resolve) => {
      const ready = () => {
        if (!q.deleted && this.isFull(q, size)) return false;
        this.reserve(q, size);
        return true;
      };
      const list = this.waiters.get(q);
      if (list) list.push({ ready, resolve });
      else {
        this.waiters.set(q, [{ ready, resolve }]);
        this.wake();
      }
    });
  }

  private wake(): void {
    for (const [q, list] of this.waiters) {
      while (list.length > 0 && list[0]!.ready()) list.shift()!.resolve();
      if (list.length === 0) this.waiters.delete(q);
    }
  }
}
