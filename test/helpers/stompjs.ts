import { Client, Versions, type IFrame, type IMessage, type IStompSocket, type StompHeaders, type StompSubscription } from '@stomp/stompjs';
import { WebSocket } from 'ws';
import type { TestContext } from 'node:test';
import type { QueueStats } from '../../src/core/handles.ts';
import type { TestBroker } from './broker.ts';
import { TcpStompSocket } from './stomp-tcp.ts';

/**
 * Helpers that drive the broker with the independent `@stomp/stompjs` client over real sockets:
 * TCP (through {@link TcpStompSocket}) or WebSocket (the `ws` package).
 */

export type Transport = 'tcp' | 'ws' | 'wss';
export type StompVersionName = '1.0' | '1.1' | '1.2';

/** All three STOMP subprotocols, most recent first, as a browser client offers them. */
export const ALL_SUBPROTOCOLS = ['v12.stomp', 'v11.stomp', 'v10.stomp'];

/** How long to wait for an event that should happen before calling the test failed. */
export const EVENT_TIMEOUT = 5000;
/** A short window in which something must NOT happen, to prove absence. */
export const QUIET_WINDOW = 250;

export interface ConnectOptions {
  transport?: Transport;
  /** WebSocket subprotocols to offer (default: all three). */
  subprotocols?: string[];
  /** STOMP versions for `accept-version` (default: 1.2,1.1,1.0). */
  versions?: StompVersionName[];
  connectHeaders?: StompHeaders;
  /** [outgoing, incoming] heart-beat in ms; default [0, 0]. */
  heartbeat?: [number, number];
  /** Label for failure messages. */
  name?: string;
  /** `wss`: the CA (PEM) the broker's certificate is verified with; the client connects to `localhost`, the name it carries. */
  ca?: Buffer;
}

let clientSeq = 0;
let receiptSeq = 0;

/** A connected stompjs client plus what the tests need around it: ERROR frames, close events, receipts. */
export class TestClient {
  readonly client: Client;
  readonly name: string;
  /** The CONNECTED frame. */
  connected!: IFrame;
  /** The WebSocket (or TCP adapter) the client opened. */
  socket: IStompSocket | undefined;
  readonly errors: IFrame[] = [];
  private errorWaiters: Array<(f: IFrame) => void> = [];
  private closeWaiters: Array<() => void> = [];
  private socketClosed = false;

  constructor(client: Client, name: string) {
    this.client = client;
    this.name = name;
  }

  /** @internal */
  onError(f: IFrame): void {
    this.errors.push(f);
    const ws = this.errorWaiters;
    this.errorWaiters = [];
    for (const w of ws) w(f);
  }

  /** @internal */
  onSocketClose(): void {
    this.socketClosed = true;
    const ws = this.closeWaiters;
    this.closeWaiters = [];
    for (const w of ws) w();
  }

  get closed(): boolean {
    return this.socketClosed;
  }

  /** Resolves with the next (or an already received) ERROR frame. */
  nextError(timeout = EVENT_TIMEOUT): Promise<IFrame> {
    const got = this.errors.shift();
    if (got) return Promise.resolve(got);
    return withTimeout(new Promise<IFrame>((resolve) => this.errorWaiters.push((f) => {
      this.errors.splice(this.errors.indexOf(f), 1);
      resolve(f);
    })), timeout, `${this.name}: no ERROR frame`);
  }

  /** Resolves when the connection is closed (by either side). */
  waitClosed(timeout = EVENT_TIMEOUT): Promise<void> {
    if (this.socketClosed) return Promise.resolve();
    return withTimeout(new Promise<void>((resolve) => this.closeWaiters.push(resolve)), timeout, `${this.name}: connection not closed`);
  }

  /**
   * Resolves on the RECEIPT for `id` (register before sending the frame). Rejects on an ERROR frame
   * or a closed connection first, so a failing frame fails the test with the broker's message.
   */
  receipt(id: string, timeout = EVENT_TIMEOUT): Promise<IFrame> {
    return withTimeout(
      new Promise<IFrame>((resolve, reject) => {
        const onError = (f: IFrame) => reject(new Error(`${this.name}: ERROR instead of receipt ${id}: ${f.headers.message} ${f.body.trim()}`));
        const onClose = () => reject(new Error(`${this.name}: connection closed before receipt ${id}`));
        this.errorWaiters.push(onError);
        this.closeWaiters.push(onClose);
        this.client.watchForReceipt(id, (f?: IFrame) => {
          this.errorWaiters = this.errorWaiters.filter((w) => w !== onError);
          this.closeWaiters = this.closeWaiters.filter((w) => w !== onClose);
          resolve(f!);
        });
      }),
      timeout,
      `${this.name}: no RECEIPT ${id}`,
    );
  }

