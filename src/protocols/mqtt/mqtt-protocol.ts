import { Aedes } from 'aedes';
import type { Logger } from '../../log.ts';
import type { Core } from '../../core/core.ts';
import { isJunctionError, JunctionError } from '../../errors.ts';
import type { StateValue } from '../../core/ports/store.ts';
import type { Authenticator } from '../../core/ports/security.ts';
import type { Origin } from '../../core/reserved.ts';
import type { TransportConnection } from '../../transport/connection.ts';
import type { ConnectionInfo, ProtocolAdapter, WsBinding } from '../../transport/protocol-adapter.ts';
import type { AedesClient, ConnectPacket, IncomingPacket, OutgoingPacket } from './aedes-types.ts';
import { MqttConnectionStream } from './connection.ts';
import type { MqttConfig } from './mqtt-config.ts';
import { CoreEmitter } from './core-emitter.ts';
import { CorePersistence } from './core-persistence.ts';
import { publishToCore } from '../../interop/mqtt-message.ts';
import { describeError, isNoise } from './mqtt-errors.ts';
import { MqttLogin } from './mqtt-login.ts';
import { MqttSession } from './mqtt-session.ts';
import { mqttConnectionInfo } from './mqtt-connection-info.ts';
import { SessionStore } from './session-store.ts';
import { SubscriptionAttacher } from './subscription-attacher.ts';
import { SubscribeHooks } from './subscribe-hooks.ts';
import { encodeSegment } from '../../interop/mqtt-topic.ts';
import { WorkSlicer } from './work-slicer.ts';

/** WebSocket subprotocols that select MQTT (MQTT 3.1.1 section 6: `mqtt`; MQTT 3.1: `mqttv3.1`). */
export const MQTT_WS_SUBPROTOCOLS = ['mqtt', 'mqttv3.1'];

/**
 * What the adapter is configured with: the `mqtt` config section without the retained-message caps,
 * which are the core's (broker.ts hands them to `Core.open`).
 */
export type MqttProtocolConfig = Omit<MqttConfig, 'maxRetainedMessages' | 'maxRetainedBytes'>;

/** The origin of what no connection asks for (a will aedes publishes for no client): no subject, so denied when security is on. */
const MQTT_ORIGIN: Origin = Object.freeze({ component: 'mqtt' });
const WILL_OPTIONS = Object.freeze({ origin: MQTT_ORIGIN });

/** MQTT 5 CONNACK with reason code 0x84 (Unsupported Protocol Version) and no properties. */
const CONNACK_V5_UNSUPPORTED = Buffer.from([0x20, 0x03, 0x00, 0x84, 0x00]);
/** MQTT 3.1 / 3.1.1 CONNACK with return code 0x02 (identifier rejected). */
const CONNACK_IDENTIFIER_REJECTED = Buffer.from([0x20, 0x02, 0x00, 0x02]);

/**
 * MQTT 3.1 / 3.1.1 on the core. aedes is the protocol engine (codec, CONNECT and session state
 * machine, keep-alive, wills, QoS handshakes); the core is the only router and store: a PUBLISH is a
 * `core.send` in `authorizePublish` (so the PUBACK waits for the journal), a subscription is a core
 * consumer attached through the emitter, a persistent session is a set of durable core subscriptions.
 */
export class MqttProtocol implements ProtocolAdapter {
  readonly name = 'mqtt' as const;
  readonly ws: WsBinding;
  readonly core: Core;
  private readonly cfg: MqttProtocolConfig;
  private readonly log: Logger;
  private readonly aedes: Aedes;
  private readonly sessions: Map<AedesClient, MqttSession>;
  /** Every connection's session, also after it left `sessions`: aedes publishes a will once the connection has closed. */
  private readonly ended = new WeakMap<AedesClient, MqttSession>();
  /** The subscription bindings (a unit test drives a takeover's closeDurable through it). */
  private readonly subs: SubscriptionAttacher;
  /** SUBSCRIBE, UNSUBSCRIBE and retained-forward hooks. */
  private readonly subscribeHooks: SubscribeHooks;
  /** Sessions, inbound QoS 2 packet ids and pending PUBRELs, by client id (durable for persistent sessions). */
  private readonly state: SessionStore;
  private readonly duplicates = new WeakSet<object>();
  /** Long per-connection work (thousands of filters to authorise, bindings to close) in slices. */
  private readonly slicer: WorkSlicer;
  private closing = false;

