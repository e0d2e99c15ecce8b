import { createRequire } from 'node:module';
import type { Authenticator, LoginRefusal, LoginRequest, LoginSession, PeerCertificate } from '../../core/ports/security.ts';
import type { RheaConnection } from './rhea-shapes.ts';

/** SASL outcome codes (AMQP 1.0 §5.3.3.6). */
export const SASL_CODE = { ok: 0, auth: 1, sys: 2, sysPerm: 3, sysTemp: 4 } as const;

/** The SASL mechanisms the broker can offer (`amqp.saslMechanisms`). */
export type SaslMechanismName = 'ANONYMOUS' | 'PLAIN' | 'EXTERNAL';

/**
 * The outcome code a refused login gets: `auth` for what the client presented, `sys-temp` ("a
 * transient system error") for the abuse limits, which a later attempt may pass.
 */
export function saslCode(reason: LoginRefusal): number {
  return reason === 'throttled' || reason === 'limit' ? SASL_CODE.sysTemp : SASL_CODE.auth;
}

/**
 * PLAIN's message (RFC 4616): `[authzid] NUL authcid NUL passwd`, UTF-8. Undefined when it has not
 * exactly three fields. The authzid (act as another user) is not supported: it is ignored, as
 * ActiveMQ Artemis does.
 */
export function parsePlain(response: Buffer | undefined): { user: string; password: string } | undefined {
  if (!Buffer.isBuffer(response)) return undefined;
  const first = response.indexOf(0);
  const second = first < 0 ? -1 : response.indexOf(0, first + 1);
  if (second < 0 || response.indexOf(0, second + 1) >= 0) return undefined;
  const user = response.toString('utf8', first + 1, second);
  return user === '' ? undefined : { user, password: response.toString('utf8', second + 1) };
}

/** What a connection's SASL layer needs from it. */
export interface SaslHost {
  readonly auth: Authenticator;
  /** The mechanisms configured (`amqp.saslMechanisms`); each is offered only where it can succeed. */
  readonly mechanisms: readonly SaslMechanismName[];
  /** The peer's IP (`remoteIp` of src/interop/remote-ip.ts: failed logins count per host). */
  readonly remoteAddress: string;
  /** The client certificate the TLS listener verified, if any (SASL EXTERNAL). */
  readonly certificate: PeerCertificate | undefined;
  /**
   * The login succeeded: the connection holds the session (its subject) until it closes. Called
   * before the outcome is written; false when the connection closed meanwhile (it closed the session).
   */
  loggedIn(session: LoginSession, mechanism: SaslMechanismName): boolean;
  /** The login failed; the outcome with `code` is written, then the host ends the socket. */
  refused(mechanism: string, code: number, message: string): void;
  /** Stops and restarts reading while a login is under way (what arrived meanwhile waits in rhea). */
  pause(): void;
  resume(): void;
}

/** The mechanisms that make sense on this connection: ANONYMOUS only when the authenticator lets anonymous in, EXTERNAL only with a verified client certificate. */
export function offeredMechanisms(host: Pick<SaslHost, 'auth' | 'mechanisms' | 'certificate'>): SaslMechanismName[] {
  return host.mechanisms.filter((m) => (m === 'ANONYMOUS' ? host.auth.anonymousAllowed : m === 'EXTERNAL' ? host.certificate !== undefined : true));
}

/** The login request of a sasl-init, or a reason to refuse it without asking the authenticator. */
function loginRequest(host: SaslHost, mechanism: SaslMechanismName, response: Buffer | undefined): LoginRequest | string {
  const base = { protocol: 'amqp' as const, remoteAddress: host.remoteAddress };
  if (mechanism === 'ANONYMOUS') return base; // its initial response is only trace information (RFC 4505)
  if (mechanism === 'EXTERNAL') return host.certificate ? { ...base, certificate: host.certificate } : 'no verified client certificate';
  const plain = parsePlain(response);
  return plain ? { ...base, user: plain.user, password: plain.password } : 'malformed PLAIN response';
}

// rhea's server side of SASL: it writes the mechanisms, runs a mechanism object per sasl-init
// (`start(response, hostname)` sets `outcome` and `username`) and switches to AMQP on success.
interface RheaSaslServerBase {
  connection: RheaConnection & { output(): void; input(b: Buffer): void };
  transport: { read_complete?: boolean; write_complete?: boolean; encode(frame: unknown): void };
  mechanism: { outcome?: boolean; username?: string } | undefined;
  outcome: number | undefined;
  do_step(challenge?: unknown): void;
  read(buffer: Buffer): number;
  peek_size(buffer: Buffer): number | undefined;
}
const rheaRequire = createRequire(import.meta.url);
const RheaSaslServer = (rheaRequire('rhea/lib/sasl.js') as { Server: new (c: RheaConnection, mechanisms: Record<string, unknown>) => RheaSaslServerBase }).Server;
const rheaFrames = rheaRequire('rhea/lib/frames.js') as { sasl_frame(p: unknown): unknown; sasl_outcome(f: { code: number }): unknown };

