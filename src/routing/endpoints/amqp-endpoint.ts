import rhea, { type Connection, type Delivery, type EventContext, type Receiver, type Sender } from 'rhea';
import { CreditWindow } from '../../core/credit-window.ts';
import { JunctionError } from '../../errors.ts';
import { createExchange } from '../exchange.ts';
import type { Log } from '../../core/ports/log.ts';
import type { Destination, MessageInput } from '../../core/message.ts';
import { formatAmqpAddress, parseAmqpAddress } from '../../interop/amqp-address.ts';
import { amqpToCore, applicationPropertiesToAmqp, applicationPropertiesToCore, bodyFromAmqp, coreToAmqp, idToAmqp, type AmqpMessageIn, type AmqpMessageOut } from '../../interop/amqp-message.ts';
import type { Exchange, ExchangeMessage, HeaderValue, Producer } from '../types.ts';
import { destinationOf, fromMessageInput, toCoreMessage } from './envelope.ts';
import { PendingSends, type PendingSend } from './pending-sends.ts';
import { RemoteStatus } from './remote-status.ts';
import type { Source } from './source.ts';
import type { EndpointUri, RemoteTarget } from './endpoint-uri.ts';
import { tlsConnectOptions } from './remote-tls.ts';

/** A parsed `amqp://` or `amqps://` endpoint. */
export type AmqpTarget = Extract<EndpointUri, { scheme: 'amqp' }>;

/** How long after a remote refused our link (detach with an error) it is attached again: rhea's longest reconnect delay. */
const REATTACH_DELAY = 5000;
/** How long closing an endpoint waits for the remote's close before it drops the socket. */
const CLOSE_TIMEOUT = 5000;

/** The error a remote closed or detached with, for the log. */
function linkError(ctx: EventContext): unknown {
  return ctx.sender?.error ?? ctx.receiver?.error ?? ctx.session?.error ?? ctx.connection?.error ?? ctx.error;
}

/**
 * A rhea connection of one endpoint. An error the endpoint does not handle (a remote closing a
 * session with an error) reaches the container, where rhea emits it as an EventEmitter 'error':
 * without this listener that is an uncaught exception that ends the broker.
 */
function openConnection(target: RemoteTarget, id: string, status: RemoteStatus): Connection {
  // A container of our own: rhea's default export is a process-wide singleton.
  const container = rhea.create_container({ id });
  container.on('error', (err: unknown) => status.failed(err));
  const backoff = reconnectBackoff();
  const tls = tlsConnectOptions(target);
  const common = {
    host: target.host,
    port: target.port,
    // rhea takes a function for the delay before each reconnect (ms; its own backoff is not used).
    reconnect: backoff.next as unknown as boolean,
    ...(target.credentials ? { username: target.credentials.username, password: target.credentials.password } : {}),
  };
  const c = tls
    ? // amqps://: rhea's tls transport hands these options to tls.connect. A client certificate and no
      // user name: SASL EXTERNAL, so the remote maps the certificate to a user.
      container.connect({ ...common, transport: 'tls', ...tls, ...(tls.cert && !target.credentials ? { enable_sasl_external: true } : {}) })
    : container.connect(common);
  c.on('connection_open', backoff.opened);
  return c;
}

/** The first reconnect delay, and the longest (rhea's own defaults for the route endpoints). */
const RECONNECT_INITIAL = 100;
const RECONNECT_MAX = 5000;

/**
 * Delays before reconnects: from RECONNECT_INITIAL, doubling to RECONNECT_MAX, back to the start
 * only after a connection that stayed open RECONNECT_MAX. rhea's backoff restarts on every TCP
 * connect, so a remote that accepts and drops each connection (at its connection limit, closing
 * us after the attach) was reconnected to every 100 ms for ever, each time logged down and back.
 */
function reconnectBackoff(): { next: () => number; opened: () => void } {
  let delay = RECONNECT_INITIAL;
  let openedAt: number | undefined;
  return {
    next: () => {
      if (openedAt !== undefined && Date.now() - openedAt >= RECONNECT_MAX) delay = RECONNECT_INITIAL;
      openedAt = undefined;
      const current = delay;
      delay = Math.min(delay * 2, RECONNECT_MAX);
      return current;
    },
    opened: () => {
      openedAt = Date.now();
    },
  };
}

