import type { Logger } from '../../log.ts';
import { JunctionError } from '../../errors.ts';
import type { Consumer, ConsumerSink, Delivery } from '../../core/consumer.ts';
import type { Core, SubscriptionSpec } from '../../core/core.ts';
import type { Origin } from '../../core/reserved.ts';
import type { Destination, Message } from '../../core/message.ts';
import { selectorResolver } from '../../core/selector-resolver.ts';
import type { Queue, QueueBrowser } from '../../core/queue.ts';
import type { Selector } from '../../core/selector/types.ts';
import { validateAddress } from '../../core/address.ts';
import { capabilityList, formatAmqpAddress, parseAmqpAddress } from './addressing.ts';
import { toAmqpError } from './amqp-errors.ts';
import { amqpFromDelivery } from './mapping.ts';
import { descriptorOf, isDescribed, type RheaDelivery, type RheaSender, type RheaTerminus, terminusOrNull, holdAttach, onAttachWritten } from './rhea-shapes.ts';
import type { Transactions } from './transactions.ts';

const SELECTOR_FILTER = 'apache.org:selector-filter:string';
/** A queue browser reads the queue this many messages at a time, at most BROWSE_READS_PER_TURN times per turn. */
const BROWSE_BATCH = 256;
const BROWSE_READS_PER_TURN = 8;
const SELECTOR_FILTER_CODE = 0x0000468c00000004;

/** What a consumer link needs from its connection. */
export interface ConsumerLinkHost {
  core: Core;
  log: Logger;
  /** The connection, for the core's reserved names (its temporary queues, others' refused). */
  origin: Origin;
  containerId(): string | undefined;
  transactions: Transactions;
  newTemporaryName(): string;
  closed(link: ConsumerLink): void;
  /** Most deliveries this link may have unsettled or not yet written (`amqp.maxConsumerCredit`). */
  maxCredit: number;
  /**
   * True while the connection's outgoing bytes are over the transport's high-water mark, or this
   * turn's deliveries (which rhea writes on the next tick) add up to more than a turn's share: no
   * credit reaches the core until the connection calls `resume`.
   */
  outboundFull(): boolean;
  /** Counts the bytes of a delivery handed to rhea in this event-loop turn. */
  countOutbound(bytes: number): void;
}

/** A terminus filter map's selector, if it has one (by descriptor, whatever key the client used). */
function selectorOf(filter: Record<string, unknown> | null | undefined): { key: string; value: unknown; selector: string } | undefined {
  if (!filter) return undefined;
  for (const [key, value] of Object.entries(filter)) {
    if (isDescribed(value)) {
      const d = descriptorOf(value);
      if (d === SELECTOR_FILTER || d === SELECTOR_FILTER_CODE) {
        const inner = value.value as { value?: unknown } | string;
        const text = typeof inner === 'string' ? inner : String((inner as { value?: unknown })?.value ?? '');
        return { key, value, selector: text };
      }
    }
  }
  return undefined;
}

/** The subscription name from a link name: Qpid JMS adds `|global` and `|volatileN` suffixes to shared ones. */
function subscriptionName(linkName: string): string {
  const bar = linkName.indexOf('|');
  return bar >= 0 ? linkName.slice(0, bar) : linkName;
}

/**
 * A link on which the broker sends (the client's receiver): one core consumer, with the client's
 * link credit as the consumer's credit, and AMQP outcomes as core acks and nacks.
 */
export class ConsumerLink implements ConsumerSink {
  readonly link: RheaSender;
  private readonly host: ConsumerLinkHost;
  private consumer: Consumer | null = null;
  private temporary: Queue | null = null;
  private durableSubscription: { name: string; clientId?: string } | null = null;
  /** Deliveries handed to rhea; rhea's own delivery_count counts those already transferred. */
  private sent = 0;
  private closing = false;
  /**
   * Set once rhea has written this link's attach answer: until then no credit reaches the core and a
   * browser reads nothing, so no transfer can precede the attach (issue 12, item 9), whatever kind
   * of consumer this is and however early the client's flow came.
   */
  private attached = false;
  /**
   * Pre-settled (at-most-once) link. Its core consumer still settles each delivery only once rhea
   * has it (not as the core hands it over, auto-ack), so that a delivery the session has no room
   * for goes back to the queue, and one that cannot be mapped is dead-lettered, not lost.
   */
  private readonly presettled: boolean;
  /** Set for a queue browser: its cursor over the queue, and matching messages read ahead of credit. */
  private browsing: { cursor: QueueBrowser; selector: Selector | null; ahead: Message[]; end: boolean } | null = null;

