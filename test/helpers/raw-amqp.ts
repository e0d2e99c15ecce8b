import { createRequire } from 'node:module';
import net from 'node:net';

/**
 * A raw AMQP 1.0 peer for hostile-input tests: it writes any bytes (frames a client library would
 * refuse to send) and decodes the frames the broker sends back with rhea's own frame codec.
 */

const require = createRequire(import.meta.url);

export const frames = require('rhea/lib/frames.js') as {
  amqp_frame(channel: number, performative: unknown, payload?: Buffer): unknown;
  write_frame(frame: unknown): Buffer;
  read_frame(b: Buffer): { type: number; channel: number; performative?: Performative; payload?: Buffer };
} & Record<string, (fields: Record<string, unknown>) => unknown>;
const termini = require('rhea/lib/terminus.js') as Record<'source' | 'target', (fields: Record<string, unknown>) => { described(): unknown }>;
/** Source and target termini as an attach carries them (described lists). */
export const terminus = {
  source: (fields: Record<string, unknown>): unknown => termini.source(fields).described(),
  target: (fields: Record<string, unknown>): unknown => termini.target(fields).described(),
};

export interface Performative {
  constructor: { descriptor?: { numeric: number } };
  error?: { condition?: string; description?: string };
  [k: string]: unknown;
}

const NAMES: Record<number, string> = { 0x10: 'open', 0x11: 'begin', 0x12: 'attach', 0x13: 'flow', 0x14: 'transfer', 0x15: 'disposition', 0x16: 'detach', 0x17: 'end', 0x18: 'close', 0x40: 'sasl-mechanisms', 0x44: 'sasl-outcome' };
export const AMQP_HEADER = Buffer.from('AMQP\x00\x01\x00\x00', 'latin1');
export const SASL_HEADER = Buffer.from('AMQP\x03\x01\x00\x00', 'latin1');

/** A frame of `type` (0 AMQP, 1 SASL) on `channel` around raw performative bytes. */
export function rawFrame(body: Buffer, type = 0, channel = 0): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(8 + body.length);
  h[4] = 2;
  h[5] = type;
  h.writeUInt16BE(channel, 6);
  return Buffer.concat([h, body]);
}

/** A well-formed performative frame, encoded by rhea. */
export function perf(name: string, fields: Record<string, unknown>, channel = 0): Buffer {
  return frames.write_frame(frames.amqp_frame(channel, frames[name]!(fields)));
}

export interface Received {
  name: string;
  channel: number;
  p: Performative;
}

/** A raw AMQP peer: writes bytes, decodes what the broker sends, resolves `closed` when the socket closes. */
export class RawAmqp {
  readonly received: Received[] = [];
  /** Every frame received, empty ones (heartbeats) included. */
  frameCount = 0;
  readonly closed: Promise<void>;
  readonly socket: net.Socket;
  private buf = Buffer.alloc(0);
  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d) => this.onData(d));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
  }

  static connect(port: number): Promise<RawAmqp> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawAmqp(s)));
      s.once('error', reject);
    });
  }

  write(...parts: Buffer[]): void {
    this.socket.write(Buffer.concat(parts));
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf.length >= 4 && this.buf.subarray(0, 4).toString('latin1') === 'AMQP') {
        if (this.buf.length < 8) return;
        this.buf = this.buf.subarray(8);
        continue;
      }
      if (this.buf.length < 4) return;
      const size = this.buf.readUInt32BE(0);
      if (this.buf.length < size) return;
      const f = frames.read_frame(this.buf.subarray(0, size));
      this.buf = this.buf.subarray(size);
      this.frameCount++;
      if (f.performative) {
        const code = f.performative.constructor.descriptor?.numeric ?? -1;
        this.received.push({ name: NAMES[code] ?? String(code), channel: f.channel, p: f.performative });
      }
    }
  }

  /** Resolves once the broker has closed the socket; fails after 10 s. */
  async closedWithin(ms = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.closed,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`socket still open after ${ms} ms; got ${this.received.map((r) => r.name).join(',')}`)), ms))),
    ]).finally(() => clearTimeout(timer));
  }

  /** The error of the broker's close frame. */
  closeError(): { condition?: string; description?: string } | undefined {
    return this.received.find((r) => r.name === 'close')?.p.error;
  }
}


/** Polls `cond` every 10 ms until it holds; fails after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
