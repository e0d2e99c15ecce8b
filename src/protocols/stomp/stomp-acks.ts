import { JunctionError } from '../../errors.ts';
import { header, type StompFrame, type StompVersion } from './frame.ts';

/** What ack bookkeeping keeps per subscription. */
export interface AckedSubscription {
  readonly id: string;
  /** Unsettled deliveries, in delivery order: delivery id -> message id. */
  readonly unacked: Map<number, string>;
  readonly byMessageId: Map<string, number>;
}

/**
 * A connection's unsettled deliveries, for ACK and NACK: STOMP 1.2 acks by the `ack` header of the
 * MESSAGE (the delivery id, found through this index), 1.0 and 1.1 by `message-id` (and optionally
 * `subscription`). Only client and client-individual subscriptions' deliveries are tracked.
 */
export class StompAcks<S extends AckedSubscription> {
  /** Delivery id -> its subscription. */
  private readonly index = new Map<number, S>();

  /** A delivery written to the client, to be acknowledged. */
  delivered(sub: S, deliveryId: number, messageId: string): void {
    sub.unacked.set(deliveryId, messageId);
    sub.byMessageId.set(messageId, deliveryId);
    this.index.set(deliveryId, sub);
  }

  /** The subscription and delivery an ACK or NACK names; throws ERR_DELIVERY_UNKNOWN for none. */
  find(frame: StompFrame, version: StompVersion, subscriptions: ReadonlyMap<string, S>): { sub: S; deliveryId: number } {
    if (version === '1.2') {
      const id = header(frame, 'id');
      if (id === undefined) throw new JunctionError('ERR_STOMP_MISSING_HEADER', `${frame.command} requires an id header`);
      const deliveryId = Number(id);
      const sub = this.index.get(deliveryId);
      if (!sub || !sub.unacked.has(deliveryId)) throw new JunctionError('ERR_DELIVERY_UNKNOWN', `Unknown ack id '${id.slice(0, 60)}'`);
      return { sub, deliveryId };
    }
    const messageId = header(frame, 'message-id');
    if (messageId === undefined) throw new JunctionError('ERR_STOMP_MISSING_HEADER', `${frame.command} requires a message-id header`);
    const subId = header(frame, 'subscription');
    const candidates = subId !== undefined ? [subscriptions.get(subId)] : [...subscriptions.values()];
    for (const sub of candidates) {
      const deliveryId = sub?.byMessageId.get(messageId);
      if (sub && deliveryId !== undefined) return { sub, deliveryId };
    }
    throw new JunctionError('ERR_DELIVERY_UNKNOWN', `Unknown message-id '${messageId.slice(0, 60)}'`);
  }

  /** One delivery is settled. */
  forget(sub: S, deliveryId: number): void {
    const messageId = sub.unacked.get(deliveryId);
    sub.unacked.delete(deliveryId);
    if (messageId !== undefined && sub.byMessageId.get(messageId) === deliveryId) sub.byMessageId.delete(messageId);
    this.index.delete(deliveryId);
  }

  /** A cumulative ack (ack mode `client`): settles `deliveryId` and every earlier one; returns how many. */
  forgetUpTo(sub: S, deliveryId: number): number {
    let n = 0;
    for (const id of [...sub.unacked.keys()]) {
      this.forget(sub, id);
      n++;
      if (id === deliveryId) break;
    }
    return n;
  }

  /** How many deliveries a cumulative ack of `deliveryId` covers (without settling them). */
  countUpTo(sub: S, deliveryId: number): number {
    let n = 0;
    for (const id of sub.unacked.keys()) {
      n++;
      if (id === deliveryId) break;
    }
    return n;
  }

  /** After a commit: forgets the deliveries the core settled (`unsettled` says which it still holds). */
  settledBy(sub: S, unsettled: (deliveryId: number) => boolean): void {
    for (const id of [...sub.unacked.keys()]) if (!unsettled(id)) this.forget(sub, id);
  }

  /** The subscription is gone: its deliveries can no longer be acknowledged. */
  closed(sub: S): void {
    for (const id of sub.unacked.keys()) this.index.delete(id);
  }
}