  constructor(host: ConsumerLinkHost, link: RheaSender) {
    this.host = host;
    this.link = link;
    const attach = link.remote.attach!;
    this.presettled = attach.snd_settle_mode === 1;
    link.local.attach.snd_settle_mode = attach.snd_settle_mode ?? 2;
    link.local.attach.rcv_settle_mode = 0;
    link.on('sendable', () => this.onFlow());
    link.on('sender_flow', () => this.onFlow());
    link.on('accepted', (ctx: { delivery: RheaDelivery }) => this.onOutcome(ctx.delivery, 'accepted'));
    link.on('released', (ctx: { delivery: RheaDelivery }) => this.onOutcome(ctx.delivery, 'released'));
    link.on('modified', (ctx: { delivery: RheaDelivery }) => this.onOutcome(ctx.delivery, 'modified'));
    link.on('rejected', (ctx: { delivery: RheaDelivery }) => this.onOutcome(ctx.delivery, 'rejected'));
    link.on('settled', (ctx: { delivery: RheaDelivery }) => this.onOutcome(ctx.delivery, 'settled'));
    // rhea dispatches outcomes of dispositions on the next tick: let those that came before the detach settle first.
    link.on('sender_close', () => setImmediate(() => this.onRemoteClose()));
    link.on('sender_error', () => undefined);
    onAttachWritten(link, () => {
      this.attached = true;
      this.onFlow();
    });
    this.open();
  }

  /** Resolves the source, answers the attach with it, then creates the consumer. */
  private open(): void {
    const remote = this.link.remote.attach!;
    const source = terminusOrNull(remote.source);
    let spec: { destination: Destination; selector?: string; subscription?: SubscriptionSpec };
    let reply: Record<string, unknown>;
    try {
      if (!source || ((source.address === undefined || source.address === null) && !source.dynamic)) {
        // Qpid JMS looks a durable subscription up by link name with no source (unsubscribe).
        const found = this.existingSubscription();
        if (!found) throw new JunctionError('ERR_SUBSCRIPTION_NOT_FOUND', `No subscription for link ${remote.name}`);
        spec = found.spec;
        reply = found.reply;
      } else if (source.dynamic) {
        const name = this.host.newTemporaryName();
        this.temporary = this.host.core.createTemporaryQueue(name, this.host.origin);
        spec = { destination: { type: 'queue', name: this.temporary.name } };
        reply = { ...terminusFields(source), address: this.temporary.name, dynamic: true, filter: undefined };
      } else {
        const caps = capabilityList(source.capabilities);
        const { destination } = parseAmqpAddress(source.address!, caps);
        validateAddress(destination.name, destination.type === 'queue' ? 'queue' : 'subscribe');
        const sel = selectorOf(source.filter);
        spec = { destination };
        if (sel && sel.selector.trim() !== '') {
          this.host.core.compileSelector(sel.selector); // refused at attach when it does not parse (configured limits)
          spec.selector = sel.selector;
        }
        const durable = (source.durable ?? 0) > 0 || source.expiry_policy === 'never';
        const shared = caps.includes('shared');
        if (destination.type === 'topic' && (durable || shared)) {
          const sub = subscriptionName(remote.name);
          const clientId = this.host.containerId();
          const global = caps.includes('global') || clientId === undefined;
          spec.subscription = shared
            ? { name: global ? sub : `${clientId}.${sub}`, durable, shared: true }
            : { name: sub, clientId: clientId ?? 'anonymous', durable };
          if (durable) this.durableSubscription = shared ? { name: spec.subscription.name } : { name: sub, clientId: clientId ?? 'anonymous' };
        }
        this.host.core.assertAddress(destination);
        reply = { ...terminusFields(source), filter: sel ? { [sel.key]: sel.value } : undefined };
        if (source.distribution_mode === 'copy' && destination.type === 'queue') {
          // A queue browser (Qpid JMS QueueBrowser): a snapshot of the queue, nothing consumed.
          this.startBrowsing(destination.name, spec.selector);
          this.link.set_source(stripUndefined(reply));
          return;
        }
      }
      // A reserved name (another connection's temporary queue, an MQTT session's subscription) is refused at attach.
      this.host.core.assertMayConsume({ ...spec, origin: this.host.origin });
    } catch (err) {
      this.refuse(err);
      return;
    }
    this.link.set_source(stripUndefined(reply));
    this.link.local.attach.offered_capabilities = undefined;
    const release = holdAttach(this.link);
    this.host.core
      .createConsumer({ destination: spec.destination, sink: this, autoAck: false, origin: this.host.origin, ...(spec.selector !== undefined ? { selector: spec.selector } : {}), ...(spec.subscription ? { subscription: spec.subscription } : {}) })
      .then((c) => {
        release();
        if (this.closing) {
          c.close();
          return;
        }
        // Credit comes once the attach is written (onAttachWritten); the hold keeps it unwritten until now.
        this.consumer = c;
        this.onFlow();
      })
      .catch((err: unknown) => {
        release();
        this.fail(err);
      });
  }

