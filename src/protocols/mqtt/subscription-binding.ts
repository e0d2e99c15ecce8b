import type { ConsumerHandle, ConsumerSink, Delivery } from '../../core/handles.ts';
import { CreditWindow } from '../../core/credit-window.ts';
import type { DeliverFunc } from './aedes-types.ts';
import { deliveryQos } from '../../interop/mqtt-message.ts';

/** What a binding needs from its session. */
export interface BindingOwner {
  reportError(err: unknown, what: string): void;
  /** Writes a delivery to the client at `qos`; false when it was not written (the connection is going). */
  send(binding: SubscriptionBinding, d: Delivery, qos: 0 | 1 | 2): boolean;
  /** The connection is closing and will close its bindings itself (in slices). */
  readonly closing?: boolean;
}

/**
 * One MQTT subscription of one connection, bound to a core consumer: the core delivers into it and
 * its session writes each message to the client (aedes's delivery function `notify` only names the
 * subscription). Credit is the window: QoS 1/2 subscriptions get `window` messages in flight,
 * returned on PUBACK/PUBCOMP (held while the connection is congested, back on 'drain'); QoS 0 ones
 * are auto-ack consumers whose credit comes back as each message is written while the connection
 * has room, else when it drains.
 */
export class SubscriptionBinding implements ConsumerSink {
  readonly owner: BindingOwner;
  /** The filter as the client subscribed it (with `$share/<group>/`). */
  readonly filter: string;
  qos: 0 | 1 | 2;
  notify: DeliverFunc;
  /** Removed by aedes and not closed yet: a SUBSCRIBE replacing it in the same tick takes it over. */
  replacing = false;
  /** The durable core subscription's queue name, for a persistent session's subscription. */
  readonly durableName: string | undefined;
  consumer: ConsumerHandle | null = null;
  isClosed = false;
  /** The window; credit held back while the connection is congested (returned on 'drain') or deliveries wait for packet ids. */
  readonly credit: CreditWindow;
  /** [MQTT-4.7.2-1]: a filter starting with a wildcard does not match `$` topics. */
  private readonly blockDollar: boolean;
  private started = false;
  private onClosed: ((b: SubscriptionBinding) => void) | null = null;

  constructor(init: { owner: BindingOwner; filter: string; matchFilter: string; qos: 0 | 1 | 2; notify: DeliverFunc; durableName?: string; window: number }) {
    this.owner = init.owner;
    this.filter = init.filter;
    this.qos = init.qos;
    this.notify = init.notify;
    this.durableName = init.durableName;
    this.credit = new CreditWindow(init.window);
    this.blockDollar = init.matchFilter.startsWith('+') || init.matchFilter.startsWith('#');
  }

  /** Called once when the core closes or deletes this binding's consumer on its own. */
  whenClosed(cb: (b: SubscriptionBinding) => void): void {
    this.onClosed = cb;
  }

  /** Grants the window: only after CONNACK is written, so no PUBLISH goes out before it. */
  start(): void {
    if (this.started || this.isClosed || !this.consumer) return;
    this.started = true;
    this.consumer.grant(this.credit.size);
  }

  deliver(d: Delivery): void {
    const c = this.consumer;
    if (!c || this.isClosed) return;
    const m = d.message;
    if (this.blockDollar && m.destination.name.charCodeAt(0) === 36) {
      this.settleQuietly(d.id);
      c.grant(1);
      return;
    }
    const qos = deliveryQos(m, this.qos);
    // QoS 1/2 are settled on PUBACK (QoS 1) or PUBREC/PUBCOMP (QoS 2), through the packet id the session
    // chooses; one not written (the connection is going) returns to the queue when the consumer closes.
    this.owner.send(this, d, qos);
  }

  /** Returns the credit held back while the connection was congested. */
  repay(): void {
    const n = this.credit.release();
    if (n > 0 && !this.isClosed) this.consumer?.grant(n);
  }

  /** The client acknowledged a delivery: settle it and return its credit. */
  acked(deliveryId: number, returnCredit: boolean): void {
    this.settleQuietly(deliveryId);
    if (returnCredit && !this.isClosed) this.consumer?.grant(1);
  }

  /** Credit back without settling (a QoS 0 message written, or a delivery not sent). */
  returnCredit(): void {
    if (!this.isClosed) this.consumer?.grant(1);
  }

  private settleQuietly(deliveryId: number): void {
    const c = this.consumer;
    if (!c || c.autoAck || !c.unacked.has(deliveryId)) return;
    c.ack(deliveryId).catch((err) => this.owner.reportError(err, 'ack'));
  }

  /** The core closed the consumer on its own (e.g. the subscription was deleted by a clean session elsewhere). */
  closed(_reason: string): void {
    this.isClosed = true;
    this.onClosed?.(this);
  }

  /** Closes the consumer: unsettled deliveries return to the subscription queue (redelivered with DUP). */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.consumer?.close();
    this.onClosed?.(this);
  }
}
