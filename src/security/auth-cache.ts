import { createHmac, randomBytes } from 'node:crypto';

interface Cached {
  readonly user: string;
  readonly expires: number;
}

/**
 * Successful password logins, remembered briefly (Artemis's authentication cache: 1000 entries,
 * invalidated every 10 s), so a reconnect storm of known clients does not queue behind the KDF.
 * Keyed by an HMAC of user and password under a key made at start and never stored: the cache
 * holds no password and nothing a dump could be brute-forced against offline faster than the
 * users file itself. Only successes are cached; a failure always pays the KDF.
 */
export class AuthCache {
  private readonly key = randomBytes(32);
  private readonly entries = new Map<string, Cached>();
  private readonly size: number;
  private readonly ttl: number;
  private readonly now: () => number;

  constructor(size: number, ttl: number, now: () => number = Date.now) {
    this.size = size;
    this.ttl = ttl;
    this.now = now;
  }

  /** Whether `user` logged in with this password within the TTL. */
  has(user: string, password: string): boolean {
    if (this.size === 0) return false;
    const k = this.keyOf(user, password);
    const e = this.entries.get(k);
    if (!e) return false;
    if (e.expires <= this.now()) {
      this.entries.delete(k);
      return false;
    }
    return e.user === user;
  }

  /** Remembers a successful login; the oldest entry makes room when full. */
  add(user: string, password: string): void {
    if (this.size === 0 || this.ttl === 0) return;
    const k = this.keyOf(user, password);
    this.entries.delete(k);
    if (this.entries.size >= this.size) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(k, { user, expires: this.now() + this.ttl });
  }

  /** Forgets everything (the users file changed: a password may have). */
  clear(): void {
    this.entries.clear();
  }

  get length(): number {
    return this.entries.size;
  }

  /** The HMAC key of a user and password (for {@link FileSecurityManager}'s in-flight checks). */
  keyOf(user: string, password: string): string {
    // Length-prefixed, so ("ab","c") and ("a","bc") are different keys.
    return createHmac('sha256', this.key).update(`${user.length}:${user}`).update(password).digest('base64');
  }
}
