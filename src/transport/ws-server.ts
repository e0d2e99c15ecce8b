import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { isUtf8 } from 'node:buffer';
import type net from 'node:net';
import type { Logger } from '../log.ts';
import { WebSocketServer, type WebSocket } from 'ws';
import { listen } from './listen.ts';
import { nextConnectionId, type ProtocolAcceptor, type TransportConnection } from './connection.ts';
import { OutboundPolicy, type Watched } from './outbound-policy.ts';
import type { ReadBudget, ReadBudgetWaiter } from './read-budget.ts';
import type { TransportGuards } from './transport-guards.ts';
import { LOOKS_LIKE, sniffForeign } from './first-bytes.ts';
import { logWrongProtocol, wrongProtocolAnswer } from './wrong-protocol.ts';
import { forceCloseAfter } from './force-close.ts';
import { gateConnections } from './gate-connections.ts';
import { peerCertificateOf } from './peer-certificate.ts';
import { tallyOf, type ConnectionTally } from './connection-tally.ts';
import type { TlsContext } from './tls-context.ts';

/** Bytes queued on a WebSocket above which the connection counts as congested. */
const HIGH_WATER = 1024 * 1024;

/** Wire size of a client control frame (ping/pong) of `n` payload bytes: 2 header + 4 mask (<= 125). */
const CONTROL_OVERHEAD = 6;

class WsConnection implements TransportConnection, Watched, ReadBudgetWaiter {
  readonly id = nextConnectionId();
  readonly kind = 'ws' as const;
  readonly connectedAt = Date.now();
  readonly remoteAddress: string;
  readonly protocol: string;
  private readonly ws: WebSocket;
  /** The upgraded socket (TLS: the TLS socket), whose counters are the connection's byte counts. */
  private readonly socket: net.Socket;
  private readonly policy: OutboundPolicy;
  private pending = 0;
  private readonly drainListeners: Array<() => void> = [];
  private readonly binary: boolean;
  congestedSince = 0;
  slowTimer: NodeJS.Timeout | undefined = undefined;
  /** Whether the 'close' listener that stops the slow-consumer timer is on (see write). */
  private closeWatched = false;
  /** Raw bytes read from the socket since the last complete WebSocket message (see watchMessages). */
  private partial = 0;
  /** Armed only while a message is unfinished at the end of a read (connections.messageTimeout). */
  private messageTimer: NodeJS.Timeout | undefined = undefined;
  /** Paused by the protocol (pause()), by the partial-message budget. */
  private protoPaused = false;
  private budgetPaused = false;
  private budget: ReadBudget | undefined = undefined;

  readonly tls: TransportConnection['tls'];

  constructor(ws: WebSocket, socket: net.Socket, remote: string, protocol: string, binary: boolean, policy: OutboundPolicy, tls?: TransportConnection['tls']) {
    this.ws = ws;
    this.socket = socket;
    this.tls = tls;
    this.remoteAddress = remote;
    this.protocol = protocol;
    this.binary = binary;
    this.policy = policy;
  }

  get closed(): boolean {
    return this.ws.readyState === this.ws.CLOSED;
  }

  /** Node's count of what the socket read: WebSocket frames and the upgrade request, after TLS. */
  get bytesIn(): number {
    return this.socket.bytesRead;
  }

  /** Node's count of what was written to the socket (queued included): frames and the 101 answer, before TLS. */
  get bytesOut(): number {
    return this.socket.bytesWritten ?? 0;
  }

  get congested(): boolean {
    return this.pending > HIGH_WATER;
  }

  get outboundBytes(): number {
    return this.pending;
  }

