import type { Logger } from '../../log.ts';
import { JunctionError } from '../../errors.ts';
import type { Core, SendOptions } from '../../core/core.ts';
import type { Origin } from '../../core/reserved.ts';
import type { Destination } from '../../core/message.ts';
import { validateAddress } from '../../core/address.ts';
import { capabilityList, formatAmqpAddress, parseAmqpAddress } from '../../interop/amqp-address.ts';
import type { QueueView } from '../../core/handles.ts';
import { toAmqpError, type AmqpError } from './amqp-errors.ts';
import { messageFromAmqp } from './mapping.ts';
import { messageCodec, types, type Typed } from './rhea-codec.ts';
import { descriptorOf, isDescribed, type Frame, type RheaDelivery, type RheaReceiver, type RheaTerminus, terminusFields, terminusOrNull } from './rhea-shapes.ts';
import { readDescribed, SECTION, SectionError, splitSections, type RawSection } from './sections.ts';
import type { Transactions } from './transactions.ts';

const DECLARE = 0x31;
const DISCHARGE = 0x32;
const DECLARED = 0x33;
const TRANSACTIONAL_STATE = 0x34;
const TRANSFER_STATE_FIELD = 7;

export interface ProducerLinkHost {
  core: Core;
  log: Logger;
  /** The connection: a dynamic target's temporary queue belongs to it. */
  origin: Origin;
  transactions: Transactions;
  maxMessageSize: number;
  credit: number;
  newTemporaryName(): string;
  closed(link: ProducerLink): void;
}

/** A Typed value (or plain value) as plain JS: rhea leaves unknown described types as nested Typed. */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object' && !Buffer.isBuffer(v) && 'value' in v && ('type' in v || 'descriptor' in v)) {
    return plain((v as { value: unknown }).value);
  }
  return v;
}

/** The txn-id of a transactional-state, or undefined when the state is something else. */
export function transactionalId(state: unknown): { txn: string; outcome: unknown } | undefined {
  if (!isDescribed(state) || Number(descriptorOf(state)) !== TRANSACTIONAL_STATE) return undefined;
  const fields = plain(state.value) as unknown[];
  const id = Array.isArray(fields) ? fields[0] : undefined;
  if (!Buffer.isBuffer(id)) return undefined;
  return { txn: id.toString('hex'), outcome: Array.isArray(state.value) ? (state.value as unknown[])[1] : undefined };
}

function transactionalState(txn: string, outcome: Typed): Typed {
  return types.described(types.wrap_ulong(TRANSACTIONAL_STATE), types.wrap_list([types.wrap_binary(Buffer.from(txn, 'hex')), outcome]));
}

function rejected(e: AmqpError): Typed {
  return messageCodec.rejected({ error: e }).described();
}

/**
 * A link on which the client sends (our receiver): messages go to `core.send`; each is accepted
 * once the core has it (durable ones once the journal has them), and credit is topped up as sends
 * complete, so a producer blocked by a full address (BLOCK) runs out of credit. The coordinator
 * link (`amqp:coordinator` target) is one of these too.
 */
export class ProducerLink {
  readonly link: RheaReceiver;
  private readonly host: ProducerLinkHost;
  private readonly coordinator: boolean;
  /** The connection's origin for every send (the core checks its subject's `send`): one object per link, none per message. */
  private readonly sendOptions: SendOptions;
  private destination: Destination | undefined;
  /** The temporary queue of a dynamic target, deleted with the link. */
  private temporary: QueueView | null = null;
  /** The temporary topic of a dynamic target (temporary-topic capability), ended with the link. */
  private temporaryTopic: string | null = null;
  private inflight = 0;
  private parts: Buffer[] = [];
  private bytes = 0;
  private raw: Buffer | undefined;
  /** Set when the link failed: later transfers are discarded, never stored. */
  private refused = false;
  private closing = false;
  /** Set when the sender aborted the delivery being received (spec 2.6.12): it is discarded. */
  private aborted = false;
  /** Why the last message could not be split into sections, if it could not. */
  private undecodable: string | undefined;
  /** The sections of the message being received, split when its last frame came. */
  private sections: RawSection[] | undefined;
  /** The transaction of the delivery being received, from its transfer's state. */
  private txn: { txn: string; outcome: unknown } | undefined;

