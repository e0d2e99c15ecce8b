import type { Logger } from '../../log.ts';
import { JunctionError, StompFrameError, isJunctionError } from '../../errors.ts';
import type { Consumer, Delivery } from '../../core/consumer.ts';
import type { Core } from '../../core/core.ts';
import type { Origin } from '../../core/reserved.ts';
import type { QueueBrowser } from '../../core/queue-browser.ts';
import type { Transaction } from '../../core/transaction.ts';
import type { TransportConnection } from '../../transport/connection.ts';
import { encodeFrame, HEARTBEAT } from './encoder.ts';
import { header, type StompFrame, type StompVersion } from './frame.ts';
import { messageFrame, messageFromSend, parseDestination } from './mapping.ts';
import { StompParser } from './parser.ts';
import type { ReadBudget, ReadBudgetWaiter } from '../../transport/read-budget.ts';
import { errorMessage } from './stomp-errors.ts';
import type { StompConfig } from './stomp-config.ts';

/** What a session is configured with: the `stomp` config section plus the name the server gives in CONNECTED. */
export type StompSessionConfig = StompConfig & { serverName: string };

type AckMode = 'auto' | 'client' | 'client-individual';

interface Subscription {
  id: string;
  destination: string;
  ackMode: AckMode;
  consumer: Consumer | null;
  /** Unsettled deliveries, in delivery order: delivery id -> message id. */
  unacked: Map<number, string>;
  byMessageId: Map<string, number>;
  /**
   * Credit held back while the connection is congested (taken from the consumer, or returned by acks
   * meanwhile); given back on drain.
   */
  held: number;
}

const SUPPORTED: StompVersion[] = ['1.0', '1.1', '1.2'];
const CLIENT_COMMANDS = new Set(['CONNECT', 'STOMP', 'SEND', 'SUBSCRIBE', 'UNSUBSCRIBE', 'ACK', 'NACK', 'BEGIN', 'COMMIT', 'ABORT', 'DISCONNECT']);


let sessionSeq = 0;
/** The longest delay a Node timer takes (a signed 32-bit ms count). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Bytes parsed at a time (a TCP chunk's largest), so that reading stops within a slice of the limits. */
const FEED_SLICE = 64 * 1024;
/**
 * Bytes parsed at a time by a connection between frames while the partial-frame budget is spent
 * (see {@link StompSession.readable}): room for a small frame, little for one that stays unfinished.
 */
const START_SLICE = 4 * 1024;
/** What one header is counted as beyond its text: its [name, value] pair and two strings in the heap (~77 bytes measured). */
const HEADER_BYTES = 64;

/**
 * What a frame read and not yet handled holds, as {@link StompSession.hold} counts it: its body, and
 * its headers (a frame of 1,000 one-character headers is 4 KB on the wire but ~77 KB in the heap;
 * counting only bodies, 1,024 such frames held ~78 MiB per connection).
 */
function heldBytes(frame: StompFrame): number {
  const h = frame.headers;
  let n = frame.body.length + h.length * HEADER_BYTES;
  for (let i = 0; i < h.length; i++) n += h[i]![0].length + h[i]![1].length;
  return n;
}
/**
 * Frames read but not yet handled, per connection (queued behind one that waits, or awaiting the
 * store), before the connection stops being read; `maxInflightBytes` bounds their bytes (bodies and headers).
 */
const MAX_PENDING_FRAMES = 1024;
/** Messages a queue browser writes per event-loop turn. */
const BROWSE_BATCH = 256;

/**
 * One STOMP connection: frames in, core calls out, MESSAGE frames back. Frames are handled in
 * order; a SEND does not wait for the store before the next frame is read, but RECEIPTs and
 * ERRORs are written in frame order.
 */
