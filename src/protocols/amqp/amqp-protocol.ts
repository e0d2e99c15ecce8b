import rhea from 'rhea';
import type { Logger } from '../../log.ts';
import type { Core } from '../../core/core.ts';
import type { TransportConnection } from '../../transport/connection.ts';
import type { Authenticator } from '../../core/ports/security.ts';
import type { ConnectionInfo, ProtocolAdapter, WsBinding } from '../../transport/protocol-adapter.ts';
import { AmqpConnection, type AmqpSessionConfig } from './amqp-connection.ts';
import { installDecodeBounds } from './decode-bounds.ts';
import type { RheaContainer } from './rhea-shapes.ts';

/** WebSocket subprotocols that select AMQP 1.0 (OASIS AMQP over WebSocket binding). */
export const AMQP_WS_SUBPROTOCOLS = ['amqp'];

/** Accepts AMQP 1.0 connections from any transport, on its own rhea container (never rhea's module singleton). */
export class AmqpProtocol implements ProtocolAdapter {
  readonly name = 'amqp' as const;
  readonly ws: WsBinding;
  private readonly core: Core;
  private readonly cfg: AmqpSessionConfig;
  private readonly log: Logger;
  private readonly container: RheaContainer;
  /** Open connections by connection id. */
  private readonly connections = new Map<number, AmqpConnection>();
  private readonly auth: Authenticator | undefined;

  /**
   * `auth` (the broker's): with security on (`auth.enabled`), every connection must log in with SASL
   * (PLAIN, EXTERNAL with a verified client certificate, ANONYMOUS where the authenticator allows
   * it). Without it, or with security off, the container's ANONYMOUS and PLAIN accept everyone.
   */
  constructor(core: Core, cfg: AmqpSessionConfig, log: Logger, auth?: Authenticator) {
    this.core = core;
    this.auth = auth;
    this.cfg = cfg;
    this.log = log.child({ protocol: 'amqp' });
    // Every AMQP byte the broker decodes goes through rhea's decoder: bound it before the first connection.
    installDecodeBounds();
    this.container = rhea.create_container({
      id: `${core.brokerName}`,
      // The adapter settles and grants credit itself.
      autoaccept: false,
      credit_window: 0,
      treat_modified_as_released: false,
      reconnect: false,
    } as Parameters<typeof rhea.create_container>[0]) as unknown as RheaContainer;
    if (auth?.enabled !== true) {
      // Security off: rhea's own mechanisms; PLAIN accepts any user, a client may skip SASL.
      const mechs = this.container.sasl_server_mechanisms;
      if (cfg.saslMechanisms.includes('ANONYMOUS')) mechs.enable_anonymous();
      if (cfg.saslMechanisms.includes('PLAIN')) mechs.enable_plain(() => true);
    }
    // Events no connection handled end here; an unhandled 'error' would throw from rhea's read loop.
    this.container.on('error', (err: unknown) => this.log.warn({ err }, 'amqp error'));
    // A WebSocket message is any slice of the byte stream (AMQP WSB 1.0 2.4: one frame may span
    // messages, one message may hold several frames), and clients write all the frames of a message at
    // once (one WebSocket message), so one maximum message plus a frame; each frame is still checked
    // against maxFrameSize as it arrives.
    this.ws = { subprotocols: AMQP_WS_SUBPROTOCOLS, maxPayload: cfg.maxMessageSize + cfg.maxFrameSize, binary: true, isDefault: false };
  }

  accept(conn: TransportConnection): void {
    const c = new AmqpConnection(conn, this.container, this.core, this.cfg, this.log, this.auth);
    this.connections.set(conn.id, c);
    conn.onClose(() => this.connections.delete(conn.id));
  }

  /** Sends every connection a close with amqp:connection:forced and lets the frames leave. */
  async shutdown(): Promise<void> {
    if (this.connections.size === 0) return;
    for (const c of this.connections.values()) c.shutdown();
    await new Promise((resolve) => setImmediate(resolve));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Nothing held beyond the connections, which the listeners close. */
  async close(): Promise<void> {}

  listConnections(): ConnectionInfo[] {
    const out: ConnectionInfo[] = [];
    for (const c of this.connections.values()) out.push(c.info());
    return out;
  }

  /** Close with `amqp:connection:forced` and the reason as description (see {@link AmqpConnection.adminClose}). */
  closeConnection(id: number, reason: string): boolean {
    const c = this.connections.get(id);
    if (!c) return false;
    c.adminClose(reason);
    return true;
  }
}
