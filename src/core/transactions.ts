import { JunctionError } from '../errors.ts';
import type { StoreOp } from './ports/store.ts';
import type { CoreContext } from './core-context.ts';
import type { Target } from './memory-limits.ts';
import { messageSize, type Message } from './message.ts';
import type { PostOffice } from './post-office.ts';
import type { ProtocolState } from './protocol-state.ts';
import { Transaction } from './transaction.ts';

/**
 * Local transactions (Artemis's ResourceManager for local ones): opens them under the transaction
 * limits, and commits a transaction's sends, acks and protocol state with one store batch.
 */
export class Transactions {
  private readonly ctx: CoreContext;
  private readonly postOffice: PostOffice;
  private readonly protocolState: ProtocolState;
  private txSeq = 0;

  constructor(ctx: CoreContext, postOffice: PostOffice, protocolState: ProtocolState) {
    this.ctx = ctx;
    this.postOffice = postOffice;
    this.protocolState = protocolState;
  }

  /** See `Core.createTransaction`. */
  create(owner: object | undefined): Transaction {
    this.ctx.assertOpen();
    return new Transaction(++this.txSeq, this.ctx.txBudget, owner);
  }

  /** Applies a transaction's sends and acks with one store batch. */
  async commit(tx: Transaction): Promise<void> {
    const { ctx, postOffice } = this;
    if (tx.state !== 'active') throw new JunctionError('ERR_TX_UNKNOWN', `Transaction ${tx.id} is not active`);
    tx.state = 'committing';
    // Its messages are admitted to their queues below like any send: the transaction's hold ends here
    // (kept, it would count them twice and a BLOCK queue could wait on the transaction itself).
    tx.release();
    const ops: StoreOp[] = [];
    const sends: Array<{ key: string; m: Message; targets: Target[] }> = [];
    try {
      for (const m of tx.sends) {
        const targets = await ctx.limits.admit(messageSize(m), postOffice.route(m));
        const key = ctx.nextKey();
        ops.push(...postOffice.addOps(key, m, targets));
        sends.push({ key, m, targets });
      }
      for (const [consumer, entries] of tx.ackedEntries()) {
        // Settled now, so a consumer closing while the batch is stored cannot return these.
        ops.push(...consumer.queue.settle(consumer, entries));
      }
      for (const [key, value] of tx.states) ops.push({ op: 'putState', key, value });
      if (ops.length > 0) await ctx.persist(ops);
    } catch (err) {
      for (const { m, targets } of sends) ctx.limits.release(messageSize(m), targets);
      throw err;
    } finally {
      tx.state = 'done';
    }
    for (const [key, value] of tx.states) this.protocolState.apply(key, value);
    ctx.sent += sends.length;
    for (const { key, m, targets } of sends) postOffice.enqueueAll(key, m, targets);
  }

  rollback(tx: Transaction): void {
    tx.state = 'done';
    tx.release();
  }
}
