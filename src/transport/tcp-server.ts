import net from 'node:net';
import tls from 'node:tls';
import { listen } from './listen.ts';
import { nextConnectionId, type ProtocolAcceptor, type TransportConnection } from './connection.ts';
import { OutboundPolicy, type Watched } from './outbound-policy.ts';
import { defaultTransportGuards, type TransportGuards } from './transport-guards.ts';
import { LOOKS_LIKE, sniffForeign, type WireProtocol } from './first-bytes.ts';
import { logWrongProtocol, wrongProtocolAnswer, type ListenerName } from './wrong-protocol.ts';
import { forceCloseAfter } from './force-close.ts';
import { gateConnections } from './gate-connections.ts';
import { peerCertificateOf } from './peer-certificate.ts';
import { tallyOf, type ConnectionTally } from './connection-tally.ts';
import type { TlsContext } from './tls-context.ts';

function uncork(c: TcpConnection): void {
  c.uncork();
}

function endTurn(c: TcpConnection): void {
  c.endTurn();
}

/**
 * Cleartext bytes a TLS connection reads in one event-loop turn before it waits for the next. A
 * TLSSocket emits one 'data' per TLS record (MQTT.js sends one record per PUBLISH, ~300 bytes) and
 * libuv reads up to 32 x 64 KiB per socket per poll: four flooding publishers made one turn last
 * 0.5 s. And a TLS write completes (and a congested socket drains) only in the next turn (Node's
 * TLSWrap calls back through SetImmediate), so a subscriber over TLS got one socket buffer (16 KiB)
 * per such turn: QoS 0 fan-in 4 -> 1 over TLS fell from ~40,000 to ~300 msg/s.
 */
const TLS_READ_PER_TURN = 64 * 1024;

/**
 * Bytes waiting in a TLS socket above which the connection is congested (a plain socket: its own
 * 16 KiB high-water mark). The TLS write of a turn is encrypted and handed to the kernel at once,
 * but the socket counts it as waiting until its completion in the next turn; with 16 KiB a TLS
 * subscriber got 16 KiB per turn while publishers read 64 KiB each in it.
 */
const TLS_WRITE_HIGH_WATER = 1024 * 1024;

/** A connection's first bytes while they are checked for another protocol (see {@link TcpConnection.firstBytes}). */
interface Sniff {
  /** The protocol's 'data' listeners, added to the socket once the bytes are its own. */
  readonly listeners: Array<(chunk: Buffer) => void>;
  /** Bytes read so far, fewer than MAX_SNIFF_BYTES. */
  held: Buffer | undefined;
  readonly onData: (chunk: Buffer) => void;
}

class TcpConnection implements TransportConnection, Watched {
  readonly id = nextConnectionId();
  readonly kind = 'tcp' as const;
  readonly connectedAt = Date.now();
  private readonly socket: net.Socket;
  private readonly server: TcpServer;
  private corked = false;
  private remote: string | undefined;
  private error: Error | undefined;
  private closeListeners: Array<(err?: Error) => void> | null = null;
  congestedSince = 0;
  slowTimer: NodeJS.Timeout | undefined = undefined;
  /** Whether the 'drain' listener that ends a congestion is on (added at the first congestion only). */
  private drainWatched = false;
  /** Set until the first bytes are judged (only on a listener of a known protocol); then null. */
  private sniff: Sniff | null = null;
  /** The protocol paused reading (back-pressure, read budget). */
  private paused = false;
  /** TLS: cleartext bytes read in this event-loop turn; -1 while waiting for the next turn. */
  private turnBytes = 0;

  /** Set on a connection of a TLS listener (see TransportConnection.tls). */
  readonly tls: TransportConnection['tls'];

  constructor(socket: net.Socket, server: TcpServer, tlsInfo?: TransportConnection['tls']) {
    this.socket = socket;
    this.server = server;
    this.tls = tlsInfo;
    socket.setNoDelay(true);
    if (server.own !== undefined) {
      const sniff: Sniff = { listeners: [], held: undefined, onData: (chunk) => this.firstBytes(chunk) };
      this.sniff = sniff;
      socket.on('data', sniff.onData);
    }
    if (tlsInfo !== undefined) socket.on('data', (chunk: Buffer) => this.readInTurn(chunk.length));
    // One 'error' and one 'close' listener per socket, whoever registers with onClose (an idle
    // connection's memory is mostly such small objects).
    socket.on('error', (err) => {
      this.error = err;
      void this.remoteAddress; // while the socket still knows its peer
    });
    socket.on('close', () => {
      OutboundPolicy.stopWatching(this);
      server.closed(socket);
      const listeners = this.closeListeners;
      this.closeListeners = null;
      if (listeners) for (const cb of listeners) cb(this.error);
      // After the protocol's own close handling: whoever hears of it no longer finds it listed.
      server.tally.gone(this);
    });
  }

