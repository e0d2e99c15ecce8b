/**
 * The login side of the abuse limits (issue 14 part 6): failed-login throttling per key (a remote
 * address, a user name), the logins-per-second cap and the per-user connection count. Each is
 * bounded in the keys it keeps, whatever a client sends.
 */

/** Keys a throttle keeps; past it the oldest entries are dropped (expired ones first). */
export const MAX_THROTTLE_KEYS = 100_000;

interface Failures {
  count: number;
  /** End of the window the count is in; once locked, end of the lockout. */
  until: number;
}

/**
 * Counts failed logins per key in a fixed window; a key with `max` failures in its window is
 * throttled until the window ends (each failure while locked extends it by a window, so a client
 * that keeps guessing stays locked). `max` 0 never throttles.
 */
export class FailureThrottle {
  private readonly entries = new Map<string, Failures>();
  /** Logins refused because their key was throttled. */
  refused = 0;
  /** Lockouts begun. */
  lockouts = 0;
  private readonly max: number;
  private readonly window: number;
  private readonly now: () => number;

  constructor(max: number, window: number, now: () => number = Date.now) {
    this.max = max;
    this.window = window;
    this.now = now;
  }

  /** Whether logins for this key are refused now. */
  throttled(key: string): boolean {
    if (this.max === 0) return false;
    const e = this.entries.get(key);
    if (!e) return false;
    if (e.until <= this.now()) {
      this.entries.delete(key);
      return false;
    }
    return e.count >= this.max;
  }

  /** Records a failure; true when this one starts a lockout (the caller logs it once). */
  fail(key: string): boolean {
    if (this.max === 0) return false;
    const t = this.now();
    let e = this.entries.get(key);
    if (e && e.until <= t) {
      this.entries.delete(key);
      e = undefined;
    }
    if (!e) {
      this.makeRoom();
      this.entries.set(key, (e = { count: 0, until: t + this.window }));
    }
    e.count++;
    if (e.count < this.max) return false;
    e.until = t + this.window;
    if (e.count > this.max) return false;
    this.lockouts++;
    return true;
  }

  /** A successful login forgets the key's failures (an address with one typo is not held against). */
  succeed(key: string): void {
    this.entries.delete(key);
  }

  /** Keys held (for tests and statistics). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Full: drops the oldest key (Map keeps insertion order). One deletion, not a sweep of every
   * entry for expired ones: a client spraying keys would otherwise make each of its failures walk
   * 100,000 entries once the map is full of live ones. Expired entries go when next looked up.
   */
  private makeRoom(): void {
    if (this.entries.size < MAX_THROTTLE_KEYS) return;
    this.entries.delete(this.entries.keys().next().value!);
  }
}

/** A token bucket of `rate` logins per second (burst `rate`); 0 = no cap. */
export class RateLimit {
  private tokens: number;
  private last: number;
  /** Logins refused by the rate. */
  refused = 0;
  private readonly rate: number;
  private readonly now: () => number;

  constructor(rate: number, now: () => number = Date.now) {
    this.rate = rate;
    this.now = now;
    this.tokens = rate;
    this.last = now();
  }

  /** Takes one token; false when none is left. */
  take(): boolean {
    if (this.rate === 0) return true;
    const t = this.now();
    this.tokens = Math.min(this.rate, this.tokens + ((t - this.last) * this.rate) / 1000);
    this.last = t;
    if (this.tokens < 1) {
      this.refused++;
      return false;
    }
    this.tokens--;
    return true;
  }
}

/** Open connections per user; a cap of 0 counts without refusing. */
export class UserConnections {
  private readonly open = new Map<string, number>();
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  /** Counts one more connection of `user`; false (and nothing counted) when the user is at its cap. */
  acquire(user: string): boolean {
    const n = this.open.get(user) ?? 0;
    if (this.max > 0 && n >= this.max) return false;
    this.open.set(user, n + 1);
    return true;
  }

  /** One connection of `user` closed. */
  release(user: string): void {
    const n = this.open.get(user) ?? 0;
    if (n <= 1) this.open.delete(user);
    else this.open.set(user, n - 1);
  }

  /** Connections `user` has open. */
  count(user: string): number {
    return this.open.get(user) ?? 0;
  }
}

/**
 * At most `size` tasks at once, the others waiting in arrival order. The KDF runs on libuv's thread
 * pool (4 threads by default), which the journal's file writes and fsyncs share: password checks
 * taking every thread would hold up durable sends, so they get only some of it.
 */
export class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.free = size;
  }

  /** Runs `task` once a slot is free. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}
