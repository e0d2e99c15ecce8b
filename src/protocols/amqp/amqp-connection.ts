import { randomUUID } from 'node:crypto';
import type { Logger } from '../../log.ts';
import type { Core } from '../../core/core.ts';
import { isJunctionError } from '../../errors.ts';
import type { Origin } from '../../core/reserved.ts';
import type { TransportConnection } from '../../transport/connection.ts';
import type { ConnectionInfo } from '../../transport/protocol-adapter.ts';
import { transportFields } from '../../transport/connection-info.ts';
import { ConsumerLink } from './consumer-link.ts';
import { ProducerLink, transactionalId } from './producer-link.ts';
import { isDescribed, descriptorOf, type AmqpErrorField, type Frame, type RheaConnection, type RheaContainer, type RheaDeliveries, type RheaDelivery, type RheaLink, type RheaReceiver, type RheaSender, type RheaSession } from './rhea-shapes.ts';
import { isDecodeError } from './decode-bounds.ts';
import { checkAttach, FrameRuleError, prepareSessions, requireOpenFirst } from './frame-rules.ts';
import { RheaSocket, type StreamViolation } from './socket-adapter.ts';
import { Transactions } from './transactions.ts';
import type { Typed } from './rhea-codec.ts';
import type { AmqpConfig } from './amqp-config.ts';
import type { Authenticator, LoginSession } from '../../core/ports/security.ts';
import { remoteIp } from '../../interop/remote-ip.ts';
import { installSaslServer } from './sasl-server.ts';

/** What a connection is configured with: the `amqp` config section plus the name the broker gives in its open. */
export type AmqpSessionConfig = AmqpConfig & { serverName: string };

/**
 * Bytes of deliveries one connection hands rhea in one event-loop turn before its links stop taking
 * credit until the next turn. rhea writes on the next tick, so within a turn the transport's
 * high-water mark cannot be seen yet: this bounds what one dispatch burst can put into memory (a
 * link with 1,000,000 credit and a full queue) to about 1 MiB plus one message per link.
 */
const TURN_BYTES = 1024 * 1024;
/** Longest peer idle-time-out whose half rhea's heartbeat timer can wait for (a Node timer takes at most 2^31-1 ms). */
const MAX_IDLE_TIMEOUT = 2 * (2 ** 31 - 1);

/** Capabilities the broker offers in its open (Artemis offers the same). */
const OFFERED = ['ANONYMOUS-RELAY', 'DELAYED_DELIVERY', 'SHARED-SUBS'];
const COORDINATOR = 0x30;
const COORDINATOR_SYMBOL = 'amqp:coordinator:list';
const ATTACH_TARGET_FIELD = 6;
/**
 * The part of a disposition's first..last range that holds unsettled deliveries of `deliveries`,
 * or undefined when none does (or the range is not two delivery numbers): such a disposition
 * changes nothing and is dropped.
 */
export function clampDisposition(p: { first?: unknown; last?: unknown }, deliveries: RheaDeliveries): { first: number; last: number } | undefined {
  const first = p.first;
  const last = p.last ?? first;
  if (typeof first !== 'number' || typeof last !== 'number' || !Number.isInteger(first) || !Number.isInteger(last)) return undefined;
  const head = deliveries.get_head();
  const tail = deliveries.get_tail();
  if (!head || !tail) return undefined;
  const from = Math.max(first, head.id);
  const to = Math.min(last, tail.id);
  return from <= to ? { first: from, last: to } : undefined;
}

/** The sending side's protocol header the broker answers an unsupported header with (SASL, as it prefers). */
const SASL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0x03, 0x01, 0x00, 0x00]);

/**
 * One AMQP connection: rhea parses and writes frames; this class maps its sessions' links onto
 * core producers and consumers, runs the transaction coordinator, and turns bad input into the
 * right AMQP error. A few rhea frame handlers are intercepted per connection (attach, transfer,
 * disposition) for what rhea itself does not check or does not model (coordinator, credit, size,
 * transactional states).
 */
