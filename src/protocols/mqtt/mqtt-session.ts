import type { Logger } from '../../log.ts';
import type { SendOptions } from '../../core/core.ts';
import type { Delivery } from '../../core/handles.ts';
import type { LoginSession, Subject } from '../../core/ports/security.ts';
import type { Origin } from '../../core/reserved.ts';
import type { AedesClient, DeliverFunc } from './aedes-types.ts';
import type { MqttConnectionStream } from './connection.ts';
import type { BindingOwner, SubscriptionBinding } from './subscription-binding.ts';
import { coreToMqttTopic } from '../../interop/mqtt-topic.ts';
import type { WorkSlicer } from './work-slicer.ts';

interface Completion {
  done: boolean;
  err: Error | null;
  cb: (err: Error | null) => void;
}

interface Inflight {
  /** The binding of the core delivery behind this packet id; null for a retained message sent on SUBSCRIBE. */
  binding: SubscriptionBinding | null;
  deliveryId: number;
  /** QoS 2 on a persistent session: settled in the core at PUBREC, the id stays taken until PUBCOMP. */
  settled: boolean;
}

/** The largest remaining length of an MQTT 3.1.1 packet (four length bytes). */
const MAX_REMAINING_LENGTH = 268_435_455;

/**
 * UTF-8 topic names by core topic name, shared by all sessions (deliveries encode them once); null for
 * a name no MQTT topic can be: `+` or `#` inside a level (a STOMP/AMQP name; [MQTT-3.3.2-2]), or the
 * core name `~` alone, the empty topic ([MQTT-4.7.3-1]).
 */
const topicBytes = new Map<string, Buffer | null>();
const TOPIC_CACHE_MAX = 10_000;

function topicOf(coreName: string): Buffer | null {
  let b = topicBytes.get(coreName);
  if (b === undefined) {
    if (topicBytes.size >= TOPIC_CACHE_MAX) topicBytes.clear();
    const t = coreToMqttTopic(coreName);
    b = t.length === 0 || t.includes('+') || t.includes('#') ? null : Buffer.from(t, 'utf8');
    topicBytes.set(coreName, b);
  }
  return b;
}

function sessionClosed(s: MqttSession): void {
  s.end();
  if (s.registry.get(s.client) === s) s.registry.delete(s.client);
}

/**
 * Junction's state for one MQTT connection (aedes keeps the protocol state): its subscriptions
 * bound to core consumers, the outgoing packet ids in flight mapped to core deliveries, and the
 * completions of its publishes in arrival order. Core deliveries are encoded and written here, not
 * by aedes (see {@link send}).
 */
export class MqttSession implements BindingOwner {
  readonly client: AedesClient;
  readonly stream: MqttConnectionStream;
  /** The protocol's sessions by client, which this one leaves when its connection has closed. */
  readonly registry: Map<AedesClient, MqttSession>;
  readonly bindings = new Map<DeliverFunc, SubscriptionBinding>();
  /** The live binding of each filter (a SUBSCRIBE replacing one, an UNSUBSCRIBE: found without a scan). */
  readonly filters = new Map<string, SubscriptionBinding>();
  /** Filters authorised and not bound yet that the session did not have: they count against the cap already. */
  pendingNew = 0;
  /** Set once a SUBSCRIBE over `mqtt.maxSubscriptionsPerSession` has been logged (once per connection). */
  capWarned = false;
  /** Where long work of this connection (restoring, closing thousands of subscriptions) runs in slices. */
  readonly slicer: WorkSlicer | null;
  /** Set once a connection error has been logged (each is logged once). */
  errorLogged = false;
  /**
   * Who this connection is, for the core's permission checks: its connection id and, once CONNECT
   * is authenticated, its login's subject. One object per connection (the core may cache on it).
   */
  origin: Origin;
  /** The options of this connection's routed sends (its origin): one object, not one per PUBLISH. */
  sendOptions: SendOptions;
  /** The login held while the connection lives (released at end: per-user connection counts). */
  private loginSession: LoginSession | null = null;
  /** Set once a delivery no MQTT packet can carry has been logged at warn. */
  private dropWarned = false;
  private readonly parentLog: Logger;
  private childLog: Logger | null = null;
  /** Outgoing QoS 1/2 packet ids in flight (made on the first). */
  private inflightIds: Map<number, Inflight> | null = null;
  private nextId = 1;
  /** Publishes waiting for completion, in arrival order (created on the first one that has to wait). */
  private completions: Completion[] | null = null;
  private flushScheduled = false;
  private ended = false;
  /** Bindings owed credit taken back while the stream was congested (any QoS; given back on 'drain'). */
  private owing: Set<SubscriptionBinding> | null = null;
  private drainListening = false;
  /** QoS 1/2 deliveries waiting for a free packet id, oldest first (null while none wait). */
  private waitingForId: Array<{ binding: SubscriptionBinding; d: Delivery; qos: 0 | 1 | 2 }> | null = null;
  /** Bindings whose credit is held while deliveries wait for a packet id (given back once none wait). */
  private heldForIds: Set<SubscriptionBinding> | null = null;
  /** Retained publishes of this connection still being stored, by MQTT topic (made on the first). */
  private retaining: Map<string, Promise<unknown>> | null = null;