export class StompSession implements ReadBudgetWaiter {
  private readonly conn: TransportConnection;
  private readonly core: Core;
  private readonly cfg: StompSessionConfig;
  private readonly log: Logger;
  private readonly parser: StompParser;
  private readonly sessionId = `junction-session-${++sessionSeq}`;
  /** This connection, for the core's reserved names (a client id `mqtt.<id>` cannot reach an MQTT session). */
  private readonly origin: Origin;
  private version: StompVersion = '1.0';
  private connected = false;
  private closing = false;
  /** The parser failed: the rest of the stream is ignored while the frames before it finish. */
  private readFailed = false;
  private clientId: string | undefined;
  private readonly subscriptions = new Map<string, Subscription>();
  /** STOMP 1.2 ack ids are delivery ids; this finds their subscription. */
  private readonly ackIndex = new Map<number, Subscription>();
  private readonly transactions = new Map<string, Transaction>();
  private inbound: Promise<void> = Promise.resolve();
  /** Frames read and not yet handled, and their bodies' bytes (see {@link hold}). */
  private pendingFrames = 0;
  private pendingBytes = 0;
  private readPaused = false;
  /** Bytes received while reading was paused (see {@link feed}), parsed on resume. */
  private unread: Buffer[] = [];
  private readonly onFrameBound = (frame: StompFrame): void => this.onFrame(frame);
  private replies: Promise<void> = Promise.resolve();
  private lastRead = Date.now();
  private lastWrite = Date.now();
  private timers: NodeJS.Timeout[] = [];
  /** Queue browsers waiting for the socket to drain. */
  private readonly drainWaiters: Array<() => void> = [];
  /** Shared by all STOMP connections: bytes of unfinished frames (see {@link reserve}). */
  private readonly budget: ReadBudget;
  /** What this connection holds of `budget`: its parser's unfinished frame, between feeds. */
  private charged = 0;
  /** Not read until `budget` has room (see {@link readable}). */
  private budgetWaiting = false;
  /** Frames completed so far; tells the frame timer a new frame from the one it timed. */
  private framesRead = 0;
  /** The unfinished frame being timed (its `framesRead` when it started, -1 for none) and since when. */
  private frameTimedSeq = -1;
  private frameStartedAt = 0;
  private frameTimer: NodeJS.Timeout | undefined;

  constructor(conn: TransportConnection, core: Core, cfg: StompSessionConfig, log: Logger, budget: ReadBudget) {
    this.conn = conn;
    this.budget = budget;
    this.core = core;
    this.cfg = cfg;
    this.log = log.child({ conn: conn.id, remote: conn.remoteAddress, transport: conn.kind });
    this.origin = { component: 'stomp', connectionId: String(conn.id) };
    this.parser = new StompParser({ maxHeaderBytes: cfg.maxHeaderBytes, maxHeaders: cfg.maxHeaders, maxBodyBytes: cfg.maxBodyBytes });
    conn.onData((chunk) => this.onData(chunk));
    conn.onDrain(() => this.onDrain());
    conn.onClose((err) => this.cleanup(err));
    const t = setTimeout(() => {
      if (!this.connected) this.fatal(new JunctionError('ERR_STOMP_PROTOCOL', `No CONNECT frame within ${cfg.connectTimeout} ms`));
    }, cfg.connectTimeout);
    t.unref();
    this.timers.push(t);
  }

  private onData(chunk: Buffer): void {
    if (this.closing || this.readFailed) return;
    this.lastRead = Date.now();
    if (this.readPaused || this.budgetWaiting) this.unread.push(chunk);
    else this.feed(chunk);
  }

  /**
   * Parses `chunk` a slice at a time while the connection is being read; once {@link hold} stops
   * reading, the rest waits, as bytes, in `unread` until {@link release} resumes. A TCP chunk is at
   * most 64 KiB, but a WebSocket message is up to the largest frame (4 MiB by default): parsed at
   * once, one message of 1,000 frames of small headers held ~84 MiB whatever maxInflightBytes said.
   */
  private feed(chunk: Buffer): void {
    for (let at = 0; at < chunk.length; ) {
      const n = this.readPaused || this.budgetWaiting ? 0 : this.readable();
      if (n === 0) {
        // First: while reading is on, `unread` is empty or being drained from its head (release).
        this.unread.unshift(chunk.subarray(at));
        return;
      }
      const slice = at === 0 && chunk.length <= n ? chunk : chunk.subarray(at, at + n);
      at += slice.length;
      try {
        this.parser.feed(slice, this.onFrameBound);
      } catch (err) {
        this.settle();
        this.fatal(err);
        return;
      }
      this.settle();
      if (this.closing || this.readFailed) return;
    }
  }

