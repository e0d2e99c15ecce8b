import type { TransportConnection } from './connection.ts';
import type { ConnectionInfo } from './protocol-adapter.ts';

/** What the transport knows of a connection, the same for every protocol's {@link ConnectionInfo}. */
export type TransportFields = Pick<ConnectionInfo, 'id' | 'transport' | 'tls' | 'remoteAddress' | 'connectedAt' | 'bytesIn' | 'bytesOut'>;

/** The transport's part of a {@link ConnectionInfo}; the adapter adds the protocol's. */
export function transportFields(conn: TransportConnection): TransportFields {
  return { id: conn.id, transport: conn.kind, tls: conn.tls !== undefined, remoteAddress: conn.remoteAddress, connectedAt: conn.connectedAt, bytesIn: conn.bytesIn, bytesOut: conn.bytesOut };
}
