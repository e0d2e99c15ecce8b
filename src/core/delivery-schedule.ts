import type { Entry } from './entry-list.ts';
import { ScheduleHeap } from './schedule-heap.ts';
import { SettingsResolver, type AddressSettings } from './settings.ts';

/** The longest delay a Node timer takes (a signed 32-bit ms count). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A queue's entries that wait for a time: messages sent with a delivery time in the future
 * (scheduled delivery), and returned ones waiting out their redelivery delay. One timer per queue,
 * armed for the earliest; when it fires, every entry due goes back to the queue through `due`, by
 * ready time then arrival order. A queue makes one only when it first schedules an entry.
 *
 * An entry that leaves before its time (expired, purged) is taken out with {@link forget}; its slot
 * in the heap goes stale (its state is no longer 'scheduled') and is skipped when it surfaces.
 */
export class DeliverySchedule {
  private readonly heap = new ScheduleHeap();
  private readonly now: () => number;
  private readonly due: (e: Entry) => void;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = 0;
  private stopped = false;
  private scheduled = 0;

  /** `now` is the queue's clock (epoch ms); `due` takes an entry whose time has come. */
  constructor(now: () => number, due: (e: Entry) => void) {
    this.now = now;
    this.due = due;
  }

  /** Entries scheduled (stale heap slots excluded). */
  get count(): number {
    return this.scheduled;
  }

  /** Holds `e` until `at` (epoch ms). */
  schedule(e: Entry, at: number): void {
    e.state = 'scheduled';
    e.readyAt = at;
    this.heap.push(e);
    this.scheduled++;
    this.arm();
  }

  /**
   * Holds a returned entry for its redelivery delay (`redeliveryDelay`, raised by the multiplier per
   * attempt, capped by `maxRedeliveryDelay`); false when the settings ask for none.
   */
  redeliver(e: Entry, settings: AddressSettings): boolean {
    const delay = SettingsResolver.redeliveryDelay(settings, e.deliveryCount);
    if (delay <= 0) return false;
    this.schedule(e, this.now() + delay);
    return true;
  }

  /** A scheduled entry leaves before its time; the caller changes its state. */
  forget(): void {
    this.scheduled--;
  }

  /** The heap's entries, in no particular order; stale ones included (check `state`). */
  items(): readonly Entry[] {
    return this.heap.items();
  }

  /** The entries scheduled now, in no particular order (a copy). */
  live(): Entry[] {
    const out: Entry[] = [];
    for (const e of this.heap.items()) if (e.state === 'scheduled') out.push(e);
    return out;
  }

  /** Drops stale heap slots (after a purge took many entries): O(n). */
  compact(): void {
    this.heap.compact();
  }

  /** Forgets every entry (the queue is discarded). */
  clear(): void {
    this.heap.drain();
    this.scheduled = 0;
  }

  /** Stops the timer for good (the queue is deleted). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    const first = this.heap.peek();
    if (!first || this.stopped) return;
    if (this.timer && this.timerAt <= first.readyAt) return;
    if (this.timer) clearTimeout(this.timer);
    // Node fires a timer of more than 2^31-1 ms after 1 ms (with a TimeoutOverflowWarning): a longer
    // wait is taken in steps of at most that, fire() re-arming when nothing is due yet.
    const now = this.now();
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, first.readyAt - now));
    this.timerAt = now + wait;
    this.timer = setTimeout(() => this.fire(), wait);
    this.timer.unref();
  }

  private fire(): void {
    this.timer = null;
    const now = this.now();
    for (let e = this.heap.peek(); e && e.readyAt <= now; e = this.heap.peek()) {
      this.heap.pop();
      if (e.state !== 'scheduled') continue;
      this.scheduled--;
      this.due(e);
    }
    this.arm();
  }
}
