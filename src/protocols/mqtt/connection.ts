import { Duplex } from 'node:stream';
import type { TransportConnection } from '../../transport/connection.ts';
import { PacketGuard } from './packet-guard.ts';

/**
 * The duplex byte stream aedes's `handle(stream)` wants, over a transport connection (TCP or
 * WebSocket). Inbound bytes pass the {@link PacketGuard} first: a violation destroys the stream with
 * the guard's error, which aedes reports once as a connection error. Reading follows the stream's
 * back-pressure (the transport is paused while aedes has not read what it has), writing the transport's.
 */
export class MqttConnectionStream extends Duplex {
  readonly conn: TransportConnection;
  private readonly guard: PacketGuard;
  private paused = false;
  private waitingDrain: (() => void) | null = null;

  constructor(conn: TransportConnection, maxPacketSize: number) {
    super({ allowHalfOpen: false });
    this.conn = conn;
    this.guard = new PacketGuard(maxPacketSize);
    conn.onData((chunk) => {
      if (this.destroyed) return;
      try {
        this.guard.push(chunk);
      } catch (err) {
        this.destroy(err as Error);
        return;
      }
      if (!this.push(chunk) && !this.paused) {
        this.paused = true;
        conn.pause();
      }
    });
    conn.onDrain(() => {
      const cb = this.waitingDrain;
      this.waitingDrain = null;
      cb?.();
    });
    conn.onClose((err) => {
      if (this.destroyed) return;
      if (err) this.destroy(err);
      else {
        this.push(null);
        this.destroy();
      }
    });
  }

  override _read(): void {
    if (this.paused) {
      this.paused = false;
      this.conn.resume();
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.conn.write(chunk)) cb();
    else this.waitingDrain = () => cb();
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    let ok = true;
    for (const c of chunks) ok = this.conn.write(c.chunk);
    if (ok) cb();
    else this.waitingDrain = () => cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.conn.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const pending = this.waitingDrain;
    this.waitingDrain = null;
    pending?.();
    this.conn.destroy();
    cb(err);
  }
}
