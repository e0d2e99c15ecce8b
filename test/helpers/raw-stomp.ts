import { once } from 'node:events';
import net from 'node:net';

/** A frame as the server sent it. Header values are unescaped per the negotiated version. */
export interface RawFrame {
  command: string;
  headers: Array<[string, string]>;
  body: Buffer;
  /** The first value of a header (STOMP 1.2: the first occurrence wins). */
  header(name: string): string | undefined;
  /** The body as UTF-8 text. */
  readonly text: string;
}

export interface RawStompOptions {
  /** How long `nextFrame`, `closed` and `connect` wait before failing the test instead of hanging it. Default 5000 ms. */
  timeout?: number;
}

/**
 * A tiny STOMP client over a raw TCP socket, for tests that must control the exact bytes sent:
 * `write` puts bytes on the wire as given; `frame` builds a well-formed frame with LF line ends
 * and no escaping (so a test can also build a malformed one on purpose). Incoming frames are
 * queued and read with `nextFrame`; EOLs between frames are counted as heart-beats.
 */
export class RawStomp {
  readonly socket: net.Socket;
  /** EOLs the server sent between frames. */
  heartbeats = 0;
  /** The socket error, if any (a reset while the test was still writing, say). */
  error: Error | undefined;
  /** STOMP version the server chose in CONNECTED; decides header unescaping. */
  version = '1.0';
  isClosed = false;

  private readonly timeout: number;
  private buf: Buffer = Buffer.alloc(0);
  private readonly frames: RawFrame[] = [];
  private waiters: Array<() => void> = [];
  private readonly closedPromise: Promise<void>;

