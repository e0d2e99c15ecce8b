import { readFileSync } from 'node:fs';
import { LogBurst } from './log-burst.ts';
import type { Logger } from '../log.ts';

/** Descriptors kept back from `max` for everything else the broker opens (journal, lowdb, routes' clients, stdio). */
export const FD_RESERVE = 128;
/** While connections are being refused, one summary line per this many ms. */
const SUMMARY_PERIOD = 10_000;

export interface ConnectionGateLimits {
  /** Connections open at once over every listener. */
  max: number;
  /** Connections open at once from one remote address. */
  maxPerAddress: number;
}

/** The soft limit on open file descriptors of this process (Linux /proc), or undefined where unknown. */
export function fileDescriptorLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m && m[1] !== 'unlimited' ? Number(m[1]) : undefined;
  } catch {
    return undefined; // not Linux: no limit known, `max` stands as configured
  }
}

/**
 * Admits or refuses each accepted socket, across every listener, before any protocol state exists:
 * at most `max` open at once and `maxPerAddress` from one remote address. A refused socket is
 * destroyed by the caller at once. Refusals are logged once per burst: the first at warn, then one
 * summary with the count every 10 s while they go on (an attacker opening 20,000 sockets writes
 * three lines, not 20,000).
 */
export class ConnectionGate {
  readonly max: number;
  readonly maxPerAddress: number;
  private open = 0;
  /** Open connections per remote address; an entry goes when its count reaches 0. Keyed by client input: a Map. */
  private readonly perAddress = new Map<string, number>();
  private readonly log: Logger;
  /** The first refusal of a burst is logged in full, the rest counted by limit and summarized every 10 s. */
  private readonly refusals: LogBurst;

  constructor(limits: ConnectionGateLimits, log: Logger, fdLimit = fileDescriptorLimit()) {
    this.log = log;
    this.refusals = new LogBurst(1, SUMMARY_PERIOD, (counts, total) =>
      this.log.warn(
        { code: 'ERR_TRANSPORT_CONNECTION_LIMIT', refused: total, byMax: counts.get('max') ?? 0, byMaxPerAddress: counts.get('maxPerAddress') ?? 0, open: this.open, periodMs: SUMMARY_PERIOD },
        'connections refused: connection limit reached',
      ),
    );
    this.maxPerAddress = limits.maxPerAddress;
    // Past the descriptor limit libuv accepts and closes connections itself (its EMFILE trick) and
    // Node hears nothing: every listener refuses service and nothing is logged. Below it, our refusal
    // comes first and is logged.
    const room = fdLimit === undefined ? Infinity : Math.max(1, fdLimit - FD_RESERVE);
    this.max = Math.min(limits.max, room);
    if (this.max < limits.max) {
      log.warn({ configured: limits.max, max: this.max, fileDescriptorLimit: fdLimit, reserve: FD_RESERVE }, 'connections.max lowered to the file-descriptor limit; raise the limit (ulimit -n) to allow more');
    }
  }

  /** Connections open now. */
  get count(): number {
    return this.open;
  }

  /**
   * Counts a new connection from `address` (the peer's IP) on `listener` and returns true, or returns
   * false (and logs) when a limit is reached; the caller then destroys the socket. Every admitted
   * connection is released exactly once, when its socket closes.
   */
  admit(address: string, listener: string): boolean {
    const key = addressKey(address);
    const from = this.perAddress.get(key) ?? 0;
    if (this.open >= this.max) return this.refuse('max', key, listener);
    if (from >= this.maxPerAddress) return this.refuse('maxPerAddress', key, listener);
    this.open++;
    this.perAddress.set(key, from + 1);
    return true;
  }

  release(address: string): void {
    const key = addressKey(address);
    const from = this.perAddress.get(key);
    if (from === undefined) return; // never admitted (a double release would be a bug; never go negative)
    this.open--;
    if (from <= 1) this.perAddress.delete(key);
    else this.perAddress.set(key, from - 1);
  }

  private refuse(limit: 'max' | 'maxPerAddress', address: string, listener: string): false {
    if (!this.refusals.admit(limit)) return false;
    this.log.warn(
      { code: 'ERR_TRANSPORT_CONNECTION_LIMIT', limit: `connections.${limit}`, max: this.max, maxPerAddress: this.maxPerAddress, open: this.open, remote: address, listener },
      'connection refused: connection limit reached; further refusals are counted and logged every 10 s',
    );
    return false;
  }

  /** Stops the summary timer (broker shutdown). */
  close(): void {
    this.refusals.close();
  }
}

/** One host is one key whichever listener it reached: `::ffff:10.0.0.1` (a dual-stack listener) is `10.0.0.1`. */
function addressKey(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
