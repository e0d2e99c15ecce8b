import type { Logger } from '../../log.ts';
import type { Core } from '../../core/core.ts';
import type { Authenticator } from '../../core/ports/security.ts';
import type { TransportConnection } from '../../transport/connection.ts';
import type { ConnectionInfo, ProtocolAdapter, WsBinding } from '../../transport/protocol-adapter.ts';
import { ReadBudget } from '../../transport/read-budget.ts';
import { StompSession, type StompSessionConfig } from './stomp-session.ts';

/** WebSocket subprotocols that select STOMP. */
export const STOMP_WS_SUBPROTOCOLS = ['v12.stomp', 'v11.stomp', 'v10.stomp', 'stomp'];

/** Accepts STOMP connections from any transport (TCP or WebSocket). */
export class StompProtocol implements ProtocolAdapter {
  readonly name = 'stomp' as const;
  readonly ws: WsBinding;
  private readonly core: Core;
  private readonly auth: Authenticator;
  private readonly cfg: StompSessionConfig;
  private readonly log: Logger;
  /** Open sessions by connection id. */
  private readonly sessions = new Map<number, StompSession>();
  /** Bytes of unfinished frames over all this broker's STOMP connections, TCP and WebSocket. */
  readonly partialFrames: ReadBudget;

  /** `auth` logs each CONNECT's `login`/`passcode` (or client certificate) in. */
  constructor(core: Core, cfg: StompSessionConfig, log: Logger, auth: Authenticator) {
    this.core = core;
    this.auth = auth;
    this.cfg = cfg;
    this.log = log.child({ protocol: 'stomp' });
    // At least one largest frame must fit, or such a frame could never be read whatever the others do.
    const oneFrame = cfg.maxHeaderBytes + cfg.maxBodyBytes + 512;
    this.partialFrames = new ReadBudget(cfg.maxPartialFrameBytes);
    this.partialFrames.atLeast(oneFrame);
    // One frame per WebSocket message: headers and body plus the command line (<= 256), blank line,
    // NUL and trailing EOLs. The default protocol: clients offering no subprotocol get STOMP.
    this.ws = { subprotocols: STOMP_WS_SUBPROTOCOLS, maxPayload: cfg.maxHeaderBytes + cfg.maxBodyBytes + 1024, binary: false, isDefault: true };
  }

  accept(conn: TransportConnection): void {
    const session = new StompSession(conn, this.core, this.auth, this.cfg, this.log, this.partialFrames);
    this.sessions.set(conn.id, session);
    conn.onClose(() => this.sessions.delete(conn.id));
  }

  get connections(): number {
    return this.sessions.size;
  }

  /** Nothing to say first: the listeners' close ends every session. */
  shutdown(): void {}

  /** Nothing held beyond the connections, which the listeners close. */
  async close(): Promise<void> {}

  listConnections(): ConnectionInfo[] {
    const out: ConnectionInfo[] = [];
    for (const s of this.sessions.values()) out.push(s.info());
    return out;
  }

  /** ERROR with `message:` the reason, then close (see {@link StompSession.adminClose}). */
  closeConnection(id: number, reason: string): boolean {
    const s = this.sessions.get(id);
    if (!s) return false;
    s.adminClose(reason);
    return true;
  }
}
