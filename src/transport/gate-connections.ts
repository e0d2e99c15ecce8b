import type net from 'node:net';
import type tls from 'node:tls';
import type { TransportGuards } from './transport-guards.ts';

/**
 * Admits every socket `server` accepts through the connection gate before anything else sees it
 * (the first 'connection' listener: before the HTTP parser, before the TLS handshake), and destroys
 * a refused one at once. An admitted socket is in `sockets` until it closes (for the listener's
 * close to destroy), and released then exactly once, whatever became of it: a WebSocket, a TLS
 * connection, or a handshake that failed or timed out. So a silent TLS client counts against
 * `connections.max` and `maxPerAddress` while it holds its socket, as a plaintext one does.
 *
 * On a TLS server, once the handshake is done the TLS socket takes the raw socket's place in
 * `sockets`: destroying the raw TCP socket under an established TLS socket makes OpenSSL read
 * through a freed SSL object (Node 20 crashed with SIGSEGV in SSL_read at the next read).
 */
export function gateConnections(server: net.Server, guards: TransportGuards, listener: string, sockets: Set<net.Socket>, secure = false): void {
  /** Raw sockets whose TLS handshake is under way, by remote address and port. */
  const handshaking = secure ? new Map<string, net.Socket>() : undefined;
  server.prependListener('connection', (s: net.Socket) => {
    const host = s.remoteAddress; // also kept by the socket, for the release after the close
    if (host === undefined || !guards.gate.admit(host, listener)) {
      s.destroy();
      return;
    }
    sockets.add(s);
    const key = `${host}|${s.remotePort}`;
    handshaking?.set(key, s);
    s.on('close', () => {
      sockets.delete(s);
      if (handshaking?.get(key) === s) handshaking.delete(key);
      guards.gate.release(host);
    });
  });
  if (!handshaking) return;
  server.prependListener('secureConnection', (t: tls.TLSSocket) => {
    const key = `${t.remoteAddress}|${t.remotePort}`;
    const raw = handshaking.get(key);
    if (raw === undefined) return;
    handshaking.delete(key);
    sockets.delete(raw);
    sockets.add(t);
    t.on('close', () => sockets.delete(t));
  });
}