  /**
   * How many bytes the broker-wide budget of unfinished frames lets this connection parse now
   * ({@link settle} then charges what stays in the parser). Under the budget: a full slice. Over it,
   * a connection between frames parses START_SLICE bytes, so small frames (which finish within it
   * and charge nothing) keep flowing, and one in the middle of a frame stops being read and waits
   * its turn: a legitimate large SEND is delayed, not refused, while others hold the budget, and
   * those holding it finish or meet `frameTimeout`. The total stays under the budget plus one
   * FEED_SLICE plus START_SLICE per connection.
   */
  private readable(): number {
    if (this.budget.open) return FEED_SLICE;
    if (this.charged === 0) return START_SLICE;
    this.budgetWaiting = true;
    if (!this.readPaused) this.conn.pause();
    this.budget.wait(this);
    return 0;
  }

  /** After a parse: charges what the parser still holds, and times the frame it is in. */
  private settle(): void {
    const held = this.closing || this.readFailed ? 0 : this.parser.partialBytes;
    if (held === 0) this.frameTimedSeq = -1;
    else if (this.frameTimedSeq !== this.framesRead) {
      // A frame started: STOMP has no deadline for one, but an unfinished frame holds memory, so it
      // must finish within `frameTimeout` (heart-beating only proves bytes arrive, and 0,0 turns it off).
      this.frameTimedSeq = this.framesRead;
      this.frameStartedAt = Date.now();
      if (this.frameTimer === undefined) this.armFrameTimer(this.cfg.frameTimeout);
    }
    const delta = held - this.charged;
    this.charged = held;
    if (delta !== 0) this.budget.charge(delta);
  }

  budgetReady(): boolean {
    return this.closing || this.budget.open;
  }

  budgetGo(): void {
    this.budgetWaiting = false;
    if (this.closing || this.readFailed) return;
    if (!this.readPaused) this.conn.resume();
    while (this.unread.length > 0 && !this.readPaused && !this.budgetWaiting && !this.closing && !this.readFailed) this.feed(this.unread.shift()!);
  }

  private armFrameTimer(ms: number): void {
    this.frameTimer = setTimeout(() => this.onFrameTimer(), Math.min(ms, MAX_TIMER_MS));
    this.frameTimer.unref();
  }

  private onFrameTimer(): void {
    this.frameTimer = undefined;
    if (this.closing || this.readFailed || this.frameTimedSeq === -1) return;
    // The broker stopped reading (frames in flight, see hold): the frame's time starts again on resume.
    if (this.readPaused) this.frameStartedAt = Date.now();
    const left = this.frameStartedAt + this.cfg.frameTimeout - Date.now();
    if (left > 0) {
      this.armFrameTimer(left);
      return;
    }
    this.log.info({ held: this.charged, frameTimeout: this.cfg.frameTimeout }, 'stomp frame not completed in time; closing');
    this.readFailed = true;
    this.unread = [];
    // Its bytes leave the budget now; they leave memory when the connection closes just after the ERROR.
    this.settle();
    this.fatal(new JunctionError('ERR_STOMP_FRAME_TIMEOUT', `Frame not completed within ${this.cfg.frameTimeout} ms`));
  }

  private onFrame(frame: StompFrame): void {
    this.framesRead++;
    if (this.closing) return;
    if (frame.command === 'CONNECT' || frame.command === 'STOMP') {
      // Handled at once: the parser must decode the frames that follow with the negotiated version.
      this.handleConnect(frame);
      return;
    }
    if (!this.connected) {
      // Refused on arrival (nothing is in flight yet), so a CONNECT later in the same chunk cannot let it in.
      this.fail(new JunctionError('ERR_STOMP_PROTOCOL', `${frame.command.slice(0, 40)} before CONNECT`), frame);
      return;
    }
    // Held from here until handled: frames queue behind one that waits (a COMMIT behind a SEND that a
    // full BLOCK address holds), and would otherwise be read without bound.
    const bytes = heldBytes(frame);
    this.hold(bytes);
    this.inbound = this.inbound.then(() => this.step(frame, bytes));
  }

