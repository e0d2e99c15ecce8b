import { StompFrameError } from '../../errors.ts';
import type { StompFrame, StompVersion } from './frame.ts';
import { checkText, limit, malformed, SUSPECT, unescapeHeader } from './frame-text.ts';

/** Bounds that keep one connection from making the parser buffer without limit. */
export interface StompLimits {
  /** Bytes of the header section: everything after the command line up to and including the blank line. */
  maxHeaderBytes: number;
  /** Header lines per frame (repeats count). */
  maxHeaders: number;
  /** Body bytes, with or without `content-length`. */
  maxBodyBytes: number;
  /** Bytes of the command line, EOL excluded. Default 256. */
  maxCommandLength?: number;
}

/** The limits the broker uses unless configured otherwise. */
export const DEFAULT_STOMP_LIMITS: Readonly<Required<StompLimits>> = {
  maxHeaderBytes: 10 * 1024,
  maxHeaders: 1000,
  maxBodyBytes: 4 * 1024 * 1024,
  maxCommandLength: 256,
};

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const CR_BUF = Buffer.from([CR]);
const DIGITS = /^[0-9]+$/;

// STOMP 1.2: "The CONNECT and CONNECTED frames do not escape the carriage return, line feed
// or colon octets"; STOMP is the 1.2 alias of CONNECT.
const UNESCAPED_COMMANDS: ReadonlySet<string> = new Set(['CONNECT', 'STOMP', 'CONNECTED']);

const State = {
  /** Between frames: EOLs here are heart-beats. */
  Idle: 0,
  /** Between frames, after a CR whose LF has not arrived yet. */
  IdleCr: 1,
  Command: 2,
  Headers: 3,
  /** Reading exactly `content-length` body bytes. */
  FixedBody: 4,
  /** After a `content-length` body: the next byte must be NUL. */
  FrameEnd: 5,
  /** No `content-length`: the body runs to the first NUL. */
  ScanBody: 6,
  Dead: 7,
} as const;
type State = (typeof State)[keyof typeof State];

/**
 * A STOMP 1.0/1.1/1.2 frame decoder: a byte-level state machine, bytes in, frames out.
 *
 * No sockets, no timers. Frames may be split at any byte and several may share a chunk;
 * partial state is kept between calls. Partial lines and bodies are kept as slices of the
 * incoming chunks and joined once, when complete; a frame's body is always a fresh copy, so
 * it never pins a transport chunk.
 *
 * Any violation throws {@link StompFrameError} (`ERR_STOMP_MALFORMED` or `ERR_STOMP_LIMIT`);
 * the parser is then dead and every later call throws: the connection must be closed.
 *
 * @example
 * const parser = new StompParser(DEFAULT_STOMP_LIMITS);
 * socket.on('data', (chunk) => parser.feed(chunk, (frame) => session.handle(frame)));
 */
export class StompParser {
  /**
   * Decides header unescaping (1.0: none; 1.1: `\n \c \\`; 1.2: also `\r`). The session sets it
   * after CONNECT negotiation; it applies from the next frame whose command line ends after the
   * change. Use {@link feed} so that a change made while handling CONNECT already applies to
   * frames pipelined behind it in the same chunk.
   */
  version: StompVersion = '1.0';
  #heartbeats = 0;

  readonly #maxHeaderBytes: number;
  readonly #maxHeaders: number;
  readonly #maxBodyBytes: number;
  readonly #maxCommandLength: number;

  #state: State = State.Idle;
  #error: StompFrameError | undefined;

  /** Slices of the current, incomplete line and their total length. */
  #lineParts: Buffer[] = [];
  #lineLen = 0;

  #command = '';
  #unescape = false;
  #headers: Array<[string, string]> = [];
  #headerBytes = 0;
  /** The first `content-length`, or -1 when absent. */
  #contentLength = -1;
  #remaining = 0;
  /** The body, when it arrived in one chunk; otherwise it is joined from #bodyParts. */
  #body: Buffer | undefined;
  #bodyParts: Buffer[] = [];
  #bodyLen = 0;

  constructor(limits: StompLimits) {
    this.#maxHeaderBytes = limits.maxHeaderBytes;
    this.#maxHeaders = limits.maxHeaders;
    this.#maxBodyBytes = limits.maxBodyBytes;
    this.#maxCommandLength = limits.maxCommandLength ?? DEFAULT_STOMP_LIMITS.maxCommandLength;
  }