  /** SEND and wait for the RECEIPT (the broker has routed, and stored if persistent). */
  async send(destination: string, body: string | Uint8Array, headers: StompHeaders = {}): Promise<void> {
    const id = nextReceiptId();
    const r = this.receipt(id);
    const h = { ...headers, receipt: id };
    if (typeof body === 'string') this.client.publish({ destination, body, headers: h });
    else this.client.publish({ destination, binaryBody: body, headers: h });
    await r;
  }

  /** SUBSCRIBE and wait for the RECEIPT (the consumer is registered and has credit). */
  async subscribe(destination: string, headers: StompHeaders = {}): Promise<Inbox> {
    const inbox = new Inbox(`${this.name} ${destination}`);
    const id = nextReceiptId();
    const r = this.receipt(id);
    inbox.subscription = this.client.subscribe(destination, (m) => inbox.push(m), { ...headers, receipt: id });
    await r;
    return inbox;
  }

  /** UNSUBSCRIBE and wait for the RECEIPT. */
  async unsubscribe(inbox: Inbox, headers: StompHeaders = {}): Promise<void> {
    const id = nextReceiptId();
    const r = this.receipt(id);
    inbox.subscription!.unsubscribe({ ...headers, receipt: id });
    await r;
  }

  /** ACK a message and wait for the RECEIPT (the ack is stored). */
  async ack(m: IMessage, headers: StompHeaders = {}): Promise<void> {
    const id = nextReceiptId();
    const r = this.receipt(id);
    m.ack({ ...headers, receipt: id });
    await r;
  }

  /** NACK a message and wait for the RECEIPT. */
  async nack(m: IMessage, headers: StompHeaders = {}): Promise<void> {
    const id = nextReceiptId();
    const r = this.receipt(id);
    m.nack({ ...headers, receipt: id });
    await r;
  }

  /**
   * Waits until the broker has processed every frame sent so far. stompjs's BEGIN/COMMIT/ABORT
   * take no headers (so no receipt): a SEND with a receipt to a topic nobody follows is handled
   * after them, in frame order, and leaves nothing behind.
   */
  async sync(): Promise<void> {
    await this.send('/topic/test.sync', 'sync');
  }

  /** DISCONNECT gracefully (waiting for its receipt and the socket to close). */
  async close(): Promise<void> {
    if (this.socketClosed) {
      await this.client.deactivate();
      return;
    }
    const graceful = this.client.deactivate();
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 2000).unref());
    if ((await Promise.race([graceful, timer])) === 'timeout') await this.client.deactivate({ force: true });
  }

  /** Drops the connection without DISCONNECT, as a crashed client would. */
  async drop(): Promise<void> {
    await this.client.deactivate({ force: true });
  }
}

/** Messages received on one subscription, in arrival order. */
export class Inbox {
  readonly label: string;
  subscription: StompSubscription | undefined;
  /** Called for each message as it arrives (e.g. to ack at once). */
  onMessage: ((m: IMessage) => void) | undefined;
  /** Every message received so far (never cleared). */
  readonly all: IMessage[] = [];
  private readonly pending: IMessage[] = [];
  private waiter: (() => void) | null = null;

  constructor(label: string) {
    this.label = label;
  }

  /** @internal */
  push(m: IMessage): void {
    this.all.push(m);
    this.pending.push(m);
    this.onMessage?.(m);
    this.waiter?.();
  }

  /** Messages received but not yet taken. */
  get size(): number {
    return this.pending.length;
  }