  constructor(client: AedesClient, stream: MqttConnectionStream, log: Logger, registry: Map<AedesClient, MqttSession>, slicer: WorkSlicer | null = null) {
    this.client = client;
    this.slicer = slicer;
    this.stream = stream;
    this.parentLog = log;
    this.registry = registry;
    this.origin = { component: 'mqtt', connectionId: String(stream.conn.id) };
    this.sendOptions = { origin: this.origin };
  }

  /** CONNECT was authenticated: the connection acts as `login`'s subject until it ends. */
  loggedIn(login: LoginSession): void {
    if (this.ended) {
      login.close();
      return;
    }
    this.loginSession?.close();
    this.loginSession = login;
    this.origin = { component: 'mqtt', connectionId: this.origin.connectionId!, subject: login.subject };
    this.sendOptions = { origin: this.origin };
  }

  /** The logged-in subject, if CONNECT was authenticated. */
  get subject(): Subject | undefined {
    return this.origin.subject;
  }

  /**
   * The stream was destroyed: end the session in the next macrotask, after aedes's own close
   * handling (on the stream's 'close', which follows), which detaches the subscriptions.
   */
  streamClosed(): void {
    setImmediate(sessionClosed, this);
  }

  /** This connection's logger (a child logger, made when first needed: most connections never log). */
  get log(): Logger {
    if (this.childLog === null) {
      const conn = this.stream.conn;
      this.childLog = this.parentLog.child({ conn: conn.id, transport: conn.kind, remote: conn.remoteAddress });
    }
    return this.childLog;
  }

  private get inflight(): Map<number, Inflight> {
    return (this.inflightIds ??= new Map());
  }

