import { EventEmitter } from 'node:events';
import type { TransportConnection } from '../../transport/connection.ts';

/** Why the guard stopped the byte stream before rhea saw it. */
export interface StreamViolation {
  kind: 'header' | 'frame-size';
  message: string;
}

const AMQP = 0x414d5150; // "AMQP"

/**
 * Checks the byte stream's framing before rhea parses it: each protocol header (AMQP 0 or SASL 3,
 * version 1.0.0) and each frame size (at least 8 bytes, at most the max frame size), so a bad
 * header gets our header back and an oversized or bogus frame length never makes rhea buffer it.
 * A pure state machine over chunks; frames may be split anywhere.
 */
export class FrameGuard {
  private readonly maxFrameSize: number;
  private readonly requireSasl: boolean;
  private headerBytes: number[] = [];
  private expectHeader = true;
  /** No header read yet: with security on the first must be SASL's. */
  private first = true;
  private sizeBytes: number[] = [];
  /** Bytes of the current frame not yet seen (after its 4 size bytes). */
  private remaining = 0;
  failed = false;

  /** `requireSasl`: the first header must be SASL's (3); the AMQP header (0) is refused (security on). */
  constructor(maxFrameSize: number, requireSasl = false) {
    this.maxFrameSize = maxFrameSize;
    this.requireSasl = requireSasl;
  }

  /** Returns a violation, or undefined when the chunk may go to rhea. */
  check(chunk: Buffer): StreamViolation | undefined {
    if (this.failed) return { kind: 'frame-size', message: 'stream already failed' };
    let i = 0;
    while (i < chunk.length) {
      if (this.expectHeader) {
        this.headerBytes.push(chunk[i++]!);
        if (this.headerBytes.length === 8) {
          const h = Buffer.from(this.headerBytes);
          this.headerBytes = [];
          this.expectHeader = false;
          if (h.readUInt32BE(0) !== AMQP || (h[4] !== 0 && h[4] !== 3) || h[5] !== 1 || h[6] !== 0 || h[7] !== 0) {
            return this.fail('header', `Unsupported protocol header ${JSON.stringify(h.toString('latin1'))}`);
          }
          // AMQP 1.0 §5.3.1: a server that requires SASL answers the AMQP header with the SASL one and closes.
          if (this.first && this.requireSasl && h[4] === 0) return this.fail('header', 'SASL is required (security is on): AMQP header without SASL');
          this.first = false;
        }
        continue;
      }
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - i);
        this.remaining -= n;
        i += n;
        continue;
      }
      this.sizeBytes.push(chunk[i++]!);
      if (this.sizeBytes.length < 4) continue;
      const size = Buffer.from(this.sizeBytes).readUInt32BE(0);
      this.sizeBytes = [];
      if (size === AMQP) {
        // The AMQP header that follows the SASL exchange.
        this.expectHeader = true;
        this.headerBytes = [0x41, 0x4d, 0x51, 0x50];
        continue;
      }
      if (size < 8) return this.fail('frame-size', `Frame size ${size} is below the minimum of 8`);
      if (size > this.maxFrameSize) return this.fail('frame-size', `Frame size ${size} exceeds the max frame size ${this.maxFrameSize}`);
      this.remaining = size - 4;
    }
    return undefined;
  }

  private fail(kind: StreamViolation['kind'], message: string): StreamViolation {
    this.failed = true;
    return { kind, message };
  }
}

/**
 * The socket rhea expects (`on('data'|'error'|'end')`, `write`, `end`, `destroy`) over a Junction
 * transport connection, so sockets stay in src/transport and AMQP runs over TCP and WebSocket alike.
 */
export class RheaSocket extends EventEmitter {
  private readonly conn: TransportConnection;
  private readonly guard: FrameGuard;
  private readonly onViolation: (v: StreamViolation) => void;
  destroyed = false;

  constructor(conn: TransportConnection, maxFrameSize: number, onViolation: (v: StreamViolation) => void, requireSasl = false) {
    super();
    this.conn = conn;
    this.guard = new FrameGuard(maxFrameSize, requireSasl);
    this.onViolation = onViolation;
    conn.onData((chunk) => {
      if (this.destroyed) return;
      const v = this.guard.check(chunk);
      if (v) {
        this.onViolation(v);
        return;
      }
      this.emit('data', chunk);
    });
    conn.onClose((err) => {
      this.destroyed = true;
      if (err) this.emit('error', err);
      else this.emit('end');
    });
  }

  get_id_string(): string {
    return `${this.conn.kind}:${this.conn.id} ${this.conn.remoteAddress}`;
  }

  write(data: Buffer): boolean {
    return this.conn.write(data);
  }

  end(): void {
    if (this.destroyed) return;
    this.conn.end();
  }

  destroy(): void {
    this.destroyed = true;
    this.conn.destroy();
  }
}
