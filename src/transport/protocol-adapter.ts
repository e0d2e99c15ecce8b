import type { ProtocolAcceptor, TransportConnection } from './connection.ts';
import type { WireProtocol } from './first-bytes.ts';

/**
 * The protocols an adapter can be: each is also a listener name (ports, ports.json, log lines) and a
 * protocol the first-bytes check knows (first-bytes.ts), so a client of one on another's port is told
 * where to go. A new protocol adds its name here and its first bytes there.
 */
export type AdapterName = Exclude<WireProtocol, 'http' | 'tls'>;

/** How the WebSocket port carries a protocol (see {@link WsServer.register}). */
export interface WsBinding {
  /** The subprotocols (Sec-WebSocket-Protocol) that select it; no two adapters share one. */
  readonly subprotocols: readonly string[];
  /**
   * Its largest WebSocket message, bytes, derived from its own limits: a bigger message is closed
   * (1009) before ws buffers it.
   */
  readonly maxPayload: number;
  /** Every frame sent is binary (else text when the bytes are UTF-8). */
  readonly binary: boolean;
  /** Also takes WebSocket clients that offer none of the registered subprotocols (at most one adapter). */
  readonly isDefault: boolean;
}

/**
 * One wire protocol as the broker runs it: the composition root (broker.ts) registers one adapter
 * per protocol, and the listeners (listeners.ts) give each its TCP port and its WebSocket
 * subprotocols, hand it every connection they admit, and close it with the broker.
 *
 * Closing goes in two steps: every adapter's `shutdown` first (while all connections are still
 * open, last registered first), then the WebSocket listener closes, then for each adapter (last
 * registered first) `close` and its TCP listener.
 */
export interface ProtocolAdapter extends ProtocolAcceptor {
  readonly name: AdapterName;
  readonly ws: WsBinding;
  /** A connection the transport admitted (TCP or WebSocket); its first bytes are not another protocol's. */
  accept(conn: TransportConnection): void;
  /** The broker is closing: stop what a closing connection would set off (MQTT wills), say goodbye (AMQP close). */
  shutdown(): void | Promise<void>;
  /** Releases what the adapter holds beyond its connections; its TCP listener closes right after. */
  close(): Promise<void>;
}
