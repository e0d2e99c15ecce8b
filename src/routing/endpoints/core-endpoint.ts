import type { Consumer, Delivery } from '../../core/consumer.ts';
import type { Core } from '../../core/core.ts';
import { BODY_ENCODING_MARKERS, isReservedProperty, type Origin } from '../../core/reserved.ts';
import { formatDestination, type Destination, type Message, type MessageInput } from '../../core/message.ts';
import { JunctionError } from '../../errors.ts';
import { createExchange } from '../exchange.ts';
import type { Log } from '../../core/ports/log.ts';
import type { Exchange, ExchangeMessage, Outcome, Producer } from '../types.ts';
import type { Source } from './source.ts';

/** Routes' own names (`route.<id>`, `route.<id>.replies.*`) are reserved to routes in the core. */
const ORIGIN: Origin = { component: 'route' };

/** `queue:a` / `topic:a.b` (or a bare name, a queue) as a core destination. */
export function destinationOf(uri: string): Destination {
  if (uri.startsWith('topic:')) return { type: 'topic', name: uri.slice(6).split('?')[0]! };
  if (uri.startsWith('queue:')) return { type: 'queue', name: uri.slice(6).split('?')[0]! };
  return { type: 'queue', name: uri };
}

/** A reply-to that is not a broker address (an address on a remote broker), as the AMQP adapter keeps one. */
export const REPLY_TO_PROPERTY = 'JMS_AMQP_REPLY_TO';

/** `queue:<name>` / `topic:<name>` as a core destination; undefined for any other URI. */
function brokerDestination(uri: string): Destination | undefined {
  return uri.startsWith('queue:') || uri.startsWith('topic:') ? destinationOf(uri) : undefined;
}

/**
 * A core message as an exchange message: every field (src/routing/types.ts says how the envelope
 * spells them). One object and one copy of the properties (the headers steps change), as before.
 */
export function fromCoreMessage(m: Message): ExchangeMessage {
  const out: ExchangeMessage = {
    body: m.body,
    bodyType: m.bodyType,
    headers: { ...m.properties },
    durable: m.durable,
    priority: m.priority,
    messageId: m.id,
    destination: formatDestination(m.destination),
    timestamp: m.timestamp,
  };
  if (m.expiration > 0) out.expiration = m.expiration;
  if (m.correlationId !== undefined) out.correlationId = m.correlationId;
  if (m.type !== undefined) out.type = m.type;
  if (m.contentType !== undefined) out.contentType = m.contentType;
  if (m.groupId !== undefined) out.groupId = m.groupId;
  if (m.groupSeq !== undefined) out.groupSeq = m.groupSeq;
  if (m.replyTo !== undefined) out.replyTo = formatDestination(m.replyTo);
  if (m.userId !== undefined) out.userId = m.userId;
  if (m.deliveryTime !== undefined) out.deliveryTime = m.deliveryTime;
  if (m.originalDestination !== undefined) out.originalDestination = formatDestination(m.originalDestination);
  return out;
}

/**
 * An exchange message as what the core takes for `destination`: every field but the id and
 * timestamp, which the core gives each message it is sent (src/routing/types.ts). Marker properties (core/reserved.ts:
 * `x-amqp-*`) go on only as the route received them with `original`: unchanged, and a body marker
 * only with that same body. One a step set or changed (a TypeScript process()) is dropped, so a route
 * can neither forge what an AMQP consumer receives nor mislabel a body it replaced, while a message
 * a route forwards keeps its AMQP encoding. Costs one character test per header.
 */
