import type { StoreOp } from '../store/store.ts';
import type { Message } from './message.ts';
import { isWildcard, wildcardMatches } from './wildcard.ts';

/**
 * The internal queue name that retained messages are referenced from in the store. It is never
 * consumed; recovery rebuilds the topic index from its references.
 */
export const RETAINED_QUEUE = '$retained';

interface Retained {
  key: string;
  message: Message;
}

/**
 * The last retained message of each topic (MQTT retained messages, kept in the core so every
 * protocol's sends can set them and they survive a restart). A retained message is stored with the
 * existing ops: an `addMessage` plus an `addRef` to {@link RETAINED_QUEUE}; replacing one removes the
 * old reference in the same batch; an empty body clears it.
 */
export class RetainedMessages {
  private readonly byTopic = new Map<string, Retained>();

  get size(): number {
    return this.byTopic.size;
  }

  /**
   * Adds to `ops` (the send's batch, which may already hold `addMessage` for `key`) what makes `m`
   * the retained message of its topic, or clears it for an empty body, and applies it in memory at
   * once, so a later send in the same tick replaces this one. Returns an undo for a failed batch.
   */
  update(key: string, m: Message, ops: StoreOp[]): () => void {
    const topic = m.destination.name;
    const old = this.byTopic.get(topic);
    if (old) ops.push({ op: 'removeRef', queue: RETAINED_QUEUE, key: old.key });
    if (m.body.length === 0) {
      this.byTopic.delete(topic);
    } else {
      // A non-durable message (MQTT QoS 0) is not recovered by the store, so its retained copy is a
      // durable instance of its own; a durable one shares the send's stored instance.
      const own = m.durable ? key : `${key}r`;
      const stored = m.durable ? m : { ...m, durable: true };
      if (!ops.some((o) => o.op === 'addMessage' && o.key === own)) ops.push({ op: 'addMessage', key: own, message: stored });
      ops.push({ op: 'addRef', queue: RETAINED_QUEUE, key: own });
      this.byTopic.set(topic, { key: own, message: m });
    }
    return () => {
      const now = this.byTopic.get(topic);
      if (m.body.length === 0 ? now === undefined : now?.message === m) {
        if (old) this.byTopic.set(topic, old);
        else this.byTopic.delete(topic);
      }
    };
  }

  /** Recovery: a stored retained message. Returns the key of the one it replaces, if any (to remove). */
  recover(key: string, m: Message): string | undefined {
    const topic = m.destination.name;
    const old = this.byTopic.get(topic);
    this.byTopic.set(topic, { key, message: m });
    return old?.key;
  }

  /** The retained message of a topic. */
  get(topic: string): Message | undefined {
    return this.byTopic.get(topic)?.message;
  }

  /** Retained messages whose topic matches a core pattern (`*`, `>`), in topic order. */
  match(pattern: string): Message[] {
    if (!isWildcard(pattern)) {
      const exact = this.byTopic.get(pattern);
      return exact ? [exact.message] : [];
    }
    const out: Message[] = [];
    for (const [topic, r] of this.byTopic) if (wildcardMatches(pattern, topic)) out.push(r.message);
    return out;
  }
}