  private constructor(core: Core, cfg: MqttProtocolConfig, log: Logger, aedes: Aedes, state: SessionStore, sessions: Map<AedesClient, MqttSession>, subs: SubscriptionAttacher, subscribeHooks: SubscribeHooks, slicer: WorkSlicer) {
    this.core = core;
    this.slicer = slicer;
    this.subs = subs;
    this.sessions = sessions;
    this.subscribeHooks = subscribeHooks;
    this.cfg = cfg;
    this.log = log;
    this.aedes = aedes;
    this.state = state;
    // One packet per WebSocket message (MQTT 3.1.1 section 6).
    this.ws = { subprotocols: MQTT_WS_SUBPROTOCOLS, maxPayload: cfg.maxPacketSize, binary: true, isDefault: false };
  }

  /**
   * `auth` logs clients in at CONNECT (issue 14); without one, or with one not `enabled` (security
   * off), aedes's own hook accepts every CONNECT and no check runs per packet.
   */
  static async create(core: Core, cfg: MqttProtocolConfig, log: Logger, auth?: Authenticator): Promise<MqttProtocol> {
    const mqLog = log.child({ protocol: 'mqtt' });
    let self: MqttProtocol | undefined;
    const me = (): MqttProtocol => self!;
    const state = new SessionStore(core);
    const subs = new SubscriptionAttacher(core, cfg, state);
    const slicer = new WorkSlicer((err) => mqLog.error({ err }, 'mqtt sliced work failed'));
    const sessions = new Map<AedesClient, MqttSession>();
    const login = auth?.enabled
      ? new MqttLogin({ auth, sessions, state, liveClient: (id: string): AedesClient | undefined => liveClient(aedes, id), timeoutMs: cfg.connectTimeout, log: mqLog })
      : undefined;
    // aedes.unsubscribe is called only once aedes exists (on an UNSUBSCRIBE).
    const hooks = new SubscribeHooks({ core, cfg, sessions, subs, slicer, unsubscribe: (filter, func) => aedes.unsubscribe(filter, func as never, noop), secured: login !== undefined });
    const aedes = new Aedes({
      mq: new CoreEmitter({
        isClientSubscription: (f, n) => subs.isClientSubscription(f, n),
        attach: (f, n) => subs.attach(f, n),
        detach: (n) => subs.detach(n),
      }),
      persistence: new CorePersistence({
        core,
        coreClientId: (id) => `mqtt.${encodeSegment(id)}`,
        originOf: (client) => sessions.get(client)?.origin ?? MQTT_ORIGIN,
        ownerOpening: (id) => login?.ownerOpening(id),
        closeDurable: (name) => subs.closeDurable(name),
        closeBinding: (client, filter) => {
          const session = sessions.get(client);
          if (session) subs.closeBinding(session, filter);
        },
        released: (client, id) => me().released(client, id),
        received: (client, id) => me().received(client, id),
        sessions: state,
        slicer,
        retainedFor: () => hooks.takeRetainedWindow(),
        isDuplicate: (p) => me().duplicates.has(p),
      }),
      connectTimeout: cfg.connectTimeout,
      keepaliveLimit: cfg.keepaliveLimit,
      // Slow consumers are paced by core credit, not by disconnecting them.
      drainTimeout: 0,
      // aedes checks its inbound QoS 2 window after authorizePublish, when the core has the message
      // already: an MQTT.js burst of >1000 QoS 2 publishes was closed with them routed but not PUBRECed.
      // The packet id space bounds the (client id, packet id) table at 65,535 ids per client.
      maxInflightInbound: 0,
      preConnect: (client, packet, cb) => me().preConnect(client as unknown as AedesClient, packet as unknown as ConnectPacket, cb),
      ...(login ? { authenticate: (client, username, password, cb) => login.authenticate(client as unknown as AedesClient, username, password, cb as never) } : {}),
      authorizePublish: (client, packet, cb) => me().authorizePublish(client as unknown as AedesClient | null, packet as unknown as IncomingPacket, cb),
      authorizeSubscribe: (client, sub, cb) => hooks.authorizeSubscribe(client as unknown as AedesClient, sub, cb as never),
      authorizeForward: (client, packet) => hooks.authorizeForward(client as unknown as AedesClient, packet as unknown as OutgoingPacket) as never,
    });
    self = new MqttProtocol(core, cfg, mqLog, aedes, state, sessions, subs, hooks, slicer);
    aedes.on('connackSent', (_packet, client) => self.sessions.get(client as unknown as AedesClient)?.start());
    // aedes emits 'subscribe' right before it asks for the SUBSCRIBE's retained messages (synchronously).
    aedes.on('subscribe', (_subs, client) => (hooks.subscribing = client as unknown as AedesClient));
    aedes.on('unsubscribe', (filters, client) => hooks.unsubscribeInOrder(client as unknown as AedesClient, filters));
    aedes.on('clientError', (client, err) => self.connectionError(client as unknown as AedesClient, err));
    aedes.on('connectionError', (client, err) => self.connectionError(client as unknown as AedesClient, err));
    aedes.on('client', (client) => mqLog.debug({ clientId: client.id }, 'mqtt client connected'));
    await aedes.listen();
    return self;
  }