  private constructor(socket: net.Socket, opts: RawStompOptions) {
    this.socket = socket;
    this.timeout = opts.timeout ?? 5000;
    socket.on('data', (chunk: Buffer) => {
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
      this.parse();
      this.wake();
    });
    // Recorded, never thrown: a test writing into a connection the server closed expects a reset.
    socket.on('error', (err) => (this.error = err));
    this.closedPromise = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        this.wake();
        resolve();
      }),
    );
  }

  /** Opens a TCP connection to a STOMP port (no CONNECT frame is sent). */
  static open(port: number, opts: RawStompOptions = {}): Promise<RawStomp> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawStomp(socket, opts));
      });
    });
  }

  /** Opens a connection and completes CONNECT; rejects unless the server answers CONNECTED. */
  static async connect(port: number, headers: Record<string, string> = { 'accept-version': '1.2', host: 'localhost' }, opts: RawStompOptions = {}): Promise<RawStomp> {
    const c = await RawStomp.open(port, opts);
    c.write(RawStomp.frame('CONNECT', headers));
    const f = await c.nextFrame();
    if (f.command !== 'CONNECTED') {
      c.destroy();
      throw new Error(`expected CONNECTED, got ${f.command}: ${f.header('message')} ${f.text}`);
    }
    return c;
  }

  /**
   * Encodes a frame exactly as given: `COMMAND\n`, `name:value\n` per header (no escaping),
   * a blank line, the body, NUL. No content-length is added.
   */
  static frame(command: string, headers: Record<string, string> | Array<[string, string]> = {}, body: string | Buffer = ''): Buffer {
    const list = Array.isArray(headers) ? headers : Object.entries(headers);
    const head = command + '\n' + list.map(([k, v]) => `${k}:${v}\n`).join('') + '\n';
    return Buffer.concat([Buffer.from(head), typeof body === 'string' ? Buffer.from(body) : body, Buffer.from([0])]);
  }

  /** Writes bytes as given. */
  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Writes a frame built by {@link RawStomp.frame}. */
  send(command: string, headers: Record<string, string> | Array<[string, string]> = {}, body: string | Buffer = ''): void {
    this.write(RawStomp.frame(command, headers, body));
  }

  /** The next frame from the server; rejects if the connection closes first or nothing comes within the timeout. */
  async nextFrame(): Promise<RawFrame> {
    for (;;) {
      const f = this.frames.shift();
      if (f) return f;
      if (this.isClosed) throw new Error('connection closed before a frame arrived');
      await this.wait('a frame');
    }
  }

  /**
   * Sends a frame with a `receipt` header and resolves with its RECEIPT. Other frames that arrive
   * meanwhile (MESSAGEs) stay queued for `nextFrame`; an ERROR rejects.
   */
  async request(command: string, headers: Record<string, string>, body: string | Buffer = ''): Promise<RawFrame> {
    const receipt = `r-${++receiptSeq}`;
    this.send(command, { ...headers, receipt }, body);
    for (;;) {
      const error = this.frames.find((f) => f.command === 'ERROR');
      if (error) throw new Error(`expected RECEIPT ${receipt}, got ERROR ${error.header('message') ?? ''}: ${error.text}`);
      const i = this.frames.findIndex((f) => f.command === 'RECEIPT' && f.header('receipt-id') === receipt);
      if (i !== -1) return this.frames.splice(i, 1)[0]!;
      if (this.isClosed) throw new Error(`connection closed before RECEIPT ${receipt}`);
      await this.wait(`RECEIPT ${receipt}`);
    }
  }

  /** Resolves once at least `n` heart-beats have arrived in all. */
  async heartbeat(n = 1): Promise<void> {
    while (this.heartbeats < n) {
      if (this.isClosed) throw new Error('connection closed before a heart-beat arrived');
      await this.wait('a heart-beat');
    }
  }

  /** Resolves when the server has closed the connection. */
  closed(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open after ${this.timeout} ms`)), this.timeout);
    });
    return Promise.race([this.closedPromise, timeout]).finally(() => clearTimeout(timer));
  }

  /** Frames received and not yet read. */
  get pending(): number {
    return this.frames.length;
  }

  /** Closes the socket at once. */
  destroy(): void {
    this.socket.destroy();
  }

  private wait(what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(new Error(`no ${what} within ${this.timeout} ms`));
      }, this.timeout);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(done);
    });
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** Takes every complete frame out of the buffer. The server always ends header lines in LF. */
  private parse(): void {
    for (;;) {
      let i = 0;
      while (i < this.buf.length && (this.buf[i] === 0x0a || (this.buf[i] === 0x0d && this.buf[i + 1] === 0x0a))) {
        i += this.buf[i] === 0x0d ? 2 : 1;
        this.heartbeats++;
      }
      this.buf = this.buf.subarray(i);
      const headEnd = this.buf.indexOf('\n\n');
      if (headEnd === -1) return;
      const lines = this.buf.toString('utf8', 0, headEnd).split('\n');
      const command = lines.shift()!;
      const unescape = this.version !== '1.0' && command !== 'CONNECTED';
      const headers: Array<[string, string]> = lines.map((line) => {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon);
        const value = line.slice(colon + 1);
        return unescape ? [unescapeHeader(name), unescapeHeader(value)] : [name, value];
      });
      const lengthHeader = headers.find(([k]) => k === 'content-length')?.[1];
      const bodyStart = headEnd + 2;
      let bodyEnd: number;
      if (lengthHeader !== undefined) {
        bodyEnd = bodyStart + Number(lengthHeader);
        if (this.buf.length < bodyEnd + 1) return;
      } else {
        bodyEnd = this.buf.indexOf(0, bodyStart);
        if (bodyEnd === -1) return;
      }
      const body = Buffer.from(this.buf.subarray(bodyStart, bodyEnd));
      this.buf = this.buf.subarray(bodyEnd + 1);
      if (command === 'CONNECTED') this.version = headers.find(([k]) => k === 'version')?.[1] ?? '1.0';
      this.frames.push({
        command,
        headers,
        body,
        header: (name) => headers.find(([k]) => k === name)?.[1],
        get text() {
          return body.toString('utf8');
        },
      });
    }
  }
}

let receiptSeq = 0;

function unescapeHeader(s: string): string {
  return s.replace(/\\([nrc\\])/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c === 'c' ? ':' : '\\'));
}

/**
 * Writes `frames` as fast as the broker reads them, honouring the socket's backpressure; stops when
 * they are all written or when the broker has not read for `stallMs` (it stopped reading this
 * connection). Resolves with the bytes written.
 */
export async function writeUntilStalled(c: RawStomp, frames: Iterable<Buffer>, stallMs = 1500): Promise<number> {
  let written = 0;
  for (const f of frames) {
    written += f.length;
    if (c.socket.write(f)) continue;
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      once(c.socket, 'drain').then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), stallMs))),
    ]);
    clearTimeout(timer);
    if (!drained) return written;
  }
  return written;
}
