import rhea, { type Connection, type Delivery, type Message, type Receiver, type Sender } from 'rhea';

/** Promise wrappers over the rhea client for the end-to-end tests: one container per client. */

export interface Received {
  message: Message;
  delivery: Delivery;
}

export interface Outcome {
  state: 'accepted' | 'rejected' | 'released' | 'modified' | 'settled';
  error?: { condition: string; description?: string };
  delivery: Delivery;
}

/** A link error as the broker sent it in its detach. */
export interface LinkFailure {
  condition: string;
  description?: string;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** A receiver that queues what it gets; `next()` awaits the next message. */
export class TestReceiver {
  readonly link: Receiver;
  private readonly queued: Received[] = [];
  private waiters: Array<(r: Received) => void> = [];
  closedWith: LinkFailure | undefined;
  private closeWaiters: Array<(e: LinkFailure | undefined) => void> = [];
  closed = false;

  constructor(link: Receiver) {
    this.link = link;
    link.on('message', (ctx) => {
      const r = { message: ctx.message!, delivery: ctx.delivery! };
      const w = this.waiters.shift();
      if (w) w(r);
      else this.queued.push(r);
    });
    link.on('receiver_error', () => undefined);
    link.on('receiver_close', (ctx) => {
      this.closed = true;
      const err = (ctx.receiver as unknown as { error?: LinkFailure }).error;
      this.closedWith = err ? { condition: err.condition, description: err.description } : undefined;
      for (const w of this.closeWaiters.splice(0)) w(this.closedWith);
    });
  }

  next(timeout = 5000): Promise<Received> {
    const r = this.queued.shift();
    if (r) return Promise.resolve(r);
    return withTimeout(new Promise<Received>((resolve) => this.waiters.push(resolve)), timeout, 'a message');
  }

  /** Resolves with whatever arrives within `ms` (for checking that nothing more comes). */
  async drainFor(ms: number): Promise<Received[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.queued.splice(0);
  }

  get pending(): number {
    return this.queued.length;
  }

  /** Resolves once the broker detaches the link, with its error. */
  closedByBroker(timeout = 5000): Promise<LinkFailure | undefined> {
    if (this.closed) return Promise.resolve(this.closedWith);
    return withTimeout(new Promise((resolve) => this.closeWaiters.push(resolve)), timeout, 'the link to close');
  }

  flow(n: number): void {
    this.link.add_credit(n);
  }
}

export class AmqpTestClient {
  readonly connection: Connection;
  private constructor(connection: Connection) {
    this.connection = connection;
  }

