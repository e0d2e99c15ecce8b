import rhea, { type Connection, type Delivery, type EventContext, type Receiver, type Sender } from 'rhea';
import { JunctionError } from '../../errors.ts';
import { createExchange } from '../exchange.ts';
import type { Exchange, ExchangeMessage, HeaderValue, Producer, RouteLog } from '../types.ts';
import type { Source } from './source.ts';

function openConnection(host: string, port: number, options: URLSearchParams, id: string): Connection {
  // A container of our own: rhea's default export is a process-wide singleton.
  const container = rhea.create_container({ id });
  return container.connect({
    host,
    port,
    reconnect: true,
    initial_reconnect_delay: 100,
    max_reconnect_delay: 5000,
    ...(options.get('username') !== null ? { username: options.get('username')!, password: options.get('password') ?? '' } : {}),
  });
}

function bodyBuffer(body: unknown): { body: Buffer; bodyType: 'bytes' | 'text' | 'json' } {
  if (Buffer.isBuffer(body)) return { body, bodyType: 'bytes' };
  const section = body as { typecode?: unknown; content?: unknown } | null;
  if (section && typeof section === 'object' && section.typecode !== undefined && Buffer.isBuffer(section.content)) return { body: section.content, bodyType: 'bytes' };
  if (typeof body === 'string') return { body: Buffer.from(body), bodyType: 'text' };
  if (body === undefined || body === null) return { body: Buffer.alloc(0), bodyType: 'text' };
  return { body: Buffer.from(JSON.stringify(body)), bodyType: 'json' };
}

/** An AMQP message (rhea) as an exchange message. */
export function fromAmqp(m: rhea.Message, uri: string): ExchangeMessage {
  const headers: Record<string, HeaderValue> = {};
  for (const [k, v] of Object.entries(m.application_properties ?? {})) headers[k] = v === null || ['string', 'number', 'boolean'].includes(typeof v) ? (v as HeaderValue) : String(v);
  const out: ExchangeMessage = { ...bodyBuffer(m.body), headers, durable: m.durable ?? false, destination: uri, timestamp: Date.now() };
  if (m.message_id !== undefined) out.messageId = String(m.message_id);
  if (m.correlation_id !== undefined) out.correlationId = String(m.correlation_id);
  if (m.content_type !== undefined) out.contentType = String(m.content_type);
  if (m.subject !== undefined) out.type = String(m.subject);
  if (m.priority !== undefined) out.priority = Number(m.priority);
  return out;
}

/** An exchange message as an AMQP message: text and JSON bodies as strings, bytes as binary data. */
export function toAmqp(m: ExchangeMessage): rhea.Message {
  const out: rhea.Message = {
    body: m.bodyType === 'bytes' ? rhea.message.data_section(m.body) : m.body.toString('utf8'),
    durable: m.durable,
    application_properties: { ...m.headers },
  };
  if (m.correlationId !== undefined) out.correlation_id = m.correlationId;
  if (m.contentType !== undefined) out.content_type = m.contentType;
  else if (m.bodyType === 'json') out.content_type = 'application/json';
  if (m.type !== undefined) out.subject = m.type;
  if (m.priority !== undefined) out.priority = m.priority;
  return out;
}

/**
 * `amqp://host:port/address` as a source: a receiver with link credit = `maxInflight`, manual
 * settlement (accepted on ack, modified with delivery-failed on nack, released on release), and
 * one credit back per settled exchange. rhea reconnects by itself.
 */
export class AmqpSource implements Source {
  readonly uri: string;
  private readonly host: string;
  private readonly port: number;
  private readonly address: string;
  private readonly options: URLSearchParams;
  private readonly routeId: string;
  private readonly maxInflight: number;
  private readonly log: RouteLog;
  private connection: Connection | undefined;
  private receiver: Receiver | undefined;
  private paused = false;
  private owed = 0;
  private inflight = 0;