/** rhea internals a close needs (not in its typings): a closed connection must stop reconnecting. */
type RheaConnection = Connection & { set_reconnect(on: boolean): void; scheduled_reconnect?: NodeJS.Timeout; socket?: { destroy(): void } };

/**
 * Closes a rhea connection for good. One that is not open (the remote is down, rhea is between
 * reconnect attempts) is not waited for: its reconnecting is switched off and its scheduled
 * attempt and any half-open socket dropped, else a stopped route's endpoint would go on
 * connecting to the remote for ever.
 */
async function closeConnection(c: Connection): Promise<void> {
  const r = c as RheaConnection;
  const drop = () => {
    r.set_reconnect(false);
    if (r.scheduled_reconnect !== undefined) clearTimeout(r.scheduled_reconnect);
    r.scheduled_reconnect = undefined;
    c.close();
    r.socket?.destroy();
  };
  if (!c.is_open()) return drop();
  await new Promise<void>((resolve) => {
    // A remote that never answers our close is not waited for beyond CLOSE_TIMEOUT.
    const timer = setTimeout(() => {
      drop();
      resolve();
    }, CLOSE_TIMEOUT);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    c.once('connection_close', done);
    c.once('disconnected', done);
    c.close();
  });
}

/** Where a remote message is (the endpoint, not a broker destination): only the exchange's URI says. */
const REMOTE: Destination = { type: 'queue', name: '' };

/** An AMQP message (rhea) as an exchange message: the interop mapping, with `uri` as its destination. */
export function fromAmqp(m: rhea.Message, uri: string): ExchangeMessage {
  const now = Date.now();
  const properties: Record<string, HeaderValue> = {};
  applicationPropertiesToCore(m.application_properties, properties);
  const input: MessageInput = { destination: REMOTE, ...bodyFromAmqp(m.body), durable: m.durable === true, properties };
  const wire = m as AmqpMessageIn;
  amqpToCore(wire, input, now, false); // the remote scheduled it: due now
  // The reply-to is an address of the remote broker: kept as it gave it (src/routing/types.ts).
  return fromMessageInput(input, uri, typeof wire.reply_to === 'string' && wire.reply_to !== '' ? wire.reply_to : undefined, now);
}

/** `queue:x` / `topic:x` as this broker's AMQP address (`x`, `topic://x`); another reply-to as it is. */
function amqpReplyTo(uri: string): string {
  return uri.startsWith('queue:') || uri.startsWith('topic:') ? formatAmqpAddress(destinationOf(uri)) : uri;
}

/**
 * An exchange message as an AMQP message to `address`, by the interop mapping (every header and
 * properties field, typed application properties): text and JSON bodies as strings, bytes as
 * binary data. The remote gives the message its own id and creation time, as a broker target does.
 */
export function toAmqp(m: ExchangeMessage, address: string, now = Date.now()): rhea.Message {
  const input = toCoreMessage(m, parseAmqpAddress(address, []).destination);
  const out = coreToAmqp(input, now) as rhea.Message & AmqpMessageOut;
  out.to = address;
  if (m.replyTo !== undefined) out.reply_to = amqpReplyTo(m.replyTo);
  if (out.content_type === undefined && m.bodyType === 'json') out.content_type = 'application/json';
  out.correlation_id = idToAmqp(out.correlation_id, rhea.types) as string | undefined;
  out.application_properties = applicationPropertiesToAmqp(input.properties!, rhea.types);
  out.body = m.bodyType === 'bytes' ? rhea.message.data_section(m.body) : m.body.toString('utf8');
  return out;
}

/**
 * `amqp://host:port/address` as a source: a receiver with link credit = `maxInflight`, manual
 * settlement (accepted on ack, modified with delivery-failed on nack, released on release), and
 * one credit back per settled exchange. rhea reconnects by itself.
 */
export class AmqpSource implements Source {
  /** The URI as shown: secrets masked (endpoint-uri.ts redactUri); also the source of its exchanges. */
  readonly uri: string;
  private readonly target: AmqpTarget;
  private readonly address: string;
  private readonly routeId: string;
  /** `maxInflight`: credit owed while paused or detached waits here. */
  private readonly window: CreditWindow;
  private readonly log: Log;
  private connection: Connection | undefined;
  private receiver: Receiver | undefined;
  private paused = false;
  private inflight = 0;
  private reattach: NodeJS.Timeout | undefined;

