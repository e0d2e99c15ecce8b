/**
 * A minimal, fast STOMP 1.2 load client for the benchmark, over `node:net`: raw frames,
 * pipelined SENDs, a byte-level reader for the few frames a broker sends back (CONNECTED,
 * MESSAGE, RECEIPT, ERROR) and one ACK per MESSAGE. It is not a general client: it knows
 * exactly the workload of `run.ts` and nothing else.
 *
 * Run as a script (`node --import tsx test/bench/stomp-load.ts`) under `child_process.fork`,
 * it serves load runs over IPC, so the client gets its own process and event loop and does not
 * compete with an in-process broker for one thread: `{ id, opts }` in, `{ id, result }` or
 * `{ id, error }` out.
 */
import net from 'node:net';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { FrameSplitter, type ServerFrame } from './stomp-frames.ts';

const NUL_BYTE = Buffer.from([0]);

export interface LoadOptions {
  host: string;
  port: number;
  /** `/queue/NAME`. */
  destination: string;
  messages: number;
  bodySize: number;
  /** Adds `persistent:true` to every SEND. */
  persistent: boolean;
  /** A `receipt` header on every Nth SEND (1: on every SEND); the last SEND always has one. */
  receiptEvery: number;
  /** At most this many SENDs not yet covered by a RECEIPT are in flight. */
  window: number;
  /** `activemq.prefetchSize` of the consumer's subscription. */
  prefetch: number;
  /** Give up when nothing moves for this long, in ms. */
  stallTimeoutMs: number;
  /**
   * Producer connections sending to the destination concurrently (default 1). The messages are
   * split across them (the first `messages % producers` send one more); each has a `window` of
   * its own and its own `receiptEvery` count, and its last SEND carries a receipt.
   */
  producers?: number;
  /** CONNECT with `login`/`passcode` (the security-on rows). */
  login?: { user: string; passcode: string };
  /** Connect over TLS, trusting this CA (PEM text): the STOMP+SSL row. */
  tlsCa?: string;
}

/** How a connection is opened: the load options the connection itself depends on. */
type OpenOptions = Pick<LoadOptions, 'host' | 'port' | 'login' | 'tlsCa'>;

export interface LoadResult {
  messages: number;
  /** From the first SEND written to the last MESSAGE read, in ms. */
  elapsedMs: number;
  /** Messages per second over `elapsedMs`: the end-to-end throughput. */
  rate: number;
  /** From the first SEND written to the RECEIPT for the last one, in ms. */
  producerMs: number;
  /** MESSAGE frames that carried `redelivered:true` (should be 0). */
  redelivered: number;
  /** CPU time (user + system) of the client process over `elapsedMs`: near `elapsedMs` means client-bound. */
  clientCpuMs: number;
}



/**
 * One connection. Header values are decoded as latin1 and never unescaped, so an ack id goes
 * back to the broker byte for byte as it came (both sides apply the same escaping).
 */
