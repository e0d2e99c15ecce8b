import { Duplex } from 'node:stream';
import type { TransportConnection } from '../../transport/connection.ts';
import { PacketGuard } from './packet-guard.ts';

/** Bytes gathered for the next write above which `write` asks its caller to wait for 'drain'. */
const OUTBOX_HIGH_WATER = 64 * 1024;

type WriteCallback = (err?: Error | null) => void;

function flushStream(s: MqttConnectionStream): void {
  s.flush();
}

/**
 * The duplex byte stream aedes's `handle(stream)` wants, over a transport connection (TCP or
 * WebSocket). Inbound bytes pass the {@link PacketGuard} first: a violation destroys the stream with
 * the guard's error, which aedes reports once as a connection error. Reading follows the stream's
 * back-pressure (the transport is paused while aedes has not read what it has).
 *
 * The write side is not a Writable's: everything written in one tick (aedes's packets, written by
 * mqtt-packet in several pieces each, and the PUBLISHes the adapter encodes itself with
 * {@link writePublish}) is gathered and handed to the transport as one buffer at the end of the tick.
 * `write` returns false while the transport is congested or the gathered bytes are over a high-water
 * mark; 'drain' follows once there is room, as for a Writable. aedes only writes, waits for 'drain'
 * and destroys (it never ends the stream).
 */
export class MqttConnectionStream extends Duplex {
  readonly conn: TransportConnection;
  private readonly guard: PacketGuard;
  private paused = false;
  private out: Buffer[] | null = null;
  private outBytes = 0;
  private callbacks: WriteCallback[] | null = null;
  private flushScheduled = false;
  private needDrain = false;
  /** Set when the guard refused a CONNECT with a CONNACK: the transport is ended (flushed), not destroyed. */
  private endOnDestroy = false;
  /** Told once when the stream is destroyed (a field, not a 'close' listener: no closure per connection). */
  closeListener: { streamClosed(): void } | null = null;

  constructor(conn: TransportConnection, maxPacketSize: number) {
    super({ allowHalfOpen: false });
    this.conn = conn;
    this.guard = new PacketGuard(maxPacketSize);
    conn.onData((chunk) => {
      if (this.destroyed) return;
      try {
        this.guard.push(chunk);
      } catch (err) {
        const reply = this.guard.reply;
        if (reply !== null) {
          // The CONNACK the guard answers with (0x01, unsupported protocol level): written straight to
          // the transport, which then closes after it has gone out ([MQTT-3.2.2-5]).
          this.conn.write(reply);
          this.endOnDestroy = true;
        }
        this.destroy(err as Error);
        return;
      }
      if (!this.push(chunk) && !this.paused) {
        this.paused = true;
        conn.pause();
      }
    });
    conn.onDrain(() => this.drained());
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

  /** Whether a write now would be asked to wait (the caller should hold back until 'drain'). */
  get congested(): boolean {
    return this.outBytes > OUTBOX_HIGH_WATER || this.conn.congested;
  }

  override write(chunk: unknown, encoding?: BufferEncoding | WriteCallback, cb?: WriteCallback): boolean {
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (this.destroyed) {
      if (cb) process.nextTick(cb, new Error('write after the connection closed'));
      return false;
    }
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, encoding ?? 'utf8');
    if (cb) (this.callbacks ??= []).push(cb);
    return this.gather(b);
  }

  /**
   * Queues a PUBLISH the adapter encodes itself (a core delivery), bypassing aedes's per-message
   * packet objects, stream writes and macrotask. `topic` is the UTF-8 topic name. Returns false as
   * `write` does (the packet is queued all the same).
   */
  writePublish(topic: Buffer, payload: Buffer, qos: 0 | 1 | 2, dup: boolean, messageId: number): boolean {
    if (this.destroyed) return false;
    const variable = 2 + topic.length + (qos > 0 ? 2 : 0);
    const remaining = variable + payload.length;
    const lenBytes = remaining < 128 ? 1 : remaining < 16384 ? 2 : remaining < 2097152 ? 3 : 4;
    const head = Buffer.allocUnsafe(1 + lenBytes + variable);
    head[0] = 0x30 | (dup ? 0x08 : 0) | (qos << 1);
    let i = 1;
    let n = remaining;
    do {
      let byte = n % 128;
      n = Math.floor(n / 128);
      if (n > 0) byte |= 0x80;
      head[i++] = byte;
    } while (n > 0);
    head[i++] = topic.length >> 8;
    head[i++] = topic.length & 0xff;
    topic.copy(head, i);
    i += topic.length;
    if (qos > 0) {
      head[i++] = messageId >> 8;
      head[i++] = messageId & 0xff;
    }
    this.gather(head);
    return payload.length > 0 ? this.gather(payload) : !this.congested;
  }

  /** mqtt-packet corks around each packet; everything of a tick leaves in one write anyway. */
  override cork(): void {}

  override uncork(): void {}

  private gather(b: Buffer): boolean {
    (this.out ??= []).push(b);
    this.outBytes += b.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(flushStream, this);
    }
    if (this.congested) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  /** Hands what was gathered to the transport (at the end of the tick it was written in). */
  flush(): void {
    this.flushScheduled = false;
    const out = this.out;
    const bytes = this.outBytes;
    const callbacks = this.callbacks;
    this.out = null;
    this.outBytes = 0;
    this.callbacks = null;
    if (!this.destroyed && out !== null && bytes > 0) this.conn.write(out.length === 1 ? out[0]! : Buffer.concat(out, bytes));
    if (callbacks) for (const cb of callbacks) cb(this.destroyed ? new Error('the connection closed') : null);
    if (this.needDrain && !this.conn.congested) this.drained();
  }

  private drained(): void {
    if (!this.needDrain || this.outBytes > OUTBOX_HIGH_WATER || this.destroyed) return;
    this.needDrain = false;
    this.emit('drain');
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: WriteCallback): void {
    // Not reached (write is overridden); kept for the Writable contract.
    this.write(chunk, cb);
  }

  override _final(cb: WriteCallback): void {
    this.flush();
    this.conn.end();
    cb();
  }

  override _destroy(err: Error | null, cb: WriteCallback): void {
    const callbacks = this.callbacks;
    this.out = null;
    this.outBytes = 0;
    this.callbacks = null;
    if (callbacks) for (const c of callbacks) c(new Error('the connection closed'));
    // aedes waits for 'drain' on a blocked write; it must not wait forever.
    if (this.needDrain) {
      this.needDrain = false;
      this.emit('drain');
    }
    if (this.endOnDestroy) this.conn.end();
    else this.conn.destroy();
    const l = this.closeListener;
    this.closeListener = null;
    l?.streamClosed();
    cb(err);
  }
}
