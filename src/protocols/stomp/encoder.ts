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

/** Any character that needs work in some mode: escaped, replaced, or (a value's ':' without escaping) kept. */
const SPECIAL = /[\\\n\r:\0]/;
const SPECIAL_ALL = /[\\\n\r:\0]/g;
const RAW_VALUE = /[\n\r\0]/g;
const RAW_NAME = /[\n\r:\0]/g;
/** U+FFFD REPLACEMENT CHARACTER: what a NUL becomes, in every version. */
const REPLACEMENT = '\uFFFD';
// STOMP 1.2 "Value Encoding": \r \n \c \\ for CR, LF, ':' and '\'.
const ESCAPES_12: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', ':': '\\c', '\0': REPLACEMENT };
// STOMP 1.1 defines \n \c \\ only: a CR cannot be escaped, and before the EOL a reader takes it for a CRLF.
const ESCAPES_11: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': ' ', ':': '\\c', '\0': REPLACEMENT };
// No escaping (1.0, CONNECT, CONNECTED): line breaks and a name's ':' become spaces.
const RAW: Readonly<Record<string, string>> = { '\n': ' ', '\r': ' ', ':': ' ', '\0': REPLACEMENT };
const escape12 = (c: string): string => ESCAPES_12[c]!;
const escape11 = (c: string): string => ESCAPES_11[c]!;
const raw = (c: string): string => RAW[c]!;
const EOL_IN_COMMAND = /[\r\n]/;

/**
 * Encodes a frame: command line, `name:value` lines, blank line, body, NUL. Lines end in LF,
 * valid in every version.
 *
 * Header names and values are escaped for 1.1 (`\\ \n \c`) and 1.2 (also `\r`), except in
 * CONNECT, STOMP and CONNECTED frames and in 1.0, which have no escaping. Whatever the header text,
 * what it writes reads back as exactly one frame with the headers given, except that characters the
 * mode cannot carry are replaced (see `encodeText`) and a header with an empty name is left out. It throws
 * {@link StompFrameError} only for what its caller built wrong: an EOL in the command, an existing
 * `content-length` that does not match the body, a NUL in a body sent without `content-length`.
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
    // STOMP 1.2 BNF: header-name = 1*<any OCTET except CR or LF or ":">; a line ":v" is not a header.
    if (name.length === 0) continue;
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

/**
 * Header text as the mode can carry it, so that no content (a STOMP client's escaped header, an AMQP
 * application property, an MQTT topic) can end a line or the frame early. Escaped where the version
 * defines an escape; otherwise replaced, never refused: a delivery must reach its consumer (refusing
 * would make the message undeliverable to that one subscriber, and dropping the header loses the
 * whole value where only a character cannot be said). NUL becomes U+FFFD in every version: no
 * version has an escape for it and a NUL ends the frame for NUL-delimited readers. One regex scan
 * when there is nothing to do, the usual case.
 */
function encodeText(s: string, mode: 'raw' | '1.1' | '1.2', isName: boolean): string {
  if (!SPECIAL.test(s)) return s;
  if (mode === '1.2') return s.replace(SPECIAL_ALL, escape12);
  if (mode === '1.1') return s.replace(SPECIAL_ALL, escape11);
  // Without escaping a value may keep its ':' (only the first colon of a line separates).
  return s.replace(isName ? RAW_NAME : RAW_VALUE, raw);
}

function malformed(message: string): StompFrameError {
  return new StompFrameError('ERR_STOMP_MALFORMED', message);
}