export class AmqpConnection {
  private readonly conn: TransportConnection;
  /**
   * This connection, for the core's reserved names (its temporary queues are its own) and, with
   * security on, its login's subject (set by the SASL outcome, before any link can attach).
   */
  private origin: Origin;
  /** The SASL login (security on), closed with the connection. */
  private login: LoginSession | undefined;
  private readonly core: Core;
  private readonly cfg: AmqpSessionConfig;
  private readonly log: Logger;
  private readonly rc: RheaConnection;
  private readonly socket: RheaSocket;
  private readonly links = new Set<ConsumerLink | ProducerLink>();
  private readonly producers = new Map<RheaLink, ProducerLink>();
  private readonly consumers = new Map<RheaLink, ConsumerLink>();
  private readonly transactions: Transactions;
  private failed = false;
  private ended = false;
  /** Delivery bytes handed to rhea in this turn (see TURN_BYTES); a setImmediate resets it. */
  private turnBytes = 0;
  private turnPending = false;
  /** Closes a connection that has not completed header, SASL and open in time; cleared at open. */
  private connectTimer: NodeJS.Timeout | undefined;

  /** `auth`: with security on (`auth.enabled`), SASL is required and each login goes to it; else rhea's container mechanisms answer, as before. */
  constructor(conn: TransportConnection, container: RheaContainer, core: Core, cfg: AmqpSessionConfig, log: Logger, auth?: Authenticator) {
    this.conn = conn;
    this.origin = { component: 'amqp', connectionId: String(conn.id) };
    this.core = core;
    this.cfg = cfg;
    this.log = log.child({ conn: conn.id, remote: conn.remoteAddress, transport: conn.kind });
    this.transactions = new Transactions(core, this.log);
    const secure = auth?.enabled === true;
    this.socket = new RheaSocket(conn, cfg.maxFrameSize, (v) => this.onViolation(v), secure);
    this.rc = container.create_connection({
      id: `amqp-${conn.id}`,
      container_id: core.brokerName,
      max_frame_size: cfg.maxFrameSize,
      channel_max: cfg.channelMax,
      idle_time_out: cfg.idleTimeout > 0 ? cfg.idleTimeout : undefined,
      offered_capabilities: OFFERED,
      properties: { product: 'Junction', version: cfg.serverName },
      session_buffer_size: 4096,
      reconnect: false,
      // Security on: the connection's own SASL server replaces rhea's (installSaslServer below).
      ...(secure ? { disable_sasl: true } : {}),
    });
    this.intercept();
    const rc = this.rc;
    rc.on('connection_open', () => {
      // After fail() the timer waits for the peer's close instead: keep it.
      if (!this.failed) clearTimeout(this.connectTimer);
      this.log.debug({ containerId: this.containerId() }, 'amqp connection open');
    });
    // A peer that connects and never completes its open holds a socket forever (issue 11, item 10).
    this.connectTimer = setTimeout(() => this.onConnectTimeout(), cfg.connectTimeout);
    this.connectTimer.unref();
    conn.onDrain(() => this.resumeConsumers());
    rc.on('session_open', (ctx: { session: RheaSession }) => this.onSessionOpen(ctx.session));
    rc.on('session_close', (ctx: { session: RheaSession }) => setImmediate(() => this.closeLinks(ctx.session)));
    rc.on('session_error', () => undefined);
    rc.on('receiver_open', (ctx: { receiver: RheaReceiver }) => this.onProducer(ctx.receiver));
    rc.on('sender_open', (ctx: { sender: RheaSender }) => this.onConsumer(ctx.sender));
    // rhea reports 'disconnected' only for a connection that was not closed cleanly: the socket's
    // close is the one signal every ending gives. Outcomes rhea has yet to dispatch settle first.
    rc.on('connection_close', () => setImmediate(() => this.cleanup()));
    rc.on('connection_error', () => undefined);
    rc.on('disconnected', () => setImmediate(() => this.cleanup()));
    conn.onClose(() => {
      clearTimeout(this.connectTimer);
      setImmediate(() => this.cleanup());
    });
    rc.on('protocol_error', (err: Error) => this.onRheaError(err, 'amqp:decode-error'));
    // rhea raises plain errors for frames it cannot decode or that break the session's rules; the
    // adapter's own checks raise errors that carry their condition.
    rc.on('error', (err: Error) => {
      const condition = err instanceof FrameRuleError ? err.condition : isJunctionError(err) && err.code === 'ERR_AMQP_DECODE' ? 'amqp:decode-error' : /Invalid handle/.test(err.message) ? 'amqp:session:unattached-handle' : 'amqp:decode-error';
      this.onRheaError(err, condition);
    });
    rc.accept(this.socket);
    if (secure) this.requireLogin(auth);
  }

