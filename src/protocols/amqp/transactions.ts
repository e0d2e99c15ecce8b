import type { Logger } from '../../log.ts';
import { JunctionError } from '../../errors.ts';
import type { ConsumerHandle } from '../../core/handles.ts';
import type { Core } from '../../core/core.ts';
import type { TransactionHandle } from '../../core/handles.ts';

interface AmqpTransaction {
  tx: TransactionHandle;
  /** Deliveries acked in the transaction: returned to their queue if it rolls back. */
  acks: Array<{ consumer: ConsumerHandle; deliveryId: number }>;
}

/**
 * The transactions a connection declared through its coordinator link, over the core's local
 * transactions. Transaction ids are opaque binaries, unique per connection.
 */
export class Transactions {
  private readonly core: Core;
  private readonly log: Logger;
  private readonly open = new Map<string, AmqpTransaction>();
  private seq = 0;

  constructor(core: Core, log: Logger) {
    this.core = core;
    this.log = log;
  }

  declare(): Buffer {
    const id = Buffer.alloc(8);
    id.writeUInt32BE(++this.seq, 4);
    // This object is the connection's: its open transactions count against transactions.maxPerConnection.
    this.open.set(id.toString('hex'), { tx: this.core.createTransaction(this), acks: [] });
    return id;
  }

  /** The core transaction of an AMQP txn-id; ERR_TX_UNKNOWN if it was never declared or is discharged. */
  get(txnId: string): TransactionHandle {
    return this.entry(txnId).tx;
  }

  ack(txnId: string, consumer: ConsumerHandle, deliveryId: number): void {
    const t = this.entry(txnId);
    t.tx.addAck(consumer, deliveryId, false);
    t.acks.push({ consumer, deliveryId });
  }

  /** Commits (fail false) or rolls back (fail true). A failed commit rolls back and throws ERR_AMQP_TX_ROLLBACK. */
  async discharge(txnId: string, fail: boolean): Promise<void> {
    const t = this.entry(txnId);
    this.open.delete(txnId);
    if (fail) {
      this.rollback(t);
      return;
    }
    try {
      await this.core.commit(t.tx);
    } catch (err) {
      this.rollback(t);
      throw new JunctionError('ERR_AMQP_TX_ROLLBACK', `Transaction rolled back: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Rolls back every open transaction (the connection is gone). */
  rollbackAll(): void {
    for (const t of this.open.values()) this.rollback(t);
    this.open.clear();
  }

  /** Discards the sends; acked deliveries go back to their queue, redelivered (as Artemis does). */
  private rollback(t: AmqpTransaction): void {
    this.core.rollback(t.tx);
    for (const { consumer, deliveryId } of t.acks) {
      if (consumer.closed || !consumer.unacked.has(deliveryId)) continue;
      consumer.nack(deliveryId).catch((err: unknown) => this.log.warn({ err }, 'amqp rollback return failed'));
    }
  }

  private entry(txnId: string): AmqpTransaction {
    const t = this.open.get(txnId);
    if (!t) throw new JunctionError('ERR_TX_UNKNOWN', `Unknown transaction ${txnId}`);
    return t;
  }
}
