import type { AdapterName, ConnectionInfo, ProtocolAdapter } from './protocol-adapter.ts';

/** A connection opened or closed, as the management plane streams it (SSE) and counts it. */
export interface ConnectionEvent {
  readonly type: 'opened' | 'closed';
  readonly id: number;
  readonly protocol: AdapterName;
  readonly transport: 'tcp' | 'ws';
  readonly remoteAddress: string;
  readonly at: number;
}

/** Which connections `ConnectionDirectory.list` returns; every field given must match exactly. */
export interface ConnectionFilter {
  readonly protocol?: AdapterName;
  readonly user?: string;
  readonly clientId?: string;
}

/**
 * Every open connection of every protocol, for management (issue 15): the composition root makes one
 * over the adapters; the HTTP API lists and closes through it, the metrics count through it.
 * (Contract written by the lead; implemented by the connections builder.)
 */
export interface ConnectionDirectory {
  list(filter?: ConnectionFilter): ConnectionInfo[];
  get(id: number): ConnectionInfo | undefined;
  /** Closes with the protocol's own close (see `ProtocolAdapter.closeConnection`); false: no such connection. */
  close(id: number, reason?: string): boolean;
  /** Open connections per protocol now: O(1), kept by the transport as connections open and close. */
  counts(): Record<AdapterName, number>;
  /** Connections accepted and closed since start, per protocol (Prometheus counters). */
  totals(): Record<AdapterName, { opened: number; closed: number }>;
  /** Calls `cb` for each connection opened or closed; returns the unsubscribe. */
  onEvent(cb: (e: ConnectionEvent) => void): () => void;
}

/** Builds the directory over the registered adapters. (Stub until the connections builder lands it.) */
export function createConnectionDirectory(adapters: readonly ProtocolAdapter[]): ConnectionDirectory {
  void adapters;
  throw new Error('not implemented');
}