  /** Security on: SASL with the connection's mechanisms, each login through `auth` (AMQP 1.0 §5.3). */
  private requireLogin(auth: Authenticator): void {
    const conn = this.conn;
    installSaslServer(this.rc, {
      auth,
      mechanisms: this.cfg.saslMechanisms,
      remoteAddress: remoteIp(conn.remoteAddress),
      certificate: conn.tls?.peerCertificate,
      loggedIn: (session, mechanism) => {
        if (this.ended || this.failed) {
          session.close();
          return false;
        }
        this.login = session;
        this.origin = { component: 'amqp', connectionId: String(conn.id), subject: session.subject };
        this.log.debug({ user: session.subject.user, mechanism }, 'amqp login');
        return true;
      },
      refused: (mechanism, code, message) => this.onLoginRefused(mechanism, code, message),
      pause: () => conn.pause(),
      resume: () => conn.resume(),
    });
  }

  /** The SASL outcome is written: the connection ends (the client learns why from the code). */
  private onLoginRefused(mechanism: string, code: number, message: string): void {
    if (this.failed) return;
    this.failed = true;
    this.log.info({ mechanism, saslCode: code, reason: message }, 'amqp login refused');
    this.socket.end();
  }

  containerId(): string | undefined {
    return this.rc.remote.open?.container_id;
  }

  // ---------------------------------------------------------------- interceptors

  /** Per-connection wrappers of rhea's frame handlers (the prototype ones stay untouched). */
  private intercept(): void {
    const rc = this.rc;
    const proto = Object.getPrototypeOf(rc) as RheaConnection;
    prepareSessions(rc, this.cfg.maxLinksPerSession - 1);
    rc.on_open = (frame: Frame) => {
      const idle = (frame.performative as { idle_time_out?: unknown }).idle_time_out;
      proto.on_open.call(rc, frame);
      // AMQP 1.0 §2.4.5: "If a peer can not, for any reason support a proposed idle timeout, then it
      // SHOULD close the connection using a close frame with an error explaining why." rhea would send
      // an empty frame every idle/2 ms; below minIdleTimeout the open is answered, then closed.
      if (typeof idle === 'number' && idle > 0 && idle < this.cfg.minIdleTimeout) {
        (rc.remote.open as { idle_time_out?: number }).idle_time_out = 0;
        this.failed = true;
        const description = `idle-time-out ${idle} ms is below the broker's minimum of ${this.cfg.minIdleTimeout} ms`;
        this.log.warn({ condition: 'amqp:invalid-field', reason: description }, 'amqp connection closed');
        // Our open (rhea answers the peer's at once), then the close, then the socket ends.
        rc._register();
        setImmediate(() => this.writeClose({ condition: 'amqp:invalid-field', description }));
      } else if (typeof idle === 'number' && idle > MAX_IDLE_TIMEOUT) {
        // rhea's heartbeat timer is idle/2 ms: for 2^32-1 that is past what a Node timer takes, which
        // then fires after 1 ms (an empty frame and a TimeoutOverflowWarning every millisecond). A
        // frame every 2^31-1 ms still comes well within the peer's idle-time-out.
        (rc.remote.open as { idle_time_out?: number }).idle_time_out = MAX_IDLE_TIMEOUT;
      }
    };
    rc.on_attach = (frame: Frame) => {
      checkAttach(rc, frame, this.cfg.maxLinksPerSession - 1);
      // Sessions times links per session is far too many for one connection: the connection's own cap.
      if (this.links.size >= this.cfg.maxLinksPerConnection) {
        throw new FrameRuleError('amqp:resource-limit-exceeded', `A connection may hold at most ${this.cfg.maxLinksPerConnection} links (amqp.maxLinksPerConnection)`);
      }
      // rhea decodes only source and target termini: keep a coordinator target for the adapter.
      const t = frame.performative.target;
      if (isDescribed(t)) {
        const d = descriptorOf(t);
        if (d === COORDINATOR || d === COORDINATOR_SYMBOL || Number(d) === COORDINATOR) {
          frame.performative.junctionCoordinator = t as Typed;
          // rhea knows no coordinator terminus (it would warn on the console): it sees a null target.
          (frame.performative as unknown as { value: unknown[] }).value[ATTACH_TARGET_FIELD] = null;
        }
      }
      proto.on_attach.call(rc, frame);
    };
    rc.on_transfer = (frame: Frame) => {
      const session = rc.remote_channel_map[frame.channel];
      let producer: ProducerLink | undefined;
      if (session) {
        producer = this.producers.get(session._get_link(frame));
        producer?.onTransferFrame(frame);
      }
      try {
        proto.on_transfer.call(rc, frame);
      } catch (err) {
        // rhea decodes a complete message last, once its delivery is recorded: a message whose
        // sections split but whose values do not decode (a count bomb, say) is rejected with
        // amqp:decode-error like any other malformed message, and the connection goes on.
        const d = session?.incoming.deliveries.get_tail();
        if (!producer || !d || !isDecodeError(err)) throw err;
        producer.rejectUndecodable(d, (err as Error).message);
      }
    };
    rc.on_disposition = (frame: Frame) => {
      const p = frame.performative as { role?: boolean; first?: number; last?: number; value: unknown[] };
      const session = rc.remote_channel_map[frame.channel];
      // rhea refuses a frame on a channel without a session (a protocol error).
      if (!session) return proto.on_disposition.call(rc, frame);
      // rhea visits every id from first to last: a range over ids that hold no delivery (0..2^32-1)
      // would block the event loop for every connection. Only the unsettled deliveries count.
      const range = clampDisposition(p, p.role === true ? session.outgoing.deliveries : session.incoming.deliveries);
      if (!range) return;
      p.first = range.first;
      p.last = range.last;
      // A transactional ack: remember the txn on the deliveries and let rhea see the inner outcome.
      // The raw state (disposition field 4): rhea's accessor would unwrap it and lose the descriptor.
      const tx = p.role === true ? transactionalId(p.value[4]) : undefined;
      if (tx) {
        // Handled now, not when rhea dispatches the outcome on the next tick: a discharge in the same read must see it.
        for (let id = range.first; id <= range.last; id++) {
          const d: RheaDelivery | undefined = session.outgoing.deliveries.by_id(id);
          if (d) this.consumers.get(d.link)?.transactionalAck(d, tx.txn);
        }
        p.value[4] = tx.outcome ?? null;
      }
      proto.on_disposition.call(rc, frame);
    };
    requireOpenFirst(rc);
  }