export function toCoreMessage(m: ExchangeMessage, destination: Destination, original?: ExchangeMessage): MessageInput {
  const properties = { ...m.headers };
  for (const k in properties) {
    if (k.charCodeAt(0) !== 0x78 /* x */ || !isReservedProperty(k)) continue;
    const kept = original !== undefined && original.headers[k] === properties[k] && (!BODY_ENCODING_MARKERS.includes(k) || original.body === m.body || original.body.equals(m.body));
    if (!kept) delete properties[k];
  }
  const input: MessageInput = { destination, body: m.body, bodyType: m.bodyType, durable: m.durable, properties };
  if (m.priority !== undefined) input.priority = m.priority;
  if (m.expiration !== undefined) input.expiration = m.expiration;
  if (m.correlationId !== undefined) input.correlationId = m.correlationId;
  if (m.type !== undefined) input.type = m.type;
  if (m.contentType !== undefined) input.contentType = m.contentType;
  if (m.groupId !== undefined) input.groupId = m.groupId;
  if (m.groupSeq !== undefined) input.groupSeq = m.groupSeq;
  if (m.userId !== undefined) input.userId = m.userId;
  if (m.deliveryTime !== undefined) input.deliveryTime = m.deliveryTime;
  if (m.replyTo !== undefined) {
    const d = brokerDestination(m.replyTo);
    if (d !== undefined) input.replyTo = d;
    else properties[REPLY_TO_PROPERTY] ??= m.replyTo;
  }
  if (m.originalDestination !== undefined) {
    const d = brokerDestination(m.originalDestination);
    if (d !== undefined) input.originalDestination = d;
  }
  return input;
}

/** The durable subscription a route on a topic consumes from (messages wait there while it is down). */
export function routeSubscriptionName(routeId: string): string {
  return `route.${routeId}`;
}

/**
 * A route source on a broker queue or topic: a core consumer whose credit is the route's
 * `maxInflight`; one credit comes back per settled exchange (after its ack is stored). A topic
 * source is a durable subscription named `route.<id>`.
 */
export class CoreSource implements Source {
  readonly uri: string;
  private readonly core: Core;
  private readonly destination: Destination;
  private readonly routeId: string;
  private readonly maxInflight: number;
  private readonly log: Log;
  private consumer: Consumer | undefined;
  private paused = false;
  private emit: (ex: Exchange) => void = () => {};

  constructor(core: Core, uri: string, routeId: string, maxInflight: number, log: Log) {
    this.core = core;
    this.uri = uri;
    this.destination = destinationOf(uri);
    this.routeId = routeId;
    this.maxInflight = maxInflight;
    this.log = log;
  }

  async start(emit: (ex: Exchange) => void): Promise<void> {
    this.emit = emit;
    this.consumer = await this.core.createConsumer({
      destination: this.destination,
      sink: {
        deliver: (d) => this.deliver(d),
        closed: (reason) => this.log.warn({ route: this.routeId, reason }, 'route source closed by the broker'),
      },
      ...(this.destination.type === 'topic' ? { subscription: { name: routeSubscriptionName(this.routeId), durable: true } } : {}),
      origin: ORIGIN,
    });
    this.topUp();
  }

  private deliver(d: Delivery): void {
    // A bound function, not an arrow in the object literal: the tsx/esbuild name helper would
    // redefine the arrow's `name` once per message.
    const onSettled = this.settle.bind(this, this.consumer!, d.id);
    this.emit(createExchange({ routeId: this.routeId, message: fromCoreMessage(d.message), deliveryCount: d.deliveryCount, onSettled }));
  }

  private settle(c: Consumer, id: number, o: Outcome): void {
    // After a stop the delivery went back to the queue with the consumer: nothing to settle.
    if (c.closed) return;
    let p: Promise<void>;
    try {
      if (o.kind === 'ack') p = c.ack(id);
      else if (o.kind === 'nack') p = c.nack(id, { cause: `route ${this.routeId}: ${o.error.message}` });
      else p = c.nack(id, { undelivered: true });
    } catch (err) {
      this.log.warn({ err, route: this.routeId }, 'settling a route delivery failed');
      return;
    }
    p.then(
      () => this.topUp(),
      (err) => this.log.error({ err, route: this.routeId }, 'storing a route acknowledgement failed'),
    );
  }

  /** Grants credit up to `maxInflight` unsettled deliveries. */
  private topUp(): void {
    const c = this.consumer;
    if (!c || c.closed || this.paused) return;
    const room = this.maxInflight - c.unacked.size - c.credit;
    if (room > 0) c.grant(room);
  }

  pause(): void {
    this.paused = true;
    this.consumer?.setCredit(0);
  }

