import { StompFrameError } from '../../errors.ts';
import type { StompFrame, StompVersion } from './frame.ts';

/** A heart-beat: one EOL between frames. */
export const HEARTBEAT = Buffer.from('\n');

export interface EncodeOptions {
  /** Add `content-length` to a non-empty body that lacks one. Default true. */
  contentLength?: boolean;
}

// STOMP 1.2: "The CONNECT and CONNECTED frames do not escape the carriage return, line feed
// or colon octets"; STOMP is the 1.2 alias of CONNECT.
const UNESCAPED_COMMANDS: ReadonlySet<string> = new Set(['CONNECT', 'STOMP', 'CONNECTED']);

const NEEDS_ESCAPE = /[\\\n\r:]/;
const ESCAPE_12 = /[\\\n\r:]/g;
const ESCAPE_11 = /[\\\n:]/g;
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', ':': '\\c' };
const escapeChar = (c: string): string => ESCAPES[c] ?? c;
const EOL_IN_COMMAND = /[\r\n]/;

/**
 * Encodes a frame: command line, `name:value` lines, blank line, body, NUL. Lines end in LF,
 * valid in every version.
 *
 * Header names and values are escaped for 1.1 (`\\ \n \c`) and 1.2 (also `\r`), except in
 * CONNECT, STOMP and CONNECTED frames and in 1.0, which have no escaping. Rather than corrupt
 * the peer's stream it throws {@link StompFrameError} for: a header that cannot be written
 * (without escaping: LF, or ':' in a name; wherever `\r` cannot be escaped, i.e. all but 1.2:
 * a value ending in CR, which a reader would take for a CRLF); an existing `content-length`
 * that does not match the body; a NUL in a body sent without `content-length`.
 *
 * @example
 * socket.write(encodeFrame({ command: 'RECEIPT', headers: [['receipt-id', '7']], body: Buffer.alloc(0) }, '1.2'));
 */
export function encodeFrame(frame: StompFrame, version: StompVersion, opts?: EncodeOptions): Buffer {
  const { command, headers, body } = frame;
  if (EOL_IN_COMMAND.test(command)) throw malformed(`STOMP command contains an EOL: ${JSON.stringify(command)}`);
  const mode = version === '1.0' || UNESCAPED_COMMANDS.has(command) ? 'raw' : version;
  let head = command + '\n';
  let hasLength = false;
  for (const [name, value] of headers) {
    if (name === 'content-length') {
      if (value !== String(body.length)) {
        throw malformed(`STOMP content-length ${JSON.stringify(value)} does not match the body length ${body.length}`);
      }
      hasLength = true;
    }
    head += `${encodeText(name, mode, true)}:${encodeText(value, mode, false)}\n`;
  }
  if (!hasLength && body.length > 0) {
    if (opts?.contentLength !== false) head += `content-length:${body.length}\n`;
    // Without content-length the peer reads the body up to the first NUL.
    else if (body.indexOf(0) !== -1) throw malformed('STOMP body contains NUL and is sent without content-length');
  }
  head += '\n';

  // One allocation; the body is copied exactly once.
  const headLen = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLen + body.length + 1);
  out.write(head, 0, headLen, 'utf8');
  body.copy(out, headLen);
  out[headLen + body.length] = 0;
  return out;
}

function encodeText(s: string, mode: 'raw' | '1.1' | '1.2', isName: boolean): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  if (mode === '1.2') return s.replace(ESCAPE_12, escapeChar);
  // Raw and 1.1 cannot express a CR before the EOL: a CRLF-aware reader would take it as EOL.
  if (!isName && s.endsWith('\r')) throw unwritable(s, mode, 'ends in CR');
  if (mode === '1.1') return s.replace(ESCAPE_11, escapeChar);
  if (s.includes('\n')) throw unwritable(s, mode, 'contains LF');
  if (isName && s.includes(':')) throw unwritable(s, mode, 'is a name containing ":"');
  return s;
}

function unwritable(s: string, mode: 'raw' | '1.1', why: string): StompFrameError {
  const where = mode === 'raw' ? 'unescaped (STOMP 1.0, CONNECT or CONNECTED)' : 'in STOMP 1.1';
  return malformed(`STOMP header text ${JSON.stringify(s.slice(0, 64))} ${why} and cannot be written ${where}`);
}

function malformed(message: string): StompFrameError {
  return new StompFrameError('ERR_STOMP_MALFORMED', message);
}
