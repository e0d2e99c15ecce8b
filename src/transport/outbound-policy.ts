import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.ts';
import type { ErrorCode } from '../errors.ts';

/** What the policy reads and keeps on a connection (TcpConnection and WsConnection). */
export interface Watched {
  readonly id: number;
  readonly kind: 'tcp' | 'ws';
  readonly remoteAddress: string;
  /** The protocol it carries, for the log line. */
  readonly protocol: string;
  /** True once closed (a timer that outlived the connection then does nothing). */
  readonly closed: boolean;
  /** Bytes queued for the peer, not yet handed to the kernel. */
  readonly outboundBytes: number;
  /** When the current congestion began (performance.now(), ms); 0 while not congested. Zeroed by the connection on drain. */
  congestedSince: number;
  /** The one check timer while congested; undefined otherwise. */
  slowTimer: NodeJS.Timeout | undefined;
  /**
   * Closes at once. Its close listeners get no error: the transport's log line is the one record
   * (a protocol would log an error it is given a second time).
   */
  abort(): void;
}

/**
 * The outbound side of a connection a client cannot make the broker hold without bound, the same
 * for every protocol over TCP and WebSocket:
 * - slow consumer (ActiveMQ's AbortSlowConsumerStrategy): a connection whose outgoing buffer stays
 *   over its high-water mark for `slowConsumerTimeout` ms is closed and logged once;
 * - `maxOutboundBytes`: a write that leaves more than this queued closes the connection at once.
 *
 * Nothing runs on an uncongested write: a connection calls `overWater` only when a write left it
 * over its high-water mark, and zeroes `congestedSince` when it drains. One timer per congested
 * connection checks it; a drain does not clear the timer (no timer churn on a busy connection that
 * crosses its mark every burst): when it fires it finds the connection drained and stops, or
 * congested again since a later time and waits for the rest.
 */
export class OutboundPolicy {
  readonly slowConsumerTimeout: number;
  readonly maxOutboundBytes: number;
  private readonly log: Logger;
  private readonly now: () => number;

  /** `now`: a monotonic clock in ms (tests pass a virtual one). */
  constructor(opts: { slowConsumerTimeout: number; maxOutboundBytes: number }, log: Logger, now: () => number = () => performance.now()) {
    this.slowConsumerTimeout = opts.slowConsumerTimeout;
    this.maxOutboundBytes = opts.maxOutboundBytes;
    this.log = log;
    this.now = now;
  }

  /** A write left `c` over its high-water mark. */
  overWater(c: Watched): void {
    const queued = c.outboundBytes;
    if (queued > this.maxOutboundBytes) {
      this.close(c, 'ERR_TRANSPORT_OUTBOUND_LIMIT', 'connection closed: more bytes waiting to be sent than connections.maxOutboundBytes', { queued, maxOutboundBytes: this.maxOutboundBytes });
      return;
    }
    if (c.congestedSince === 0) c.congestedSince = this.now() || 1;
    if (c.slowTimer === undefined && this.slowConsumerTimeout > 0) c.slowTimer = setTimeout(check, this.slowConsumerTimeout, this, c).unref();
  }

  /** The connection closed: its timer goes with it (else it keeps the connection reachable until it fires, then finds it closed). */
  static stopWatching(c: Watched): void {
    if (c.slowTimer !== undefined) clearTimeout(c.slowTimer);
    c.slowTimer = undefined;
  }

  /** @internal the timer's callback */
  check(c: Watched): void {
    c.slowTimer = undefined;
    if (c.congestedSince === 0 || c.closed) return;
    const left = c.congestedSince + this.slowConsumerTimeout - this.now();
    if (left > 0) {
      c.slowTimer = setTimeout(check, left, this, c).unref();
      return;
    }
    const ms = Math.round(this.now() - c.congestedSince);
    this.close(c, 'ERR_TRANSPORT_SLOW_CONSUMER', 'slow consumer closed: outgoing buffer over its high-water mark for connections.slowConsumerTimeout', { congestedMs: ms, queued: c.outboundBytes, slowConsumerTimeout: this.slowConsumerTimeout });
  }

  private close(c: Watched, code: ErrorCode, msg: string, fields: object): void {
    OutboundPolicy.stopWatching(c);
    this.log.warn({ code, conn: c.id, transport: c.kind, protocol: c.protocol, remote: c.remoteAddress, ...fields }, msg);
    c.abort();
  }
}

function check(policy: OutboundPolicy, c: Watched): void {
  policy.check(c);
}
