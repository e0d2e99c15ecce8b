import type net from 'node:net';
import type { TransportGuards } from './transport-guards.ts';

/**
 * Admits every socket `server` accepts through the connection gate before anything else sees it
 * (the first 'connection' listener: before the HTTP parser, before the TLS handshake), and destroys
 * a refused one at once. An admitted socket is in `sockets` until it closes, and released then
 * exactly once, whatever became of it: a WebSocket, a TLS connection, or a handshake that failed or
 * timed out. So a silent TLS client counts against `connections.max` and `maxPerAddress` while it
 * holds its socket, as a plaintext one does.
 */
export function gateConnections(server: net.Server, guards: TransportGuards, listener: string, sockets: Set<net.Socket>): void {
  server.prependListener('connection', (s: net.Socket) => {
    const host = s.remoteAddress; // also kept by the socket, for the release after the close
    if (host === undefined || !guards.gate.admit(host, listener)) {
      s.destroy();
      return;
    }
    sockets.add(s);
    s.on('close', () => {
      sockets.delete(s);
      guards.gate.release(host);
    });
  });
}
