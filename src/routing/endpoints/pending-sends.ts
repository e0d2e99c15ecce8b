import { JunctionError } from '../../errors.ts';

/** One send to a remote endpoint, settled once: by the remote's outcome, a failure, or its deadline. */
export interface PendingSend<T> {
  readonly deadline: number;
  /** What is sent (kept while the send waits for the connection or for credit). */
  readonly item: T;
  /** The endpoint's handle on the send once it is on the wire (a rhea delivery, an MQTT packet id). */
  handle: unknown;
  done: boolean;
  resolve(): void;
  reject(err: Error): void;
}

/**
 * The sends of one remote endpoint that have no outcome yet, each with a deadline of `timeoutMs`
 * (the endpoint's `sendTimeout`). Every send has the same timeout, so insertion order is deadline
 * order: ONE timer per endpoint, armed only while sends are pending, fires at the oldest deadline,
 * fails what has expired and re-arms for the next. A send costs a clock read and a Set entry, no
 * timer of its own (route forwarding is a hot path).
 */
export class PendingSends<T> {
  private readonly pending = new Set<PendingSend<T>>();
  private readonly timeoutMs: number;
  private readonly what: string;
  private readonly expired: (p: PendingSend<T>) => void;
  private timer: NodeJS.Timeout | undefined;

  /** `expired` undoes what the endpoint holds for a send whose deadline passed (after it is failed, so a late callback finds it done). */
  constructor(timeoutMs: number, what: string, expired: (p: PendingSend<T>) => void = () => {}) {
    this.timeoutMs = timeoutMs;
    this.what = what;
    this.expired = expired;
  }

  get size(): number {
    return this.pending.size;
  }

  add(item: T, resolve: () => void, reject: (err: Error) => void): PendingSend<T> {
    const p: PendingSend<T> = { deadline: Date.now() + this.timeoutMs, item, handle: undefined, done: false, resolve, reject };
    this.pending.add(p);
    if (this.timer === undefined) this.arm(this.timeoutMs);
    return p;
  }

  resolve(p: PendingSend<T>): void {
    if (p.done) return;
    p.done = true;
    this.pending.delete(p);
    p.resolve();
  }

  reject(p: PendingSend<T>, err: Error): void {
    if (p.done) return;
    p.done = true;
    this.pending.delete(p);
    p.reject(err);
  }

  /** Fails every pending send (the endpoint is closing). */
  rejectAll(err: Error): void {
    for (const p of [...this.pending]) this.reject(p, err);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.sweep, ms);
    // A pending send must not keep the process alive on its own (the broker's close settles it).
    this.timer.unref();
  }

  private readonly sweep = (): void => {
    this.timer = undefined;
    const now = Date.now();
    for (const p of this.pending) {
      if (p.deadline > now) return this.arm(p.deadline - now);
      this.reject(p, new JunctionError('ERR_ROUTE_TIMEOUT', `${this.what}: no outcome within sendTimeout ${this.timeoutMs} ms`));
      this.expired(p);
    }
  };
}
