import { JunctionError } from '../errors.ts';
import type { Consumer } from './consumer.ts';
import type { Entry } from './entry-list.ts';
import type { StateValue } from '../store/store.ts';
import type { Message } from './message.ts';

/**
 * A local transaction: sends and acks buffered until commit, then applied together with one
 * store batch. Rollback discards the sends; acked deliveries stay with their consumer, unsettled,
 * as ActiveMQ does for STOMP ABORT (the client may ack them again or close to have them redelivered).
 */
export class Transaction {
  readonly id: number;
  readonly sends: Message[] = [];
  readonly acks: Array<{ consumer: Consumer; deliveryId: number; cumulative: boolean }> = [];
  /** Protocol state (`Core.putState`) stored in the commit's batch; the last value of a key wins. */
  readonly states = new Map<string, StateValue | null>();
  state: 'active' | 'committing' | 'done' = 'active';

  constructor(id: number) {
    this.id = id;
  }

  addSend(m: Message): void {
    this.assertActive();
    this.sends.push(m);
  }

  /** Records an ack; the delivery must be unsettled now (checked again at commit). */
  addAck(consumer: Consumer, deliveryId: number, cumulative: boolean): void {
    this.assertActive();
    consumer.take(deliveryId);
    this.acks.push({ consumer, deliveryId, cumulative });
  }

  /** Records a `Core.putState` to store with the commit. */
  putState(key: string, value: StateValue | null): void {
    this.assertActive();
    this.states.set(key, value);
  }

  /** The entries the acks settle, per consumer, skipping deliveries that were returned meanwhile. */
  ackedEntries(): Map<Consumer, Entry[]> {
    const out = new Map<Consumer, Entry[]>();
    for (const { consumer, deliveryId, cumulative } of this.acks) {
      if (consumer.closed || !consumer.unacked.has(deliveryId)) continue;
      let list = out.get(consumer);
      if (!list) out.set(consumer, (list = []));
      if (!cumulative) {
        list.push(consumer.unacked.get(deliveryId)!);
        continue;
      }
      for (const [id, e] of consumer.unacked) {
        list.push(e);
        if (id === deliveryId) break;
      }
    }
    for (const [c, list] of out) out.set(c, [...new Set(list)]);
    return out;
  }

  private assertActive(): void {
    if (this.state !== 'active') throw new JunctionError('ERR_TX_UNKNOWN', `Transaction ${this.id} is no longer active`);
  }
}