  /** The durable subscription a source-less attach refers to (link name + container id). */
  private existingSubscription(): { spec: { destination: Destination; selector?: string; subscription: SubscriptionSpec }; reply: Record<string, unknown> } | undefined {
    const name = subscriptionName(this.link.name);
    const clientId = this.host.containerId();
    const candidates = [clientId !== undefined ? `${clientId}.${name}` : undefined, name].filter((x): x is string => x !== undefined);
    for (const qname of candidates) {
      const q = this.host.core.getQueue(qname);
      if (!q || q.kind !== 'subscription' || q.topic === undefined) continue;
      const shared = q.shared;
      const subscription: SubscriptionSpec = shared ? { name: q.name, durable: q.durable, shared: true } : { name: q.subscriptionName ?? name, durable: q.durable, ...(q.clientId !== undefined ? { clientId: q.clientId } : {}) };
      if (q.durable) this.durableSubscription = shared ? { name: q.name } : { name: q.subscriptionName ?? name, ...(q.clientId !== undefined ? { clientId: q.clientId } : {}) };
      const spec: { destination: Destination; selector?: string; subscription: SubscriptionSpec } = { destination: { type: 'topic', name: q.topic }, subscription };
      if (q.filter) spec.selector = q.filter.text;
      const reply: Record<string, unknown> = {
        address: formatAmqpAddress({ type: 'topic', name: q.topic }),
        durable: 2,
        expiry_policy: 'never',
        capabilities: shared ? ['topic', 'shared'] : ['topic'],
      };
      return { spec, reply };
    }
    return undefined;
  }

  // ---------------------------------------------------------------- delivery

  deliver(d: Delivery): void {
    const outgoing = this.link.session.outgoing.deliveries as unknown as { available(): number };
    if (outgoing.available() === 0 && this.consumer) {
      // The session's unsettled window is full (its links share it): stop, give this one back, resume on 'sendable'.
      const c = this.consumer;
      c.setCredit(0);
      c.nack(d.id, { undelivered: true }).catch((err: unknown) => this.host.log.warn({ err }, 'amqp return failed'));
      return;
    }
    this.transfer(d);
  }

  /** Hands one delivery to rhea; a failure stops this consumer, never the core's dispatch. */
  private transfer(d: Delivery): void {
    let payload: Buffer;
    try {
      payload = amqpFromDelivery(d, Date.now());
    } catch (err) {
      this.unmappable(d, err);
      return;
    }
    let rd: RheaDelivery;
    try {
      rd = this.link.send(payload, Buffer.from(String(d.id)), 0);
    } catch (err) {
      // Never let one link's failure reach the core's dispatch (and whoever caused it): stop this consumer.
      this.host.log.warn({ err, link: this.link.name }, 'amqp delivery failed; consumer stopped');
      const c = this.consumer;
      if (c) {
        c.setCredit(0);
        c.nack(d.id, { undelivered: true }).catch((e: unknown) => this.host.log.warn({ err: e }, 'amqp return failed'));
      }
      setImmediate(() => this.close({ condition: 'amqp:internal-error', description: 'delivery failed' }));
      return;
    }
    rd.junctionId = d.id;
    this.sent++;
    this.host.countOutbound(payload.length);
    const c = this.consumer;
    if (!c) return;
    // At-most-once: settled in the core as rhea takes it (its removal stored, as an auto-ack would).
    if (this.presettled) c.ack(d.id).catch((err: unknown) => this.host.log.error({ err, link: this.link.name }, 'amqp settle not stored'));
    // Credit stops at the high-water mark whatever the settle mode; `resume` grants it again.
    if (this.host.outboundFull()) c.setCredit(0);
  }

