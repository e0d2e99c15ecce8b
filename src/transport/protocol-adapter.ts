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
  /**
   * The adapter's open connections as management sees them (issue 15): a plain copy, made on call
   * (never kept up to date per message). O(connections + their subscriptions).
   */
  listConnections(): ConnectionInfo[];
  /**
   * Closes one connection with the protocol's own close (STOMP ERROR then close; MQTT 5 DISCONNECT
   * 0x98 "administrative action", MQTT 3.1.1 a TCP close; AMQP close with `amqp:connection:forced`),
   * as if the client had gone: its will is published, its unsettled deliveries return to their queues.
   * False when this adapter has no connection `id`.
   */
  closeConnection(id: number, reason: string): boolean;
}

/** A subscription (consumer) of a connection, as {@link ConnectionInfo} lists it. */
export interface ConnectionSubscription {
  /** The protocol's own id: STOMP subscription id, MQTT topic filter, AMQP link name. */
  readonly id: string;
  /** What the client subscribed to, in the core's naming (a queue or topic name, wildcards as the core writes them). */
  readonly destination: string;
  /** The core queue it consumes from (a topic subscription's queue), and the core consumer id (`ConsumerHandle.id`). */
  readonly queue?: string;
  readonly consumerId?: number;
  readonly selector?: string;
  readonly durable?: boolean;
  /** Deliveries not yet settled. */
  readonly unacked?: number;
}

/** One client connection as management lists it ({@link ProtocolAdapter.listConnections}). */
export interface ConnectionInfo {
  /** `TransportConnection.id`: unique over the broker's life, whatever the protocol. */
  readonly id: number;
  readonly protocol: AdapterName;
  readonly transport: 'tcp' | 'ws';
  readonly tls: boolean;
  readonly remoteAddress: string;
  /** Logged-in user (undefined: anonymous, or not logged in yet). */
  readonly user?: string;
  /** MQTT client id, STOMP `client-id`, AMQP container id. */
  readonly clientId?: string;
  /** Protocol version negotiated: `1.2`, `3.1.1`, `1.0`. */
  readonly version?: string;
  /** Epoch ms the transport accepted it. */
  readonly connectedAt: number;
  /** Bytes read from and written to the peer (after TLS), counted by the transport. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly subscriptions: readonly ConnectionSubscription[];
  /** Addresses it sends to, where the protocol declares them (AMQP sender links); empty for STOMP and MQTT. */
  readonly producers: readonly string[];
}
