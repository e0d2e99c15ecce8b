import type { Logger } from '../log.ts';
import type { TransportConnection } from './connection.ts';
import { tallyOf, type ConnectionTally } from './connection-tally.ts';
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

/** Said to an administrator's client when no reason is given. */
export const DEFAULT_CLOSE_REASON = 'Connection closed by an administrator';

/**
 * Builds the directory over the registered adapters (`Listeners.adapters`). Counts and totals are the
 * transport's own tallies of each adapter (connection-tally.ts), kept as its listeners admit and close
 * connections, whether the directory exists yet or not; lists and closes go to the adapters.
 * `log`: where a throwing event listener is reported (once per listener).
 */
export function createConnectionDirectory(adapters: readonly ProtocolAdapter[], log?: Logger): ConnectionDirectory {
  const tallies: Array<readonly [AdapterName, ConnectionTally]> = adapters.map((a) => [a.name, tallyOf(a)] as const);
  const listeners = new Set<(e: ConnectionEvent) => void>();
  /** Listeners whose exception was logged already: one line each, not one per connection. */
  const failed = new WeakSet<(e: ConnectionEvent) => void>();
  let unhook: Array<() => void> | null = null;

  const emit = (protocol: AdapterName, type: 'opened' | 'closed', conn: TransportConnection): void => {
    const e: ConnectionEvent = { type, id: conn.id, protocol, transport: conn.kind, remoteAddress: conn.remoteAddress, at: Date.now() };
    for (const cb of listeners) {
      try {
        cb(e);
      } catch (err) {
        if (failed.has(cb)) continue;
        failed.add(cb);
        log?.warn({ err, event: type, conn: conn.id }, 'connection event listener failed (logged once per listener)');
      }
    }
  };

  const adaptersFor = (protocol: AdapterName | undefined): readonly ProtocolAdapter[] => (protocol === undefined ? adapters : adapters.filter((a) => a.name === protocol));

  return {
    list(filter = {}) {
      const out: ConnectionInfo[] = [];
      for (const a of adaptersFor(filter.protocol)) {
        for (const c of a.listConnections()) {
          if (filter.user !== undefined && c.user !== filter.user) continue;
          if (filter.clientId !== undefined && c.clientId !== filter.clientId) continue;
          out.push(c);
        }
      }
      return out.sort((x, y) => x.id - y.id);
    },
    get(id) {
      for (const a of adapters) {
        const c = a.listConnections().find((x) => x.id === id);
        if (c) return c;
      }
      return undefined;
    },
    close(id, reason = DEFAULT_CLOSE_REASON) {
      for (const a of adapters) if (a.closeConnection(id, reason)) return true;
      return false;
    },
    counts() {
      const out = { stomp: 0, mqtt: 0, amqp: 0 } as Record<AdapterName, number>;
      for (const [name, t] of tallies) out[name] = t.open;
      return out;
    },
    totals() {
      const out = { stomp: { opened: 0, closed: 0 }, mqtt: { opened: 0, closed: 0 }, amqp: { opened: 0, closed: 0 } } as Record<AdapterName, { opened: number; closed: number }>;
      for (const [name, t] of tallies) out[name] = { opened: t.opened, closed: t.closed };
      return out;
    },
    onEvent(cb) {
      listeners.add(cb);
      // Hooked into the tallies only while someone listens: no event object is made for nobody.
      unhook ??= tallies.map(([name, t]) => t.listen((type, conn) => emit(name, type, conn)));
      return () => {
        listeners.delete(cb);
        if (listeners.size > 0 || unhook === null) return;
        for (const u of unhook) u();
        unhook = null;
      };
    },
  };
}