  /** Takes the next `n` messages, waiting for them; fails clearly if they do not all arrive. */
  async take(n: number, timeout = EVENT_TIMEOUT): Promise<IMessage[]> {
    const deadline = Date.now() + timeout;
    while (this.pending.length < n) {
      const left = deadline - Date.now();
      const arrived = left > 0 && (await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => {
          this.waiter = null;
          resolve(false);
        }, left);
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = null;
          resolve(true);
        };
      }));
      if (!arrived) {
        const got = this.pending.map((m) => JSON.stringify(m.body.slice(0, 40)));
        throw new Error(`${this.label}: expected ${n} message(s) within ${timeout} ms, got ${this.pending.length}: [${got.join(', ')}]`);
      }
    }
    return this.pending.splice(0, n);
  }

  /** Takes the next message. */
  async one(timeout = EVENT_TIMEOUT): Promise<IMessage> {
    return (await this.take(1, timeout))[0]!;
  }

  /** Asserts that no (further) message arrives within `window` ms. */
  async expectNone(window = QUIET_WINDOW): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, window));
    if (this.pending.length > 0) {
      const got = this.pending.map((m) => JSON.stringify(m.body.slice(0, 40)));
      throw new Error(`${this.label}: expected no message, got ${this.pending.length}: [${got.join(', ')}]`);
    }
  }
}

export function nextReceiptId(): string {
  return `r-${++receiptSeq}`;
}

/** Connects a stompjs client to the broker and resolves once CONNECTED arrived. */
export async function connect(broker: TestBroker, opts: ConnectOptions = {}): Promise<TestClient> {
  const transport = opts.transport ?? 'tcp';
  const host = broker.config.host;
  const name = opts.name ?? `client-${++clientSeq}(${transport})`;
  const [outgoing, incoming] = opts.heartbeat ?? [0, 0];
  let tc: TestClient;
  const client = new Client({
    webSocketFactory: () => {
      const protocols = opts.subprotocols ?? ALL_SUBPROTOCOLS;
      const socket: IStompSocket =
        transport === 'tcp'
          ? new TcpStompSocket(host, broker.ports.stomp!)
          : transport === 'ws'
            ? (new WebSocket(`ws://${host}:${broker.ports.ws}/`, protocols) as unknown as IStompSocket)
            : (new WebSocket(`wss://localhost:${broker.ports.wss}/`, protocols, { ca: opts.ca }) as unknown as IStompSocket);
      tc.socket = socket;
      return socket;
    },
    stompVersions: new Versions(opts.versions ?? ['1.2', '1.1', '1.0']),
    connectHeaders: opts.connectHeaders ?? {},
    heartbeatIncoming: incoming,
    heartbeatOutgoing: outgoing,
    reconnectDelay: 0,
    // No stompjs connection watcher (a pending one keeps the process alive): connect() times out itself.
    connectionTimeout: 0,
  });
  tc = new TestClient(client, name);
  const connected = new Promise<IFrame>((resolve, reject) => {
    client.onConnect = (f: IFrame) => resolve(f);
    client.onStompError = (f: IFrame) => {
      tc.onError(f);
      reject(new Error(`${name}: ERROR on connect: ${f.headers.message} ${f.body.trim()}`));
    };
    client.onWebSocketClose = () => {
      tc.onSocketClose();
      reject(new Error(`${name}: connection closed before CONNECTED`));
    };
  });
  client.activate();
  try {
    tc.connected = await withTimeout(connected, EVENT_TIMEOUT, `${name}: not connected`);
  } catch (err) {
    await client.deactivate({ force: true });
    throw err;
  }
  return tc;
}

/** Connects and closes the client when the test ends (pass or fail). */
export async function connectFor(t: TestContext, broker: TestBroker, opts: ConnectOptions = {}): Promise<TestClient> {
  const c = await connect(broker, opts);
  t.after(() => c.close());
  return c;
}

/** A queue's statistics; fails if the queue does not exist. */
export function stats(broker: TestBroker, name: string): QueueStats {
  const s = broker.core.queueStats().find((q) => q.name === name);
  if (!s) throw new Error(`no queue ${name}; queues: ${broker.core.queueStats().map((q) => q.name).join(', ')}`);
  return s;
}

/** A queue's statistics, or undefined when it does not exist. */
export function maybeStats(broker: TestBroker, name: string): QueueStats | undefined {
  return broker.core.queueStats().find((q) => q.name === name);
}

/**
 * Polls broker-side state that no client event announces (e.g. the broker noticing a closed
 * socket) until `check` stops throwing; rethrows its last error after `timeout`.
 */
export async function eventually<T>(check: () => T, timeout = EVENT_TIMEOUT): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** Message bodies as strings. */
export function bodies(ms: IMessage[]): string[] {
  return ms.map((m) => m.body);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
