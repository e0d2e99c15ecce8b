import { isUtf8 } from 'node:buffer';
import { StompFrameError } from '../../errors.ts';
import type { StompVersion } from './frame.ts';

/**
 * What the command and header text of a STOMP frame may hold, and the 1.1/1.2 header escapes: the
 * parser's (parser.ts) checks on a decoded line, and the errors it throws.
 */

/** A character that makes header text suspect: NUL, or U+FFFD (what a failed UTF-8 decode yields). */
export const SUSPECT = /[\0\uFFFD]/;

/**
 * Refuses command or header text that no STOMP frame may carry.
 *
 * NUL: STOMP ends every frame with NUL ("NULL" in the 1.2 BNF) and 1.0/1.1 readers, and many 1.2
 * ones (stomp.py, older stomp.js), find frames by it; no version defines an escape for it. Accepted,
 * it would be forwarded into other clients' streams, where it ends a MESSAGE early and the rest
 * reads as frames the sender chose (a forged RECEIPT, ERROR or MESSAGE).
 *
 * Invalid UTF-8: STOMP 1.2 "Value Encoding": "The commands and headers are encoded in UTF-8"
 * (1.1 says the same). Decoded leniently, the bytes would become U+FFFD and reach consumers, selectors
 * and other protocols as text the client never sent.
 */
export function checkText(s: string, line: Buffer, start: number, end: number, what: 'command' | 'header'): void {
  if (s.includes('\0')) throw malformed(`STOMP ${what} contains NUL, which ends a frame`);
  if (!isUtf8(line.subarray(start, end))) throw malformed(`STOMP ${what} is not valid UTF-8`);
}

/**
 * Decodes STOMP 1.1/1.2 header escapes. STOMP 1.2: "Undefined escape sequences such as \t
 * MUST be treated as a fatal protocol error"; `\r` is only defined from 1.2.
 */
export function unescapeHeader(s: string, version: StompVersion): string {
  let i = s.indexOf('\\');
  if (i === -1) return s;
  let out = '';
  let from = 0;
  while (i !== -1) {
    out += s.slice(from, i);
    switch (s.charCodeAt(i + 1)) {
      case 0x6e: // n
        out += '\n';
        break;
      case 0x63: // c
        out += ':';
        break;
      case 0x5c: // backslash
        out += '\\';
        break;
      case 0x72: // r
        if (version === '1.2') {
          out += '\r';
          break;
        }
      // falls through: \r is undefined in 1.1
      default:
        throw malformed(
          i + 1 >= s.length
            ? 'STOMP header ends with a lone backslash'
            : `STOMP header has an undefined escape sequence ${JSON.stringify(s.slice(i, i + 2))} (STOMP ${version})`,
        );
    }
    from = i + 2;
    i = s.indexOf('\\', from);
  }
  return out + s.slice(from);
}

/** An `ERR_STOMP_MALFORMED` error: the frame breaks the STOMP grammar. */
export function malformed(message: string): StompFrameError {
  return new StompFrameError('ERR_STOMP_MALFORMED', message);
}

/** An `ERR_STOMP_LIMIT` error: the frame is over one of the configured bounds. */
export function limit(message: string): StompFrameError {
  return new StompFrameError('ERR_STOMP_LIMIT', message);
}
