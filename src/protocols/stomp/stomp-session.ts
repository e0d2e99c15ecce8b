import type { Logger } from '../../log.ts';
import { JunctionError, StompFrameError, isJunctionError } from '../../errors.ts';
import type { Core, SendOptions } from '../../core/core.ts';
import type { Origin } from '../../core/reserved.ts';
import type { TransactionHandle } from '../../core/handles.ts';
import type { Authenticator, LoginResult, LoginSession } from '../../core/ports/security.ts';
import type { TransportConnection } from '../../transport/connection.ts';
import type { ConnectionInfo } from '../../transport/protocol-adapter.ts';
import { transportFields } from '../../transport/connection-info.ts';
import { remoteIp } from '../../interop/remote-ip.ts';
import { encodeFrame, HEARTBEAT } from './encoder.ts';
import { header, type StompFrame, type StompVersion } from './frame.ts';
import { FrameReader, heldBytes } from './frame-reader.ts';
import { HeartBeats, negotiateHeartBeat, systemClock, type HeartBeatClock } from './heart-beat.ts';
import { messageFromSend } from './mapping.ts';
import type { ReadBudget } from '../../transport/read-budget.ts';
import { StompSubscriptions } from './stomp-subscriptions.ts';
import { errorMessage, refusalMessage } from './stomp-errors.ts';
import type { StompConfig } from './stomp-config.ts';

/** What a session is configured with: the `stomp` config section plus the name the server gives in CONNECTED. */
export type StompSessionConfig = StompConfig & { serverName: string };

const SUPPORTED: StompVersion[] = ['1.0', '1.1', '1.2'];
const CLIENT_COMMANDS = new Set(['CONNECT', 'STOMP', 'SEND', 'SUBSCRIBE', 'UNSUBSCRIBE', 'ACK', 'NACK', 'BEGIN', 'COMMIT', 'ABORT', 'DISCONNECT']);
let sessionSeq = 0;

/**
 * One STOMP connection: frames in, core calls out, MESSAGE frames back. Frames are handled in
 * order; a SEND does not wait for the store before the next frame is read, but RECEIPTs and
 * ERRORs are written in frame order.
 */
