import type { Entry } from './entry-list.ts';

/**
 * A last-value queue's index (Artemis's `last-value-key`): for each value of the message property
 * `key`, the one entry that holds it. A new message with the same value replaces the older one
 * while that one is still ready (one in delivery or scheduled is left alone). Messages without the
 * property are not indexed. The queue makes one only when its settings name a key.
 */
export class LastValueIndex {
  /** The message property whose value identifies the latest message. */
  readonly key: string;
  private readonly latest = new Map<string, Entry>();

  constructor(key: string) {
    this.key = key;
  }

  /**
   * Records `e` as the latest for its value. Returns the entry it replaces when that one is still
   * ready: the queue then removes it (as acknowledged) and stores the removal.
   */
  replace(e: Entry): Entry | undefined {
    const v = e.message.properties[this.key];
    if (v === undefined || v === null) return undefined;
    const k = String(v);
    const old = this.latest.get(k);
    this.latest.set(k, e);
    return old && old.state === 'ready' ? old : undefined;
  }

  /** `e` leaves the ready list (delivered, expired, purged): a later message with its value replaces nothing. */
  forget(e: Entry): void {
    const v = e.message.properties[this.key];
    if (v !== undefined && v !== null && this.latest.get(String(v)) === e) this.latest.delete(String(v));
  }

  clear(): void {
    this.latest.clear();
  }
}