  /**
   * Writes a core delivery to the client at `qos`: encoded here, straight into the stream, so a
   * delivery costs one small buffer and deliveries of one tick leave in one write. QoS 1/2 take a
   * packet id mapped to the delivery (settled on PUBACK, or PUBREC/PUBCOMP). QoS 0 deliveries are
   * settled by the core at once; their credit returns at once while the stream has room, else on
   * 'drain'. Returns false when the delivery was not written (the connection is going).
   */
  send(binding: SubscriptionBinding, d: Delivery, qos: 0 | 1 | 2): boolean {
    const client = this.client;
    // As aedes's own write: CONNACK goes out (connackSent, credit starts) before `connected` is set.
    if (this.ended || !(client.connecting || client.connected) || this.stream.destroyed) return false;
    const m = d.message;
    const topic = topicOf(m.destination.name);
    if (topic === null || 2 + topic.length + 2 + m.body.length > MAX_REMAINING_LENGTH) {
      // No MQTT PUBLISH can carry it (from STOMP/AMQP: a wildcard character in a topic name, the name
      // `~` (the empty topic), or a body over the largest packet): written anyway it would break the
      // client's stream or be refused by it, and sent again it would come back at every reconnect.
      // Settled, and logged.
      const why = topic === null ? 'its topic name has + or # in a level, or is empty' : 'larger than an MQTT packet can be';
      const fields = { clientId: client.id, topic: m.destination.name, bytes: m.body.length };
      // Once per connection at warn: a producer sending many must not flood the log.
      if (this.dropWarned) this.log.debug(fields, `mqtt delivery dropped: ${why}`);
      else this.log.warn(fields, `mqtt delivery dropped: ${why} (further ones at debug)`);
      this.dropWarned = true;
      binding.acked(d.id, true);
      return true;
    }
    if (qos === 0) {
      // Settled as it is written (at most once): a no-op for a QoS 0 subscription's auto-ack consumer,
      // and a QoS 1/2 subscription's copy of a QoS 0 message would otherwise stay in delivery for good.
      if (this.stream.writePublish(topic, m.body, 0, false, 0)) binding.acked(d.id, true);
      else {
        binding.acked(d.id, false);
        this.owe(binding, 1);
      }
      return true;
    }
    const id = this.waitingForId === null ? this.allocateFor(binding, d.id) : undefined;
    if (id === undefined) {
      // Every packet id is taken (65,535 in flight over this connection's subscriptions): the delivery
      // keeps its credit and waits for a PUBACK/PUBCOMP to free one. Handed back with its credit
      // instead, it stayed in delivery unsent and the next one came at once: the queue emptied into it.
      (this.waitingForId ??= []).push({ binding, d, qos });
      // The rest of the subscription's window waits too: else a client that never acknowledges made
      // the broker hold every subscription's whole window (20 x 5,000 over 65,535 ids: 34,465 waiting).
      this.holdForId(binding);
      return true;
    }
    // Over the high-water mark: the rest of the window waits for 'drain' (this delivery's credit is the
    // packet id's, back on PUBACK/PUBCOMP). maxInflight counts messages, not bytes: else a subscriber
    // that never reads got its whole window (1,000 x 64 KiB: 64 MiB per connection) in the outbox.
    if (!this.stream.writePublish(topic, m.body, qos, d.redelivered, id)) this.owe(binding, 0);
    return true;
  }

  /** Sends the deliveries that waited for a packet id, oldest first, while ids are free. */
  private sendWaiting(): void {
    const w = this.waitingForId!;
    this.waitingForId = null;
    let i = 0;
    for (; i < w.length && this.inflight.size < 65535; i++) {
      const x = w[i]!;
      // A closed subscription's deliveries went back to its queue.
      if (!x.binding.isClosed) this.send(x.binding, x.d, x.qos);
    }
    if (i < w.length) this.waitingForId = this.waitingForId === null ? w.slice(i) : [...w.slice(i), ...this.waitingForId];
    if (this.waitingForId !== null || this.heldForIds === null) return;
    // Nothing waits for an id any more: the held windows come back (a delivery that must wait again holds its own again).
    const held = this.heldForIds;
    this.heldForIds = null;
    for (const b of held) b.repay();
  }

  /** Takes back what is left of `binding`'s credit while its deliveries wait for packet ids. */
  private holdForId(binding: SubscriptionBinding): void {
    const c = binding.consumer;
    if (c !== null && c.credit > 0) {
      binding.credit.hold(c.credit);
      c.setCredit(0);
    }
    (this.heldForIds ??= new Set()).add(binding);
  }

