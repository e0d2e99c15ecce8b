/**
 * Bounds a log line that clients can cause at will (a refused connection, a connection in another
 * protocol): the first `allowance` events of a burst are logged in full by the caller; the rest are
 * counted by kind, and `summarize` is called with the counts once a period while they go on. A period
 * without any event ends the burst, and the next event is logged in full again. Kinds are a small
 * fixed set chosen by the caller (never client input), so the counts stay small.
 */
export class LogBurst {
  private readonly allowance: number;
  private readonly period: number;
  private readonly summarize: (counts: ReadonlyMap<string, number>, total: number) => void;
  private timer: NodeJS.Timeout | undefined;
  /** Events logged in full in this burst. */
  private logged = 0;
  /** Events in the current period, logged or not. */
  private events = 0;
  private counts = new Map<string, number>();

  constructor(allowance: number, period: number, summarize: (counts: ReadonlyMap<string, number>, total: number) => void) {
    this.allowance = allowance;
    this.period = period;
    this.summarize = summarize;
  }

  /** True: the caller logs this event in full. False: it is counted for the next summary. */
  admit(kind: string): boolean {
    this.timer ??= setInterval(() => this.tick(), this.period).unref();
    this.events++;
    if (this.logged < this.allowance) {
      this.logged++;
      return true;
    }
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    return false;
  }

  private tick(): void {
    if (this.events === 0) {
      this.close();
      return;
    }
    this.events = 0;
    if (this.counts.size === 0) return;
    let total = 0;
    for (const n of this.counts.values()) total += n;
    const counts = this.counts;
    this.counts = new Map();
    this.summarize(counts, total);
  }

  /** Ends the burst (and its timer): broker shutdown, or a quiet period. */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.logged = 0;
    this.events = 0;
    this.counts.clear();
  }
}
