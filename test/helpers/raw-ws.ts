import crypto from 'node:crypto';
import net from 'node:net';

/** Raw WebSocket client pieces, for tests that must put exact (hostile) frames on the wire. */

/** Completes a WebSocket upgrade over a raw socket; `protocol` undefined offers none. */
export function upgrade(port: number, protocol: string | undefined): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      const offer = protocol === undefined ? '' : `Sec-WebSocket-Protocol: ${protocol}\r\n`;
      s.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${offer}\r\n`);
    });
    let head = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      s.off('data', onData);
      const status = head.subarray(0, end).toString('latin1');
      if (!status.startsWith('HTTP/1.1 101')) return reject(new Error(status));
      if (head.length > end + 4) s.unshift(head.subarray(end + 4));
      resolve(s);
    };
    s.on('data', onData);
    s.once('error', reject);
  });
}

/** A client frame header (masked with a zero key, so the payload goes as is) declaring `len` bytes. */
export function frameHeader(len: number, opcode: number, fin: boolean): Buffer {
  const h = Buffer.alloc(14);
  h[0] = (fin ? 0x80 : 0) | opcode;
  h[1] = 0x80 | 127;
  h.writeBigUInt64BE(BigInt(len), 2);
  return h; // bytes 10-13: the mask key, zero
}

/**
 * Resolves with the status code of the server's close frame, 0 if the socket closes without one, or
 * undefined if it is still open after `ms`. Reads (and drops) whatever else the server sends.
 */
export function closeCode(s: net.Socket, ms: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const deadline = setTimeout(resolve, ms);
    s.once('close', () => (clearTimeout(deadline), resolve(0)));
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      // Server frames are unmasked; a close frame's payload is short (7-bit length).
      while (buf.length >= 2) {
        const len = buf[1]! & 0x7f;
        if (len > 125 || buf.length < 2 + len) return;
        if ((buf[0]! & 0x0f) === 0x8) return (clearTimeout(deadline), resolve(len >= 2 ? buf.readUInt16BE(2) : 0));
        buf = buf.subarray(2 + len);
      }
    });
  });
}
