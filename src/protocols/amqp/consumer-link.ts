import type { Logger } from '../../log.ts';
import type { ConsumerHandle, ConsumerSink, Delivery } from '../../core/handles.ts';
import type { Core } from '../../core/core.ts';
import type { Origin } from '../../core/reserved.ts';
import type { ConnectionSubscription } from '../../transport/protocol-adapter.ts';
import { toAmqpError } from './amqp-errors.ts';
import { resolveSource, type SourceSpec, type SourceState } from './consumer-source.ts';
import { LinkBrowser } from './link-browser.ts';
import { amqpFromDelivery } from './mapping.ts';
import { type RheaDelivery, type RheaSender, holdAttach, onAttachWritten, stripUndefined } from './rhea-shapes.ts';
import type { Transactions } from './transactions.ts';

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

/**
 * A link on which the broker sends (the client's receiver): one core consumer, with the client's
 * link credit as the consumer's credit, and AMQP outcomes as core acks and nacks.
 */
export class ConsumerLink implements ConsumerSink {
  readonly link: RheaSender;
  private readonly host: ConsumerLinkHost;
  private consumer: ConsumerHandle | null = null;
  /** What resolving the source made: a dynamic queue, a durable subscription a closing detach deletes. */
  private readonly source: SourceState = { temporary: null, durableSubscription: null };
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
  /** Set for a queue browser (distribution-mode copy on a queue): it sends instead of a core consumer. */
  private browsing: LinkBrowser | null = null;
  /** What the source resolved to (management lists it); unset while the attach is refused. */
  private spec: SourceSpec | undefined;

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
    let spec: SourceSpec;
    let reply: Record<string, unknown>;
    try {
      const resolved = resolveSource(this.host, this.link, this.source);
      spec = resolved.spec;
      reply = resolved.reply;
      this.spec = spec;
      if (resolved.browse) {
        this.browsing = new LinkBrowser(this.host, this.link, spec.destination.name, spec.selector);
        this.link.set_source(stripUndefined(reply));
        return;
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

  /** This link as management lists it (issue 15): the link name, its source, and its core consumer. */
  describe(): ConnectionSubscription {
    const c = this.consumer;
    const spec = this.spec;
    return { id: this.link.name, destination: spec?.destination.name ?? '', queue: c?.queueName, consumerId: c?.id, selector: spec?.selector, durable: this.source.durableSubscription !== null, unacked: c ? c.unacked.size : 0 };
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
    const dlq = this.host.core.isDeadLetterQueue(d.queue);
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

  /** Client credit -> consumer credit; a drain with nothing left to send gives the rest back. */
  private onFlow(): void {
    if (!this.attached || this.closing) return;
    if (this.browsing) {
      this.browsing.flow(() => this.onFlow());
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
    if (closed && this.source.durableSubscription) {
      const { name, clientId } = this.source.durableSubscription;
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
    if (this.source.temporary) {
      const q = this.source.temporary;
      this.source.temporary = null;
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