interface SaslInit {
  performative: { mechanism?: unknown; initial_response?: unknown; hostname?: unknown };
}

/**
 * The server side of SASL (AMQP 1.0 §5.3) on one connection, over rhea's: the mechanisms are this
 * connection's (rhea's are the container's, and its PLAIN callback sees neither the peer's address
 * nor its certificate), each login goes to the Authenticator, and
 * - one sasl-init only: a second, a sasl-response (no mechanism here challenges) or an unknown
 *   mechanism is refused with `auth`, never a second KDF run for the same connection;
 * - a refusal gets the outcome code of its reason (`auth`, or `sys-temp` for throttling and
 *   limits), then the connection ends (rhea writes `auth` for every failure and waits for the peer);
 * - frames that come while the login runs (a client that pipelines its AMQP header and open) wait,
 *   and the transport is paused, until the outcome is written; then they are read as AMQP.
 */
class JunctionSaslServer extends RheaSaslServer {
  private readonly host: SaslHost;
  private readonly offered: readonly string[];
  private started = false;
  private waiting = false;
  /** Inside rhea's read of our frames (see refuse). */
  private reading = false;

  constructor(connection: RheaConnection, host: SaslHost, offered: readonly SaslMechanismName[]) {
    // rhea writes the names of the mechanisms map's own properties in its sasl-mechanisms frame.
    super(connection, Object.fromEntries(offered.map((m) => [m, m])));
    this.host = host;
    this.offered = offered;
  }

  on_sasl_init(frame: SaslInit): void {
    const name = frame.performative.mechanism;
    if (this.started) return this.refuse(String(name), SASL_CODE.auth, 'a second sasl-init');
    this.started = true;
    if (typeof name !== 'string' || !this.offered.includes(name)) return this.refuse(String(name), SASL_CODE.auth, 'mechanism not offered');
    const mechanism = name as SaslMechanismName;
    const response = frame.performative.initial_response;
    const req = loginRequest(this.host, mechanism, Buffer.isBuffer(response) ? response : undefined);
    if (typeof req === 'string') return this.refuse(mechanism, SASL_CODE.auth, req);
    // rhea's transport reads frames until read_complete: stop it after this one, and read nothing
    // more (see read/peek_size) until the outcome.
    this.waiting = true;
    this.transport.read_complete = true;
    this.host.pause();
    const done = (): void => {
      this.waiting = false;
      this.transport.read_complete = false;
      this.host.resume();
    };
    this.host.auth.login(req).then(
      (result) => {
        done();
        if (!result.ok) return this.refuse(mechanism, saslCode(result.reason), result.message);
        if (!this.host.loggedIn(result.session, mechanism)) return;
        this.mechanism = { outcome: true, username: req.user ?? mechanism };
        this.do_step(); // the ok outcome; rhea switches to AMQP
        // What arrived meanwhile (rhea kept it), read now as AMQP.
        this.connection.input(Buffer.alloc(0));
      },
      (err: unknown) => {
        done();
        this.refuse(mechanism, SASL_CODE.sys, err instanceof Error ? err.message : String(err));
      },
    );
  }

  on_sasl_response(): void {
    this.refuse('(response)', SASL_CODE.auth, 'unexpected sasl-response');
  }

  read(buffer: Buffer): number {
    if (this.waiting) return 0;
    this.reading = true;
    try {
      return super.read(buffer);
    } finally {
      this.reading = false;
    }
  }

  peek_size(buffer: Buffer): number | undefined {
    return this.waiting ? undefined : super.peek_size(buffer);
  }

  private refuse(mechanism: string, code: number, message: string): void {
    if (this.outcome !== undefined) return;
    this.outcome = code;
    this.transport.encode(rheaFrames.sasl_frame(rheaFrames.sasl_outcome({ code })));
    if (this.reading) {
      // Within rhea's read its input() writes the outcome once the read returns. An output() here
      // would arm rhea's idle timer, which input() then replaces without clearing: a 2 x idle-time-out
      // timer holding the closed connection.
      process.nextTick(() => this.host.refused(mechanism, code, message));
      return;
    }
    this.connection.output();
    this.host.refused(mechanism, code, message);
  }
}

/**
 * Puts the broker's own SASL server on a server connection rhea accepted with `disable_sasl`
 * (before any byte is read): from then on SASL is required (a client that sends the AMQP header
 * first is answered by the frame guard) and every login goes through `host.auth`.
 */
export function installSaslServer(rc: RheaConnection, host: SaslHost): void {
  const server = new JunctionSaslServer(rc, host, offeredMechanisms(host));
  const c = rc as unknown as { sasl_transport: unknown; transport: unknown };
  c.sasl_transport = server;
  c.transport = server;
}