  private readonly status: RemoteStatus;

  constructor(uri: string, target: AmqpTarget, routeId: string, maxInflight: number, log: Log) {
    this.status = new RemoteStatus(log, { route: routeId, endpoint: target.endpoint, role: 'from' });
    this.uri = uri;
    this.target = target;
    this.address = target.address;
    this.routeId = routeId;
    this.window = new CreditWindow(maxInflight);
    this.log = log;
  }

  async start(emit: (ex: Exchange) => void): Promise<void> {
    const conn = openConnection(this.target, `junction-route-${this.routeId}`, this.status);
    this.connection = conn;
    // The whole window is owed to a new receiver (whatever an earlier start left held).
    this.window.release();
    this.window.refill(0);
    this.openReceiver(conn, emit);
    conn.on('connection_error', (ctx: EventContext) => this.status.failed(linkError(ctx)));
    conn.on('disconnected', (ctx: EventContext) => this.status.failed(ctx.error));
  }

  /**
   * The receiver; attached again after a remote refused it (detach with an error: no such queue,
   * not authorized), since rhea re-attaches only links that are open when it reconnects.
   */
  private openReceiver(conn: Connection, emit: (ex: Exchange) => void): void {
    const receiver = conn.open_receiver({ source: { address: this.address, durable: 2, expiry_policy: 'never' }, credit_window: 0, autoaccept: false });
    this.receiver = receiver;
    receiver.on('receiver_error', (ctx: EventContext) => {
      this.status.failed(linkError(ctx));
      this.reattach = setTimeout(() => {
        this.reattach = undefined;
        if (this.connection === conn) this.openReceiver(conn, emit);
      }, REATTACH_DELAY);
      this.reattach.unref();
    });
    receiver.on('message', (context: EventContext) => {
      const delivery = context.delivery as Delivery;
      this.inflight++;
      emit(
        createExchange({
          routeId: this.routeId,
          message: fromAmqp(context.message!, this.uri),
          deliveryCount: (context.message?.delivery_count ?? 0) + 1,
          onSettled: (o) => {
            if (o.kind === 'ack') delivery.accept();
            else if (o.kind === 'nack') delivery.modified({ delivery_failed: true, undeliverable_here: false });
            else delivery.release();
            this.inflight--;
            this.credit(1);
          },
        }),
      );
    });
    receiver.on('receiver_open', () => {
      this.status.connected();
      // Attached (again, after a reconnect: rhea gives a re-attached link no credit): the window back.
      this.refill();
    });
  }

  private credit(n: number): void {
    this.window.hold(n);
    if (this.paused || !this.receiver) return;
    const now = this.window.release();
    if (now > 0) this.receiver.add_credit(now);
  }

  pause(): void {
    this.paused = true;
    this.receiver?.drain_credit();
  }

  resume(): void {
    this.paused = false;
    // A drain took the credit the sender had not used: give the window back.
    this.refill();
  }

  /** Credit up to `maxInflight` less what is in flight or already granted. */
  private refill(): void {
    const r = this.receiver as (Receiver & { credit?: number }) | undefined;
    if (r) this.window.refill(this.inflight + (r.credit ?? 0));
    this.credit(0);
  }

  async stop(): Promise<void> {
    const c = this.connection;
    this.connection = undefined;
    this.receiver = undefined;
    this.status.close();
    if (this.reattach !== undefined) clearTimeout(this.reattach);
    if (c) await closeConnection(c);
  }
}

/**
 * `amqp://host:port/address` as a destination: resolves when the peer accepts the message. A send
 * waits for the link (connected, with credit) in order, then for the peer's outcome, all within
 * `sendTimeout`; past it, or when the connection drops before the outcome, the send fails (the
 * step's redelivery, then the dead-letter channel). A remote down therefore costs each exchange
 * `sendTimeout` per attempt, never a stall of the route.
 */
