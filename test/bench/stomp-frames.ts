/**
 * Splits a broker's STOMP byte stream into frames for the bench clients. Header values are decoded
 * as latin1 and never unescaped, so an ack id goes back to the broker byte for byte as it came.
 */

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;

export interface ServerFrame {
  command: string;
  /** First occurrence of each header wins (STOMP 1.2). Values are left escaped, as received. */
  headers: Map<string, string>;
  /** A view into the received bytes: valid only during the `onFrame` call. */
  body: Buffer;
}

export class FrameSplitter {
  private pending: Buffer | null = null;

  /**
   * Feeds bytes; calls `onFrame` for each complete frame until it returns false. Frames may span
   * chunks; EOLs between frames are heart-beats. Throws when a body is not followed by NUL.
   */
  push(chunk: Buffer, onFrame: (f: ServerFrame) => boolean): void {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    const len = buf.length;
    let pos = 0;
    while (pos < len) {
      const c = buf[pos];
      if (c === LF || c === CR) {
        pos++;
        continue;
      }
      // Find the blank line that ends the headers (LF or CRLF line endings).
      let headEnd = -1;
      let bodyStart = -1;
      for (let i = pos; ; ) {
        const nl = buf.indexOf(LF, i);
        if (nl < 0 || nl + 1 >= len) break;
        if (buf[nl + 1] === LF) {
          headEnd = nl;
          bodyStart = nl + 2;
          break;
        }
        if (buf[nl + 1] === CR) {
          if (nl + 2 >= len) break;
          if (buf[nl + 2] === LF) {
            headEnd = nl;
            bodyStart = nl + 3;
            break;
          }
        }
        i = nl + 1;
      }
      if (headEnd < 0) break;
      const lines = buf.toString('latin1', pos, headEnd).split('\n');
      const command = stripCr(lines[0]!);
      const headers = new Map<string, string>();
      for (let k = 1; k < lines.length; k++) {
        const line = stripCr(lines[k]!);
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        const name = line.slice(0, colon);
        if (!headers.has(name)) headers.set(name, line.slice(colon + 1));
      }
      const cl = headers.get('content-length');
      let bodyEnd: number;
      if (cl !== undefined) {
        bodyEnd = bodyStart + Number(cl);
        if (bodyEnd >= len) break;
        if (buf[bodyEnd] !== NUL) throw new Error(`frame body not followed by NUL (${command})`);
      } else {
        bodyEnd = buf.indexOf(NUL, bodyStart);
        if (bodyEnd < 0) break;
      }
      pos = bodyEnd + 1;
      if (!onFrame({ command, headers, body: buf.subarray(bodyStart, bodyEnd) })) return;
    }
    this.pending = pos < len ? Buffer.from(buf.subarray(pos)) : null;
  }
}

function stripCr(s: string): string {
  return s.endsWith('\r') ? s.slice(0, -1) : s;
}