  /** Node's own count of what the socket read (a TLS socket: cleartext). */
  get bytesIn(): number {
    return this.socket.bytesRead;
  }

  /** Node's own count of what was written to the socket, queued bytes included (a TLS socket: cleartext). */
  get bytesOut(): number {
    return this.socket.bytesWritten ?? 0;
  }

  /** `host:port` of the peer, read when first asked for (most connections never log it). */
  get remoteAddress(): string {
    if (this.remote === undefined) {
      const host = this.socket.remoteAddress;
      if (host === undefined) return '(closed)';
      this.remote = `${host}:${this.socket.remotePort}`;
    }
    return this.remote;
  }

  get closed(): boolean {
    return this.socket.destroyed;
  }

  get protocol(): string {
    return this.server.protocol;
  }

  get congested(): boolean {
    return this.tls === undefined ? this.socket.writableNeedDrain : this.socket.writableLength >= TLS_WRITE_HIGH_WATER;
  }

  get outboundBytes(): number {
    return this.socket.writableLength;
  }

  write(data: Buffer): boolean {
    if (this.socket.destroyed || !this.socket.writable) return false;
    // Frames written in one tick leave in one system call (writev), not one each.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(uncork, this);
    }
    if (this.socket.write(data) || (this.tls !== undefined && this.socket.writableLength < TLS_WRITE_HIGH_WATER)) return true;
    // Over the high-water mark: the only path that pays for the slow-consumer and outbound checks.
    if (!this.drainWatched) {
      this.drainWatched = true;
      // Before the protocol's own drain listeners: they write again, which may congest anew.
      this.socket.prependListener('drain', () => (this.congestedSince = 0));
    }
    this.server.guards.outbound.overWater(this);
    return false;
  }

  uncork(): void {
    this.corked = false;
    this.socket.uncork();
  }

  onData(cb: (chunk: Buffer) => void): void {
    if (this.sniff) this.sniff.listeners.push(cb);
    else this.socket.on('data', cb);
  }

  /**
   * The first bytes of the connection, before the protocol sees them: another protocol's start (see
   * first-bytes.ts) is answered and closed at once; anything else goes to the protocol's listeners,
   * which from then on are the socket's own (nothing is added to later reads). At most
   * MAX_SNIFF_BYTES are held when they come one at a time; the protocol's connect timeout, running
   * from the accept, bounds the wait for them.
   */
  private firstBytes(chunk: Buffer): void {
    const s = this.sniff;
    if (!s) return;
    const prefix = s.held === undefined ? chunk : Buffer.concat([s.held, chunk]);
    const foreign = sniffForeign(prefix, this.server.own!);
    if (foreign === undefined) {
      s.held = prefix;
      return;
    }
    this.socket.off('data', s.onData);
    this.sniff = null;
    if (foreign === null) {
      for (const cb of s.listeners) this.socket.on('data', cb);
      for (const cb of s.listeners) cb(prefix);
      return;
    }
    const answer = wrongProtocolAnswer(this.server.protocol as ListenerName, foreign, this.server.guards.ports);
    logWrongProtocol(this.server.guards, this.server.protocol as ListenerName, this.remoteAddress, LOOKS_LIKE[foreign], prefix, answer.answer);
    // Whatever else the client sends is read and dropped until it closes too (no 'data' listener left).
    if (answer.bytes) this.socket.end(answer.bytes);
    else this.socket.end();
    forceCloseAfter(this.socket, 5000, () => this.socket.destroy());
  }

  onDrain(cb: () => void): void {
    this.socket.on('drain', cb);
  }

  onClose(cb: (err?: Error) => void): void {
    (this.closeListeners ??= []).push(cb);
  }

  pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    this.paused = false;
    if (this.turnBytes >= 0) this.socket.resume();
  }

  /** TLS: counts what this turn read; past TLS_READ_PER_TURN the socket waits for the next turn (see there). */
  private readInTurn(bytes: number): void {
    if (this.turnBytes < 0) return;
    this.turnBytes += bytes;
    if (this.turnBytes < TLS_READ_PER_TURN) return;
    this.turnBytes = -1;
    this.socket.pause();
    setImmediate(endTurn, this);
  }

  /** The next turn: reading goes on unless the protocol paused it meanwhile. */
  endTurn(): void {
    this.turnBytes = 0;
    if (!this.paused && !this.socket.destroyed) this.socket.resume();
  }

  end(): void {
    this.socket.end();
    // A peer that never reads must not keep the socket half-open forever.
    forceCloseAfter(this.socket, 5000, () => this.socket.destroy());
  }

  destroy(): void {
    this.socket.destroy();
  }

  abort(): void {
    this.socket.destroy();
  }
}

