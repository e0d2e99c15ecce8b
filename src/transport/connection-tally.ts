import type { ProtocolAcceptor, TransportConnection } from './connection.ts';

/** Told of each connection of one acceptor as the transport admits and closes it. */
export type TallyListener = (type: 'opened' | 'closed', conn: TransportConnection) => void;

/**
 * The connections of one protocol acceptor, counted where the transport admits and closes them (a
 * TCP or TLS listener's accept and socket close, a WebSocket's upgrade and close): what the
 * connection directory reads in O(1) (issue 15). Plain numbers, touched twice per connection and
 * never per message; the listeners (the directory's) are called only when there are any.
 */
export class ConnectionTally {
  /** Open now. */
  open = 0;
  /** Admitted since start. */
  opened = 0;
  /** Closed since start. */
  closed = 0;
  private readonly listeners = new Set<TallyListener>();

  /** The transport handed `conn` to the acceptor. */
  admitted(conn: TransportConnection): void {
    this.open++;
    this.opened++;
    if (this.listeners.size > 0) for (const l of this.listeners) l('opened', conn);
  }

  /** `conn`'s socket closed (once per admitted connection). */
  gone(conn: TransportConnection): void {
    this.open--;
    this.closed++;
    if (this.listeners.size > 0) for (const l of this.listeners) l('closed', conn);
  }

  /** Adds `l`; returns its removal. */
  listen(l: TallyListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

/**
 * Tallies by acceptor object: a listener finds its acceptor's (TCP, TLS and WebSocket listeners of one
 * adapter share one), the directory its adapters'. Weak: a broker's adapters take theirs with them,
 * and brokers in one process (tests) never share one.
 */
const tallies = new WeakMap<ProtocolAcceptor, ConnectionTally>();

/** The tally of `acceptor`'s connections (made on first use). */
export function tallyOf(acceptor: ProtocolAcceptor): ConnectionTally {
  let t = tallies.get(acceptor);
  if (t === undefined) {
    t = new ConnectionTally();
    tallies.set(acceptor, t);
  }
  return t;
}
