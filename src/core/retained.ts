import type { StoreOp } from './ports/store.ts';
import { messageSize, type Message } from './message.ts';

/**
 * The internal queue name that retained messages are referenced from in the store. It is never
 * consumed; recovery rebuilds the topic index from its references.
 */
export const RETAINED_QUEUE = '$retained';

/** How many retained messages the broker keeps, and how many bytes of them (config `mqtt`). */
export interface RetainedLimits {
  /** Topics with a retained message; at the cap a new topic's retained message is not kept. */
  maxMessages: number;
  /** Bytes of retained messages (`messageSize`); beyond it likewise. */
  maxBytes: number;
}

export const DEFAULT_RETAINED_LIMITS: RetainedLimits = { maxMessages: 100_000, maxBytes: 64 * 1024 * 1024 };

interface Retained {
  key: string;
  message: Message;
  size: number;
  /** Order of first retention, kept when replaced: matches come back in this order. */
  seq: number;
}

interface TopicNode {
  children: Map<string, TopicNode> | null;
  retained: Retained | null;
}

/** What `update` reports when a retained message is not kept for a limit. */
export interface RetainedRefusal {
  topic: string;
  size: number;
  count: number;
  bytes: number;
  limits: RetainedLimits;
}

/**
 * The last retained message of each topic (MQTT retained messages, kept in the core so every
 * protocol's sends can set them and they survive a restart). A retained message is stored with the
 * existing ops: an `addMessage` plus an `addRef` to {@link RETAINED_QUEUE}; replacing one removes the
 * old reference in the same batch; an empty body clears it.
 *
 * They are held in memory, so they are capped ({@link RetainedLimits}) and their bytes are reported
 * to the memory limits (`onBytes`, counted in `globalMaxSizeBytes`). At a cap a retained send to a new
 * topic, or one that would grow past the byte cap, is not retained (EMQX `max_retained_messages`:
 * new ones are not stored), and one it would have replaced is cleared (it is stale); the send itself
 * still reaches live subscribers; clearing or shrinking always works. Topics are indexed by segment, so a wildcard SUBSCRIBE visits only the matching
 * branches instead of every retained topic (a SUBSCRIBE of thousands of wildcard filters against
 * 100,000 retained topics scanned them all once per filter).
 */
export class RetainedMessages {
  private readonly byTopic = new Map<string, Retained>();
  private readonly root: TopicNode = { children: null, retained: null };
  private readonly limits: RetainedLimits;
  private readonly onBytes: (delta: number) => void;
  private readonly onRefused: (r: RetainedRefusal) => void;
  private bytesHeld = 0;
  private seq = 0;

  constructor(limits: RetainedLimits = DEFAULT_RETAINED_LIMITS, onBytes: (delta: number) => void = () => {}, onRefused: (r: RetainedRefusal) => void = () => {}) {
    this.limits = limits;
    this.onBytes = onBytes;
    this.onRefused = onRefused;
  }

  get size(): number {
    return this.byTopic.size;
  }

  /** Bytes of the retained messages held (as `messageSize` counts them). */
  get bytes(): number {
    return this.bytesHeld;
  }

  /**
   * Adds to `ops` (the send's batch, which may already hold `addMessage` for `key`) what makes `m`
   * the retained message of its topic, or clears it for an empty body, and applies it in memory at
   * once, so a later send in the same tick replaces this one. Returns an undo for a failed batch.
   * Over a limit nothing is added (the send goes on unretained, the topic's old one is cleared) and
   * `onRefused` is told.
   */
  update(key: string, m: Message, ops: StoreOp[]): () => void {
    const topic = m.destination.name;
    const old = this.byTopic.get(topic);
    let size = 0;
    if (m.body.length > 0) {
      size = messageSize(m);
      const count = this.byTopic.size + (old ? 0 : 1);
      const bytes = this.bytesHeld - (old?.size ?? 0) + size;
      if (count > this.limits.maxMessages || bytes > this.limits.maxBytes) {
        this.onRefused({ topic, size, count: this.byTopic.size, bytes: this.bytesHeld, limits: this.limits });
        if (!old) return noop;
        // The topic's retained message is no longer the one it holds ([MQTT-3.3.1-5]: a new one
        // replaces it): kept, a new subscriber would get a value the publisher has since replaced.
        // Cleared instead, as an empty retained message would (clearing always fits).
        ops.push({ op: 'removeRef', queue: RETAINED_QUEUE, key: old.key });
        this.remove(topic);
        return () => {
          if (!this.byTopic.has(topic)) this.put(topic, old);
        };
      }
    }
    if (old) ops.push({ op: 'removeRef', queue: RETAINED_QUEUE, key: old.key });
    let added: Retained | undefined;
    if (m.body.length === 0) {
      this.remove(topic);
    } else {
      // A non-durable message (MQTT QoS 0) is not recovered by the store, so its retained copy is a
      // durable instance of its own; a durable one shares the send's stored instance.
      const own = m.durable ? key : `${key}r`;
      const stored = m.durable ? m : { ...m, durable: true };
      if (!ops.some((o) => o.op === 'addMessage' && o.key === own)) ops.push({ op: 'addMessage', key: own, message: stored });
      ops.push({ op: 'addRef', queue: RETAINED_QUEUE, key: own });
      added = { key: own, message: m, size, seq: old?.seq ?? ++this.seq };
      this.put(topic, added);
    }
    return () => {
      const now = this.byTopic.get(topic);
      if (added === undefined ? now === undefined : now === added) {
        if (old) this.put(topic, old);
        else this.remove(topic);
      }
    };
  }