class StompConnection {
  readonly socket: net.Socket;
  /** Handles MESSAGE frames; called once per frame, then `onBatchEnd` once per chunk read. */
  onMessage: (frame: ServerFrame) => void = () => {};
  onBatchEnd: () => void = () => {};
  onReceipt: (id: string) => void = () => {};
  onFailure: (err: Error) => void = () => {};
  private readonly frames = new FrameSplitter();
  private readonly receiptWaiters = new Map<string, { resolve: () => void; reject: (err: Error) => void }>();
  private connectedWaiter: ((frame: ServerFrame) => void) | null = null;
  private failed: Error | null = null;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by the broker')));
  }

  static async open(o: OpenOptions, timeoutMs = 10_000): Promise<StompConnection> {
    const { host, port } = o;
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = o.tlsCa === undefined ? net.connect({ host, port }) : tls.connect({ host, port, ca: o.tlsCa, servername: 'localhost' });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`no TCP connection to ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      s.once(o.tlsCa === undefined ? 'connect' : 'secureConnect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    const conn = new StompConnection(socket);
    const connected = new Promise<ServerFrame>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no CONNECTED from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
      conn.connectedWaiter = (frame) => {
        clearTimeout(timer);
        resolve(frame);
      };
      conn.onFailure = (err) => {
        clearTimeout(timer);
        reject(err);
      };
    });
    const login = o.login ? `login:${o.login.user}\npasscode:${o.login.passcode}\n` : '';
    socket.write(`CONNECT\naccept-version:1.2\nhost:localhost\nheart-beat:0,0\n${login}\n\0`);
    try {
      const frame = await connected;
      if (frame.headers.get('version') !== '1.2') throw new Error(`broker negotiated STOMP ${frame.headers.get('version') ?? '1.0'}, the bench needs 1.2`);
    } catch (err) {
      socket.destroy();
      throw err;
    }
    conn.onFailure = () => {};
    return conn;
  }

  /** Writes a frame that carries `receipt:<id>` and resolves when the RECEIPT arrives. */
  request(frame: string, receiptId: string): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise<void>((resolve, reject) => {
      this.receiptWaiters.set(receiptId, { resolve, reject });
      this.socket.write(frame);
    });
  }

  /** DISCONNECT with a receipt (so everything sent before it has been handled), then close. */
  async close(timeoutMs = 10_000): Promise<void> {
    if (!this.failed && !this.socket.destroyed) {
      let timer: NodeJS.Timeout | undefined;
      const done = this.request('DISCONNECT\nreceipt:bye\n\n\0', 'bye');
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([done.catch(() => {}), timeout]); // closing anyway: a late or failed receipt changes nothing
      clearTimeout(timer);
    }
    this.failed ??= new Error('closed');
    this.socket.destroy();
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    for (const w of this.receiptWaiters.values()) w.reject(err);
    this.receiptWaiters.clear();
    this.onFailure(err);
  }

  private read(chunk: Buffer): void {
    try {
      this.frames.push(chunk, (f) => {
        this.dispatch(f);
        return !this.failed;
      });
    } catch (err) {
      return this.protocolError((err as Error).message);
    }
    if (!this.failed) this.onBatchEnd();
  }

  private dispatch(frame: ServerFrame): void {
    switch (frame.command) {
      case 'MESSAGE':
        this.onMessage(frame);
        return;
      case 'RECEIPT': {
        const id = frame.headers.get('receipt-id') ?? '';
        const waiter = this.receiptWaiters.get(id);
        if (waiter) {
          this.receiptWaiters.delete(id);
          waiter.resolve();
        } else this.onReceipt(id);
        return;
      }
      case 'CONNECTED':
        this.connectedWaiter?.(frame);
        this.connectedWaiter = null;
        return;
      case 'ERROR': {
        const detail = frame.body.toString('utf8').trim();
        this.fail(new Error(`broker ERROR: ${frame.headers.get('message') ?? ''}${detail ? ` (${detail.slice(0, 300)})` : ''}`));
        this.socket.destroy();
        return;
      }
      default:
        this.protocolError(`unexpected frame ${frame.command.slice(0, 40)}`);
    }
  }

  private protocolError(message: string): void {
    this.fail(new Error(message));
    this.socket.destroy();
  }
}


/**
 * One measured run: a consumer subscribes (`ack:client-individual`, the given prefetch) and
 * confirms its SUBSCRIBE by receipt; then `producers` producer connections (default 1) pipeline
 * their share of `messages` SENDs concurrently, each with at most `window` of its own
 * unconfirmed; the consumer ACKs every MESSAGE on its own (the ACKs of one socket read go out in
 * one write). The clock runs from the first SEND to the last MESSAGE. Every connection then
 * DISCONNECTs with a receipt, so the broker has handled every ACK before the next run.
 */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const count = o.producers ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new Error(`producers must be an integer >= 1, got ${count}`);
  if (count > o.messages) throw new Error(`${count} producers for ${o.messages} messages: each producer needs one at least`);
  const consumer = await StompConnection.open(o);
  const opened = await Promise.allSettled(Array.from({ length: count }, () => StompConnection.open(o)));
  const producers = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  try {
    const failed = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return await measure(o, consumer, producers);
  } finally {
    await Promise.all([consumer.close(), ...producers.map((p) => p.close())]);
  }
}

/** One producer connection's part of a run. */
interface ProducerState {
  conn: StompConnection;
  /** Its share of the run's messages. */
  count: number;
  sent: number;
  /** SENDs covered by a RECEIPT (receipts come back in order, so the highest one counts). */
  confirmed: number;
  blocked: boolean;
  /** Every SEND of its share confirmed. */
  done: boolean;
}

async function measure(o: LoadOptions, consumer: StompConnection, conns: StompConnection[]): Promise<LoadResult> {
  await consumer.request(
    `SUBSCRIBE\nid:bench\ndestination:${o.destination}\nack:client-individual\nactivemq.prefetchSize:${o.prefetch}\nreceipt:sub\n\n\0`,
    'sub',
  );

  const n = o.messages;
  const body = Buffer.alloc(o.bodySize, 'x');
  const head = `SEND\ndestination:${o.destination}\ncontent-length:${o.bodySize}\n${o.persistent ? 'persistent:true\n' : ''}`;
  const plainFrame = Buffer.concat([Buffer.from(head + '\n', 'latin1'), body, NUL_BYTE]);
  const tail = Buffer.concat([body, NUL_BYTE]);
  /** Frame `i` of a producer that sends `count`; receipt ids are per connection. */
  const frameFor = (i: number, count: number) =>
    (i + 1) % o.receiptEvery === 0 || i === count - 1 ? Buffer.concat([Buffer.from(`${head}receipt:m${i}\n\n`, 'latin1'), tail]) : plainFrame;
  /** SENDs per socket write: keeps writes large without building one giant buffer. */
  const batch = 64;
  const producers: ProducerState[] = conns.map((conn, k) => ({
    conn,
    count: Math.floor(n / conns.length) + (k < n % conns.length ? 1 : 0),
    sent: 0,
    confirmed: 0,
    blocked: false,
    done: false,
  }));

  return new Promise<LoadResult>((resolve, reject) => {
    let received = 0;
    let redelivered = 0;
    let producersDone = 0;
    let start = 0;
    let end = 0;
    let cpuStart = process.cpuUsage();
    let cpuMs = 0;
    let producerEnd = 0;
    let lastProgress = performance.now();
    let settled = false;
    let acks: string[] = [];
    const total = (field: 'sent' | 'confirmed') => producers.reduce((sum, p) => sum + p[field], 0);

    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      consumer.onMessage = () => {};
      for (const p of producers) p.conn.onReceipt = () => {};
      if (err) {
        reject(new Error(`${err.message} (sent ${total('sent')}, confirmed ${total('confirmed')}, received ${received} of ${n})`));
        return;
      }
      const elapsedMs = end - start;
      resolve({ messages: n, elapsedMs, rate: (n * 1000) / elapsedMs, producerMs: producerEnd - start, redelivered, clientCpuMs: cpuMs });
    };
    const maybeDone = () => {
      if (received >= n && producersDone === producers.length) finish();
    };

    const pump = (p: ProducerState) => {
      while (!p.blocked && p.sent < p.count && p.sent - p.confirmed < o.window) {
        const stop = Math.min(p.count, p.confirmed + o.window, p.sent + batch);
        const parts: Buffer[] = [];
        for (; p.sent < stop; p.sent++) parts.push(frameFor(p.sent, p.count));
        if (!p.conn.socket.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts))) {
          p.blocked = true;
          p.conn.socket.once('drain', () => {
            p.blocked = false;
            pump(p);
          });
        }
      }
    };

    producers.forEach((p, k) => {
      p.conn.onReceipt = (id) => {
        if (id.charCodeAt(0) !== 0x6d /* m */) return;
        const i = Number(id.slice(1));
        if (i + 1 > p.confirmed) p.confirmed = i + 1;
        lastProgress = performance.now();
        if (p.confirmed >= p.count) {
          if (!p.done) {
            p.done = true;
            producersDone++;
          }
          if (producersDone === producers.length) {
            producerEnd = lastProgress;
            maybeDone();
          }
        } else pump(p);
      };
      const who = producers.length === 1 ? 'producer' : `producer ${k + 1}`;
      p.conn.onFailure = (err) => finish(new Error(`${who}: ${err.message}`));
    });

    consumer.onMessage = (frame) => {
      received++;
      if (frame.headers.get('redelivered') === 'true') redelivered++;
      const ack = frame.headers.get('ack');
      if (ack === undefined) return finish(new Error('MESSAGE without an ack header on a client-individual subscription'));
      acks.push(`ACK\nid:${ack}\n\n\0`);
      if (received === n) {
        end = performance.now();
        const cpu = process.cpuUsage(cpuStart);
        cpuMs = (cpu.user + cpu.system) / 1000;
      }
    };
    consumer.onBatchEnd = () => {
      if (acks.length === 0) return;
      consumer.socket.write(Buffer.from(acks.join(''), 'latin1'));
      acks = [];
      lastProgress = performance.now();
      maybeDone();
    };

    consumer.onFailure = (err) => finish(new Error(`consumer: ${err.message}`));
    const watchdog = setInterval(() => {
      if (performance.now() - lastProgress > o.stallTimeoutMs) finish(new Error(`no progress for ${o.stallTimeoutMs} ms`));
    }, 250);

    cpuStart = process.cpuUsage();
    start = performance.now();
    for (const p of producers) pump(p);
  });
}

// ------------------------------------------------------------------ child-process mode

type Request = { id: number; opts: LoadOptions };

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.send) {
  process.on('message', (req: Request) => {
    runLoad(req.opts).then(
      (result) => process.send!({ id: req.id, result }),
      (err: unknown) => process.send!({ id: req.id, error: err instanceof Error ? err.message : String(err) }),
    );
  });
  // The parent going away ends the client too.
  process.on('disconnect', () => process.exit(0));
}