  resume(): void {
    this.paused = false;
    this.topUp();
  }

  async stop(): Promise<void> {
    this.consumer?.close();
    this.consumer = undefined;
  }

  async remove(): Promise<void> {
    if (this.destination.type !== 'topic') return;
    try {
      await this.core.deleteSubscription(routeSubscriptionName(this.routeId), undefined, ORIGIN);
    } catch (err) {
      if ((err as JunctionError).code !== 'ERR_SUBSCRIPTION_NOT_FOUND') throw err;
    }
  }
}

let replySeq = 0;

interface Waiting {
  resolve(m: ExchangeMessage): void;
  reject(err: Error): void;
}

function stopped(uri: string): JunctionError {
  return new JunctionError('ERR_ROUTE_STATE', `Request to ${uri} abandoned: the route stopped`);
}

/**
 * A producer to a broker queue or topic: resolves once the core has the message (stored, for a
 * durable message). Request-reply (enrich) uses a reply queue of its own and the correlation id.
 */
export class CoreProducer implements Producer {
  readonly uri: string;
  private readonly core: Core;
  private readonly destination: Destination;
  private reply: { queue: string; consumer: Consumer; waiting: Map<string, Waiting> } | undefined;
  private replyStarting: Promise<void> | undefined;
  private closed = false;

  constructor(core: Core, uri: string) {
    this.core = core;
    this.uri = uri;
    this.destination = destinationOf(uri);
  }

  send(ex: Exchange): Promise<unknown> {
    return this.core.send(toCoreMessage(ex.message, this.destination, ex.original));
  }

  async request(ex: Exchange, timeoutMs: number): Promise<ExchangeMessage> {
    if (this.closed) throw stopped(this.uri);
    // A reply queue that failed to start (memory full) is tried again by the next request.
    await (this.replyStarting ??= this.startReplies(ex.routeId).catch((err: unknown) => {
      this.replyStarting = undefined;
      throw err;
    }));
    if (this.closed) throw stopped(this.uri);
    const r = this.reply!;
    const correlationId = `${ex.id}.${++replySeq}`;
    const reply = new Promise<ExchangeMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        r.waiting.delete(correlationId);
        reject(new JunctionError('ERR_ROUTE_TIMEOUT', `No reply from ${this.uri} within ${timeoutMs} ms`));
      }, timeoutMs);
      r.waiting.set(correlationId, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
    });
    const m = toCoreMessage(ex.message, this.destination, ex.original);
    m.correlationId = correlationId;
    m.replyTo = { type: 'queue', name: r.queue };
    m.durable = false;
    try {
      await this.core.send(m);
    } catch (err) {
      r.waiting.delete(correlationId);
      throw err;
    }
    return reply;
  }

  private async startReplies(routeId: string): Promise<void> {
    const queue = `route.${routeId}.replies.${Date.now().toString(36)}${++replySeq}`;
    const waiting = new Map<string, Waiting>();
    const consumer = await this.core.createConsumer({
      destination: { type: 'queue', name: queue },
      autoAck: true,
      origin: ORIGIN,
      sink: {
        deliver: (d) => {
          const id = d.message.correlationId;
          const w = id !== undefined ? waiting.get(id) : undefined;
          if (!w) return; // a late reply (its request timed out): dropped
          waiting.delete(id!);
          w.resolve(fromCoreMessage(d.message));
        },
      },
    });
    consumer.grant(1_000_000);
    this.reply = { queue, consumer, waiting };
  }

  /** Route stopped: requests still waiting fail now (their timers cleared), the reply queue goes. */
  async close(): Promise<void> {
    this.closed = true;
    // A reply consumer still being created is closed too, once it exists.
    await this.replyStarting?.catch(() => {}); // its error went to the request that started it
    if (!this.reply) return;
    const { queue, consumer, waiting } = this.reply;
    this.reply = undefined;
    for (const w of waiting.values()) w.reject(stopped(this.uri));
    waiting.clear();
    consumer.close();
    const q = this.core.getQueue(queue);
    if (q) await this.core.deleteQueue(q);
  }
}