  private async step(frame: StompFrame, bytes: number): Promise<void> {
    try {
      if (!this.closing) await this.process(frame, bytes);
    } catch (err) {
      void this.reply(frame, Promise.reject(err));
    } finally {
      this.release(bytes);
    }
  }

  /**
   * Counts a frame read and not yet handled. Over MAX_PENDING_FRAMES frames or `maxInflightBytes`
   * (bodies and headers, see {@link heldBytes}) the connection stops being read, so a producer faster than the disk, blocked by a full
   * address or queued behind a frame that waits is held back by TCP, not by the broker's memory.
   */
  private hold(bytes: number): void {
    this.pendingFrames++;
    this.pendingBytes += bytes;
    if (!this.readPaused && (this.pendingFrames >= MAX_PENDING_FRAMES || this.pendingBytes >= this.cfg.maxInflightBytes)) {
      this.readPaused = true;
      this.conn.pause();
    }
  }

  private release(bytes: number): void {
    this.pendingFrames--;
    this.pendingBytes -= bytes;
    if (this.readPaused && this.pendingFrames < MAX_PENDING_FRAMES && this.pendingBytes < this.cfg.maxInflightBytes) {
      this.readPaused = false;
      if (this.budgetWaiting) return;
      this.conn.resume();
      while (this.unread.length > 0 && !this.readPaused && !this.budgetWaiting && !this.closing && !this.readFailed) this.feed(this.unread.shift()!);
    }
  }