  // ---------------------------------------------------------------- sessions and links

  private onSessionOpen(session: RheaSession): void {
    const channel = session.remote.channel ?? 0;
    if (channel > this.cfg.channelMax) {
      this.fail({ condition: 'amqp:connection:framing-error', description: `Channel ${channel} exceeds the channel-max ${this.cfg.channelMax}` });
    }
  }

  private onProducer(link: RheaReceiver): void {
    const coordinator = link.remote.attach?.junctionCoordinator;
    const p = new ProducerLink(
      {
        core: this.core,
        log: this.log,
        origin: this.origin,
        transactions: this.transactions,
        maxMessageSize: this.cfg.maxMessageSize,
        credit: this.cfg.producerCredit,
        newTemporaryName: () => `amqp.${randomUUID()}`,
        closed: (l) => {
          this.links.delete(l);
          this.producers.delete(l.link);
        },
      },
      link,
      coordinator,
    );
    if (!link.is_closed()) {
      this.links.add(p);
      this.producers.set(link, p);
    }
  }

  private onConsumer(link: RheaSender): void {
    const c = new ConsumerLink(
      {
        core: this.core,
        log: this.log,
        origin: this.origin,
        transactions: this.transactions,
        containerId: () => this.containerId(),
        newTemporaryName: () => `amqp.${randomUUID()}`,
        closed: (l) => {
          this.links.delete(l);
          this.consumers.delete(l.link);
        },
        maxCredit: this.cfg.maxConsumerCredit,
        outboundFull: () => this.conn.congested || this.turnBytes >= TURN_BYTES,
        countOutbound: (bytes) => this.countOutbound(bytes),
      },
      link,
    );
    if (!link.is_closed()) {
      this.links.add(c);
      this.consumers.set(link, c);
    }
  }

  /**
   * Counts delivery bytes of this turn; once per turn with deliveries, after rhea has written them
   * (next tick), the consumer links take credit again unless the transport is congested (then on drain).
   */
  private countOutbound(bytes: number): void {
    this.turnBytes += bytes;
    if (this.turnPending) return;
    this.turnPending = true;
    setImmediate(() => {
      this.turnPending = false;
      this.turnBytes = 0;
      if (!this.conn.congested) this.resumeConsumers();
    });
  }

  private resumeConsumers(): void {
    if (this.ended) return;
    for (const c of this.consumers.values()) c.resume();
  }

  private onConnectTimeout(): void {
    if (this.failed || this.ended || this.rc.remote.open) return;
    this.failed = true;
    this.log.warn({ connectTimeout: this.cfg.connectTimeout }, 'amqp connection closed: no open within the connect timeout');
    this.conn.destroy();
  }

