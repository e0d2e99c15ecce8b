import net from 'node:net';
import { listen } from './listen.ts';
import { nextConnectionId, type ProtocolAcceptor, type TransportConnection } from './connection.ts';

class TcpConnection implements TransportConnection {
  readonly id = nextConnectionId();
  readonly kind = 'tcp' as const;
  readonly remoteAddress: string;
  private readonly socket: net.Socket;
  private corked = false;

  constructor(socket: net.Socket) {
    this.socket = socket;
    this.remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
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
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    return this.socket.write(data);
  }

  onData(cb: (chunk: Buffer) => void): void {
    this.socket.on('data', cb);
  }

  onDrain(cb: () => void): void {
    this.socket.on('drain', cb);
  }

  onClose(cb: (err?: Error) => void): void {
    let error: Error | undefined;
    this.socket.on('error', (err) => (error = err));
    this.socket.on('close', () => cb(error));
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
      socket.on('close', () => this.sockets.delete(socket));
      acceptor.accept(new TcpConnection(socket));
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