/** A TCP listener that hands every connection to one protocol, within the connection limits. */
export class TcpServer {
  readonly guards: TransportGuards;
  /** The protocol this listener carries (`stomp`, `mqtt`, `amqp`), for log lines. */
  readonly protocol: string;
  /** `protocol` when the first bytes of its connections are checked for another protocol (a known one). */
  readonly own: WireProtocol | undefined;
  /** The listener's name (ports.json, log lines): the protocol, or `stompSsl`, `mqttSsl`, `amqps` for TLS. */
  readonly name: string;
  private readonly server: net.Server;
  /** Admitted sockets: on a TLS listener the raw TCP sockets while they shake hands, then the TLS sockets (gate-connections.ts). */
  private readonly sockets = new Set<net.Socket>();
  private readonly secure: boolean;
  /** The acceptor's connection counts (shared with its other listeners), for the connection directory. */
  readonly tally: ConnectionTally;

  /**
   * `guards`: the broker's connection limits (default: the configured defaults, logging nowhere).
   * `secure`: a TLS listener named `name`, with this TLS material: the protocol gets the decrypted
   * bytes (and checks their first ones as on its plaintext port) once the handshake is done.
   */
  constructor(acceptor: ProtocolAcceptor, guards: TransportGuards = defaultTransportGuards(), protocol = 'tcp', secure?: { name: string; context: TlsContext }) {
    this.guards = guards;
    this.protocol = protocol;
    this.name = secure?.name ?? protocol;
    this.secure = secure !== undefined;
    this.tally = tallyOf(acceptor);
    this.own = protocol === 'stomp' || protocol === 'mqtt' || protocol === 'amqp' ? protocol : undefined;
    if (secure) {
      this.server = this.secureServer(acceptor, secure.name, secure.context);
      return;
    }
    this.server = net.createServer((socket) => {
      // Refused before anything is allocated for it: no protocol state, no listeners.
      const host = socket.remoteAddress; // also kept by the socket for `closed` to read after the close
      if (host === undefined || !guards.gate.admit(host, protocol)) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      const conn = new TcpConnection(socket, this);
      acceptor.accept(conn);
      this.tally.admitted(conn);
    });
  }

  /**
   * A TLS listener: the raw socket is admitted by the gate at accept, before the handshake, and
   * released when it closes (gate-connections.ts); a handshake that fails or does not finish within
   * `tls.handshakeTimeout` is closed and logged by the context. Only a completed handshake reaches
   * the protocol, with the verified client certificate if there is one.
   */
  private secureServer(acceptor: ProtocolAcceptor, name: string, context: TlsContext): tls.Server {
    const server = tls.createServer(context.serverOptions(), (socket) => {
      if (socket.destroyed) return;
      const conn = new TcpConnection(socket, this, { peerCertificate: peerCertificateOf(socket) });
      acceptor.accept(conn);
      this.tally.admitted(conn);
    });
    gateConnections(server, this.guards, name, this.sockets, true);
    server.on('tlsClientError', (err, socket) => context.handshakeFailed(name, socket, err));
    context.attach(server);
    return server;
  }

  /** An admitted socket closed. */
  closed(socket: net.Socket): void {
    // A TLS listener's sockets and gate entries are kept by gate-connections.ts (the raw socket's close releases).
    if (this.secure) return;
    this.sockets.delete(socket);
    this.guards.gate.release(socket.remoteAddress!);
  }

  /** Listens and resolves with the bound port (port 0 picks a free one). */
  listen(port: number, host: string): Promise<number> {
    // Accept errors that reach Node (libuv handles EMFILE itself, see ConnectionGate) are logged.
    return listen(this.server, port, host, (err) => this.guards.log.error({ err, listener: this.name }, 'listener error')).then((bound) => {
      this.guards.ports.set(this.name, bound);
      return bound;
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