  /** Recovery: a stored retained message (kept whatever the limits: it was accepted). Returns the key of the one it replaces, if any (to remove). */
  recover(key: string, m: Message): string | undefined {
    const topic = m.destination.name;
    const old = this.byTopic.get(topic);
    this.put(topic, { key, message: m, size: messageSize(m), seq: old?.seq ?? ++this.seq });
    return old?.key;
  }

  /** The retained message of a topic. */
  get(topic: string): Message | undefined {
    return this.byTopic.get(topic)?.message;
  }

  /** Retained messages whose topic matches a core pattern (`*` one segment, `>`/`#` the rest, zero or more), in order of first retention. */
  match(pattern: string): Message[] {
    const exact = this.byTopic.get(pattern);
    if (exact) return [exact.message];
    const p = pattern.split('.');
    if (!p.some((s) => s === '*' || s === '>' || s === '#')) return [];
    const found: Retained[] = [];
    const stack: Array<[TopicNode, number]> = [[this.root, 0]];
    while (stack.length > 0) {
      const [node, i] = stack.pop()!;
      if (i === p.length) {
        if (node.retained) found.push(node.retained);
        continue;
      }
      const seg = p[i]!;
      if (seg === '>' || seg === '#') {
        collect(node, found);
      } else if (seg === '*') {
        if (node.children) for (const c of node.children.values()) stack.push([c, i + 1]);
      } else {
        const c = node.children?.get(seg);
        if (c) stack.push([c, i + 1]);
      }
    }
    found.sort((a, b) => a.seq - b.seq);
    return found.map((r) => r.message);
  }

  private put(topic: string, r: Retained): void {
    const old = this.byTopic.get(topic);
    this.byTopic.set(topic, r);
    let node = this.root;
    for (const seg of topic.split('.')) {
      let c = (node.children ??= new Map()).get(seg);
      if (!c) node.children.set(seg, (c = { children: null, retained: null }));
      node = c;
    }
    node.retained = r;
    this.account(r.size - (old?.size ?? 0));
  }

  private remove(topic: string): void {
    const old = this.byTopic.get(topic);
    if (!old) return;
    this.byTopic.delete(topic);
    const path: TopicNode[] = [this.root];
    const segs = topic.split('.');
    for (const seg of segs) {
      const c = path[path.length - 1]!.children?.get(seg);
      if (!c) break;
      path.push(c);
    }
    if (path.length === segs.length + 1) {
      path[path.length - 1]!.retained = null;
      // Prune emptied branches so churned topics do not keep nodes.
      for (let i = path.length - 1; i > 0; i--) {
        const n = path[i]!;
        if (n.retained || (n.children && n.children.size > 0)) break;
        path[i - 1]!.children!.delete(segs[i - 1]!);
      }
    }
    this.account(-old.size);
  }

  private account(delta: number): void {
    if (delta === 0) return;
    this.bytesHeld += delta;
    this.onBytes(delta);
  }
}

function collect(node: TopicNode, out: Retained[]): void {
  const stack = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.retained) out.push(n.retained);
    if (n.children) for (const c of n.children.values()) stack.push(c);
  }
}

function noop(): void {}