  accept(conn: TransportConnection): void {
    const stream = new MqttConnectionStream(conn, this.cfg.maxPacketSize);
    const client = this.aedes.handle(stream) as unknown as AedesClient;
    // aedes waits for 'drain' with one listener per blocked write; core credit bounds how many.
    stream.setMaxListeners(0);
    const session = new MqttSession(client, stream, this.log, this.sessions, this.slicer);
    this.sessions.set(client, session);
    this.ended.set(client, session);
    // The session ends, and leaves `sessions`, after aedes's own close handling (no closure per connection).
    stream.closeListener = session;
  }

  get connections(): number {
    return this.sessions.size;
  }

  /** Client ids with inbound QoS 2 packet ids awaiting PUBREL. */
  get inboundQos2Clients(): number {
    return this.state.inboundQos2Clients;
  }

  /** From now on no will is published: a broker shutdown is not the client's failure. */
  shutdown(): void {
    this.closing = true;
  }

  /** Closes every connection (without wills). */
  close(): Promise<void> {
    this.closing = true;
    return new Promise((resolve) => this.aedes.close(() => resolve()));
  }

  // ------------------------------------------------------------- hooks

  private preConnect(client: AedesClient, packet: ConnectPacket, cb: (err: Error | null, ok: boolean) => void): void {
    if (packet.protocolVersion === 5) {
      // aedes 1.2 would answer in the 3.1.1 format; an MQTT 5 client expects a v5 CONNACK.
      const err = new JunctionError('ERR_MQTT_PROTOCOL_VERSION', 'MQTT 5 is not supported (CONNACK 0x84)');
      client.conn.write(CONNACK_V5_UNSUPPORTED, () => setImmediate(cb, err, false));
      return;
    }
    if (packet.clientId.length === 0 && (!packet.clean || packet.protocolVersion === 3)) {
      // [MQTT-3.1.3-8]: a zero-length client id needs CleanSession=1 (aedes would make up an id and
      // store a persistent session under it that no client could ever resume). MQTT 3.1 asks for an
      // id of 1 to 23 characters whatever the flag (3.1 section 3.1; Mosquitto answers 0x02 too).
      // Refused before aedes's own CONNECT handling, so nothing is stored; then closed [MQTT-3.2.2-5].
      const err = new JunctionError('ERR_MQTT_CLIENT_ID_REJECTED', `MQTT ${packet.protocolVersion === 3 ? '3.1 CONNECT without a client identifier' : 'CONNECT with a zero-length client identifier and CleanSession=0'}: CONNACK 0x02 [MQTT-3.1.3-8]`);
      client.conn.write(CONNACK_IDENTIFIER_REJECTED, () => setImmediate(cb, err, false));
      return;
    }
    // [MQTT-4.4.0-1]: PUBRELs an earlier connection owes are resent after CONNACK; their packet ids
    // are taken now, before the session's consumers start delivering at CONNACK.
    const session = this.sessions.get(client);
    if (session && !packet.clean && packet.clientId) for (const id of this.state.pendingPubrel(packet.clientId)) session.reserve(id);
    cb(null, true);
  }