  /** The address this link sends to (management lists it); undefined for the anonymous relay and the coordinator. */
  get address(): string | undefined {
    return this.refused ? undefined : this.destination?.name;
  }

  constructor(host: ProducerLinkHost, link: RheaReceiver, coordinator: Typed | undefined) {
    this.host = host;
    this.link = link;
    this.coordinator = coordinator !== undefined;
    this.sendOptions = { origin: host.origin };
    link.on('message', (ctx: { message: Record<string, unknown>; delivery: RheaDelivery }) => this.onMessage(ctx.message, ctx.delivery));
    link.on('receiver_close', () => this.release());
    link.on('receiver_error', () => undefined);
    const remote = link.remote.attach!;
    link.local.attach.rcv_settle_mode = 0;
    link.local.attach.snd_settle_mode = remote.snd_settle_mode ?? 2;
    if (coordinator !== undefined) {
      link.local.attach.target = coordinator;
      link.flow(host.credit);
      return;
    }
    const target = terminusOrNull(remote.target);
    try {
      if (target && target.dynamic) {
        // Qpid JMS creates a TemporaryQueue (or TemporaryTopic) with a dynamic target: a node that lives as long as the link.
        const caps = capabilityList(target.capabilities);
        if (caps.includes('temporary-topic')) {
          this.temporaryTopic = host.core.createTemporaryTopic(host.newTemporaryName(), host.origin);
          this.destination = { type: 'topic', name: this.temporaryTopic };
        } else {
          this.temporary = host.core.createTemporaryQueue(host.newTemporaryName(), host.origin);
          this.destination = { type: 'queue', name: this.temporary.name };
        }
        link.set_target({ ...terminusFields(target), address: formatAmqpAddress(this.destination), dynamic: true });
        link.local.attach.max_message_size = host.maxMessageSize;
        link.flow(host.credit);
        return;
      }
      if (target && typeof target.address === 'string') {
        this.destination = parseAmqpAddress(target.address, capabilityList(target.capabilities)).destination;
        validateAddress(this.destination.name, 'send');
        // A sender the user may not send on is refused at attach, not at its first message
        // (amqp:unauthorized-access, AMQP 1.0 §2.8.15), nor one whose first send would create an address it may not.
        host.core.authorize(host.origin, this.destination.name, 'send');
        host.core.assertAddress(this.destination, host.origin);
      }
      // A null target or one without an address is the anonymous relay: each message's `to` decides.
    } catch (err) {
      const e = toAmqpError(err);
      host.log.info({ link: link.name, condition: e.condition, reason: e.description }, 'amqp sender link refused');
      link.local.attach.target = undefined;
      this.refused = true;
      this.close(e);
      return;
    }
    if (target) link.set_target(terminusFields(target));
    link.local.attach.max_message_size = host.maxMessageSize;
    link.flow(host.credit);
  }

