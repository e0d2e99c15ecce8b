import net from 'node:net';
import { listen } from './listen.ts';
import { nextConnectionId, type ProtocolAcceptor, type TransportConnection } from './connection.ts';

function uncork(c: TcpConnection): void {
  c.uncork();
}

class TcpConnection implements TransportConnection {
  readonly id = nextConnectionId();
  readonly kind = 'tcp' as const;
  private readonly socket: net.Socket;
  private corked = false;
  private remote: string | undefined;
  private error: Error | undefined;
  private closeListeners: Array<(err?: Error) => void> | null = null;

  /** `sockets`: the server's set of open sockets, which this connection leaves when it closes. */
  constructor(socket: net.Socket, sockets: Set<net.Socket>) {
    this.socket = socket;
    socket.setNoDelay(true);
    // One 'error' and one 'close' listener per socket, whoever registers with onClose (an idle
    // connection's memory is mostly such small objects).
    socket.on('error', (err) => {
      this.error = err;
      void this.remoteAddress; // while the socket still knows its peer
    });
    socket.on('close', () => {
      sockets.delete(socket);
      const listeners = this.closeListeners;
      this.closeListeners = null;
      if (listeners) for (const cb of listeners) cb(this.error);
    });
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

  get congested(): boolean {
    return this.socket.writableNeedDrain;
  }

  write(data: Buffer): boolean {
    if (this.socket.destroyed || !this.socket.writable) return false;
    // Frames written in one tick leave in one system call (writev), not one each.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(uncork, this);
    }
    return this.socket.write(data);
  }

  uncork(): void {
    this.corked = false;
    this.socket.uncork();
  }

  onData(cb: (chunk: Buffer) => void): void {
    this.socket.on('data', cb);
  }

  onDrain(cb: () => void): void {
    this.socket.on('drain', cb);
  }

  onClose(cb: (err?: Error) => void): void {
    (this.closeListeners ??= []).push(cb);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(): void {
    this.socket.end();
    // A peer that never reads must not keep the socket half-open forever.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A TCP listener that hands every connection to one protocol. */
export class TcpServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(acceptor: ProtocolAcceptor) {
    this.server = net.createServer((socket) => {
      this.sockets.add(socket);
      acceptor.accept(new TcpConnection(socket, this.sockets));
    });
  }

  /** Listens and resolves with the bound port (port 0 picks a free one). */
  listen(port: number, host: string): Promise<number> {
    return listen(this.server, port, host);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