  /**
   * Bytes of the frame being read that the parser holds (command line, headers, body so far); 0
   * between frames. Counted against the broker-wide `stomp.maxPartialFrameBytes` by the session.
   */
  get partialBytes(): number {
    if (this.#state <= State.IdleCr || this.#state === State.Dead) return 0;
    // #body: a whole body that arrived before its NUL (FrameEnd).
    return this.#lineLen + this.#headerBytes + this.#bodyLen + (this.#body?.length ?? 0);
  }

  /** EOLs received between frames (heart-beats, and the optional EOLs after a frame's NUL). */
  get heartbeats(): number {
    return this.#heartbeats;
  }

  /**
   * Parses `chunk` and returns the frames it completes, in order. All of them are decoded with
   * the {@link version} current at the call; see {@link feed} for CONNECT.
   */
  push(chunk: Buffer): StompFrame[] {
    const frames: StompFrame[] = [];
    this.feed(chunk, (frame) => frames.push(frame));
    return frames;
  }

  /**
   * Parses `chunk`, calling `onFrame` as soon as each frame completes. Frames before a bad
   * one are delivered before the error is thrown, and `onFrame` may change {@link version}
   * before the next frame of the same chunk is decoded. If `onFrame` throws, its error
   * propagates, the rest of the chunk is dropped and the parser is dead.
   */
  feed(chunk: Buffer, onFrame: (frame: StompFrame) => void): void {
    if (this.#error !== undefined) {
      const code = this.#error.code === 'ERR_STOMP_LIMIT' ? 'ERR_STOMP_LIMIT' : 'ERR_STOMP_MALFORMED';
      throw new StompFrameError(code, `STOMP parser closed after an earlier error: ${this.#error.message}`);
    }
    try {
      this.#parse(chunk, onFrame);
    } catch (e) {
      this.#die(e instanceof StompFrameError ? e : malformed('STOMP parser stopped: a frame handler threw'));
      throw e;
    }
  }

  #parse(chunk: Buffer, onFrame: (frame: StompFrame) => void): void {
    const len = chunk.length;
    let pos = 0;
    while (pos < len) {
      switch (this.#state) {
        case State.Idle: {
          const b = chunk[pos];
          if (b === LF) {
            this.#heartbeats++;
            pos++;
          } else if (b === CR) {
            this.#state = State.IdleCr;
            pos++;
          } else {
            this.#state = State.Command;
          }
          break;
        }
        case State.IdleCr: {
          if (chunk[pos] === LF) {
            this.#heartbeats++;
            pos++;
            this.#state = State.Idle;
          } else {
            // Not an EOL: the CR is the first byte of a (garbage) command line.
            this.#lineParts.push(CR_BUF);
            this.#lineLen = 1;
            this.#state = State.Command;
          }
          break;
        }
        case State.Command: {
          const lf = chunk.indexOf(LF, pos);
          this.#lineLen += (lf === -1 ? len : lf) - pos;
          // +1: the line may still end in the CR of a CRLF, which is not part of the command.
          if (this.#lineLen > this.#maxCommandLength + 1) throw this.#commandTooLong();
          if (lf === -1) {
            this.#lineParts.push(chunk.subarray(pos));
            pos = len;
            break;
          }
          let line = chunk;
          let start = pos;
          let end = lf;
          if (this.#lineParts.length > 0) {
            line = this.#joinLine(chunk.subarray(pos, lf));
            start = 0;
            end = line.length;
          }
          this.#lineLen = 0;
          pos = lf + 1;
          if (end > start && line[end - 1] === CR) end--;
          if (end - start > this.#maxCommandLength) throw this.#commandTooLong();
          this.#command = line.toString('utf8', start, end);
          if (SUSPECT.test(this.#command)) checkText(this.#command, line, start, end, 'command');
          this.#unescape = this.version !== '1.0' && !UNESCAPED_COMMANDS.has(this.#command);
          this.#state = State.Headers;
          break;
        }
        case State.Headers: {
          const lf = chunk.indexOf(LF, pos);
          this.#lineLen += (lf === -1 ? len : lf) - pos;
          // Checked before the line is complete so that a peer cannot make us buffer an endless
          // header line; a partial line can only fail if the complete one would.
          if (this.#headerBytes + this.#lineLen + (lf === -1 ? 0 : 1) > this.#maxHeaderBytes) {
            throw limit(`STOMP header section exceeds ${this.#maxHeaderBytes} bytes`);
          }
          if (lf === -1) {
            this.#lineParts.push(chunk.subarray(pos));
            pos = len;
            break;
          }
          let line = chunk;
          let start = pos;
          let end = lf;
          if (this.#lineParts.length > 0) {
            line = this.#joinLine(chunk.subarray(pos, lf));
            start = 0;
            end = line.length;
          }
          this.#headerBytes += this.#lineLen + 1;
          this.#lineLen = 0;
          pos = lf + 1;
          if (end > start && line[end - 1] === CR) end--;
          if (end === start) this.#endHeaders();
          else this.#addHeader(line, start, end);
          break;
        }
        case State.FixedBody: {
          if (this.#bodyParts.length === 0 && this.#remaining <= len - pos) {
            // Fast path: the whole body is in this chunk.
            this.#body = copyOf(chunk, pos, pos + this.#remaining);
            pos += this.#remaining;
            this.#remaining = 0;
            this.#state = State.FrameEnd;
            break;
          }
          const take = Math.min(this.#remaining, len - pos);
          this.#bodyParts.push(chunk.subarray(pos, pos + take));
          this.#bodyLen += take;
          this.#remaining -= take;
          pos += take;
          if (this.#remaining === 0) this.#state = State.FrameEnd;
          break;
        }
        case State.FrameEnd: {
          if (chunk[pos] !== NUL) {
            throw malformed(`STOMP frame body of content-length ${this.#contentLength} is not followed by NUL`);
          }
          pos++;
          onFrame(this.#takeFrame());
          break;
        }
        case State.ScanBody: {
          const nul = chunk.indexOf(NUL, pos);
          const end = nul === -1 ? len : nul;
          this.#bodyLen += end - pos;
          if (this.#bodyLen > this.#maxBodyBytes) throw limit(`STOMP frame body exceeds ${this.#maxBodyBytes} bytes`);
          if (nul !== -1 && this.#bodyParts.length === 0) {
            // Fast path: the whole body is in this chunk.
            this.#body = copyOf(chunk, pos, nul);
            pos = nul + 1;
            onFrame(this.#takeFrame());
            break;
          }
          if (end > pos) this.#bodyParts.push(chunk.subarray(pos, end));
          if (nul === -1) {
            pos = len;
            break;
          }
          pos = nul + 1;
          onFrame(this.#takeFrame());
          break;
        }
        case State.Dead:
          // Unreachable: feed() refuses to run once an error is recorded.
          throw malformed('STOMP parser is closed');
      }
    }
  }

  /** Joins the slices of a line that spans chunks with its `last` slice (one copy). */
  #joinLine(last: Buffer): Buffer {
    this.#lineParts.push(last);
    const line = Buffer.concat(this.#lineParts, this.#lineLen);
    this.#lineParts = [];
    return line;
  }

  /** Parses `name:value` from `line[start, end)`. */
  #addHeader(line: Buffer, start: number, end: number): void {
    if (this.#headers.length >= this.#maxHeaders) throw limit(`STOMP frame has more than ${this.#maxHeaders} headers`);
    // One decode and one scan per line; the rare hit (NUL, or U+FFFD: a replaced invalid byte or a
    // genuine one) is checked on the bytes.
    const text = line.toString('utf8', start, end);
    if (SUSPECT.test(text)) checkText(text, line, start, end, 'header');
    // Only the first colon separates: a 1.0 value may contain ':' (1.1+ should escape it). A ':' byte
    // is never part of a multi-byte UTF-8 sequence, so the first ':' of the text is the first of the bytes.
    const colon = text.indexOf(':');
    if (colon === -1) throw malformed('STOMP header line without ":"');
    if (colon === 0) throw malformed('STOMP header line with an empty name');
    let name = text.slice(0, colon);
    let value = text.slice(colon + 1);
    if (this.#unescape) {
      name = unescapeHeader(name, this.version);
      value = unescapeHeader(value, this.version);
    }
    this.#headers.push([name, value]);
    // STOMP 1.2: if a header is repeated, only the first occurrence is used.
    if (name === 'content-length' && this.#contentLength === -1) {
      if (!DIGITS.test(value)) throw malformed(`STOMP content-length is not a non-negative integer: ${JSON.stringify(value.slice(0, 32))}`);
      const n = Number(value);
      if (n > this.#maxBodyBytes) throw limit(`STOMP content-length ${value.length > 20 ? `${value.slice(0, 20)}...` : value} exceeds ${this.#maxBodyBytes} bytes`);
      this.#contentLength = n;
    }
  }

  #endHeaders(): void {
    if (this.#contentLength === -1) {
      this.#state = State.ScanBody;
    } else {
      this.#remaining = this.#contentLength;
      this.#state = this.#contentLength === 0 ? State.FrameEnd : State.FixedBody;
    }
  }

  /** Builds the finished frame (joining a split body is its single copy) and resets for the next. */
  #takeFrame(): StompFrame {
    const frame: StompFrame = {
      command: this.#command,
      headers: this.#headers,
      body: this.#body ?? Buffer.concat(this.#bodyParts, this.#bodyLen),
    };
    this.#body = undefined;
    this.#command = '';
    this.#headers = [];
    this.#headerBytes = 0;
    this.#contentLength = -1;
    this.#bodyParts = [];
    this.#bodyLen = 0;
    this.#state = State.Idle;
    return frame;
  }

  #commandTooLong(): StompFrameError {
    return limit(`STOMP command line exceeds ${this.#maxCommandLength} bytes`);
  }

  #die(error: StompFrameError): void {
    this.#error = error;
    this.#state = State.Dead;
    this.#lineParts = [];
    this.#bodyParts = [];
    this.#body = undefined;
    this.#headers = [];
  }
}

/** A fresh copy of `src[start, end)`. */
function copyOf(src: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  src.copy(out, 0, start, end);
  return out;
}
