import type { Authenticator, LoginRefusal, LoginResult } from '../../core/ports/security.ts';
import { JunctionError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { remoteIp } from '../../interop/remote-ip.ts';
import type { AedesClient } from './aedes-types.ts';
import type { MqttSession } from './mqtt-session.ts';
import type { SessionStore } from './session-store.ts';

/** MQTT 3.1.1 section 3.2.2.3: CONNACK return codes of a refused CONNECT. */
const SERVER_UNAVAILABLE = 3;
const BAD_USER_NAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

/** What aedes's `authenticate` callback takes: an error whose `returnCode` is the CONNACK's. */
type AuthCallback = (err: (Error & { returnCode?: number }) | null, ok: boolean) => void;

/** What the login needs from the adapter. */
export interface MqttLoginHost {
  readonly auth: Authenticator;
  readonly sessions: ReadonlyMap<AedesClient, MqttSession>;
  readonly state: SessionStore;
  /** The connected client with this client id, if any (aedes's registry: the one a CONNECT would take over). */
  liveClient(clientId: string): AedesClient | undefined;
  /** The longest a login may take before CONNACK 0x03 (the CONNECT timeout). */
  readonly timeoutMs: number;
  readonly log: Logger;
}

/**
 * The CONNECT side of MQTT security (issue 14): aedes's `authenticate` hook logs the client in
 * through the {@link Authenticator} and answers in MQTT 3.1.1's terms (section 3.2.2.3):
 *
 * | refusal | CONNACK |
 * |---|---|
 * | `credentials`, `throttled`, with a user name | 0x04 bad user name or password |
 * | `credentials` without a user name (anonymous not allowed) | 0x05 not authorized (as Mosquitto 2 with `allow_anonymous false`) |
 * | `not-authorized` (client id rule), `limit` | 0x05 not authorized |
 * | the client id's session or live connection is another user's | 0x05 not authorized |
 * | the login takes longer than the CONNECT timeout, or fails | 0x03 server unavailable |
 *
 * aedes closes the connection after the CONNACK ([MQTT-3.2.2-5]). A persistent session belongs to
 * the user that made it: its owner is stored with it (`SessionStore`), so a takeover by another
 * user is refused after a restart too. Only made when security is on (aedes accepts everyone else).
 */
export class MqttLogin {
  private readonly host: MqttLoginHost;
  /**
   * The owner of the persistent session being opened by the CONNECT just accepted. aedes asks the
   * persistence for the session (`subscriptionsByClient`, which only gets the client id) in the same
   * synchronous run of its CONNECT actions as the accept, so it is set around that callback only.
   */
  private claim: { clientId: string; owner: string | null } | null = null;

  constructor(host: MqttLoginHost) {
    this.host = host;
  }

  /** The owner of the session `clientId` is opening now (undefined: not known, security off). */
  ownerOpening(clientId: string): string | null | undefined {
    const c = this.claim;
    return c !== null && c.clientId === clientId ? c.owner : undefined;
  }

  /** aedes's `authenticate`: runs after `preConnect`, with `client.id` and `client.clean` set from the CONNECT. */
  authenticate(client: AedesClient, username: string | undefined, password: Buffer | undefined, cb: AuthCallback): void {
    const session = this.host.sessions.get(client);
    if (!session || client.id === null) {
      cb(refusal(SERVER_UNAVAILABLE, 'ERR_AUTHENTICATION_FAILED', 'the connection is gone'), false);
      return;
    }
    const conn = session.stream.conn;
    const cert = conn.tls?.peerCertificate;
    const login = this.host.auth.login({
      protocol: 'mqtt',
      // The IP without the port: each connection has a port of its own, and the throttle counts per host.
      remoteAddress: remoteIp(conn.remoteAddress),
      ...(username !== undefined ? { user: username } : {}),
      ...(password !== undefined ? { password: password.toString('utf8') } : {}),
      clientId: client.id,
      ...(cert ? { certificate: cert } : {}),
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(resolve, this.host.timeoutMs, 'timeout');
    });
    Promise.race([login, timeout]).then(
      (r) => {
        clearTimeout(timer);
        if (r === 'timeout') {
          // A login that comes back later is let go at once.
          login.then((late) => late.ok && late.session.close(), () => {});
          this.refuse(session, cb, refusal(SERVER_UNAVAILABLE, 'ERR_AUTHENTICATION_FAILED', `login took longer than ${this.host.timeoutMs} ms`));
          return;
        }
        this.decide(client, session, username, r, cb);
      },
      (err: unknown) => {
        clearTimeout(timer);
        session.log.warn({ clientId: client.id, err }, 'mqtt login failed');
        this.refuse(session, cb, refusal(SERVER_UNAVAILABLE, 'ERR_AUTHENTICATION_FAILED', 'the login failed'));
      },
    );
  }

  private decide(client: AedesClient, session: MqttSession, username: string | undefined, r: LoginResult, cb: AuthCallback): void {
    if (!r.ok) {
      this.refuse(session, cb, refusal(returnCodeOf(r.reason, username), 'ERR_AUTHENTICATION_FAILED', r.message));
      return;
    }
    if (client.closed || session.isEnded) {
      r.session.close(); // aedes drops a CONNECT whose connection went meanwhile
      return;
    }
    const clientId = client.id!;
    const owner = r.session.subject.user ?? null;
    // A client id's state belongs to one user: another one neither resumes nor cleans its stored
    // session, nor takes over its live connection ([MQTT-3.1.4-2] would close it).
    const live = this.host.liveClient(clientId);
    const liveOwner = live !== undefined && live !== client ? this.host.sessions.get(live)?.subject : undefined;
    if (!this.host.state.mayUse(clientId, owner) || (liveOwner !== undefined && (liveOwner.user ?? null) !== owner)) {
      r.session.close();
      this.refuse(session, cb, refusal(NOT_AUTHORIZED, 'ERR_SECURITY_UNAUTHORIZED', `client id ${clientId.slice(0, 100)} is another user's`));
      return;
    }
    session.loggedIn(r.session);
    this.claim = client.clean ? null : { clientId, owner };
    try {
      cb(null, true);
    } finally {
      this.claim = null;
    }
  }

  /** Logged at debug: the security audit log has every refusal, and a storm of bad CONNECTs must not flood this one. */
  private refuse(session: MqttSession, cb: AuthCallback, err: JunctionError & { returnCode: number }): void {
    session.log.debug({ clientId: session.client.id, code: err.code, returnCode: err.returnCode, reason: err.message }, 'mqtt CONNECT refused');
    cb(err, false);
  }
}

function refusal(returnCode: number, code: 'ERR_AUTHENTICATION_FAILED' | 'ERR_SECURITY_UNAUTHORIZED', message: string): JunctionError & { returnCode: number } {
  return Object.assign(new JunctionError(code, `${message}: CONNACK 0x0${returnCode}`), { returnCode });
}

/**
 * A refusal's CONNACK return code (MQTT 3.1.1 section 3.2.2.3). Without a user name there is no
 * user name or password to be bad: an anonymous CONNECT refused is 0x05, as Mosquitto 2 answers.
 */
export function returnCodeOf(reason: LoginRefusal, username: string | undefined): number {
  if (reason === 'not-authorized' || reason === 'limit') return NOT_AUTHORIZED;
  return username === undefined ? NOT_AUTHORIZED : BAD_USER_NAME_OR_PASSWORD;
}
