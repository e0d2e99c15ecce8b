import { JunctionError } from '../errors.ts';
import type { Message } from '../core/message.ts';
import type { RecoveredState, StateValue, Store, StoreOp, StoredQueue } from '../core/ports/store.ts';

interface Held {
  key: string;
  message: Message;
  refs: Map<string, number>;
}

/**
 * Keeps durable state in process memory. It survives a broker `close()` and re-`open()` in the same
 * process (embedded use and tests of the recovery path), not a process restart.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  private readonly messages = new Map<string, Held>();
  private readonly queues = new Map<string, StoredQueue>();
  private readonly states = new Map<string, StateValue>();
  private opened = false;

  async open(): Promise<RecoveredState> {
    this.opened = true;
    // Paged non-durable messages do not survive a restart.
    for (const [key, h] of this.messages) if (!h.message.durable) this.messages.delete(key);
    return {
      queues: [...this.queues.values()],
      messages: [...this.messages.values()].map((h) => ({
        key: h.key,
        size: h.message.body.length,
        refs: [...h.refs].map(([queue, deliveryCount]) => ({ queue, deliveryCount })),
      })),
      states: [...this.states].map(([key, value]) => ({ key, value })),
    };
  }

  async read(keys: string[]): Promise<Array<Message | undefined>> {
    if (!this.opened) throw new JunctionError('ERR_STORE_CLOSED');
    return keys.map((k) => this.messages.get(k)?.message);
  }

  async commit(batch: StoreOp[]): Promise<void> {
    if (!this.opened) throw new JunctionError('ERR_STORE_CLOSED');
    for (const op of batch) this.apply(op);
  }

  async close(): Promise<void> {
    this.opened = false;
  }

  /** Number of stored messages (each counted once however many queues reference it). */
  get size(): number {
    return this.messages.size;
  }

  private apply(op: StoreOp): void {
    switch (op.op) {
      case 'addMessage':
        if (!this.messages.has(op.key)) this.messages.set(op.key, { key: op.key, message: op.message, refs: new Map() });
        return;
      case 'addRef':
        this.messages.get(op.key)?.refs.set(op.queue, 0);
        return;
      case 'removeRef': {
        const h = this.messages.get(op.key);
        if (!h) return;
        h.refs.delete(op.queue);
        if (h.refs.size === 0) this.messages.delete(op.key);
        return;
      }
      case 'deliveryCount': {
        const h = this.messages.get(op.key);
        if (h?.refs.has(op.queue)) h.refs.set(op.queue, op.count);
        return;
      }
      case 'createQueue':
        this.queues.set(op.queue.name, op.queue);
        return;
      case 'deleteQueue':
        this.queues.delete(op.queue);
        for (const [id, h] of this.messages) {
          if (h.refs.delete(op.queue) && h.refs.size === 0) this.messages.delete(id);
        }
        return;
      case 'putState':
        if (op.value === null) this.states.delete(op.key);
        else this.states.set(op.key, structuredClone(op.value));
        return;
    }
  }
}