  write(data: Buffer): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    this.pending += data.length;
    // Text frames when the bytes are UTF-8 (what browser STOMP clients expect), binary otherwise.
    this.ws.send(data, { binary: this.binary || !isUtf8(data) }, () => {
      const was = this.congested;
      this.pending -= data.length;
      if (was && !this.congested) {
        this.congestedSince = 0;
        for (const cb of this.drainListeners) cb();
      }
    });
    if (!this.congested) return true;
    // Over the high-water mark: the only path that pays for the slow-consumer and outbound checks.
    if (!this.closeWatched) {
      // The slow-consumer timer goes with the connection (else it keeps the closed connection and its
      // session reachable until it fires); added at the first congestion only, as TCP's drain listener.
      this.closeWatched = true;
      this.ws.on('close', () => OutboundPolicy.stopWatching(this));
    }
    this.policy.overWater(this);
    return false;
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
    this.protoPaused = true;
    this.ws.pause();
  }

  resume(): void {
    this.protoPaused = false;
    if (!this.budgetPaused) this.ws.resume();
  }

  /**
   * Counts what ws holds of this connection's unfinished message against the transport-wide
   * `budget`, and closes the connection (1008) if a message stays unfinished `timeout` ms. ws reads
   * the same socket: a listener before ws's counts each read, ws emits 'message' synchronously for
   * every message the read completes (which resets the count), and a listener after ws's sees what
   * is left: an unfinished message. A read that ends one message and starts the next leaves the
   * next one's first bytes uncounted (at most one read, 64 KiB). Small messages that arrive whole
   * cost one addition and one comparison per read, and no timer.
   */
  watchMessages(socket: net.Socket, budget: ReadBudget, timeout: number, log: Logger): void {
    this.budget = budget;
    socket.prependListener('data', (chunk: Buffer) => {
      this.partial += chunk.length;
      budget.charge(chunk.length);
    });
    socket.on('data', () => {
      if (this.partial === 0) return;
      // RFC 6455 5.4: a message may span any number of frames and reads; ws holds it all until FIN.
      this.messageTimer ??= setTimeout(() => this.messageTimedOut(timeout, log), timeout).unref();
      if (!budget.open && !this.budgetPaused) {
        this.budgetPaused = true;
        this.ws.pause();
        budget.wait(this);
      }
    });
    this.ws.on('message', () => this.uncount(this.partial));
    // Control frames (RFC 6455 5.5) may come between a message's fragments and are not messages:
    // they give back exactly their own wire size (client frames are always masked).
    const control = (data: Buffer): void => this.uncount(Math.min(this.partial, data.length + CONTROL_OVERHEAD));
    this.ws.on('ping', control);
    this.ws.on('pong', control);
    this.ws.on('close', () => {
      budget.cancel(this);
      this.uncount(this.partial);
    });
  }

  /** Gives `n` counted bytes back; none left: no message in progress. */
  private uncount(n: number): void {
    if (n <= 0) return;
    this.partial -= n;
    if (this.partial === 0 && this.messageTimer !== undefined) {
      clearTimeout(this.messageTimer);
      this.messageTimer = undefined;
    }
    this.budget!.charge(-n);
  }

  budgetGo(): void {
    this.budgetPaused = false;
    if (!this.protoPaused) this.ws.resume();
  }

  private messageTimedOut(timeout: number, log: Logger): void {
    this.messageTimer = undefined;
    if (this.partial === 0 || this.ws.readyState !== this.ws.OPEN) return;
    log.info({ conn: this.id, remote: this.remoteAddress, protocol: this.protocol, bytes: this.partial, timeout }, 'WebSocket message not completed in time: closing (1008)');
    // Read no more of it; a client that does not answer the close handshake is cut off.
    this.ws.pause();
    this.ws.close(1008, 'Message timeout');
    forceCloseAfter(this.ws, 1000, () => this.ws.terminate());
    this.uncount(this.partial);
  }

  end(): void {
    this.ws.close(1000);
    forceCloseAfter(this.ws, 5000, () => this.ws.terminate());
  }

  destroy(): void {
    this.ws.terminate();
  }

  abort(): void {
    this.ws.terminate();
  }
}

/** A protocol registered on the WebSocket port, with the ws server that reads its messages. */
interface WsProtocol {
  name: string;
  acceptor: ProtocolAcceptor;
  wss: WebSocketServer;
  binary: boolean;
  /** The acceptor's connection counts (shared with its TCP listeners). */
  tally: ConnectionTally;
}

/**
 * One WebSocket listener for every protocol, chosen by subprotocol (`v12.stomp`, `mqtt`, ...).
 * A client that offers none of them gets the default protocol.
 *
 * ws reads a whole message before any protocol code sees it, buffering its fragments up to the
 * server's `maxPayload` (checked against each frame's declared length, before its payload is read).
 * So each protocol has its own `WebSocketServer` whose `maxPayload` is that protocol's largest
 * message: a bigger one is closed with 1009 before it is buffered, and what a connection holds of an
 * unfinished message is bounded by its protocol's limit (ws's own default was 100 MiB, ours 64 MiB).
 */
export class WsServer {
  private readonly http: http.Server | https.Server;
  private readonly guards: TransportGuards;
  private readonly protocols = new Map<string, WsProtocol>();
  private defaultProtocol: WsProtocol | undefined;
  private readonly sockets = new Set<net.Socket>();
  /** The TLS material of a WSS listener; undefined on the plaintext port. */
  private readonly secure: TlsContext | undefined;
  /** The listener's name: `ws`, or `wss` (ports.json, log lines). */
  readonly name: 'ws' | 'wss';

