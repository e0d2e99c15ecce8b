import net from 'node:net';

/** Hand-built MQTT 3.1.1 packets and a reader, for tests that send what no client library would. */

function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

function str(s: string | Buffer): Buffer {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length, 0);
  return Buffer.concat([len, b]);
}

function packet(first: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first]), remainingLength(body.length), body]);
}

export interface ConnectOptions {
  clientId: string;
  clean?: boolean;
  keepalive?: number;
  protocolLevel?: number;
  /** The protocol name (default `MQTT`; MQTT 3.1 clients send `MQIsdp`). */
  protocolName?: string;
  will?: { topic: string; payload: string; qos: 0 | 1 | 2; retain?: boolean };
  /** User name and password flags and fields (MQTT 3.1.1 section 3.1.3.4, 3.1.3.5). */
  username?: string;
  password?: string;
}

export function connectPacket(o: ConnectOptions): Buffer {
  let flags = o.clean === false ? 0 : 0x02;
  if (o.will) flags |= 0x04 | (o.will.qos << 3) | (o.will.retain ? 0x20 : 0);
  if (o.username !== undefined) flags |= 0x80;
  if (o.password !== undefined) flags |= 0x40;
  const ka = Buffer.alloc(2);
  ka.writeUInt16BE(o.keepalive ?? 0, 0);
  const parts = [str(o.protocolName ?? 'MQTT'), Buffer.from([o.protocolLevel ?? 4, flags]), ka, str(o.clientId)];
  if (o.will) parts.push(str(o.will.topic), str(o.will.payload));
  if (o.username !== undefined) parts.push(str(o.username));
  if (o.password !== undefined) parts.push(str(o.password));
  return packet(0x10, Buffer.concat(parts));
}

/** A PUBLISH; `topic` may be raw bytes (e.g. invalid UTF-8). */
export function publishPacket(topic: string | Buffer, payload: string | Buffer, o: { qos?: 0 | 1 | 2; id?: number; dup?: boolean; retain?: boolean } = {}): Buffer {
  const qos = o.qos ?? 0;
  const first = 0x30 | (o.dup ? 0x08 : 0) | (qos << 1) | (o.retain ? 1 : 0);
  const parts = [str(topic)];
  if (qos > 0) {
    const id = Buffer.alloc(2);
    id.writeUInt16BE(o.id ?? 1, 0);
    parts.push(id);
  }
  parts.push(Buffer.isBuffer(payload) ? payload : Buffer.from(payload));
  return packet(first, Buffer.concat(parts));
}

export function subscribePacket(id: number, filter: string, qos: 0 | 1 | 2): Buffer {
  const pid = Buffer.alloc(2);
  pid.writeUInt16BE(id, 0);
  return packet(0x82, Buffer.concat([pid, str(filter), Buffer.from([qos])]));
}

/** A SUBSCRIBE of many filters in one packet, each at `qos` (a requested QoS of 3 is a protocol violation). */
export function subscribeManyPacket(id: number, filters: string[], qos: number): Buffer {
  const pid = Buffer.alloc(2);
  pid.writeUInt16BE(id, 0);
  const parts: Buffer[] = [pid];
  for (const f of filters) parts.push(str(f), Buffer.from([qos]));
  return packet(0x82, Buffer.concat(parts));
}

/** An UNSUBSCRIBE of `filters`. */
export function unsubscribePacket(id: number, filters: string[]): Buffer {
  const pid = Buffer.alloc(2);
  pid.writeUInt16BE(id, 0);
  return packet(0xa2, Buffer.concat([pid, ...filters.map((f) => str(f))]));
}

function idPacket(first: number, id: number): Buffer {
  const b = Buffer.alloc(4);
  b[0] = first;
  b[1] = 2;
  b.writeUInt16BE(id, 2);
  return b;
}

export const puback = (id: number): Buffer => idPacket(0x40, id);
export const pubrel = (id: number): Buffer => idPacket(0x62, id);
export const pubrec = (id: number): Buffer => idPacket(0x50, id);
export const pubcomp = (id: number): Buffer => idPacket(0x70, id);
export const DISCONNECT = Buffer.from([0xe0, 0x00]);

export interface RawPacket {
  type: number;
  flags: number;
  body: Buffer;
}

/** A raw TCP MQTT connection that splits what it receives into packets. */
export class RawMqtt {
  readonly socket: net.Socket;
  /** Received packets; those before `head` are taken (a read index: Array#shift is O(n) on large arrays, and a test may read 65,535 packets). */
  private queue: Array<RawPacket | undefined> = [];
  private head = 0;
  closed = false;
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.split();
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(port: number): Promise<RawMqtt> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(new RawMqtt(s)));
      s.once('error', reject);
    });
  }

  /** Connects and sends CONNECT; resolves with the CONNACK. */
  static async session(port: number, o: ConnectOptions): Promise<RawMqtt> {
    const c = await RawMqtt.connect(port);
    c.send(connectPacket(o));
    const ack = await c.next();
    if (ack.type !== 2 || ack.body[1] !== 0) throw new Error(`CONNACK refused: ${ack.body.toString('hex')}`);
    return c;
  }

  send(b: Buffer): void {
    this.socket.write(b);
  }

  private split(): void {
    for (;;) {
      if (this.buf.length < 2) return;
      let len = 0;
      let mult = 1;
      let i = 1;
      for (;;) {
        if (i >= this.buf.length) return;
        const b = this.buf[i++]!;
        len += (b & 0x7f) * mult;
        mult *= 128;
        if (!(b & 0x80)) break;
      }
      if (this.buf.length < i + len) return;
      this.queue.push({ type: this.buf[0]! >> 4, flags: this.buf[0]! & 0x0f, body: this.buf.subarray(i, i + len) });
      this.buf = this.buf.subarray(i + len);
    }
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  private async until(pred: () => boolean, what: string, timeout: number): Promise<void> {
    const deadline = Date.now() + timeout;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The next packet not yet taken. */
  async next(timeout = 5000): Promise<RawPacket> {
    await this.until(() => this.head < this.queue.length || this.closed, 'an MQTT packet', timeout);
    const p = this.queue[this.head];
    if (!p) throw new Error('connection closed before a packet arrived');
    this.queue[this.head++] = undefined;
    if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return p;
  }

  /** The packets received and not yet taken by `next`. */
  get packets(): RawPacket[] {
    return this.queue.slice(this.head) as RawPacket[];
  }

  /** Resolves once the broker has closed the connection. */
  async waitClosed(timeout = 5000): Promise<void> {
    await this.until(() => this.closed, 'the connection to close', timeout);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The topic, payload and packet id of a PUBLISH the broker sent. */
export function parsePublish(p: RawPacket): { topic: string; payload: Buffer; qos: number; id?: number; dup: boolean; retain: boolean } {
  const tl = p.body.readUInt16BE(0);
  const topic = p.body.toString('utf8', 2, 2 + tl);
  const qos = (p.flags >> 1) & 3;
  let at = 2 + tl;
  let id: number | undefined;
  if (qos > 0) {
    id = p.body.readUInt16BE(at);
    at += 2;
  }
  return { topic, payload: p.body.subarray(at), qos, dup: (p.flags & 8) !== 0, retain: (p.flags & 1) !== 0, ...(id !== undefined ? { id } : {}) };
}
