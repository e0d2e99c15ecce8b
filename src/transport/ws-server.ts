import http from 'node:http';
import { isUtf8 } from 'node:buffer';
import type net from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { listen } from './listen.ts';
import { nextConnectionId, type ProtocolAcceptor, type TransportConnection } from './connection.ts';

/** Bytes queued on a WebSocket above which the connection counts as congested. */
const HIGH_WATER = 1024 * 1024;
/** Largest WebSocket message for a protocol that sets no limit of its own. */
const DEFAULT_MAX_PAYLOAD = 64 * 1024 * 1024;

class WsConnection implements TransportConnection {
  readonly id = nextConnectionId();
  readonly kind = 'ws' as const;
  readonly remoteAddress: string;
  private readonly ws: WebSocket;
  private pending = 0;
  private readonly drainListeners: Array<() => void> = [];
  private readonly binary: boolean;

  constructor(ws: WebSocket, remote: string, binary: boolean) {
    this.ws = ws;
    this.remoteAddress = remote;
    this.binary = binary;
  }

  get congested(): boolean {
    return this.pending > HIGH_WATER;
  }

  write(data: Buffer): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    this.pending += data.length;
    // Text frames when the bytes are UTF-8 (what browser STOMP clients expect), binary otherwise.
    this.ws.send(data, { binary: this.binary || !isUtf8(data) }, () => {
      const was = this.congested;
      this.pending -= data.length;
      if (was && !this.congested) for (const cb of this.drainListeners) cb();
    });
    return !this.congested;
  }

  onData(cb: (chunk: Buffer) => void): void {
    this.ws.on('message', (data, isBinary) => {
      void isBinary; // STOMP over WebSocket: text and binary frames carry the same byte stream.
      if (Buffer.isBuffer(data)) cb(data);
      else if (Array.isArray(data)) cb(Buffer.concat(data));
      else cb(Buffer.from(data));
    });
  }

  onDrain(cb: () => void): void {
    this.drainListeners.push(cb);
  }

  onClose(cb: (err?: Error) => void): void {
    let error: Error | undefined;
    this.ws.on('error', (err) => (error = err));
    this.ws.on('close', () => cb(error));
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  end(): void {
    this.ws.close(1000);
    setTimeout(() => this.ws.terminate(), 5000).unref();
  }

  destroy(): void {
    this.ws.terminate();
  }
}

/**
 * One WebSocket listener for every protocol, chosen by subprotocol (`v12.stomp`, `mqtt`, ...).
 * A client that offers no subprotocol gets the default protocol.
 */
export class WsServer {
  private readonly http: http.Server;
  private readonly wss: WebSocketServer;
  /** Servers for subprotocols with their own message size limit (ws reads a whole message before the protocol sees it). */
  private readonly limited = new Map<string, WebSocketServer>();
  private readonly protocols = new Map<string, ProtocolAcceptor>();
  /** Subprotocols whose frames always go out binary (MQTT: [MQTT-6.0.0-1]). */
  private readonly binaryProtocols = new Set<string>();
  private defaultProtocol: ProtocolAcceptor | undefined;
  private readonly sockets = new Set<net.Socket>();

  constructor() {
    this.http = http.createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket upgrade required\n');
    });
    this.http.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.wss = this.server(DEFAULT_MAX_PAYLOAD);
    this.http.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      const chosen = this.choose(String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()));
      const wss = (chosen && this.limited.get(chosen)) || this.wss;
      wss.handleUpgrade(req, socket, head, (ws) => this.connected(ws, req));
    });
  }

  private server(maxPayload: number): WebSocketServer {
    return new WebSocketServer({ noServer: true, maxPayload, handleProtocols: (offered) => this.choose(offered) });
  }

  private choose(offered: Iterable<string>): string | false {
    for (const p of offered) if (this.protocols.has(p)) return p;
    return false;
  }

  private connected(ws: WebSocket, req: http.IncomingMessage): void {
    const acceptor = (ws.protocol && this.protocols.get(ws.protocol)) || this.defaultProtocol;
    if (!acceptor) {
      ws.close(1002, 'Unsupported subprotocol');
      return;
    }
    acceptor.accept(new WsConnection(ws, `${req.socket.remoteAddress}:${req.socket.remotePort}`, this.binaryProtocols.has(ws.protocol)));
  }

  /**
   * Registers a protocol under its subprotocol names; `isDefault` also takes clients that offer none.
   * `binary`: every frame sent is a binary frame (otherwise text when the bytes are UTF-8).
   * `maxPayload`: a bigger WebSocket message closes the connection (1009) before it is buffered whole.
   */
  register(subprotocols: string[], acceptor: ProtocolAcceptor, isDefault = false, opts: { binary?: boolean; maxPayload?: number } = {}): void {
    const wss = opts.maxPayload !== undefined ? this.server(opts.maxPayload) : undefined;
    for (const p of subprotocols) {
      this.protocols.set(p, acceptor);
      if (opts.binary) this.binaryProtocols.add(p);
      if (wss) this.limited.set(p, wss);
    }
    if (isDefault) this.defaultProtocol = acceptor;
  }

  /** Listens and resolves with the bound port (port 0 picks a free one). */
  listen(port: number, host: string): Promise<number> {
    return listen(this.http, port, host);
  }

  async close(): Promise<void> {
    const servers = new Set([this.wss, ...this.limited.values()]);
    for (const wss of servers) for (const ws of wss.clients) ws.terminate();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    for (const wss of servers) wss.close();
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