  /**
   * `secure`: a secure WebSocket listener (WSS, the listener `wss`) with this TLS material; the
   * handshake comes first, then the upgrade within `upgradeTimeout`, as on the plaintext port.
   */
  constructor(guards: TransportGuards, secure?: TlsContext) {
    this.guards = guards;
    this.secure = secure;
    this.name = secure ? 'wss' : 'ws';
    const t = guards.upgradeTimeout;
    // The upgrade request must be complete within `upgradeTimeout`, whether the client sends nothing
    // or trickles header bytes (Node answers 408 and closes); Node checks every
    // connectionsCheckingInterval (default 30 s), so check more often for a short timeout.
    const opts = { headersTimeout: t, requestTimeout: t, connectionsCheckingInterval: Math.min(1000, t) };
    const upgradeRequired = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket upgrade required\n');
    };
    this.http = secure ? https.createServer({ ...opts, ...secure.serverOptions() }, upgradeRequired) : http.createServer(opts, upgradeRequired);
    // First, before the HTTP server sets up its parser for the socket (and before a TLS handshake).
    gateConnections(this.http, guards, this.name, this.sockets, secure !== undefined);
    if (secure) {
      secure.attach(this.http as https.Server);
      this.http.on('tlsClientError', (err: Error, socket: net.Socket) => secure.handshakeFailed(this.name, socket, err));
    }
    this.http.on('clientError', (err: Error & { code?: string; rawPacket?: Buffer }, socket: net.Socket) => this.clientError(err, socket));
    this.http.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      if (socket.destroyed) return; // refused at 'connection'
      const chosen = this.choose(String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()));
      const p = (chosen && this.protocols.get(chosen)) || this.defaultProtocol;
      if (!p) {
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
        return;
      }
      p.wss.handleUpgrade(req, socket, head, (ws) => this.connected(ws, req, p));
    });
  }

  /**
   * Bytes Node's HTTP parser refused, or a request that timed out. Another protocol's first bytes
   * (STOMP, MQTT or AMQP sent raw to this port, a TLS ClientHello) are logged once and answered with a
   * 400 naming the right port (a TLS client is just closed); the rest get Node's own answer, as
   * without this listener (_http_server.js socketOnError): 408 for the upgrade timeout, 431 and 413
   * for oversized headers, 400 else. Only the chunk the parser failed on is known: another protocol
   * written one byte at a time is answered the same, but logged as a malformed request.
   */
  private clientError(err: Error & { code?: string; rawPacket?: Buffer }, socket: net.Socket): void {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const parse = err.code?.startsWith('HPE_') === true;
    const raw = err.rawPacket ?? Buffer.alloc(0);
    const foreign = parse ? sniffForeign(raw, 'http') : null;
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    let response: Buffer | string;
    if (foreign) {
      const answer = wrongProtocolAnswer('ws', foreign, this.guards.ports);
      logWrongProtocol(this.guards, 'ws', remote, LOOKS_LIKE[foreign], raw, answer.answer);
      if (!answer.bytes) {
        socket.destroy();
        return;
      }
      response = answer.bytes;
    } else {
      const status =
        err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout'
        : err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large'
        : err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW' ? '413 Payload Too Large'
        : '400 Bad Request';
      response = `HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`;
      if (!parse) {
        // A request that timed out (the upgrade timeout): gone at once, as Node does, whatever the client still sends.
        socket.write(response);
        socket.destroy();
        return;
      }
      if (status === '400 Bad Request') logWrongProtocol(this.guards, 'ws', remote, 'malformed HTTP request', raw, 'HTTP 400', err.code);
    }
    // end, not destroy: a close with unread bytes left would be a reset, which can lose the answer.
    socket.end(response);
    forceCloseAfter(socket, 5000, () => socket.destroy());
  }

  private choose(offered: Iterable<string>): string | false {
    for (const p of offered) if (this.protocols.has(p)) return p;
    return false;
  }

  private connected(ws: WebSocket, req: http.IncomingMessage, p: WsProtocol): void {
    const tlsInfo = this.secure ? { peerCertificate: peerCertificateOf(req.socket as TLSSocket) } : undefined;
    const conn = new WsConnection(ws, req.socket, `${req.socket.remoteAddress}:${req.socket.remotePort}`, p.name, p.binary, this.guards.outbound, tlsInfo);
    conn.watchMessages(req.socket, this.guards.partialMessages, this.guards.messageTimeout, this.guards.log);
    p.acceptor.accept(conn);
    p.tally.admitted(conn);
    // Added after the protocol's close listeners: whoever hears of it no longer finds it listed.
    ws.on('close', () => p.tally.gone(conn));
  }

  /**
   * Registers a protocol under its subprotocol names; `isDefault` also takes clients that offer none
   * (or none registered). `maxPayload`: the protocol's largest message, bytes; a bigger WebSocket
   * message closes the connection (1009) before it is buffered. `binary`: every frame sent is a
   * binary frame (otherwise text when the bytes are UTF-8).
   */
  register(name: string, subprotocols: string[], acceptor: ProtocolAcceptor, opts: { maxPayload: number; binary?: boolean; isDefault?: boolean }): void {
    const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxPayload, handleProtocols: (offered) => this.choose(offered) });
    // One message of the largest size must always fit, or it could never complete.
    this.guards.partialMessages.atLeast(opts.maxPayload + 14);
    const p: WsProtocol = { name, acceptor, wss, binary: opts.binary ?? false, tally: tallyOf(acceptor) };
    for (const sp of subprotocols) this.protocols.set(sp, p);
    if (opts.isDefault) this.defaultProtocol = p;
  }

  /** Listens and resolves with the bound port (port 0 picks a free one). */
  listen(port: number, host: string): Promise<number> {
    return listen(this.http, port, host, (err) => this.guards.log.error({ err, listener: this.name }, 'listener error')).then((bound) => {
      this.guards.ports.set(this.name, bound);
      return bound;
    });
  }

  async close(): Promise<void> {
    const servers = new Set([...this.protocols.values()].map((p) => p.wss));
    for (const wss of servers) for (const ws of wss.clients) ws.terminate();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    for (const wss of servers) wss.close();
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