  /** Connects and waits for the open. `containerId` is the AMQP container-id (JMS client id). */
  static async connect(port: number, opts: { containerId?: string; username?: string; password?: string; idleTimeout?: number } = {}): Promise<AmqpTestClient> {
    const container = rhea.create_container(opts.containerId ? { id: opts.containerId } : {});
    const connection = container.connect({
      host: '127.0.0.1',
      port,
      reconnect: false,
      ...(opts.username ? { username: opts.username, password: opts.password } : {}),
      ...(opts.idleTimeout !== undefined ? { idle_time_out: opts.idleTimeout } : {}),
    });
    connection.on('error', () => undefined);
    connection.on('disconnected', () => undefined);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        connection.once('connection_open', () => resolve());
        connection.once('connection_error', (ctx) => reject(new Error(`connection refused: ${JSON.stringify(ctx.connection.error)}`)));
      }),
      5000,
      'connection open',
    );
    return new AmqpTestClient(connection);
  }

  /** Opens a sender and waits for the broker's attach (and first credit unless it refuses). */
  async sender(target: string | null | Record<string, unknown>, options: Record<string, unknown> = {}): Promise<Sender> {
    const spec = target === null ? { target: {} } : typeof target === 'string' ? { target: { address: target } } : { target };
    const s = this.connection.open_sender({ ...spec, ...options } as unknown as Parameters<Connection['open_sender']>[0]);
    s.on('sender_error', () => undefined);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        s.once('sendable', () => resolve());
        s.once('sender_close', () => reject(failure(s)));
      }),
      5000,
      'sender credit',
    );
    return s;
  }

  /** Opens a sender expecting the broker to refuse it; resolves with the detach error. */
  async refusedSender(target: string | null | Record<string, unknown>, options: Record<string, unknown> = {}): Promise<LinkFailure> {
    try {
      await this.sender(target, options);
    } catch (err) {
      return err as LinkFailure;
    }
    throw new Error('the sender was accepted');
  }

  /** Sends one message and waits for the broker's outcome. */
  send(s: Sender, m: Message | Record<string, unknown>, timeout = 5000): Promise<Outcome> {
    return withTimeout(
      new Promise<Outcome>((resolve) => {
        const d = s.send(m as Message);
        const onState = (state: Outcome['state']) => (ctx: { delivery?: Delivery }) => {
          if (ctx.delivery !== d) return;
          const rs = (d as unknown as { remote_state?: { error?: { condition: string; description?: string } } }).remote_state;
          resolve({ state, delivery: d, ...(rs?.error ? { error: rs.error } : {}) });
        };
        s.on('accepted', onState('accepted'));
        s.on('rejected', onState('rejected'));
        s.on('released', onState('released'));
        s.on('modified', onState('modified'));
      }),
      timeout,
      'the outcome of a send',
    );
  }

  /** Opens a receiver with `credit` (no automatic top-up, no auto-accept) and waits for the attach. */
  async receiver(source: string | Record<string, unknown>, credit = 10, options: Record<string, unknown> = {}): Promise<TestReceiver> {
    const spec = typeof source === 'string' ? { address: source } : source;
    const link = this.connection.open_receiver({ source: spec, credit_window: 0, autoaccept: false, ...options } as unknown as Parameters<Connection['open_receiver']>[0]);
    const r = new TestReceiver(link);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        link.once('receiver_open', () => resolve());
        link.once('receiver_close', () => reject(failure(link)));
      }),
      5000,
      'receiver attach',
    );
    // A refused attach is answered with a null source and then detached.
    const src = (link as unknown as { remote: { attach?: { source?: { value?: unknown } | null } } }).remote.attach?.source;
    if ((src == null || src.value === null) && !options['allowNullSource']) {
      const err = await r.closedByBroker();
      throw err ?? new Error('receiver refused');
    }
    if (credit > 0) link.add_credit(credit);
    return r;
  }

  async refusedReceiver(source: string | Record<string, unknown>, options: Record<string, unknown> = {}): Promise<LinkFailure> {
    try {
      await this.receiver(source, 0, options);
    } catch (err) {
      return err as LinkFailure;
    }
    throw new Error('the receiver was accepted');
  }

  /** Closes a link (detach closed=true) and waits for the broker's detach. */
  closeLink(link: Sender | Receiver): Promise<void> {
    return withTimeout(
      new Promise<void>((resolve) => {
        link.once(link.is_receiver() ? 'receiver_close' : 'sender_close', () => resolve());
        link.close();
      }),
      5000,
      'link close',
    );
  }

  /** Detaches a link without closing it (closed=false), as a durable subscriber going away. */
  detachLink(link: Sender | Receiver): Promise<void> {
    return withTimeout(
      new Promise<void>((resolve) => {
        link.once(link.is_receiver() ? 'receiver_close' : 'sender_close', () => resolve());
        link.detach();
      }),
      5000,
      'link detach',
    );
  }

  close(): Promise<void> {
    return withTimeout(
      new Promise<void>((resolve) => {
        if (this.connection.is_closed()) return resolve();
        this.connection.once('connection_close', () => resolve());
        this.connection.once('disconnected', () => resolve());
        this.connection.close();
      }),
      5000,
      'connection close',
    );
  }
}

function failure(link: Sender | Receiver): LinkFailure {
  const e = (link as unknown as { error?: LinkFailure }).error;
  return e ? { condition: e.condition, ...(e.description !== undefined ? { description: e.description } : {}) } : { condition: 'none' };
}

/** Waits until `cond` holds, checking after each macrotask (for broker-side state that follows a wire event). */
export async function eventually(cond: () => boolean, what: string, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