  private authorizePublish(client: AedesClient | null, packet: IncomingPacket, cb: (err?: Error | null) => void): void {
    if (this.closing) {
      cb(new JunctionError('ERR_BROKER_CLOSED'));
      return;
    }
    if (client && packet.topic.startsWith('$SYS/')) {
      // As aedes's default hook: `$SYS/` is the broker's. aedes acts on what reaches its own `$SYS`
      // listeners (`$SYS/<id>/new/clients` closes the connection of the client id in the payload).
      cb(new JunctionError('ERR_MQTT_TOPIC_INVALID', '$SYS/ topics are reserved for the broker'));
      return;
    }
    const session = client ? this.sessions.get(client) : undefined;
    // The send carries the connection's origin: with security on the core checks the subject's `send`
    // permission on the topic (one cached lookup) and a denied PUBLISH is dropped (MqttSession.complete).
    // A will is published after its connection closed, under the same subject (as Mosquitto checks it).
    const sendOptions = session?.sendOptions ?? (client ? this.ended.get(client)?.sendOptions : undefined) ?? WILL_OPTIONS;
    let send: Promise<unknown>;
    try {
      const input = publishToCore(packet, client?.id ?? null);
      // [MQTT-4.3.3-2]: aedes checks QoS 2 duplicates only after this hook, so a retransmission must
      // be recognised here, synchronously (packets of one read chunk are handled concurrently).
      // A persistent session's packet id is stored in the message's own batch: after a crash, a
      // retransmission (DUP) of a PUBLISH whose PUBREC the client never saw is still recognised.
      let qos2: { key: string; value: StateValue } | undefined;
      const inbound = packet.qos === 2 && packet.cmd === 'publish' && client?.id && packet.messageId !== undefined;
      if (inbound) {
        if (this.state.hasQos2(client.id!, packet.messageId!)) {
          this.duplicates.add(packet);
          // Its PUBREC waits for the first one's store write, which may be another connection's.
          this.completeWhen(session, this.state.sendOf(client.id!, packet.messageId!) ?? Promise.resolve(), cb);
          return;
        }
        qos2 = this.state.addQos2(client.id!, packet.messageId!, !client.clean);
      }
      // A retained publish of this connection to the same topic still being stored goes first.
      const earlier = packet.retain ? undefined : session?.afterRetained(packet.topic);
      if (!inbound && !packet.retain && !earlier) {
        // Nothing to store (QoS 0, or QoS 1 with no durable subscriber) and room everywhere: routed and
        // delivered now, completed without a Promise or a macrotask. Else (stored, blocked, paged) later.
        const sent = this.core.sendNow(input, sendOptions);
        if (!(sent instanceof Promise)) {
          if (session) session.completeNow(cb);
          else cb(null);
          return;
        }
        send = sent;
      } else {
        const opts = { origin: sendOptions.origin, ...(packet.retain ? { retain: true } : {}), ...(qos2 ? { state: qos2 } : {}) };
        const go = (): Promise<unknown> => this.core.send(input, opts);
        send = earlier ? earlier.then(go, go) : go();
        if (packet.retain && session) session.retainingTo(packet.topic, send);
      }
      if (inbound) {
        const id = packet.messageId!;
        this.state.sendingQos2(client!.id!, id, send, qos2 !== undefined);
        // The batch that failed held the stored record too.
        send.catch(() => this.state.releaseQos2(client!.id!, id, { stored: false }));
      }
    } catch (err) {
      send = Promise.reject(err);
    }
    this.completeWhen(session, send, cb, client);
  }

