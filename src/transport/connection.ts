import type { PeerCertificate } from '../core/ports/security.ts';

/**
 * One client connection, whatever carries it (TCP or a WebSocket). Protocol sessions see only this
 * surface; only the transport files touch sockets.
 */
export interface TransportConnection {
  readonly id: number;
  readonly kind: 'tcp' | 'ws';
  readonly remoteAddress: string;
  /**
   * Set on a connection that came over TLS (a TLS listener or WSS): the client certificate the
   * listener verified against the configured CA (mTLS), if the client sent one.
   */
  readonly tls?: { readonly peerCertificate?: PeerCertificate };
  /** Epoch ms the transport accepted it (issue 15: management lists it). */
  readonly connectedAt: number;
  /**
   * Bytes read from and written to the peer so far: after TLS decryption (cleartext), WebSocket
   * framing and the HTTP upgrade included. Read from the socket's own counters when asked (Node
   * counts every read and write already), so the data path pays nothing for them.
   */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Queues bytes for the peer. Returns false once the outgoing buffer is over its high-water mark. */
  write(data: Buffer): boolean;
  /** True while the outgoing buffer is over its high-water mark; `onDrain` fires when it empties. */
  readonly congested: boolean;
  onData(cb: (chunk: Buffer) => void): void;
  onDrain(cb: () => void): void;
  onClose(cb: (err?: Error) => void): void;
  /** Stops reading from the peer (backpressure); `resume` starts again. */
  pause(): void;
  resume(): void;
  /** Flushes what is queued, then closes. */
  end(): void;
  /** Closes at once. */
  destroy(): void;
}

/** A protocol that accepts connections: the transport hands each new one over. */
export interface ProtocolAcceptor {
  accept(conn: TransportConnection): void;
}

let nextId = 0;
export function nextConnectionId(): number {
  return ++nextId;
}