  /**
   * A stored message that cannot become an AMQP message (an `x-amqp-*` marker that is not the
   * encoding it names): dead-lettered with the reason, through the core's dead-letter path (the
   * copy's dlqDeliveryFailureCause), and the link goes on with the next message; on the dead-letter
   * queue it stays, refused by this consumer only. Never sent, so the link's credit is untouched:
   * the core's is recomputed once the dispatch that delivered it is over.
   */
  private unmappable(d: Delivery, err: unknown): void {
    const cause = err instanceof Error ? err.message : String(err);
    this.host.log.warn({ link: this.link.name, messageId: d.message.id, queue: d.queue, cause }, 'amqp delivery cannot be mapped; message dead-lettered');
    const c = this.consumer;
    if (!c) return;
    // On the dead-letter queue itself the core would discard it: keep it there for other protocols' consumers.
    const dlq = this.host.core.getQueue(d.queue)?.settings.deadLetterAddress === d.queue;
    const returned = dlq ? c.nack(d.id, { undelivered: true, undeliverableHere: true }) : c.nack(d.id, { deadLetter: true, cause });
    returned.catch((e: unknown) => this.host.log.error({ err: e, link: this.link.name }, 'amqp dead-letter not stored'));
    setImmediate(() => this.onFlow());
  }

  /**
   * The connection's outgoing bytes went under the high-water mark, or rhea wrote this turn's
   * deliveries: a link whose core credit ran out (stopped, or all of it used) gets it recomputed.
   * One with credit left needs nothing: whenever it runs out in a turn, this runs after that turn.
   */
  resume(): void {
    if (this.consumer?.credit === 0) this.onFlow();
  }

  closed(reason: string): void {
    this.consumer = null;
    this.close({ condition: 'amqp:resource-deleted', description: reason });
  }

  /**
   * Browses the queue through a core cursor: its messages go out pre-settled as credit allows, then
   * drain ends it. Read a batch at a time, a few batches per event-loop turn, so a large queue (or a
   * selector that matches little of it) never holds the loop. A reserved name is refused at attach.
   */
  private startBrowsing(queue: string, selector: string | undefined): void {
    const cursor = this.host.core.browser(queue, this.host.origin);
    this.browsing = { cursor, selector: selector !== undefined ? this.host.core.compileSelector(selector) : null, ahead: [], end: false };
    this.link.local.attach.snd_settle_mode = 1;
  }

  private browseFlow(): void {
    const b = this.browsing!;
    const outgoing = this.link.session.outgoing.deliveries as unknown as { available(): number };
    let reads = 0;
    while (this.link.credit - (this.sent - this.link.delivery_count) > 0 && outgoing.available() > 0) {
      if (b.ahead.length === 0) {
        if (b.end) break;
        if (reads++ === BROWSE_READS_PER_TURN) {
          setImmediate(() => this.onFlow());
          return;
        }
        const batch = b.cursor.next(BROWSE_BATCH);
        if (batch.length === 0) b.end = true;
        const sel = b.selector;
        b.ahead = sel ? batch.filter((m) => sel.matches(selectorResolver(m))) : batch;
        continue;
      }
      const m = b.ahead.shift()!;
      let payload: Buffer;
      try {
        payload = amqpFromDelivery({ id: 0, message: m, deliveryCount: 1, redelivered: false, queue: m.destination.name }, Date.now());
      } catch (err) {
        // A browser consumes nothing: a message that cannot be mapped is skipped, and stays queued.
        this.host.log.warn({ link: this.link.name, messageId: m.id, cause: err instanceof Error ? err.message : String(err) }, 'amqp browse skipped a message that cannot be mapped');
        continue;
      }
      const rd = this.link.send(payload, Buffer.from(`b${this.sent}`), 0);
      rd.update(true);
      this.sent++;
    }
    if (this.link._draining && b.end && b.ahead.length === 0) this.link.set_drained(true);
  }

  /** Client credit -> consumer credit; a drain with nothing left to send gives the rest back. */
  private onFlow(): void {
    if (!this.attached || this.closing) return;
    if (this.browsing) {
      this.browseFlow();
      return;
    }
    const c = this.consumer;
    if (!c) return;
    const outgoing = this.link.session.outgoing.deliveries as unknown as { available(): number };
    const inFlight = this.sent - this.link.delivery_count;
    // The client's credit, within the session's window, within maxCredit unsettled or unwritten
    // deliveries (c.unacked: sent, not settled; inFlight: handed to rhea, not yet transferred), and
    // none while the connection's outgoing bytes are over the high-water mark.
    const held = this.presettled ? inFlight : c.unacked.size;
    const credit = this.host.outboundFull() ? 0 : Math.max(0, Math.min(this.link.credit - inFlight, outgoing.available(), this.host.maxCredit - held));
    c.setCredit(credit);
    // A drain is answered once nothing more will go out now: the queue has nothing for the credit
    // left, or maxCredit holds it back until deliveries settle (AMQP 1.0 §2.6.7: the sender may
    // send less than the credit; Qpid JMS fails a consumer whose drain gets no answer).
    if (this.link._draining && (c.credit > 0 || (!this.presettled && c.unacked.size >= this.host.maxCredit))) {
      c.setCredit(0);
      this.link.set_drained(true);
    }
  }