  /**
   * The stream is over its high-water mark: `n` credits (a QoS 0 delivery's, a PUBACK's), and what the
   * subscription has left, come back on 'drain'. Without taking the rest back, a subscriber that
   * stopped reading got a whole window more (qos0Window or maxInflight messages of any size) gathered
   * in the outbox.
   */
  private owe(binding: SubscriptionBinding, n: number): void {
    const c = binding.consumer;
    binding.credit.hold(n + (c !== null && c.credit > 0 ? c.credit : 0));
    c?.setCredit(0);
    (this.owing ??= new Set()).add(binding);
    if (this.drainListening) return;
    this.drainListening = true;
    this.stream.once('drain', () => {
      this.drainListening = false;
      const owing = this.owing;
      this.owing = null;
      if (owing) for (const b of owing) b.repay();
    });
  }

  /**
   * Chooses the packet id of a QoS 1/2 PUBLISH aedes sends (a retained message on SUBSCRIBE, no core
   * delivery behind it). Undefined when all 65,535 are taken.
   */
  allocate(): number | undefined {
    return this.allocateFor(null, 0);
  }

  /**
   * Chooses the packet id of an outgoing QoS 1/2 PUBLISH, skipping ids still in flight (aedes's own
   * counter does not), and maps it to the core delivery. Undefined when all 65,535 are taken.
   */
  private allocateFor(binding: SubscriptionBinding | null, deliveryId: number): number | undefined {
    if (this.inflight.size >= 65535) return undefined;
    let id = this.nextId;
    while (this.inflight.has(id)) id = id >= 65535 ? 1 : id + 1;
    this.nextId = id >= 65535 ? 1 : id + 1;
    this.inflight.set(id, { binding, deliveryId, settled: false });
    return id;
  }

  /** PUBACK or PUBCOMP: the delivery is done; its credit returns. */
  released(id: number): void {
    const e = this.inflight.get(id);
    if (!e) return;
    this.inflight.delete(id);
    // Before the credit comes back: a delivery that waited for an id goes ahead of new ones.
    if (this.waitingForId !== null) this.sendWaiting();
    if (!e.binding) return;
    // While a write waits for 'drain' (owing is set), the freed credit waits too: else each PUBACK
    // (which a client can send without reading) had one more PUBLISH written into the full outbox.
    const hold = this.owing !== null;
    if (!e.settled) e.binding.acked(e.deliveryId, !hold);
    else if (!hold) e.binding.returnCredit();
    if (hold) this.owe(e.binding, 1);
  }

  /**
   * PUBREC on a persistent session: the client has the message. Marks the packet id settled (taken
   * until PUBCOMP) and returns the core delivery behind it, which the caller acks in the store batch
   * that records the pending PUBREL; null when there is none (unknown, retained, already received).
   */
  received(id: number): { binding: SubscriptionBinding; deliveryId: number } | null {
    const e = this.inflight.get(id);
    if (!e || !e.binding || e.settled) return null;
    e.settled = true;
    return { binding: e.binding, deliveryId: e.deliveryId };
  }

  /** Takes a packet id whose PUBREL an earlier connection of this session owes (resent after CONNACK; freed by PUBCOMP). */
  reserve(id: number): void {
    if (!this.inflight.has(id)) this.inflight.set(id, { binding: null, deliveryId: 0, settled: true });
  }

  /**
   * Completes an `authorizePublish` once `work` is done, in the order publishes arrived
   * ([MQTT-4.6.0-2]: PUBACKs in order), and always from a fresh macrotask: aedes reads the client's
   * next chunk inside the callback, and a chain of microtask completions would starve the sockets.
   *
   * A publish the core refused for want of `send` permission (ERR_SECURITY_UNAUTHORIZED) completes as done:
   * MQTT 3.1.1 has no negative acknowledgement, so, as Mosquitto 2, a denied PUBLISH is dropped and
   * logged, and a QoS 1/2 one is still acknowledged (else the client resent it for ever) on a
   * connection that stays open.
   */
  complete(work: Promise<unknown>, cb: (err: Error | null) => void): void {
    const c: Completion = { done: false, err: null, cb };
    (this.completions ??= []).push(c);
    work.then(
      () => this.settle(c, null),
      (err: unknown) => this.settle(c, this.denied(err) ? null : err instanceof Error ? err : new Error(String(err))),
    );
  }