  private closeLinks(session: RheaSession): void {
    for (const l of [...this.links]) if (l.link.session === session) l.release();
  }

  // ---------------------------------------------------------------- errors and teardown

  /** The guard stopped the stream: answer a bad header with ours, a bad frame size with a framing error. */
  private onViolation(v: StreamViolation): void {
    if (this.failed) return;
    this.failed = true;
    this.log.warn({ reason: v.message }, v.kind === 'header' ? 'amqp connection refused: bad protocol header' : 'amqp connection closed: framing error');
    if (v.kind === 'header') {
      this.conn.write(SASL_HEADER);
      this.conn.end();
      return;
    }
    this.writeClose({ condition: 'amqp:connection:framing-error', description: v.message });
  }

  /** rhea could not parse or handle a frame: close with an error frame when the connection is open, then the socket. */
  private onRheaError(err: Error, condition: string): void {
    if (this.failed) return;
    this.failed = true;
    this.log.warn({ err: err.message, condition }, 'amqp connection closed on a protocol error');
    this.writeClose({ condition, description: err.message });
  }

  private fail(error: AmqpErrorField, why = 'amqp connection closed', level: 'warn' | 'info' = 'warn'): void {
    if (this.failed) return;
    this.failed = true;
    this.log[level]({ condition: error.condition, reason: error.description }, why);
    this.rc.close(error);
    // rhea ends the socket when the peer's close comes back; a peer that never sends it gets as long
    // as a connection has to open (every wait has a timeout). The connect timer's slot: the socket's
    // close clears it, so a closed connection is not held until it fires.
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => this.conn.destroy(), this.cfg.connectTimeout);
    this.connectTimer.unref();
  }

  /** Writes a close frame with `error` at once (rhea is about to end the socket) and ends the connection. */
  private writeClose(error: AmqpErrorField): void {
    try {
      const amqpHeader = (this.rc as unknown as { amqp_transport: { header_received?: unknown } }).amqp_transport.header_received;
      if (this.rc.is_open() || this.rc.remote.open) {
        this.rc.local.close.error = error;
        this.rc._write_frame(0, this.rc.local.close);
      } else if (amqpHeader) {
        // Before the peer's open (its open did not decode, or another frame came first): our open
        // and at once a close with the error, so the peer learns why (AMQP 1.0 §2.4.1: open first).
        this.rc._write_frame(0, this.rc.local.open);
        this.rc.local.close.error = error;
        this.rc._write_frame(0, this.rc.local.close);
      }
    } catch {
      // The transport may not be writable any more; the socket closes anyway.
    }
    this.socket.end();
  }

  /** This connection as management lists it (issue 15): its consumer links, and the addresses its sender links send to. */
  info(): ConnectionInfo {
    const producers: string[] = [];
    for (const p of this.producers.values()) if (p.address !== undefined) producers.push(p.address);
    return {
      ...transportFields(this.conn),
      protocol: 'amqp',
      user: this.login?.subject.user,
      clientId: this.containerId(),
      version: this.rc.remote.open ? '1.0' : undefined,
      subscriptions: [...this.consumers.values()].map((l) => l.describe()),
      producers,
    };
  }

  /**
   * An administrator closes the connection: close with `amqp:connection:forced` and the reason as
   * its description (AMQP 1.0 §2.8.16: "an operator intervened to close the connection"); the socket
   * ends when the peer's close comes back, or after the connect timeout. Before the peer's open there
   * is no AMQP connection to close: the socket goes. Links are released as on any close.
   */
  adminClose(reason: string): void {
    if (this.failed || this.ended) return;
    if (!this.rc.remote.open) {
      this.failed = true;
      this.log.info({ reason }, 'amqp connection closed by an administrator before its open');
      this.conn.destroy();
      return;
    }
    this.fail({ condition: 'amqp:connection:forced', description: reason }, 'amqp connection closed by an administrator', 'info');
  }

  /** The broker is stopping: close with amqp:connection:forced (clients with failover reconnect elsewhere). */
  shutdown(): void {
    if (this.failed || this.ended) return;
    this.failed = true;
    this.rc.close({ condition: 'amqp:connection:forced', description: 'Broker is shutting down' });
  }

  private cleanup(): void {
    if (this.ended) return;
    this.ended = true;
    this.login?.close();
    for (const l of [...this.links]) l.release();
    this.links.clear();
    this.producers.clear();
    this.consumers.clear();
    this.transactions.rollbackAll();
  }
}