  private onOutcome(rd: RheaDelivery, outcome: 'accepted' | 'released' | 'modified' | 'rejected' | 'settled'): void {
    const id = rd.junctionId;
    const c = this.consumer;
    if (id === undefined || this.presettled) return;
    rd.junctionId = undefined; // each delivery is settled once
    if (!c || c.closed) return;
    let done: Promise<void>;
    try {
      {
        switch (outcome) {
          case 'accepted':
          case 'settled':
            done = c.ack(id);
            break;
          case 'released':
            done = c.nack(id, { undelivered: true });
            break;
          case 'modified': {
            const state = rd.remote_state as { delivery_failed?: boolean; undeliverable_here?: boolean } | undefined;
            done = c.nack(id, { undelivered: state?.delivery_failed !== true, undeliverableHere: state?.undeliverable_here === true });
            break;
          }
          case 'rejected': {
            const state = rd.remote_state as { error?: { description?: string; condition?: string } } | undefined;
            const why = state?.error?.description ?? state?.error?.condition ?? 'rejected by the AMQP consumer';
            done = c.nack(id, { deadLetter: true, cause: why });
            break;
          }
        }
      }
    } catch (err) {
      this.host.log.warn({ err, link: this.link.name }, 'amqp settle failed');
      return;
    }
    if (!rd.remote_settled) rd.update(true);
    done.catch((err: unknown) => this.host.log.error({ err, link: this.link.name }, 'amqp settle not stored'));
    // Credit held back by maxCredit comes back as deliveries settle.
    if (c.credit === 0 && !c.closed) this.onFlow();
  }

  /** An outcome inside a transactional-state: the ack joins the transaction (applied at discharge). */
  transactionalAck(rd: RheaDelivery, txn: string): void {
    const id = rd.junctionId;
    const c = this.consumer;
    if (id === undefined || !c || c.closed || this.presettled) return;
    rd.junctionId = undefined;
    try {
      this.host.transactions.ack(txn, c, id);
    } catch (err) {
      // An ack in a transaction that is not open (unknown or discharged): no discharge will ever
      // settle it, so the link ends with the error and its unsettled messages go back to the queue.
      const e = toAmqpError(err);
      this.host.log.info({ link: this.link.name, txn, condition: e.condition, reason: e.description }, 'amqp transactional ack refused; link closed');
      this.close(e);
      return;
    }
    if (!rd.remote_settled) rd.update(true);
  }

  // ---------------------------------------------------------------- closing

  private onRemoteClose(): void {
    const closed = this.link.remote.detach?.closed === true;
    this.release();
    if (closed && this.durableSubscription) {
      const { name, clientId } = this.durableSubscription;
      this.host.core.deleteSubscription(name, clientId, this.host.origin).catch((err: unknown) => this.host.log.warn({ err, subscription: name }, 'amqp unsubscribe failed'));
    }
  }

  /** Stops the consumer (unsettled deliveries return to the queue) and drops a dynamic queue. */
  release(): void {
    if (this.closing) return;
    this.closing = true;
    const c = this.consumer;
    this.consumer = null;
    c?.close();
    if (this.temporary) {
      const q = this.temporary;
      this.temporary = null;
      this.host.core.deleteQueue(q).catch((err: unknown) => this.host.log.warn({ err, queue: q.name }, 'temporary queue delete failed'));
    }
    this.host.closed(this);
  }

  close(error?: { condition: string; description: string }): void {
    this.release();
    if (!this.link.is_closed()) this.link.close(error);
  }

  /** Refuses the attach: a source-less attach answer followed by a detach with the error (spec 2.6.3). */
  private refuse(err: unknown): void {
    const e = toAmqpError(err);
    this.host.log.info({ link: this.link.name, condition: e.condition, reason: e.description }, 'amqp receiver link refused');
    this.link.local.attach.source = undefined;
    this.close(e);
  }

  private fail(err: unknown): void {
    const e = toAmqpError(err);
    this.host.log.info({ link: this.link.name, condition: e.condition, reason: e.description }, 'amqp receiver link failed');
    this.close(e);
  }
}

const TERMINUS_FIELDS = ['address', 'durable', 'expiry_policy', 'timeout', 'dynamic', 'dynamic_node_properties', 'distribution_mode', 'filter', 'default_outcome', 'outcomes', 'capabilities'] as const;

/** The fields of a decoded terminus (rhea's composites keep them behind accessors). */
export function terminusFields(t: RheaTerminus): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of TERMINUS_FIELDS) out[k] = t[k];
  return out;
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && typeof v !== 'function') out[k] = v;
  return out;
}