  /** Whether `err` is the core's refusal of a send permission (then logged). */
  private denied(err: unknown): boolean {
    if ((err as { code?: unknown } | null)?.code !== 'ERR_SECURITY_UNAUTHORIZED') return false;
    this.logDenied('mqtt PUBLISH denied: dropped', err as Error);
    return true;
  }

  /**
   * A PUBLISH or a SUBSCRIBE filter refused, logged at debug: the security audit log has every
   * denial (`permission.denied`, rate-limited per user), and a client looping on a denied topic, or
   * many connections each denied once, must not flood this log.
   */
  logDenied(what: string, err: Error, filter?: string): void {
    this.log.debug({ clientId: this.client.id, user: this.subject?.user, ...(filter !== undefined ? { filter: filter.slice(0, 200) } : {}), code: (err as { code?: string }).code, reason: err.message }, what);
  }

  /**
   * Completes an `authorizePublish` whose work is already done (routed synchronously): at once when
   * no earlier publish of this connection is still waiting, else behind it (PUBACKs stay in order).
   */
  completeNow(cb: (err: Error | null) => void): void {
    const q = this.completions;
    if (q === null || q.length === 0) cb(null);
    else q.push({ done: true, err: null, cb });
  }

  /**
   * A retained publish to `topic` is being stored: a later publish of this connection to the same
   * topic must wait for it ({@link afterRetained}), else one routed at once (not stored) would reach
   * subscribers first ([MQTT-4.6.0-6]: a topic is ordered, per publisher).
   */
  retainingTo(topic: string, send: Promise<unknown>): void {
    const m = (this.retaining ??= new Map());
    m.set(topic, send);
    const forget = (): void => {
      if (m.get(topic) === send) m.delete(topic);
    };
    send.then(forget, forget);
  }

  /** The retained publish to `topic` this connection is still storing, if any. */
  afterRetained(topic: string): Promise<unknown> | undefined {
    return this.retaining?.get(topic);
  }

  private settle(c: Completion, err: Error | null): void {
    c.done = true;
    c.err = err;
    if (this.flushScheduled || this.completions![0] !== c) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Calls back every completed publish at the head of the line, in order, in one macrotask. */
  private flush(): void {
    this.flushScheduled = false;
    // One at a time off the head: a publish completed meanwhile (completeNow) queues behind these.
    const q = this.completions!;
    while (q.length > 0 && q[0]!.done) {
      const c = q.shift()!;
      c.cb(c.err);
    }
  }

  /** Grants every binding its window (after CONNACK). */
  start(): void {
    for (const b of this.bindings.values()) b.start();
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** aedes is closing the connection and the session closes its bindings once the stream is gone. */
  get closing(): boolean {
    return this.client.closed && this.slicer !== null;
  }

  /** Subscriptions this session has or is making, against `mqtt.maxSubscriptionsPerSession`. */
  get subscriptionCount(): number {
    return this.filters.size + this.pendingNew;
  }

  /**
   * The connection is gone: close its bindings (deliveries in flight return to their queues). aedes
   * left them open (see `SubscriptionAttacher.detach`); 50,000 of them are closed in slices. Until its
   * binding closes, a delivery to an ended session is not written and goes back to its queue then.
   */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.loginSession?.close();
    this.loginSession = null;
    const bindings = [...this.bindings.values()];
    this.inflightIds = null;
    this.owing = null;
    this.waitingForId = null;
    this.heldForIds = null;
    const slicer = this.slicer;
    if (slicer === null) {
      for (const b of bindings) b.close();
      return;
    }
    // Work still queued for this connection (a SUBSCRIBE's filters) is moot.
    slicer.drop(this.client);
    for (const b of bindings) slicer.run(this.client, () => b.close());
  }

  reportError(err: unknown, what: string): void {
    this.log.debug({ err, what }, 'mqtt core operation failed');
  }
}