  constructor(uri: string, host: string, port: number, address: string, options: URLSearchParams, routeId: string, maxInflight: number, log: RouteLog) {
    this.uri = uri;
    this.host = host;
    this.port = port;
    this.address = address;
    this.options = options;
    this.routeId = routeId;
    this.maxInflight = maxInflight;
    this.log = log;
  }

  async start(emit: (ex: Exchange) => void): Promise<void> {
    const conn = openConnection(this.host, this.port, this.options, `junction-route-${this.routeId}`);
    this.connection = conn;
    const receiver = conn.open_receiver({ source: { address: this.address, durable: 2, expiry_policy: 'never' }, credit_window: 0, autoaccept: false });
    this.receiver = receiver;
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
    receiver.on('receiver_open', () => this.credit(0));
    conn.on('disconnected', (ctx: EventContext) => this.log.warn({ route: this.routeId, uri: this.uri, err: ctx.error }, 'AMQP source disconnected'));
    this.owed = this.maxInflight;
  }

  private credit(n: number): void {
    this.owed += n;
    if (this.paused || !this.receiver || this.owed <= 0) return;
    this.receiver.add_credit(this.owed);
    this.owed = 0;
  }

  pause(): void {
    this.paused = true;
    this.receiver?.drain_credit();
  }

  resume(): void {
    this.paused = false;
    // A drain took the credit the sender had not used: give the window back.
    const r = this.receiver as (Receiver & { credit?: number }) | undefined;
    if (r) this.owed = Math.max(this.owed, this.maxInflight - this.inflight - (r.credit ?? 0));
    this.credit(0);
  }

  async stop(): Promise<void> {
    const c = this.connection;
    this.connection = undefined;
    this.receiver = undefined;
    if (!c) return;
    await new Promise<void>((resolve) => {
      if (!c.is_open()) return resolve();
      c.once('connection_close', () => resolve());
      c.once('disconnected', () => resolve());
      c.close();
    });
  }
}

/** `amqp://host:port/address` as a destination: resolves when the peer accepts the message. */
export class AmqpProducer implements Producer {
  readonly uri: string;
  private readonly connection: Connection;
  private readonly sender: Sender;
  private readonly waiting = new Map<unknown, { resolve: () => void; reject: (e: Error) => void }>();

  constructor(uri: string, host: string, port: number, address: string, options: URLSearchParams, log: RouteLog) {
    this.uri = uri;
    this.connection = openConnection(host, port, options, `junction-out-${Math.random().toString(36).slice(2, 10)}`);
    this.sender = this.connection.open_sender({ target: { address } });
    const outcome = (ok: boolean, why: string) => (ctx: EventContext) => {
      const w = this.waiting.get(ctx.delivery);
      if (!w) return;
      this.waiting.delete(ctx.delivery);
      if (ok) w.resolve();
      else w.reject(new JunctionError('ERR_ROUTE_ENDPOINT', `${uri}: message ${why}${ctx.delivery?.remote_state?.error ? `: ${JSON.stringify(ctx.delivery.remote_state.error)}` : ''}`));
    };
    this.sender.on('accepted', outcome(true, 'accepted'));
    this.sender.on('rejected', outcome(false, 'rejected'));
    this.sender.on('released', outcome(false, 'released'));
    this.sender.on('modified', outcome(false, 'modified'));
    this.connection.on('disconnected', (ctx: EventContext) => {
      log.warn({ uri, err: ctx.error }, 'AMQP producer disconnected');
      for (const w of this.waiting.values()) w.reject(new JunctionError('ERR_ROUTE_ENDPOINT', `${uri}: disconnected before the outcome`));
      this.waiting.clear();
    });
  }

  async send(ex: Exchange): Promise<void> {
    if (!this.sender.sendable()) await new Promise<void>((resolve) => this.sender.once('sendable', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const delivery = this.sender.send(toAmqp(ex.message));
      this.waiting.set(delivery, { resolve, reject });
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (!this.connection.is_open()) return resolve();
      this.connection.once('connection_close', () => resolve());
      this.connection.once('disconnected', () => resolve());
      this.connection.close();
    });
  }
}