export class StompSession {
  private readonly conn: TransportConnection;
  private readonly core: Core;
  private readonly cfg: StompSessionConfig;
  private readonly log: Logger;
  private readonly reader: FrameReader;
  private readonly beats: HeartBeats;
  private readonly sessionId = `junction-session-${++sessionSeq}`;
  private readonly auth: Authenticator;
  /**
   * This connection, for the core's reserved names (a client id `mqtt.<id>` cannot reach an MQTT
   * session) and, from the login on, its permissions (`subject`). One object per connection.
   */
  private origin: Origin;
  /** The options of every SEND outside a transaction: one object per connection, none per message. */
  private sendOpts: SendOptions;
  /** The login behind this connection, released at close (per-user connection counts). */
  private login: LoginSession | undefined;
  private version: StompVersion = '1.0';
  /** CONNECT read, its login not answered yet: frames after it wait behind it (bounded as any held frame). */
  private connecting = false;
  private connected = false;
  /** When a denial was last logged at debug, and how many were not logged since (see {@link deny}). */
  private deniedLoggedAt = -Infinity;
  private deniedQuiet = 0;
  private closing = false;
  private readonly subs: StompSubscriptions;
  private readonly transactions = new Map<string, TransactionHandle>();
  private inbound: Promise<void> = Promise.resolve();
  private replies: Promise<void> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];

  /** `clock` drives the heart-beats (a virtual one in tests). */
  constructor(conn: TransportConnection, core: Core, auth: Authenticator, cfg: StompSessionConfig, log: Logger, budget: ReadBudget, clock: HeartBeatClock = systemClock) {
    this.conn = conn;
    this.core = core;
    this.auth = auth;
    this.cfg = cfg;
    this.log = log.child({ conn: conn.id, remote: conn.remoteAddress, transport: conn.kind });
    this.origin = { component: 'stomp', connectionId: String(conn.id) };
    this.sendOpts = { origin: this.origin };
    this.reader = new FrameReader(conn, cfg, budget, this.log, {
      closing: () => this.closing,
      frame: (frame) => this.onFrame(frame),
      fatal: (err) => this.fatal(err),
    });
    this.beats = new HeartBeats(
      {
        beat: () => this.writeRaw(HEARTBEAT),
        notReading: () => this.reader.stopped,
        missed: (expectEvery) => {
          this.log.info({ expectEvery }, 'stomp heart-beat missed; closing');
          this.conn.destroy();
        },
      },
      clock,
    );
    this.subs = new StompSubscriptions({ conn, core, cfg, log: this.log, origin: this.origin, beats: this.beats, closing: () => this.closing });
    conn.onData((chunk) => this.onData(chunk));
    conn.onDrain(() => this.subs.drained());
    conn.onClose((err) => this.cleanup(err));
    const t = setTimeout(() => {
      if (this.connected) return;
      // A login still running holds the frame chain (fatal would queue behind it): answered at once.
      if (this.connecting) this.fail(new JunctionError('ERR_STOMP_PROTOCOL', `Login not answered within ${cfg.connectTimeout} ms`));
      else this.fatal(new JunctionError('ERR_STOMP_PROTOCOL', `No CONNECT frame within ${cfg.connectTimeout} ms`));
    }, cfg.connectTimeout);
    t.unref();
    this.timers.push(t);
  }

  private onData(chunk: Buffer): void {
    if (this.closing || this.reader.failed) return;
    this.beats.read();
    this.reader.data(chunk);
  }

  private onFrame(frame: StompFrame): void {
    if (this.closing) return;
    if (frame.command === 'CONNECT' || frame.command === 'STOMP') {
      // Handled at once: the parser must decode the frames that follow with the negotiated version.
      this.handleConnect(frame);
      return;
    }
    if (!this.connected && !this.connecting) {
      // Refused on arrival (nothing is in flight yet), so a CONNECT later in the same chunk cannot let it in.
      this.fail(new JunctionError('ERR_STOMP_PROTOCOL', `${frame.command.slice(0, 40)} before CONNECT`), frame);
      return;
    }
    // Held from here until handled: frames queue behind one that waits (a COMMIT behind a SEND that a
    // full BLOCK address holds, anything behind a login), and would otherwise be read without bound.
    const bytes = heldBytes(frame);
    this.reader.hold(bytes);
    this.inbound = this.inbound.then(() => this.step(frame, bytes));
  }

  private async step(frame: StompFrame, bytes: number): Promise<void> {
    try {
      if (!this.closing) await this.process(frame, bytes);
    } catch (err) {
      void this.reply(frame, Promise.reject(err));
    } finally {
      this.reader.release(bytes);
    }
  }

  /** Keeps a frame of `bytes` (see {@link heldBytes}) counted until `p`, its store operation, settles. */
  private trackInflight<T>(p: Promise<T>, bytes: number): Promise<T> {
    this.reader.hold(bytes);
    const done = () => this.reader.release(bytes);
    p.then(done, done);
    return p;
  }

  private async process(frame: StompFrame, bytes: number): Promise<void> {
    if (!CLIENT_COMMANDS.has(frame.command)) {
      throw new JunctionError('ERR_STOMP_UNKNOWN_COMMAND', `Unknown command '${frame.command.slice(0, 40)}'`);
    }
    if (!this.connected) throw new JunctionError('ERR_STOMP_PROTOCOL', `${frame.command} before CONNECT`);
    switch (frame.command) {
      case 'SEND':
        // Not awaited: the next frame is read while this one is stored (group commit), RECEIPTs stay in order.
        void this.reply(frame, this.trackInflight(this.handleSend(frame), bytes));
        return;
      case 'SUBSCRIBE': {
        const start = await this.subs.subscribe(frame);
        // Messages flow only after the RECEIPT, so a client sees its subscription confirmed first.
        void this.reply(frame).then(start);
        return;
      }
      case 'UNSUBSCRIBE':
        await this.subs.unsubscribe(frame);
        void this.reply(frame);
        return;
      case 'ACK':
      case 'NACK':
        void this.reply(frame, this.trackInflight(this.handleAck(frame, frame.command === 'NACK'), bytes));
        return;
      case 'BEGIN':
        this.handleBegin(frame);
        void this.reply(frame);
        return;
      case 'COMMIT':
        await this.handleCommit(frame);
        void this.reply(frame);
        return;
      case 'ABORT':
        this.core.rollback(this.takeTx(frame));
        void this.reply(frame);
        return;
      case 'DISCONNECT':
        return this.handleDisconnect(frame);
    }
  }

  /** Queues the RECEIPT (if asked for) behind every earlier reply; a failure becomes an ERROR. */
  private reply(frame: StompFrame, done?: Promise<unknown>): Promise<void> {
    const rid = header(frame, 'receipt');
    // Settle `done` now so a rejection waiting behind a slow store write is never unhandled.
    const outcome = done ? done.then(() => null, (err: unknown) => ({ err })) : null;
    this.replies = this.replies
      .then(() => outcome)
      .then((failed) => {
        if (failed) {
          if (isJunctionError(failed.err) && failed.err.code === 'ERR_SECURITY_UNAUTHORIZED') this.deny(failed.err, frame);
          else this.fail(failed.err, frame);
        } else if (rid !== undefined) this.write({ command: 'RECEIPT', headers: [['receipt-id', rid]], body: Buffer.alloc(0) });
      });
    return this.replies;
  }

  // ---------------------------------------------------------------- CONNECT

  private handleConnect(frame: StompFrame): void {
    if (this.connected || this.connecting) {
      this.fail(new JunctionError('ERR_STOMP_PROTOCOL', 'Already connected'), frame);
      return;
    }
    const offered = header(frame, 'accept-version');
    let version: StompVersion | undefined;
    if (offered === undefined) version = '1.0';
    else {
      const list = offered.split(',').map((s) => s.trim());
      version = [...SUPPORTED].reverse().find((v) => list.includes(v));
    }
    if (!version) {
      this.fail(new JunctionError('ERR_STOMP_VERSION', `Supported protocol versions are ${SUPPORTED.join(',')}`), frame, [['version', SUPPORTED.join(',')]]);
      return;
    }
    // Set now: the frames after CONNECT are decoded with the negotiated version while the login runs.
    this.version = version;
    this.subs.version = version;
    this.reader.parser.version = version;
    this.connecting = true;
    const clientId = header(frame, 'client-id') || undefined;
    const login = this.auth.login({
      protocol: 'stomp',
      // The IP without the port: each connection has a port of its own, and the throttle counts per host.
      remoteAddress: remoteIp(this.conn.remoteAddress),
      user: header(frame, 'login'),
      password: header(frame, 'passcode'),
      certificate: this.conn.tls?.peerCertificate,
      clientId,
    });
    this.inbound = this.inbound.then(() => this.loggedIn(frame, version, clientId, login));
  }

  /** The login of CONNECT answered: CONNECTED, or (as ActiveMQ on bad credentials) ERROR and close. */
  private async loggedIn(frame: StompFrame, version: StompVersion, clientId: string | undefined, login: Promise<LoginResult>): Promise<void> {
    let result: LoginResult;
    try {
      result = await login;
    } catch (err) {
      this.fail(err, frame);
      return;
    }
    if (this.closing) {
      // Gone (or timed out) while the login ran.
      if (result.ok) result.session.close();
      return;
    }
    if (!result.ok) {
      this.log.debug({ reason: result.reason }, 'stomp login refused');
      // The refusal's text comes from the authenticator, which never puts the password in it.
      this.sendError(refusalMessage(result.reason), result.message, frame, []);
      return;
    }
    this.login = result.session;
    this.origin = { component: 'stomp', connectionId: String(this.conn.id), subject: result.session.subject };
    this.sendOpts = { origin: this.origin };
    this.subs.origin = this.origin;
    this.subs.clientId = clientId;
    this.connecting = false;
    this.connected = true;
    const headers: Array<[string, string]> = [
      ['version', version],
      ['session', this.sessionId],
      ['server', this.cfg.serverName],
    ];
    if (version !== '1.0') {
      const terms = negotiateHeartBeat(header(frame, 'heart-beat'), this.cfg.heartBeat);
      this.beats.start(terms);
      headers.push(['heart-beat', terms.header]);
    }
    this.write({ command: 'CONNECTED', headers, body: Buffer.alloc(0) });
    this.log.debug({ version, clientId, user: result.session.subject.user }, 'stomp connected');
  }

  // ---------------------------------------------------------------- SEND

  private handleSend(frame: StompFrame): Promise<unknown> {
    const input = messageFromSend(frame, Date.now());
    const txName = header(frame, 'transaction');
    const tx = txName !== undefined ? this.getTx(txName) : undefined;
    return this.core.send(input, tx ? { tx, origin: this.origin } : this.sendOpts);
  }

  // ---------------------------------------------------------------- ACK / NACK

  private async handleAck(frame: StompFrame, nack: boolean): Promise<void> {
    const { sub, deliveryId } = this.subs.findDelivery(frame);
    const consumer = sub.consumer!;
    const cumulative = sub.ackMode === 'client' && !nack;
    const txName = header(frame, 'transaction');
    if (txName !== undefined) {
      if (nack) throw new JunctionError('ERR_STOMP_PROTOCOL', 'NACK in a transaction is not supported');
      this.getTx(txName).addAck(consumer, deliveryId, cumulative);
      // ActiveMQ extends the prefetch for acks in a transaction, so the client can go on consuming.
      this.subs.giveCredit(sub, cumulative ? this.subs.acks.countUpTo(sub, deliveryId) : 1);
      return;
    }
    const settled = cumulative ? this.subs.acks.forgetUpTo(sub, deliveryId) : (this.subs.acks.forget(sub, deliveryId), 1);
    const done = nack
      ? consumer.nack(deliveryId, this.cfg.nackPolicy === 'deadLetter' ? { deadLetter: true, cause: 'STOMP NACK (poison acknowledgement)' } : {})
      : cumulative
        ? consumer.ackCumulative(deliveryId)
        : consumer.ack(deliveryId);
    this.subs.giveCredit(sub, settled);
    await done;
  }

  // ---------------------------------------------------------------- transactions

  private handleBegin(frame: StompFrame): void {
    const name = header(frame, 'transaction');
    if (name === undefined) throw new JunctionError('ERR_STOMP_MISSING_HEADER', 'BEGIN requires a transaction header');
    if (this.transactions.has(name)) throw new JunctionError('ERR_TX_EXISTS', `Transaction '${name}' is already started`);
    // This session owns it: at most transactions.maxPerConnection open at once (ERR_TX_LIMIT beyond).
    this.transactions.set(name, this.core.createTransaction(this));
  }

  private getTx(name: string): TransactionHandle {
    const tx = this.transactions.get(name);
    if (!tx) throw new JunctionError('ERR_TX_UNKNOWN', `Unknown transaction '${name.slice(0, 60)}'`);
    return tx;
  }

  private takeTx(frame: StompFrame): TransactionHandle {
    const name = header(frame, 'transaction');
    if (name === undefined) throw new JunctionError('ERR_STOMP_MISSING_HEADER', `${frame.command} requires a transaction header`);
    const tx = this.getTx(name);
    this.transactions.delete(name);
    return tx;
  }

  private async handleCommit(frame: StompFrame): Promise<void> {
    const tx = this.takeTx(frame);
    // Earlier SENDs outside the transaction are confirmed first, so order is kept.
    await this.replies;
    await this.core.commit(tx);
    this.subs.committed(tx);
  }

  // ---------------------------------------------------------------- management

  /** This connection as management lists it (issue 15). */
  info(): ConnectionInfo {
    return {
      ...transportFields(this.conn),
      protocol: 'stomp',
      user: this.login?.subject.user,
      clientId: this.subs.clientId,
      version: this.connected ? this.version : undefined,
      subscriptions: this.subs.describe(),
      producers: [],
    };
  }

  /**
   * An administrator closes the connection: an ERROR frame whose `message` is `reason`, then the
   * close, as for any error the broker ends a connection on (ActiveMQ's STOMP transport answers a
   * broker-side stop the same way); cleanup then returns unacked messages as on any close.
   */
  adminClose(reason: string): void {
    if (this.closing) return;
    this.log.info({ reason }, 'stomp connection closed by an administrator');
    this.sendError(reason, reason, undefined, []);
  }

  // ---------------------------------------------------------------- DISCONNECT, errors, close

  private async handleDisconnect(frame: StompFrame): Promise<void> {
    this.reply(frame);
    await this.replies;
    this.closing = true;
    this.conn.end();
  }

  /** Sends an ERROR for a failed frame and closes the connection, as the STOMP spec requires. */
  private fail(err: unknown, frame?: StompFrame, extra: Array<[string, string]> = []): void {
    if (this.closing) return;
    const code = isJunctionError(err) ? err.code : undefined;
    const detail = err instanceof Error ? err.message : String(err);
    if (!code) this.log.error({ err, command: frame?.command }, 'stomp internal error');
    else this.log.info({ code, command: frame?.command, detail }, 'stomp error');
    this.sendError(errorMessage(code), detail, frame, extra);
  }

  /**
   * A frame the core refused for want of a permission: ERROR (with the frame's `receipt-id`), and the
   * connection stays open, as ActiveMQ Classic answers a denied SEND or SUBSCRIBE (checked against
   * 5.17: later frames are still served). The denial was done nothing with, so nothing is left to undo.
   * The audit logger has its line (Authorizer.denied); here at most one debug line a second.
   */
  private deny(err: JunctionError, frame: StompFrame): void {
    if (this.closing) return;
    const now = Date.now();
    if (now - this.deniedLoggedAt >= 1000) {
      this.log.debug({ command: frame.command, detail: err.message, notLogged: this.deniedQuiet }, 'stomp frame not authorized');
      this.deniedLoggedAt = now;
      this.deniedQuiet = 0;
    } else this.deniedQuiet++;
    this.writeError(errorMessage(err.code), err.message, frame, []);
  }

  /** ERROR then close. */
  private sendError(message: string, detail: string, frame: StompFrame | undefined, extra: Array<[string, string]>): void {
    if (this.closing) return;
    this.writeError(message, detail, frame, extra);
    this.closing = true;
    this.conn.end();
  }

  private writeError(message: string, detail: string, frame: StompFrame | undefined, extra: Array<[string, string]>): void {
    // `message` is one stable short reason per code (stomp-errors.ts), the detail is the body: the
    // header once carried both, which repeated itself when they were the same text.
    const headers: Array<[string, string]> = [['message', message], ['content-type', 'text/plain'], ...extra];
    const rid = frame ? header(frame, 'receipt') : undefined;
    if (rid !== undefined) headers.push(['receipt-id', rid]);
    this.write({ command: 'ERROR', headers, body: Buffer.from(`${detail}\n`) });
  }

  /** A frame the parser could not read: nothing after it can be trusted, but the frames before it still count. */
  private fatal(err: unknown): void {
    const e = err instanceof StompFrameError || isJunctionError(err) ? err : new JunctionError('ERR_STOMP_MALFORMED', String((err as Error)?.message ?? err));
    this.reader.failed = true;
    // As ActiveMQ: frames decoded ahead of the bad one (same chunk) are handled first, then the ERROR.
    this.inbound = this.inbound.then(() => {
      this.replies = this.replies.then(() => this.fail(e));
    });
  }

  private write(frame: StompFrame): void {
    this.writeRaw(encodeFrame(frame, this.version));
  }

  private writeRaw(buf: Buffer): void {
    this.beats.wrote();
    this.conn.write(buf);
  }

  /** Connection gone: roll back open transactions, return unacked messages, stop timers. */
  private cleanup(err?: Error): void {
    this.closing = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    for (const tx of this.transactions.values()) this.core.rollback(tx);
    this.transactions.clear();
    this.subs.closeAll();
    this.login?.close();
    this.login = undefined;
    this.beats.stop();
    // Every path out of a connection comes here (ERROR, DISCONNECT, peer close, timeouts).
    this.reader.close();
    this.log.debug({ err: err?.message }, 'stomp connection closed');
  }
}
