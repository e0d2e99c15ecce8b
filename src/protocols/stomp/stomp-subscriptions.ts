import { JunctionError } from '../../errors.ts';
import type { BrowseCursor, ConsumerHandle, Delivery, TransactionHandle } from '../../core/handles.ts';
import type { Core } from '../../core/core.ts';
import { CreditWindow } from '../../core/credit-window.ts';
import type { Origin } from '../../core/reserved.ts';
import type { Logger } from '../../log.ts';
import type { TransportConnection } from '../../transport/connection.ts';
import type { ConnectionSubscription } from '../../transport/protocol-adapter.ts';
import { encodeFrame } from './encoder.ts';
import { header, type StompFrame, type StompVersion } from './frame.ts';
import type { HeartBeats } from './heart-beat.ts';
import { messageFrame } from './mapping.ts';
import { StompAcks } from './stomp-acks.ts';
import type { StompConfig } from './stomp-config.ts';
import { parseSubscribe, type AckMode } from './subscribe-request.ts';

/** Messages a queue browser writes per event-loop turn. */
const BROWSE_BATCH = 256;

/** One SUBSCRIBE of a connection. */
export interface Subscription {
  id: string;
  destination: string;
  /** The destination in the core's naming, its selector, and whether it is a durable subscription (management lists them). */
  coreName: string;
  selector: string | undefined;
  durable: boolean;
  ackMode: AckMode;
  consumer: ConsumerHandle | null;
  /** Unsettled deliveries, in delivery order: delivery id -> message id. */
  unacked: Map<number, string>;
  byMessageId: Map<string, number>;
  /** The prefetch window; credit taken from the consumer or returned by acks while the connection is congested waits here for the drain. */
  credit: CreditWindow;
}

/** What a connection's subscriptions share with their session. */
export interface SubscriptionsInit {
  conn: TransportConnection;
  core: Core;
  cfg: StompConfig;
  log: Logger;
  origin: Origin;
  /** Told of every write (the session's heart-beats). */
  beats: HeartBeats;
  /** Whether the session is closing. */
  closing(): boolean;
}

/**
 * A STOMP connection's subscriptions: SUBSCRIBE and UNSUBSCRIBE, the core consumers behind them,
 * MESSAGE frames out (deliveries and queue browsing), and their credit: the prefetch window,
 * returned by acks (or by the write, in auto mode) and held back while the connection is congested.
 * Acknowledgement bookkeeping is in {@link acks}.
 */
export class StompSubscriptions {
  /** Set on CONNECT. */
  version: StompVersion = '1.0';
  clientId: string | undefined;
  /** The connection's origin; set again on CONNECT, when the login gives it its subject. */
  origin: Origin;
  readonly acks = new StompAcks<Subscription>();
  private readonly map = new Map<string, Subscription>();
  private readonly conn: TransportConnection;
  private readonly core: Core;
  private readonly cfg: StompConfig;
  private readonly log: Logger;
  private readonly beats: HeartBeats;
  private readonly closing: () => boolean;
  /** Queue browsers waiting for the socket to drain. */
  private readonly drainWaiters: Array<() => void> = [];

  constructor(init: SubscriptionsInit) {
    this.conn = init.conn;
    this.core = init.core;
    this.cfg = init.cfg;
    this.log = init.log;
    this.origin = init.origin;
    this.beats = init.beats;
    this.closing = init.closing;
  }

  /** The subscription and delivery an ACK or NACK names (see {@link StompAcks.find}). */
  findDelivery(frame: StompFrame): { sub: Subscription; deliveryId: number } {
    return this.acks.find(frame, this.version, this.map);
  }

  /** After a commit: forgets the acks of `tx` the core settled. */
  committed(tx: TransactionHandle): void {
    for (const { consumer } of tx.acks) {
      const sub = [...this.map.values()].find((s) => s.consumer === consumer);
      if (!sub) continue;
      this.acks.settledBy(sub, (id) => consumer.unacked.has(id));
    }
  }

  /** The connection is gone: every consumer closes (unacked messages go back), browsers stop. */
  closeAll(): void {
    for (const sub of [...this.map.values()]) this.close(sub);
    for (const w of this.drainWaiters.splice(0)) w();
  }

  /** The subscriptions as management lists them (issue 15): a copy, made when asked. */
  describe(): ConnectionSubscription[] {
    const out: ConnectionSubscription[] = [];
    for (const s of this.map.values()) {
      const c = s.consumer;
      out.push({ id: s.id, destination: s.coreName, queue: c?.queueName, consumerId: c?.id, selector: s.selector, durable: s.durable, unacked: c ? c.unacked.size : 0 });
    }
    return out;
  }

  private write(frame: StompFrame): void {
    this.beats.wrote();
    this.conn.write(encodeFrame(frame, this.version));
  }

