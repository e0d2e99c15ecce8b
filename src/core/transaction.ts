import { JunctionError } from '../errors.ts';
import type { Consumer } from './consumer.ts';
import type { Entry } from './entry-list.ts';
import type { StateValue } from './ports/store.ts';
import type { ConsumerHandle, TransactionHandle } from './handles.ts';
import { messageSize, type Message } from './message.ts';

/** What transactions may hold (config `transactions`). */
export interface TransactionLimits {
  /** Bytes one transaction may buffer: its messages' sizes plus {@link ACK_BYTES} per ack. */
  maxBytes: number;
  /** Transactions one owner (a connection) may have open at once. */
  maxPerOwner: number;
}

export const DEFAULT_TRANSACTION_LIMITS: Readonly<TransactionLimits> = { maxBytes: 32 * 1024 * 1024, maxPerOwner: 100 };

/** What one transacted ack is counted as: its record, so that repeated acks cannot grow a transaction for free. */
const ACK_BYTES = 64;

/**
 * The memory all open transactions hold, against the limits (issue 11, item 8): a transaction's
 * sends wait in memory until commit, outside any queue, so without this a client could buffer
 * without bound. Bytes are counted per transaction (`maxBytes`), in total (at most the broker-wide
 * memory limit, `globalMaxBytes`) and reported to the memory limits (`onChange`), so queues page or
 * block sooner while transactions hold memory. A transaction gives its bytes back at commit (its
 * messages are then admitted to their queues like any send), rollback or close.
 */
export class TransactionBudget {
  /** Bytes all open transactions hold. */
  bytes = 0;
  private readonly limits: TransactionLimits;
  private readonly globalMaxBytes: number;
  private readonly onChange: (delta: number) => void;
  /** Open transactions per owner (an adapter's connection object; never client input). */
  private readonly open = new WeakMap<object, number>();

  constructor(limits: TransactionLimits, globalMaxBytes: number, onChange: (delta: number) => void) {
    this.limits = limits;
    this.globalMaxBytes = globalMaxBytes;
    this.onChange = onChange;
  }

  /** Counts a new transaction of `owner`; throws ERR_TX_LIMIT when it has its maximum open. */
  opened(owner: object | undefined): void {
    if (owner === undefined) return;
    const n = this.open.get(owner) ?? 0;
    if (n >= this.limits.maxPerOwner) {
      throw new JunctionError('ERR_TX_LIMIT', `A connection may have at most ${this.limits.maxPerOwner} open transactions`);
    }
    this.open.set(owner, n + 1);
  }

  /** Adds `n` bytes to `tx`, or throws ERR_TX_LIMIT (nothing counted) when a limit would be passed. */
  charge(tx: Transaction, n: number): void {
    if (tx.bytes + n > this.limits.maxBytes) {
      throw new JunctionError('ERR_TX_LIMIT', `Transaction ${tx.id} would hold ${tx.bytes + n} bytes; the limit is ${this.limits.maxBytes} (transactions.maxBytes)`);
    }
    if (this.globalMaxBytes >= 0 && this.bytes + n > this.globalMaxBytes) {
      throw new JunctionError('ERR_TX_LIMIT', `Open transactions would hold ${this.bytes + n} bytes; the broker's memory limit is ${this.globalMaxBytes} (globalMaxSizeBytes)`);
    }
    tx.bytes += n;
    this.bytes += n;
    this.onChange(n);
  }

  /** Gives back everything `tx` holds and its place among its owner's open transactions (once). */
  release(tx: Transaction, owner: object | undefined): void {
    const n = tx.bytes;
    if (n > 0) {
      tx.bytes = 0;
      this.bytes -= n;
      this.onChange(-n);
    }
    if (owner !== undefined) {
      const open = this.open.get(owner) ?? 0;
      if (open <= 1) this.open.delete(owner);
      else this.open.set(owner, open - 1);
    }
  }
}

/**
 * A local transaction: sends and acks buffered until commit, then applied together with one
 * store batch. Rollback discards the sends; acked deliveries stay with their consumer, unsettled,
 * as ActiveMQ does for STOMP ABORT (the client may ack them again or close to have them redelivered).
 */
export class Transaction implements TransactionHandle {
  readonly id: number;
  readonly sends: Message[] = [];
  readonly acks: Array<{ consumer: Consumer; deliveryId: number; cumulative: boolean }> = [];
  /** Protocol state (`Core.putState`) stored in the commit's batch; the last value of a key wins. */
  readonly states = new Map<string, StateValue | null>();
  state: 'active' | 'committing' | 'done' = 'active';
  /** Bytes this transaction holds against its budget (see {@link TransactionBudget}). */
  bytes = 0;
  private readonly budget: TransactionBudget | undefined;
  private readonly owner: object | undefined;
  private released = false;

  /**
   * `budget` counts what the transaction holds against the limits; `owner` (the connection) counts
   * it among that owner's open transactions. Throws ERR_TX_LIMIT when the owner has its maximum open.
   */
  constructor(id: number, budget?: TransactionBudget, owner?: object) {
    this.id = id;
    budget?.opened(owner);
    this.budget = budget;
    this.owner = owner;
  }

  /** Buffers a send; throws ERR_TX_LIMIT (the send is not buffered) over a limit. */
  addSend(m: Message): void {
    this.assertActive();
    this.budget?.charge(this, messageSize(m));
    this.sends.push(m);
  }

  /** Records an ack; the delivery must be unsettled now (checked again at commit). */
  addAck(handle: ConsumerHandle, deliveryId: number, cumulative: boolean): void {
    this.assertActive();
    // Every ConsumerHandle is a Consumer: the core makes them all (handles.ts).
    const consumer = handle as Consumer;
    consumer.take(deliveryId);
    this.budget?.charge(this, ACK_BYTES);
    this.acks.push({ consumer, deliveryId, cumulative });
  }

  /** Gives back what the transaction holds (commit, rollback, close); later calls do nothing. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget?.release(this, this.owner);
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
