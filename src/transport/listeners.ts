import { AdapterRegistry } from './adapter-registry.ts';
import type { ProtocolAdapter } from './protocol-adapter.ts';
import { TcpServer } from './tcp-server.ts';
import type { TlsContext } from './tls-context.ts';
import type { TransportGuards } from './transport-guards.ts';
import { WsServer } from './ws-server.ts';

/**
 * Every listener of a broker, wired from its protocol adapters the same way for each: a TCP
 * listener per adapter (first bytes checked against the other protocols), and one WebSocket
 * listener carrying them all by subprotocol, each with its own largest message. All share one set of
 * connection limits (`guards`). Closing follows the order {@link ProtocolAdapter} describes.
 */
export class Listeners {
  private readonly guards: TransportGuards;
  private readonly registry = new AdapterRegistry();
  private readonly tcp: TcpServer[] = [];
  /** TLS listeners by the adapter they carry (listenTls). */
  private readonly tls = new Map<ProtocolAdapter, TcpServer>();
  private ws: WsServer | undefined;
  private wss: WsServer | undefined;

  constructor(guards: TransportGuards) {
    this.guards = guards;
  }

  /**
   * Registers `adapter` and binds its TCP listener; resolves with the bound port (0 picks a free one).
   * From the registration on, {@link close} closes the adapter, even when the bind fails.
   */
  listen(adapter: ProtocolAdapter, port: number, host: string): Promise<number> {
    this.registry.register(adapter);
    const tcp = new TcpServer(adapter, this.guards, adapter.name);
    this.tcp.push(tcp);
    return tcp.listen(port, host);
  }

  /**
   * Binds a TLS listener named `name` (`stompSsl`, ...) for an adapter registered with {@link listen}:
   * the same adapter, its connections over TLS with `context`'s certificate. Resolves with the bound port.
   */
  listenTls(adapter: ProtocolAdapter, name: string, context: TlsContext, port: number, host: string): Promise<number> {
    const tcp = new TcpServer(adapter, this.guards, adapter.name, { name, context });
    this.tls.set(adapter, tcp);
    return tcp.listen(port, host);
  }

  /** Binds the WebSocket listener with every adapter registered so far; resolves with the bound port. */
  listenWs(port: number, host: string): Promise<number> {
    const ws = this.wsServer();
    this.ws = ws;
    return ws.listen(port, host);
  }

  /** Binds the secure WebSocket listener (WSS), as {@link listenWs} with `context`'s certificate. */
  listenWss(context: TlsContext, port: number, host: string): Promise<number> {
    const wss = this.wsServer(context);
    this.wss = wss;
    return wss.listen(port, host);
  }

  private wsServer(secure?: TlsContext): WsServer {
    const ws = new WsServer(this.guards, secure);
    for (const a of this.registry.adapters) ws.register(a.name, [...a.ws.subprotocols], a, { maxPayload: a.ws.maxPayload, binary: a.ws.binary, isDefault: a.ws.isDefault });
    return ws;
  }

  /** The registered adapters, in registration order. */
  get adapters(): readonly ProtocolAdapter[] {
    return this.registry.adapters;
  }

  /**
   * Every adapter's shutdown (last registered first), then the WebSocket listeners, then each
   * adapter's close and its TCP listeners (last registered first).
   */
  async close(): Promise<void> {
    const adapters = [...this.registry.adapters].reverse();
    for (const a of adapters) await a.shutdown();
    await this.wss?.close();
    await this.ws?.close();
    for (const [i, a] of [...this.registry.adapters.entries()].reverse()) {
      await a.close();
      await this.tls.get(a)?.close();
      await this.tcp[i]!.close();
    }
  }
}