  /**
   * Sees every transfer frame before rhea does: counts the message's bytes against the max message
   * size and its first frame against the link credit. A violation fails the link; its frames
   * still pass to rhea (emptied) so the session's delivery numbering stays intact. rhea decodes
   * only the complete message once it has split into sections: the frames before the last reach
   * it emptied, the last one carries the whole message (or nothing, when it does not split).
   */
  onTransferFrame(frame: Frame): void {
    const first = this.link._incomplete === undefined;
    if (first) {
      this.parts = [];
      this.bytes = 0;
      // rhea's accessor unwraps the delivery state and loses its descriptor: read the raw field (transfer field 7).
      this.txn = transactionalId((frame.performative as unknown as { value: unknown[] }).value[TRANSFER_STATE_FIELD]);
      if (!this.refused && this.link.credit <= 0) {
        this.violation(new JunctionError('ERR_AMQP_TRANSFER_LIMIT', `Transfer on link ${this.link.name} without credit`));
      }
    }
    if (this.refused) {
      if (this.link.credit <= 0) this.link.credit = 1; // rhea would complain about the credit we already refused
      frame.payload = Buffer.alloc(0);
      return;
    }
    if (frame.performative.aborted === true) {
      // Spec 2.6.12: an aborted delivery is discarded, whatever part of it came; rhea knows no abort, so it ends here.
      this.parts = [];
      this.bytes = 0;
      this.aborted = true;
      frame.payload = Buffer.alloc(0);
      frame.performative.more = false;
      return;
    }
    const payload = frame.payload ?? Buffer.alloc(0);
    this.bytes += payload.length;
    if (this.bytes > this.host.maxMessageSize) {
      this.violation(new JunctionError('ERR_AMQP_MESSAGE_SIZE', `Message exceeds the max message size of ${this.host.maxMessageSize} bytes`));
      frame.payload = Buffer.alloc(0);
      return;
    }
    this.parts.push(payload);
    if (frame.performative.more) {
      frame.payload = Buffer.alloc(0);
      return;
    }
    this.raw = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.bytes);
    this.parts = [];
    // A message rhea cannot decode would end the connection; an undecodable one is rejected here instead.
    try {
      this.sections = splitSections(this.raw);
      frame.payload = this.raw;
    } catch (err) {
      this.raw = undefined;
      frame.payload = Buffer.alloc(0);
      this.undecodable = (err as SectionError).message;
    }
  }

  /** rhea could not decode the message of delivery `d` (it split into sections): rejected with amqp:decode-error. */
  rejectUndecodable(d: RheaDelivery, why: string): void {
    this.undecodable = why;
    this.onMessage({}, d);
  }

  private onMessage(msg: Record<string, unknown>, d: RheaDelivery): void {
    const raw = this.raw;
    this.raw = undefined;
    const sections = this.sections;
    this.sections = undefined;
    if (this.aborted) {
      this.aborted = false;
      this.txn = undefined;
      // Nothing to answer for an aborted delivery (it is settled by the abort): rhea only forgets it.
      d.remote_settled = true;
      this.settle(d);
      this.topUp();
      return;
    }
    if (this.refused) {
      this.settle(d, rejected({ condition: 'amqp:illegal-state', description: 'link failed' }));
      return;
    }
    if (this.undecodable !== undefined || !raw) {
      const why = this.undecodable ?? 'empty message';
      this.undecodable = undefined;
      this.host.log.info({ link: this.link.name, reason: why }, 'amqp message rejected: decode error');
      this.settle(d, rejected({ condition: 'amqp:decode-error', description: `Malformed message: ${why}` }));
      this.topUp();
      return;
    }
    if (this.coordinator) {
      this.onControl(raw, d);
      return;
    }
    const txState = this.txn;
    this.txn = undefined;
    let send: Promise<unknown>;
    try {
      const input = messageFromAmqp(msg, raw, { destination: this.destination, now: Date.now(), ...(sections ? { sections } : {}) });
      send = txState ? this.host.core.send(input, { tx: this.host.transactions.get(txState.txn), origin: this.host.origin }) : this.host.core.send(input, this.sendOptions);
    } catch (err) {
      send = Promise.reject(err);
    }
    this.inflight++;
    send.then(
      () => {
        this.settle(d, txState ? transactionalState(txState.txn, messageCodec.accepted().described()) : messageCodec.accepted().described());
      },
      (err: unknown) => {
        const e = toAmqpError(err);
        this.host.log.info({ link: this.link.name, condition: e.condition, reason: e.description }, 'amqp message rejected');
        this.settle(d, txState ? transactionalState(txState.txn, rejected(e)) : rejected(e));
      },
    ).finally(() => {
      this.inflight--;
      this.topUp();
    });
  }

  /** Declare and discharge on the coordinator link. */
  private onControl(raw: Buffer, d: RheaDelivery): void {
    // rhea's decoder drops the descriptor of a described amqp-value, so the body is read from the bytes.
    let kind = -1;
    let fields: unknown[] = [];
    try {
      const body = splitSections(raw).find((s) => s.code === SECTION.amqpValue);
      const inner = body ? readDescribed(raw, readDescribed(raw, body.start)!.valueStart) : undefined;
      if (inner) {
        kind = typeof inner.descriptor === 'number' ? inner.descriptor : inner.descriptor === 'amqp:declare:list' ? DECLARE : inner.descriptor === 'amqp:discharge:list' ? DISCHARGE : -1;
        const list = plain(new types.Reader(raw.subarray(inner.valueStart, body!.end)).read());
        fields = Array.isArray(list) ? list : [];
      }
    } catch {
      kind = -1;
    }
    if (kind === DECLARE) {
      let id: Buffer;
      try {
        id = this.host.transactions.declare();
      } catch (err) {
        // Over transactions.maxPerConnection: the declare is rejected (AMQP 1.0 §4.5.5), the link stays.
        this.settle(d, rejected(toAmqpError(err)));
        this.topUp();
        return;
      }
      this.settle(d, types.described(types.wrap_ulong(DECLARED), types.wrap_list([types.wrap_binary(id)])));
      this.topUp();
      return;
    }
    if (kind !== DISCHARGE || !Array.isArray(fields) || !Buffer.isBuffer(fields[0])) {
      this.settle(d, rejected({ condition: 'amqp:decode-error', description: 'Expected declare or discharge' }));
      this.topUp();
      return;
    }
    const txn = (fields[0] as Buffer).toString('hex');
    const fail = fields[1] === true;
    this.inflight++;
    let discharge: Promise<void>;
    try {
      discharge = this.host.transactions.discharge(txn, fail);
    } catch (err) {
      discharge = Promise.reject(err);
    }
    discharge
      .then(
        () => this.settle(d, messageCodec.accepted().described()),
        (err: unknown) => {
          const e = toAmqpError(err);
          this.host.log.info({ txn, condition: e.condition, reason: e.description }, 'amqp discharge failed');
          this.settle(d, rejected(e));
        },
      )
      .finally(() => {
        this.inflight--;
        this.topUp();
      });
  }

  /** Settles a delivery with its outcome; a link or session already gone is not an error worth more than a log line. */
  private settle(d: RheaDelivery, state?: Typed): void {
    try {
      d.update(true, state);
    } catch (err) {
      this.host.log.debug({ err, link: this.link.name }, 'amqp settle after the link went');
    }
  }

  /** Gives the producer back the credit its settled messages used, in batches. */
  private topUp(): void {
    if (this.closing || this.refused) return;
    // Under BLOCK a full address gets no more credit; the next settled send looks again.
    if (this.destination && this.inflight > 0 && this.host.core.isBlocked(this.destination)) return;
    const want = this.host.credit - this.link.credit - this.inflight;
    if (want >= Math.max(1, this.host.credit >> 1)) this.link.flow(want);
  }

  private violation(err: JunctionError): void {
    this.refused = true;
    const e = toAmqpError(err);
    this.host.log.warn({ link: this.link.name, condition: e.condition, reason: e.description }, 'amqp sender link closed');
    this.close(e);
  }

  release(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.temporary) {
      const q = this.temporary;
      this.temporary = null;
      this.host.core.deleteQueue(q).catch((err: unknown) => this.host.log.warn({ err, queue: q.name }, 'temporary queue delete failed'));
    }
    if (this.temporaryTopic !== null) this.host.core.deleteTemporaryTopic(this.temporaryTopic);
    this.temporaryTopic = null;
    this.host.closed(this);
  }

  close(error?: AmqpError): void {
    this.release();
    if (!this.link.is_closed()) this.link.close(error);
  }
}
