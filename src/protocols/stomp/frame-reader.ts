import { JunctionError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { TransportConnection } from '../../transport/connection.ts';
import type { ReadBudget, ReadBudgetWaiter } from '../../transport/read-budget.ts';
import type { StompFrame } from './frame.ts';
import { StompParser } from './parser.ts';
import type { StompConfig } from './stomp-config.ts';

/** The longest delay a Node timer takes (a signed 32-bit ms count). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Bytes parsed at a time (a TCP chunk's largest), so that reading stops within a slice of the limits. */
const FEED_SLICE = 64 * 1024;
/**
 * Bytes parsed at a time by a connection between frames while the partial-frame budget is spent
 * (see {@link FrameReader.readable}): room for a small frame, little for one that stays unfinished.
 */
const START_SLICE = 4 * 1024;
/** What one header is counted as beyond its text: its [name, value] pair and two strings in the heap (~77 bytes measured). */
const HEADER_BYTES = 64;
/**
 * Frames read but not yet handled, per connection (queued behind one that waits, or awaiting the
 * store), before the connection stops being read; `maxInflightBytes` bounds their bytes (bodies and headers).
 */
const MAX_PENDING_FRAMES = 1024;

/**
 * What a frame read and not yet handled holds, as {@link FrameReader.hold} counts it: its body, and
 * its headers (a frame of 1,000 one-character headers is 4 KB on the wire but ~77 KB in the heap;
 * counting only bodies, 1,024 such frames held ~78 MiB per connection).
 */
export function heldBytes(frame: StompFrame): number {
  const h = frame.headers;
  let n = frame.body.length + h.length * HEADER_BYTES;
  for (let i = 0; i < h.length; i++) n += h[i]![0].length + h[i]![1].length;
  return n;
}

/** What the reader calls back into its session. */
export interface FrameReaderHost {
  /** Whether the session is closing (nothing more is parsed or charged). */
  closing(): boolean;
  /** A complete frame. */
  frame(frame: StompFrame): void;
  /** The stream can no longer be trusted (malformed, or a frame not finished in time): ERROR and close. */
  fatal(err: unknown): void;
}

/**
 * A STOMP connection's inbound side: bytes in, frames out through the parser, within three bounds.
 * Frames read and not yet handled ({@link hold}) stop the reading past MAX_PENDING_FRAMES or
 * `maxInflightBytes`; unfinished frames of all connections share the read budget; an unfinished
 * frame must complete within `frameTimeout`. Bytes that arrive while reading is stopped wait in
 * `unread` and are parsed on resume.
 */
export class FrameReader implements ReadBudgetWaiter {
  readonly parser: StompParser;
  /** The parser failed or a frame timed out: the rest of the stream is ignored while the frames before it finish. */
  failed = false;
  private readonly conn: TransportConnection;
  private readonly cfg: StompConfig;
  private readonly log: Logger;
  private readonly host: FrameReaderHost;
  /** Shared by all STOMP connections: bytes of unfinished frames. */
  private readonly budget: ReadBudget;
  /** Frames read and not yet handled, and their bytes (see {@link hold}). */
  private pendingFrames = 0;
  private pendingBytes = 0;
  private paused = false;
  /** Bytes received while reading was stopped (see {@link feed}), parsed on resume. */
  private unread: Buffer[] = [];
  private readonly onFrameBound = (frame: StompFrame): void => {
    this.framesRead++;
    this.host.frame(frame);
  };
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

  constructor(conn: TransportConnection, cfg: StompConfig, budget: ReadBudget, log: Logger, host: FrameReaderHost) {
    this.conn = conn;
    this.cfg = cfg;
    this.budget = budget;
    this.log = log;
    this.host = host;
    this.parser = new StompParser({ maxHeaderBytes: cfg.maxHeaderBytes, maxHeaders: cfg.maxHeaders, maxBodyBytes: cfg.maxBodyBytes });
  }

  /** Whether the broker itself is not reading the connection now (frames in flight, or waiting for the budget). */
  get stopped(): boolean {
    return this.paused || this.budgetWaiting;
  }

  /** Bytes from the connection. */
  data(chunk: Buffer): void {
    if (this.paused || this.budgetWaiting) this.unread.push(chunk);
    else this.feed(chunk);
  }

  private done(): boolean {
    return this.failed || this.host.closing();
  }

  /**
   * Parses `chunk` a slice at a time while the connection is being read; once {@link hold} stops
   * reading, the rest waits, as bytes, in `unread` until {@link release} resumes. A TCP chunk is at
   * most 64 KiB, but a WebSocket message is up to the largest frame (4 MiB by default): parsed at
   * once, one message of 1,000 frames of small headers held ~84 MiB whatever maxInflightBytes said.
   */
  private feed(chunk: Buffer): void {
    for (let at = 0; at < chunk.length; ) {
      const n = this.paused || this.budgetWaiting ? 0 : this.readable();
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
        this.host.fatal(err);
        return;
      }
      this.settle();
      if (this.done()) return;
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
    if (!this.paused) this.conn.pause();
    this.budget.wait(this);
    return 0;
  }

  /** After a parse: charges what the parser still holds, and times the frame it is in. */
  private settle(): void {
    const held = this.done() ? 0 : this.parser.partialBytes;
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
    return this.host.closing() || this.budget.open;
  }

  budgetGo(): void {
    this.budgetWaiting = false;
    if (this.done()) return;
    if (!this.paused) this.conn.resume();
    this.drainUnread();
  }

  private drainUnread(): void {
    while (this.unread.length > 0 && !this.paused && !this.budgetWaiting && !this.done()) this.feed(this.unread.shift()!);
  }

  private armFrameTimer(ms: number): void {
    this.frameTimer = setTimeout(() => this.onFrameTimer(), Math.min(ms, MAX_TIMER_MS));
    this.frameTimer.unref();
  }

  private onFrameTimer(): void {
    this.frameTimer = undefined;
    if (this.done() || this.frameTimedSeq === -1) return;
    // The broker stopped reading (frames in flight, see hold): the frame's time starts again on resume.
    if (this.paused) this.frameStartedAt = Date.now();
    const left = this.frameStartedAt + this.cfg.frameTimeout - Date.now();
    if (left > 0) {
      this.armFrameTimer(left);
      return;
    }
    this.log.info({ held: this.charged, frameTimeout: this.cfg.frameTimeout }, 'stomp frame not completed in time; closing');
    this.failed = true;
    this.unread = [];
    // Its bytes leave the budget now; they leave memory when the connection closes just after the ERROR.
    this.settle();
    this.host.fatal(new JunctionError('ERR_STOMP_FRAME_TIMEOUT', `Frame not completed within ${this.cfg.frameTimeout} ms`));
  }

  /**
   * Counts a frame read and not yet handled. Over MAX_PENDING_FRAMES frames or `maxInflightBytes`
   * (bodies and headers, see {@link heldBytes}) the connection stops being read, so a producer faster
   * than the disk, blocked by a full address or queued behind a frame that waits is held back by TCP,
   * not by the broker's memory.
   */
  hold(bytes: number): void {
    this.pendingFrames++;
    this.pendingBytes += bytes;
    if (!this.paused && (this.pendingFrames >= MAX_PENDING_FRAMES || this.pendingBytes >= this.cfg.maxInflightBytes)) {
      this.paused = true;
      this.conn.pause();
    }
  }

  /** A frame counted by {@link hold} is handled. */
  release(bytes: number): void {
    this.pendingFrames--;
    this.pendingBytes -= bytes;
    if (this.paused && this.pendingFrames < MAX_PENDING_FRAMES && this.pendingBytes < this.cfg.maxInflightBytes) {
      this.paused = false;
      if (this.budgetWaiting) return;
      this.conn.resume();
      this.drainUnread();
    }
  }

  /** The connection is gone: unread bytes dropped, the frame timer stopped, its share of the budget given back. */
  close(): void {
    this.unread = [];
    if (this.frameTimer !== undefined) clearTimeout(this.frameTimer);
    this.frameTimer = undefined;
    this.budget.cancel(this);
    this.budgetWaiting = false;
    if (this.charged !== 0) {
      const back = this.charged;
      this.charged = 0;
      this.budget.charge(-back);
    }
  }
}