  /** Keeps a frame of `bytes` (see {@link heldBytes}) counted until `p`, its store operation, settles. */
  private trackInflight<T>(p: Promise<T>, bytes: number): Promise<T> {
    this.hold(bytes);
    const done = () => this.release(bytes);
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
        const start = await this.handleSubscribe(frame);
        // Messages flow only after the RECEIPT, so a client sees its subscription confirmed first.
        void this.reply(frame).then(start);
        return;
      }
      case 'UNSUBSCRIBE':
        await this.handleUnsubscribe(frame);
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
        if (failed) this.fail(failed.err, frame);
        else if (rid !== undefined) this.write({ command: 'RECEIPT', headers: [['receipt-id', rid]], body: Buffer.alloc(0) });
      });
    return this.replies;
  }

  // ---------------------------------------------------------------- CONNECT

  private handleConnect(frame: StompFrame): void {
    if (this.connected) {
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
    this.version = version;
    this.parser.version = version;
    this.connected = true;
    this.clientId = header(frame, 'client-id') || undefined;
    const headers: Array<[string, string]> = [
      ['version', version],
      ['session', this.sessionId],
      ['server', this.cfg.serverName],
    ];
    if (version !== '1.0') headers.push(['heart-beat', this.negotiateHeartbeat(header(frame, 'heart-beat'))]);
    this.write({ command: 'CONNECTED', headers, body: Buffer.alloc(0) });
    this.log.debug({ version, clientId: this.clientId }, 'stomp connected');
  }

  /** STOMP 1.1 heart-beating: each side sends at the larger of what it can and what the other wants. */
  private negotiateHeartbeat(raw: string | undefined): string {
    const [cx, cy] = (raw ?? '0,0').split(',').map((s) => Number(s.trim()));
    const [sx, sy] = this.cfg.heartBeat;
    const clientSends = Number.isFinite(cx) ? cx! : 0;
    const clientWants = Number.isFinite(cy) ? cy! : 0;
    // At most what a Node timer takes: a longer one fires after 1 ms (a 1 ms interval per connection
    // and a TimeoutOverflowWarning); sending or checking every ~24.8 days instead is within what the peer asked.
    const sendEvery = sx > 0 && clientWants > 0 ? Math.min(Math.max(sx, clientWants), MAX_TIMER_MS) : 0;
    const expectEvery = sy > 0 && clientSends > 0 ? Math.min(Math.max(sy, clientSends), MAX_TIMER_MS) : 0;
    if (sendEvery > 0) {
      const t = setInterval(() => {
        if (Date.now() - this.lastWrite >= sendEvery * 0.9) this.writeRaw(HEARTBEAT);
      }, Math.max(50, Math.floor(sendEvery / 2)));
      t.unref();
      this.timers.push(t);
    }
    if (expectEvery > 0) {
      // Allow twice the interval for network delay before calling the peer dead.
      const t = setInterval(() => {
        // Not while the broker itself does not read the connection (frames in flight, or waiting for
        // the partial-frame budget): the peer's heart-beats wait in the socket.
        if (this.readPaused || this.budgetWaiting) this.lastRead = Date.now();
        else if (Date.now() - this.lastRead > expectEvery * 2) {
          this.log.info({ expectEvery }, 'stomp heart-beat missed; closing');
          this.conn.destroy();
        }
      }, expectEvery);
      t.unref();
      this.timers.push(t);
    }
    return `${sx > 0 ? sx : 0},${sy > 0 ? sy : 0}`;
  }

  // ---------------------------------------------------------------- SEND

  private handleSend(frame: StompFrame): Promise<unknown> {
    const input = messageFromSend(frame, Date.now());
    const txName = header(frame, 'transaction');
    const tx = txName !== undefined ? this.getTx(txName) : undefined;
    return this.core.send(input, tx ? { tx } : {});
  }

  // ---------------------------------------------------------------- SUBSCRIBE / UNSUBSCRIBE

  /** Creates the subscription; returns the function that starts its flow of messages. */
  private async handleSubscribe(frame: StompFrame): Promise<() => void> {
    const destination = header(frame, 'destination');
    const dest = parseDestination(destination);
    let id = header(frame, 'id');
    if (id === undefined) {
      if (this.version !== '1.0') throw new JunctionError('ERR_STOMP_MISSING_HEADER', 'SUBSCRIBE requires an id header');
      id = destination!;
    }
    if (this.subscriptions.has(id)) throw new JunctionError('ERR_STOMP_PROTOCOL', `Subscription id '${id.slice(0, 60)}' is already in use`);
    if (this.subscriptions.size >= this.cfg.maxSubscriptions) {
      throw new JunctionError('ERR_STOMP_SUBSCRIPTION_LIMIT', `A connection may hold at most ${this.cfg.maxSubscriptions} subscriptions (stomp.maxSubscriptions)`);
    }
    const ackRaw = header(frame, 'ack') ?? 'auto';
    if (ackRaw !== 'auto' && ackRaw !== 'client' && ackRaw !== 'client-individual') {
      throw new JunctionError('ERR_STOMP_BAD_HEADER', `Invalid ack mode '${ackRaw.slice(0, 40)}'`);
    }
    const prefetchRaw = header(frame, 'activemq.prefetchSize');
    const requested = prefetchRaw !== undefined ? Number(prefetchRaw) : this.cfg.defaultPrefetch;
    if (!Number.isInteger(requested) || requested < 0) throw new JunctionError('ERR_STOMP_BAD_HEADER', `Invalid activemq.prefetchSize '${prefetchRaw?.slice(0, 40)}'`);
    // Capped as ActiveMQ's prefetch policy caps it (reset to the maximum, not refused).
    const prefetch = Math.min(requested, this.cfg.maxPrefetch);
    const subName = header(frame, 'activemq.subscriptionName') ?? header(frame, 'durable-subscription-name');
    const sharedName = header(frame, 'shared-subscription-name');
    if (subName !== undefined && dest.type === 'topic' && !this.clientId) {
      throw new JunctionError('ERR_STOMP_MISSING_HEADER', 'A durable subscription needs a client-id header on CONNECT');
    }
    const selector = header(frame, 'selector');
    const sub: Subscription = { id, destination: destination!, ackMode: ackRaw, consumer: null, unacked: new Map(), byMessageId: new Map(), held: 0 };
    this.subscriptions.set(id, sub);
    if (header(frame, 'browser') === 'true') {
      // Refused here: a reserved name gets its ERROR in place of the RECEIPT.
      const browser = this.core.browser(dest.name, this.origin);
      return () => void this.browse(sub, browser);
    }
    try {
      const subscription =
        dest.type === 'topic' && subName !== undefined
          ? { name: subName, clientId: this.clientId!, durable: true, shared: sharedName !== undefined }
          : dest.type === 'topic' && sharedName !== undefined
            ? { name: sharedName, durable: false, shared: true }
            : undefined;
      sub.consumer = await this.core.createConsumer({
        destination: dest,
        ...(selector !== undefined ? { selector } : {}),
        exclusive: header(frame, 'activemq.exclusive') === 'true',
        autoAck: ackRaw === 'auto',
        ...(subscription ? { subscription } : {}),
        origin: this.origin,
        sink: {
          deliver: (d) => this.deliver(sub, d),
          closed: (reason) => this.log.info({ subscription: id, reason }, 'stomp subscription closed by broker'),
        },
      });
    } catch (err) {
      this.subscriptions.delete(id);
      throw err;
    }
    const consumer = sub.consumer;
    return () => {
      if (this.closing) consumer.close();
      else this.giveCredit(sub, Math.max(1, prefetch));
    };
  }

  /**
   * ActiveMQ queue browsing: the queue's messages, then an empty MESSAGE with `browser:end`. Written a
   * batch per event-loop turn and only while the socket takes them (a queue of a million messages
   * neither holds the loop nor piles up in the outgoing buffer); stops when the subscription goes.
   */
  private async browse(sub: Subscription, browser: QueueBrowser): Promise<void> {
    for (;;) {
      if (this.closing || this.subscriptions.get(sub.id) !== sub) return;
      const batch = browser.next(BROWSE_BATCH);
      if (batch.length === 0) break;
      for (const m of batch) this.write(messageFrame({ id: 0, message: m, deliveryCount: 0, redelivered: false, queue: m.destination.name }, sub.id, undefined, this.version));
      await new Promise<void>((resolve) => (this.conn.congested ? this.drainWaiters.push(resolve) : setImmediate(resolve)));
    }
    this.write({ command: 'MESSAGE', headers: [['subscription', sub.id], ['message-id', 'BrowseDone'], ['destination', sub.destination], ['browser', 'end']], body: Buffer.alloc(0) });
  }

  private deliver(sub: Subscription, d: Delivery): void {
    let ackId: string | undefined;
    if (sub.ackMode !== 'auto') {
      ackId = String(d.id);
      sub.unacked.set(d.id, d.message.id);
      sub.byMessageId.set(d.message.id, d.id);
      this.ackIndex.set(d.id, sub);
    }
    this.write(messageFrame(d, sub.id, ackId, this.version));
    // Auto-ack credit comes back as soon as the socket can take more.
    if (sub.ackMode === 'auto') this.giveCredit(sub, 1);
    const consumer = sub.consumer;
    if (consumer !== null && consumer.credit > 0 && this.conn.congested) {
      // Nothing more is written into a socket over its high-water mark, whatever the prefetch and the
      // ack mode (an auto-acked message written there has already left its queue, so the queue's
      // memory limits no longer hold it back). The rest of the credit waits for the drain.
      sub.held += consumer.credit;
      consumer.setCredit(0);
    }
  }

  /** Returns credit to a subscription's consumer, or holds it while the connection is congested. */
  private giveCredit(sub: Subscription, n: number): void {
    if (this.conn.congested) sub.held += n;
    else sub.consumer?.grant(n);
  }

  private onDrain(): void {
    for (const w of this.drainWaiters.splice(0)) w();
    for (const sub of this.subscriptions.values()) {
      if (sub.held > 0 && sub.consumer) {
        const n = sub.held;
        sub.held = 0;
        // Granting writes, which may congest the socket again: deliver then holds what is left anew.
        this.giveCredit(sub, n);
      }
    }
  }

  private async handleUnsubscribe(frame: StompFrame): Promise<void> {
    const id = header(frame, 'id') ?? (this.version === '1.0' ? header(frame, 'destination') : undefined);
    if (id === undefined) throw new JunctionError('ERR_STOMP_MISSING_HEADER', 'UNSUBSCRIBE requires an id header');
    const sub = this.subscriptions.get(id);
    const durableName = header(frame, 'activemq.subscriptionName') ?? header(frame, 'durable-subscription-name');
    if (!sub && durableName === undefined) throw new JunctionError('ERR_STOMP_PROTOCOL', `No subscription with id '${id}'`);
    if (sub) this.closeSubscription(sub);
    // ActiveMQ: UNSUBSCRIBE naming the durable subscription deletes it; otherwise it only goes inactive.
    if (durableName !== undefined) await this.core.deleteSubscription(durableName, this.clientId, this.origin);
  }

  private closeSubscription(sub: Subscription): void {
    this.subscriptions.delete(sub.id);
    for (const id of sub.unacked.keys()) this.ackIndex.delete(id);
    sub.consumer?.close();
  }

  // ---------------------------------------------------------------- ACK / NACK

  private async handleAck(frame: StompFrame, nack: boolean): Promise<void> {
    const { sub, deliveryId } = this.findDelivery(frame);
    const consumer = sub.consumer!;
    const cumulative = sub.ackMode === 'client' && !nack;
    const txName = header(frame, 'transaction');
    if (txName !== undefined) {
      if (nack) throw new JunctionError('ERR_STOMP_PROTOCOL', 'NACK in a transaction is not supported');
      this.getTx(txName).addAck(consumer, deliveryId, cumulative);
      // ActiveMQ extends the prefetch for acks in a transaction, so the client can go on consuming.
      this.giveCredit(sub, cumulative ? this.countUpTo(sub, deliveryId) : 1);
      return;
    }
    const settled = cumulative ? this.forgetUpTo(sub, deliveryId) : (this.forget(sub, deliveryId), 1);
    const done = nack
      ? consumer.nack(deliveryId, this.cfg.nackPolicy === 'deadLetter' ? { deadLetter: true, cause: 'STOMP NACK (poison acknowledgement)' } : {})
      : cumulative
        ? consumer.ackCumulative(deliveryId)
        : consumer.ack(deliveryId);
    this.giveCredit(sub, settled);
    await done;
  }

  private findDelivery(frame: StompFrame): { sub: Subscription; deliveryId: number } {
    if (this.version === '1.2') {
      const id = header(frame, 'id');
      if (id === undefined) throw new JunctionError('ERR_STOMP_MISSING_HEADER', `${frame.command} requires an id header`);
      const deliveryId = Number(id);
      const sub = this.ackIndex.get(deliveryId);
      if (!sub || !sub.unacked.has(deliveryId)) throw new JunctionError('ERR_DELIVERY_UNKNOWN', `Unknown ack id '${id.slice(0, 60)}'`);
      return { sub, deliveryId };
    }
    const messageId = header(frame, 'message-id');
    if (messageId === undefined) throw new JunctionError('ERR_STOMP_MISSING_HEADER', `${frame.command} requires a message-id header`);
    const subId = header(frame, 'subscription');
    const candidates = subId !== undefined ? [this.subscriptions.get(subId)] : [...this.subscriptions.values()];
    for (const sub of candidates) {
      const deliveryId = sub?.byMessageId.get(messageId);
      if (sub && deliveryId !== undefined) return { sub, deliveryId };
    }
    throw new JunctionError('ERR_DELIVERY_UNKNOWN', `Unknown message-id '${messageId.slice(0, 60)}'`);
  }

  private forget(sub: Subscription, deliveryId: number): void {
    const messageId = sub.unacked.get(deliveryId);
    sub.unacked.delete(deliveryId);
    if (messageId !== undefined && sub.byMessageId.get(messageId) === deliveryId) sub.byMessageId.delete(messageId);
    this.ackIndex.delete(deliveryId);
  }

  private forgetUpTo(sub: Subscription, deliveryId: number): number {
    let n = 0;
    for (const id of [...sub.unacked.keys()]) {
      this.forget(sub, id);
      n++;
      if (id === deliveryId) break;
    }
    return n;
  }

  private countUpTo(sub: Subscription, deliveryId: number): number {
    let n = 0;
    for (const id of sub.unacked.keys()) {
      n++;
      if (id === deliveryId) break;
    }
    return n;
  }

  // ---------------------------------------------------------------- transactions

  private handleBegin(frame: StompFrame): void {
    const name = header(frame, 'transaction');
    if (name === undefined) throw new JunctionError('ERR_STOMP_MISSING_HEADER', 'BEGIN requires a transaction header');
    if (this.transactions.has(name)) throw new JunctionError('ERR_TX_EXISTS', `Transaction '${name}' is already started`);
    // This session owns it: at most transactions.maxPerConnection open at once (ERR_TX_LIMIT beyond).
    this.transactions.set(name, this.core.createTransaction(this));
  }

  private getTx(name: string): Transaction {
    const tx = this.transactions.get(name);
    if (!tx) throw new JunctionError('ERR_TX_UNKNOWN', `Unknown transaction '${name.slice(0, 60)}'`);
    return tx;
  }

  private takeTx(frame: StompFrame): Transaction {
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
    for (const { consumer } of tx.acks) {
      const sub = [...this.subscriptions.values()].find((s) => s.consumer === consumer);
      if (!sub) continue;
      for (const id of [...sub.unacked.keys()]) if (!consumer.unacked.has(id)) this.forget(sub, id);
    }
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
    const message = errorMessage(code);
    if (!code) this.log.error({ err, command: frame?.command }, 'stomp internal error');
    else this.log.info({ code, command: frame?.command, detail }, 'stomp error');
    // `message` is one stable short reason per code (stomp-errors.ts), the detail is the body: the
    // header once carried both, which repeated itself when they were the same text.
    const headers: Array<[string, string]> = [['message', message], ['content-type', 'text/plain'], ...extra];
    const rid = frame ? header(frame, 'receipt') : undefined;
    if (rid !== undefined) headers.push(['receipt-id', rid]);
    this.write({ command: 'ERROR', headers, body: Buffer.from(`${detail}\n`) });
    this.closing = true;
    this.conn.end();
  }

  /** A frame the parser could not read: nothing after it can be trusted, but the frames before it still count. */
  private fatal(err: unknown): void {
    const e = err instanceof StompFrameError || isJunctionError(err) ? err : new JunctionError('ERR_STOMP_MALFORMED', String((err as Error)?.message ?? err));
    this.readFailed = true;
    // As ActiveMQ: frames decoded ahead of the bad one (same chunk) are handled first, then the ERROR.
    this.inbound = this.inbound.then(() => {
      this.replies = this.replies.then(() => this.fail(e));
    });
  }

  private write(frame: StompFrame): void {
    this.writeRaw(encodeFrame(frame, this.version));
  }

  private writeRaw(buf: Buffer): void {
    this.lastWrite = Date.now();
    this.conn.write(buf);
  }

  /** Connection gone: roll back open transactions, return unacked messages, stop timers. */
  private cleanup(err?: Error): void {
    this.closing = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    for (const tx of this.transactions.values()) this.core.rollback(tx);
    this.transactions.clear();
    for (const sub of [...this.subscriptions.values()]) this.closeSubscription(sub);
    for (const w of this.drainWaiters.splice(0)) w();
    this.unread = [];
    if (this.frameTimer !== undefined) clearTimeout(this.frameTimer);
    this.frameTimer = undefined;
    // Every path out of a connection comes here (ERROR, DISCONNECT, peer close, timeouts).
    this.budget.cancel(this);
    this.budgetWaiting = false;
    if (this.charged !== 0) {
      const back = this.charged;
      this.charged = 0;
      this.budget.charge(-back);
    }
    this.log.debug({ err: err?.message }, 'stomp connection closed');
  }
}