  /** Creates the subscription; returns the function that starts its flow of messages. */
  async subscribe(frame: StompFrame): Promise<() => void> {
    const req = parseSubscribe(frame, {
      version: this.version,
      clientId: this.clientId,
      defaultPrefetch: this.cfg.defaultPrefetch,
      maxPrefetch: this.cfg.maxPrefetch,
      admit: (id) => {
        if (this.map.has(id)) throw new JunctionError('ERR_STOMP_PROTOCOL', `Subscription id '${id.slice(0, 60)}' is already in use`);
        if (this.map.size >= this.cfg.maxSubscriptions) {
          throw new JunctionError('ERR_STOMP_SUBSCRIPTION_LIMIT', `A connection may hold at most ${this.cfg.maxSubscriptions} subscriptions (stomp.maxSubscriptions)`);
        }
      },
    });
    const { id, prefetch } = req;
    const sub: Subscription = { id, destination: req.destination, coreName: req.dest.name, selector: req.selector, durable: req.subscription?.durable === true, ackMode: req.ackMode, consumer: null, unacked: new Map(), byMessageId: new Map(), credit: new CreditWindow(Math.max(1, prefetch)) };
    this.map.set(id, sub);
    if (req.browser) {
      // Refused here: a reserved name, a bad selector or a denied `browse` gets its ERROR in place of
      // the RECEIPT (a denial leaves the connection open, so the id is free again). The selector
      // filters what the browser shows (ActiveMQ sets it on the browser's ConsumerInfo too).
      let browser: BrowseCursor;
      try {
        browser = this.core.browser(req.dest.name, this.origin, req.selector);
      } catch (err) {
        this.map.delete(id);
        throw err;
      }
      return () => void this.browse(sub, browser);
    }
    try {
      sub.consumer = await this.core.createConsumer({
        destination: req.dest,
        ...(req.selector !== undefined ? { selector: req.selector } : {}),
        exclusive: req.exclusive,
        autoAck: req.ackMode === 'auto',
        ...(req.subscription ? { subscription: req.subscription } : {}),
        origin: this.origin,
        sink: {
          deliver: (d) => this.deliver(sub, d),
          closed: (reason) => this.log.info({ subscription: id, reason }, 'stomp subscription closed by broker'),
        },
      });
    } catch (err) {
      this.map.delete(id);
      throw err;
    }
    const consumer = sub.consumer;
    return () => {
      if (this.closing()) consumer.close();
      else this.giveCredit(sub, sub.credit.size);
    };
  }

  /**
   * ActiveMQ queue browsing: the queue's messages, then an empty MESSAGE with `browser:end`. Written a
   * batch per event-loop turn and only while the socket takes them (a queue of a million messages
   * neither holds the loop nor piles up in the outgoing buffer); stops when the subscription goes.
   */
  private async browse(sub: Subscription, browser: BrowseCursor): Promise<void> {
    for (;;) {
      if (this.closing() || this.map.get(sub.id) !== sub) return;
      // With a selector a batch may be empty before the end: `done` says when the queue is walked.
      const batch = browser.next(BROWSE_BATCH);
      if (browser.done) break;
      for (const m of batch) this.write(messageFrame({ id: 0, message: m, deliveryCount: 0, redelivered: false, queue: m.destination.name }, sub.id, undefined, this.version));
      await new Promise<void>((resolve) => (this.conn.congested ? this.drainWaiters.push(resolve) : setImmediate(resolve)));
    }
    this.write({ command: 'MESSAGE', headers: [['subscription', sub.id], ['message-id', 'BrowseDone'], ['destination', sub.destination], ['browser', 'end']], body: Buffer.alloc(0) });
  }

  private deliver(sub: Subscription, d: Delivery): void {
    let ackId: string | undefined;
    if (sub.ackMode !== 'auto') {
      ackId = String(d.id);
      this.acks.delivered(sub, d.id, d.message.id);
    }
    this.write(messageFrame(d, sub.id, ackId, this.version));
    // Auto-ack credit comes back as soon as the socket can take more.
    if (sub.ackMode === 'auto') this.giveCredit(sub, 1);
    const consumer = sub.consumer;
    if (consumer !== null && consumer.credit > 0 && this.conn.congested) {
      // Nothing more is written into a socket over its high-water mark, whatever the prefetch and the
      // ack mode (an auto-acked message written there has already left its queue, so the queue's
      // memory limits no longer hold it back). The rest of the credit waits for the drain.
      sub.credit.hold(consumer.credit);
      consumer.setCredit(0);
    }
  }

  /** Returns credit to a subscription's consumer, or holds it while the connection is congested. */
  giveCredit(sub: Subscription, n: number): void {
    const now = sub.credit.give(n, this.conn.congested);
    if (now > 0) sub.consumer?.grant(now);
  }

  /** The connection drained: browsers go on, and held credit goes back. */
  drained(): void {
    for (const w of this.drainWaiters.splice(0)) w();
    for (const sub of this.map.values()) {
      if (sub.credit.held > 0 && sub.consumer) {
        const n = sub.credit.release();
        // Granting writes, which may congest the socket again: deliver then holds what is left anew.
        this.giveCredit(sub, n);
      }
    }
  }

  async unsubscribe(frame: StompFrame): Promise<void> {
    const id = header(frame, 'id') ?? (this.version === '1.0' ? header(frame, 'destination') : undefined);
    if (id === undefined) throw new JunctionError('ERR_STOMP_MISSING_HEADER', 'UNSUBSCRIBE requires an id header');
    const sub = this.map.get(id);
    const durableName = header(frame, 'activemq.subscriptionName') ?? header(frame, 'durable-subscription-name');
    if (!sub && durableName === undefined) throw new JunctionError('ERR_STOMP_PROTOCOL', `No subscription with id '${id}'`);
    if (sub) this.close(sub);
    // ActiveMQ: UNSUBSCRIBE naming the durable subscription deletes it; otherwise it only goes inactive.
    if (durableName !== undefined) await this.core.deleteSubscription(durableName, this.clientId, this.origin);
  }

  private close(sub: Subscription): void {
    this.map.delete(sub.id);
    this.acks.closed(sub);
    sub.consumer?.close();
  }
}
