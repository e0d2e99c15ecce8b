import { JunctionError } from '../errors.ts';
import type { AdapterName, ProtocolAdapter } from './protocol-adapter.ts';

/**
 * The broker's protocol adapters, in registration order (the order their listeners bind and, in
 * reverse, close). Refuses an adapter whose name, or one of whose WebSocket subprotocols, another
 * adapter has already, and a second default WebSocket protocol: either would make one of them
 * unreachable (a port or subprotocol can only lead to one).
 */
export class AdapterRegistry {
  private readonly list: ProtocolAdapter[] = [];
  private readonly names = new Set<AdapterName>();
  private readonly subprotocols = new Map<string, AdapterName>();
  private defaultWs: ProtocolAdapter | undefined;

  register(adapter: ProtocolAdapter): void {
    const conflict = (what: string): JunctionError => new JunctionError('ERR_TRANSPORT_ADAPTER_CONFLICT', `protocol adapter ${adapter.name}: ${what}`);
    if (this.names.has(adapter.name)) throw conflict('an adapter of this name is registered already');
    for (const sp of adapter.ws.subprotocols) {
      const owner = this.subprotocols.get(sp);
      if (owner !== undefined) throw conflict(`WebSocket subprotocol '${sp}' belongs to ${owner}`);
    }
    if (new Set(adapter.ws.subprotocols).size !== adapter.ws.subprotocols.length) throw conflict('a WebSocket subprotocol is listed twice');
    if (adapter.ws.isDefault && this.defaultWs) throw conflict(`${this.defaultWs.name} is the default WebSocket protocol already`);
    this.names.add(adapter.name);
    for (const sp of adapter.ws.subprotocols) this.subprotocols.set(sp, adapter.name);
    if (adapter.ws.isDefault) this.defaultWs = adapter;
    this.list.push(adapter);
  }

  /** The adapters in registration order. */
  get adapters(): readonly ProtocolAdapter[] {
    return this.list;
  }
}