  /**
   * Calls back a publish once `send` is done: in the connection's order, or directly for a will (no
   * session), which aedes does not publish when it fails (a denied will is logged and dropped).
   */
  private completeWhen(session: MqttSession | undefined, send: Promise<unknown>, cb: (err?: Error | null) => void, client?: AedesClient | null): void {
    if (session) session.complete(send, cb);
    else {
      send.then(
        () => cb(null),
        (err: Error) => {
          if (isJunctionError(err) && err.code === 'ERR_SECURITY_UNAUTHORIZED') this.log.debug({ clientId: client?.id ?? undefined, code: err.code, reason: err.message }, 'mqtt will denied: not published');
          cb(err);
        },
      );
    }
  }

  /** PUBACK / PUBCOMP: the delivery behind the packet id is done; a pending PUBREL (persistent session) too. */
  private released(client: AedesClient, messageId: number): void {
    this.sessions.get(client)?.released(messageId);
    this.subscribeHooks.released(client, messageId);
    if (client.clean || !client.id) return;
    this.state.releasePubrel(client.id, messageId).catch((err) => this.sessions.get(client)?.reportError(err, 'pubrel record delete'));
  }

  /**
   * PUBREC on a persistent session: the core delivery is acked in the same store batch that records
   * the pending PUBREL, so after a crash either the message comes again or its PUBREL does, never
   * both, never neither. aedes writes the PUBREL once that batch is stored.
   */
  private async received(client: AedesClient, messageId: number): Promise<void> {
    const d = this.sessions.get(client)?.received(messageId);
    if (!d || !client.id) return;
    const c = d.binding.consumer;
    const ours = c !== null && !c.closed && c.unacked.has(d.deliveryId);
    // Returned to a queue that still exists (a takeover's new connection restored the session and
    // closed this one's consumer): the message is sent again there, so this PUBREC owes no PUBREL
    // (recording one would have it resent as well: the client would get the message twice).
    if (!ours && c !== null && this.core.consumerQueueExists(c)) return;
    const tx = this.core.createTransaction();
    if (ours) tx.addAck(c!, d.deliveryId, false);
    this.state.addPubrel(tx, client.id, messageId);
    try {
      await this.core.commit(tx);
    } catch (err) {
      this.state.forgetPubrel(client.id, messageId);
      throw err;
    }
  }

  /** Each connection's first error is logged once; routine disconnects at debug. */
  private connectionError(client: AedesClient, err: Error): void {
    const session = this.sessions.get(client);
    if (session?.errorLogged) return;
    if (session) session.errorLogged = true;
    const log = session?.log ?? this.log;
    const fields = { clientId: client.id ?? undefined, ...describeError(err) };
    if (isNoise(err)) log.debug(fields, 'mqtt connection closed');
    else log.warn(fields, 'mqtt connection closed on error');
  }

  /** Open connections (a closed one leaves `sessions` a macrotask after its stream). */
  listConnections(): ConnectionInfo[] {
    const out: ConnectionInfo[] = [];
    for (const s of this.sessions.values()) if (!s.stream.destroyed) out.push(mqttConnectionInfo(s));
    return out;
  }

  /**
   * MQTT 3.1.1 has no server DISCONNECT: the socket is closed, and everything follows as when a
   * client's network connection drops: its will is published ([MQTT-3.1.2-8]: on any close not
   * preceded by the client's DISCONNECT; Artemis's management close fails the connection, which
   * sends the will; Mosquitto's dynamic-security kick alone passes with_will=false), unacked QoS 1/2
   * deliveries return to their queues, a clean session ends. aedes 1.x speaks no MQTT 5, so there is
   * no DISCONNECT 0x98 to send.
   */
  closeConnection(id: number, reason: string): boolean {
    for (const s of this.sessions.values()) {
      const conn = s.stream.conn;
      if (conn.id !== id || s.stream.destroyed) continue;
      s.log.info({ clientId: s.client.id ?? undefined, reason }, 'mqtt connection closed by an administrator');
      conn.destroy();
      return true;
    }
    return false;
  }
}

function noop(): void {}

/** aedes's registry of connected clients by client id (a plain object of aedes's: an own property only). */
function liveClient(aedes: Aedes, clientId: string): AedesClient | undefined {
  const clients = (aedes as unknown as { clients: Record<string, AedesClient> }).clients;
  return Object.hasOwn(clients, clientId) ? clients[clientId] : undefined;
}
