import { AdapterRegistry } from './adapter-registry.ts';
import type { ProtocolAdapter } from './protocol-adapter.ts';
import { TcpServer } from './tcp-server.ts';
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
  private ws: WsServer | undefined;

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

  /** Binds the WebSocket listener with every adapter registered so far; resolves with the bound port. */
  listenWs(port: number, host: string): Promise<number> {
    const ws = new WsServer(this.guards);
    for (const a of this.registry.adapters) ws.register(a.name, [...a.ws.subprotocols], a, { maxPayload: a.ws.maxPayload, binary: a.ws.binary, isDefault: a.ws.isDefault });
    const bound = ws.listen(port, host);
    this.ws = ws;
    return bound;
  }

  /** The registered adapters, in registration order. */
  get adapters(): readonly ProtocolAdapter[] {
    return this.registry.adapters;
  }

  /**
   * Every adapter's shutdown (last registered first), then the WebSocket listener, then each
   * adapter's close and its TCP listener (last registered first).
   */
  async close(): Promise<void> {
    const adapters = [...this.registry.adapters].reverse();
    for (const a of adapters) await a.shutdown();
    await this.ws?.close();
    for (const [i, a] of [...this.registry.adapters.entries()].reverse()) {
      await a.close();
      await this.tcp[i]!.close();
    }
  }
}