export class AmqpProducer implements Producer {
  readonly uri: string;
  private readonly connection: Connection;
  private readonly address: string;
  private sender: Sender;
  private closed = false;
  private reattach: NodeJS.Timeout | undefined;
  /** Sends waiting for the link, oldest first (entries that timed out are skipped). */
  private readonly queued: Array<PendingSend<ExchangeMessage>> = [];
  /** Sends on the wire, by their delivery, until the peer's outcome. */
  private readonly sent = new Map<unknown, PendingSend<ExchangeMessage>>();
  private readonly pending: PendingSends<ExchangeMessage>;
  private readonly status: RemoteStatus;

  constructor(uri: string, target: AmqpTarget, log: Log, sendTimeout: number, routeId: string) {
    this.uri = uri;
    this.status = new RemoteStatus(log, { route: routeId, endpoint: target.endpoint, role: 'to' });
    this.pending = new PendingSends(sendTimeout, uri, (p) => {
      if (p.handle !== undefined) this.sent.delete(p.handle);
      // Deadlines pass in the order sends came, so what timed out waiting is the queue's head.
      while (this.queued.length > 0 && this.queued[0]!.done) this.queued.shift();
    });
    this.address = target.address;
    this.connection = openConnection(target, `junction-out-${Math.random().toString(36).slice(2, 10)}`, this.status);
    this.sender = this.openSender();
    this.connection.on('connection_error', (ctx: EventContext) => this.status.failed(linkError(ctx)));
    this.connection.on('disconnected', (ctx: EventContext) => {
      this.status.failed(ctx.error);
      // rhea forgets the deliveries of a lost connection: their outcome will never come.
      const lost = [...this.sent.values()];
      this.sent.clear();
      for (const p of lost) this.pending.reject(p, new JunctionError('ERR_ROUTE_ENDPOINT', `${uri}: disconnected before the outcome`));
    });
  }

  /**
   * The sender; attached again after a remote refused it (detach with an error: no such address,
   * not authorized), since rhea re-attaches only links that are open when it reconnects. Meanwhile
   * sends wait, and fail at their deadline.
   */
  private openSender(): Sender {
    const sender = this.connection.open_sender({ target: { address: this.address } });
    const outcome = (ok: boolean, why: string) => (ctx: EventContext) => {
      const p = this.sent.get(ctx.delivery);
      if (!p) return;
      this.sent.delete(ctx.delivery);
      if (ok) this.pending.resolve(p);
      else this.pending.reject(p, new JunctionError('ERR_ROUTE_ENDPOINT', `${this.uri}: message ${why}${ctx.delivery?.remote_state?.error ? `: ${JSON.stringify(ctx.delivery.remote_state.error)}` : ''}`));
    };
    sender.on('accepted', outcome(true, 'accepted'));
    sender.on('rejected', outcome(false, 'rejected'));
    sender.on('released', outcome(false, 'released'));
    sender.on('modified', outcome(false, 'modified'));
    sender.on('sendable', () => this.flush());
    sender.on('sender_open', () => this.status.connected());
    sender.on('sender_error', (ctx: EventContext) => {
      this.status.failed(linkError(ctx));
      this.reattach = setTimeout(() => {
        this.reattach = undefined;
        if (!this.closed) this.sender = this.openSender();
      }, REATTACH_DELAY);
      this.reattach.unref();
    });
    return sender;
  }

  send(ex: Exchange): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const p = this.pending.add(ex.message, resolve, reject);
      if (this.queued.length === 0 && this.ready()) this.transmit(p);
      else this.queued.push(p);
    });
  }

  /** The link can take a transfer now: attached on an open connection, with credit. */
  private ready(): boolean {
    return this.connection.is_open() && this.sender.is_open() && this.sender.sendable();
  }

  private transmit(p: PendingSend<ExchangeMessage>): void {
    const delivery = this.sender.send(toAmqp(p.item, this.address));
    p.handle = delivery;
    this.sent.set(delivery, p);
  }

  /** Credit came (or came back): sends what waited, in order. */
  private flush(): void {
    let i = 0;
    while (i < this.queued.length && this.ready()) {
      const p = this.queued[i++]!;
      if (!p.done) this.transmit(p);
    }
    this.queued.splice(0, i);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reattach !== undefined) clearTimeout(this.reattach);
    this.pending.rejectAll(new JunctionError('ERR_ROUTE_ENDPOINT', `${this.uri}: endpoint closed before the outcome`));
    this.queued.length = 0;
    this.sent.clear();
    this.status.close();
    await closeConnection(this.connection);
  }
}
