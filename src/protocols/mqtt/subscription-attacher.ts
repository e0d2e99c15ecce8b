import type { Core, SubscriptionSpec } from '../../core/core.ts';
import type { Destination } from '../../core/message.ts';
import type { AedesClient, DeliverFunc } from './aedes-types.ts';
import type { StoredMqttSubscription } from './core-persistence.ts';
import type { MqttConfig } from './mqtt-config.ts';
import type { MqttSession } from './mqtt-session.ts';
import type { SessionStore } from './session-store.ts';
import { SubscriptionBinding } from './subscription-binding.ts';
import { encodeSegment, mqttFilterToCore, parseShared } from '../../interop/mqtt-topic.ts';

/** The windows a binding gets (from the MQTT config). */
export type AttachConfig = Pick<MqttConfig, 'maxInflight' | 'qos0Window'>;

/**
 * Binds MQTT client subscriptions to core consumers, as aedes adds and removes them through the
 * emitter (`on` / `removeListener` with the subscription's delivery function). aedes hands over only
 * the filter and a delivery function made for that subscription, so the connection it belongs to is
 * found through the SUBSCRIBE that `authorizeSubscribe` just let through for that filter (`expect`),
 * not by looking at every connection.
 */
export class SubscriptionAttacher {
  private readonly core: Core;
  private readonly cfg: AttachConfig;
  /** Live bindings of durable subscriptions by queue name: a session taken over hands its queue on. */
  private readonly durable = new Map<string, SubscriptionBinding>();
  /** Every client subscription's delivery function ever attached, and its live binding. */
  private readonly clientFuncs = new WeakSet<DeliverFunc>();
  private readonly bindingOf = new Map<DeliverFunc, SubscriptionBinding>();
  /** Connections with an authorised subscription to a filter that aedes has not added yet, by filter. */
  private readonly expected = new Map<string, Set<MqttSession>>();
  /** The filters each connection is expected to add, and whether each is new to it (counted in `pendingNew`). */
  private readonly expectedBy = new WeakMap<MqttSession, Map<string, boolean>>();
  /** The connection of each client subscription's delivery function, once found. */
  private readonly sessionOfFunc = new WeakMap<DeliverFunc, MqttSession>();

  private readonly state: SessionStore;

  constructor(core: Core, cfg: AttachConfig, state: SessionStore) {
    this.core = core;
    this.cfg = cfg;
    this.state = state;
  }

  /** Whether `session` has, or is making, a subscription to `filter` (a SUBSCRIBE of it replaces, not adds). */
  has(session: MqttSession, filter: string): boolean {
    return session.filters.has(filter) || this.expectedBy.get(session)?.has(filter) === true;
  }

  /** `authorizeSubscribe` let `filter` through for `session`: aedes adds it next (unless it has it at that QoS). */
  expect(session: MqttSession, filter: string): void {
    if (session.isEnded) return;
    let sessions = this.expected.get(filter);
    if (!sessions) this.expected.set(filter, (sessions = new Set()));
    sessions.add(session);
    let filters = this.expectedBy.get(session);
    if (!filters) {
      this.expectedBy.set(session, (filters = new Map()));
      // A SUBSCRIBE aedes already had at that QoS adds nothing: what it left expected goes with the connection.
      session.stream.once('close', () => this.forget(session));
    }
    if (filters.has(filter)) return;
    const isNew = !session.filters.has(filter);
    filters.set(filter, isNew);
    if (isNew) session.pendingNew++;
  }

  private forget(session: MqttSession): void {
    for (const filter of [...(this.expectedBy.get(session)?.keys() ?? [])]) this.unexpect(session, filter);
    this.expectedBy.delete(session);
  }

  private unexpect(session: MqttSession, filter: string): void {
    const sessions = this.expected.get(filter);
    if (sessions?.delete(session) && sessions.size === 0) this.expected.delete(filter);
    const filters = this.expectedBy.get(session);
    const isNew = filters?.get(filter);
    if (filters?.delete(filter) && isNew) session.pendingNew--;
  }

  /** Whether `notify` is a client subscription's delivery function (aedes's own `$SYS` listeners are not). */
  isClientSubscription(filter: string, notify: DeliverFunc): boolean {
    return this.sessionOf(filter, notify) !== undefined;
  }

  private sessionOf(filter: string, notify: DeliverFunc): MqttSession | undefined {
    const known = this.sessionOfFunc.get(notify);
    if (known) return known;
    for (const s of this.expected.get(filter) ?? []) {
      if (s.client.subscriptions[filter]?.func !== notify) continue;
      this.unexpect(s, filter);
      this.sessionOfFunc.set(notify, s);
      return s;
    }
    return undefined;
  }

  /** Closes the live binding of a durable subscription, if any (a session taken over or cleaned). */
  closeDurable(queueName: string): void {
    this.durable.get(queueName)?.close();
  }

  /** `on` for a client subscription: binds it to a core consumer (resolves once that exists: a durable one is stored). */
  async attach(filter: string, notify: DeliverFunc): Promise<void> {
    const session = this.sessionOf(filter, notify);
    if (!session || session.isEnded) return;
    const client = session.client;
    const qos = Math.max(0, Math.min(2, client.subscriptions[filter]?.qos ?? 0)) as 0 | 1 | 2;
    const shared = parseShared(filter);
    const replaced = this.replacedBinding(session, filter);
    if (replaced && qos > 0) {
      // [MQTT-3.8.4-3]: a SUBSCRIBE to an existing filter with another QoS (1 <-> 2) replaces it
      // without interrupting its flow: the same consumer, its queue and deliveries in flight carry on.
      replaced.replacing = false;
      this.bindingOf.delete(replaced.notify);
      session.bindings.delete(replaced.notify);
      replaced.notify = notify;
      replaced.qos = qos;
      this.clientFuncs.add(notify);
      this.bindingOf.set(notify, replaced);
      session.bindings.set(notify, replaced);
      session.filters.set(filter, replaced);
      return;
    }
    const matchFilter = shared ? shared.filter : filter;
    const { destination, subscription, durableName } = this.specFor(client, filter, qos);
    if (shared && subscription?.durable && !client.clean) await this.state.joinShare(client.id!, filter, qos, subscription.name);
    // [MQTT-3.1.4-2] takeover: the new connection restores the session before aedes closes the old one.
    if (durableName !== undefined) this.durable.get(durableName)?.close();
    const binding = new SubscriptionBinding({
      owner: session,
      filter,
      matchFilter,
      qos,
      notify,
      window: qos === 0 ? this.cfg.qos0Window : this.cfg.maxInflight,
      ...(durableName !== undefined ? { durableName } : {}),
    });
    this.clientFuncs.add(notify);
    this.bindingOf.set(notify, binding);
    session.bindings.set(notify, binding);
    session.filters.set(filter, binding);
    if (durableName !== undefined) this.durable.set(durableName, binding);
    const group = shared && subscription?.durable ? subscription.name : undefined;
    binding.whenClosed((b) => {
      if (session.bindings.get(b.notify) === b) session.bindings.delete(b.notify);
      if (session.filters.get(b.filter) === b) session.filters.delete(b.filter);
      if (this.bindingOf.get(b.notify) === b) this.bindingOf.delete(b.notify);
      if (b.durableName !== undefined && this.durable.get(b.durableName) === b) this.durable.delete(b.durableName);
      if (group !== undefined) this.dropOrphanGroup(group, session);
    });
    // The connection's origin: component `mqtt` (MQTT's own names `mqtt.<client id>.*` and `mqtt-share.*`
    // are reserved to it in the core) and the subject logged in on it, whose permissions the core checks.
    try {
      binding.consumer = await this.core.createConsumer({ destination, sink: binding, autoAck: qos === 0, origin: session.origin, ...(subscription ? { subscription } : {}) });
    } catch (err) {
      binding.close();
      throw err;
    }
    if (binding.isClosed || session.isEnded) {
      binding.consumer.close();
      return;
    }
    if (client.connackSent) binding.start();
  }

  /**
   * The core consumer a subscription to `filter` at `qos` is: its topic (the filter in core terms),
   * and its core subscription. Junction's shared subscriptions (`$share/<group>/<filter>`, for every
   * MQTT version) are one shared core subscription per group and filter; a group of persistent
   * sessions at QoS 1/2 is a durable shared subscription (Artemis: shared durable), whose messages
   * wait while every member is offline; a group's first member decides, later ones join it. A
   * persistent session's subscription is durable, named `mqtt.<client id>.<filter>` (encoded).
   * Throws ERR_MQTT_TOPIC_INVALID for a filter the core cannot take.
   */
  specFor(client: AedesClient, filter: string, qos: number): { destination: Destination; subscription?: SubscriptionSpec; durableName?: string } {
    const shared = parseShared(filter);
    const destination: Destination = { type: 'topic', name: mqttFilterToCore(shared ? shared.filter : filter) };
    if (shared) {
      const name = `mqtt-share.${encodeSegment(shared.group)}.${encodeSegment(shared.filter)}`;
      const existing = this.core.findSubscription(name);
      return { destination, subscription: { name, durable: existing ? existing.durable : !client.clean && qos > 0, shared: true } };
    }
    if (client.clean) return { destination };
    const clientId = `mqtt.${encodeSegment(client.id!)}`;
    const name = encodeSegment(filter);
    const meta: { mqtt: StoredMqttSubscription } = { mqtt: { filter, qos: Math.max(0, Math.min(2, qos)) as 0 | 1 | 2 } };
    return { destination, subscription: { clientId, name, durable: true, meta }, durableName: `${clientId}.${name}` };
  }

  /** `removeListener` for a client subscription; false when `notify` was never one. */
  detach(notify: DeliverFunc): boolean {
    if (!this.clientFuncs.has(notify)) return false;
    const b = this.bindingOf.get(notify);
    // The connection is closing (aedes unsubscribes everything): its session closes the bindings, in
    // slices, once the stream is gone (MqttSession.end); 50,000 closed here would be one long run.
    if (b?.owner.closing === true) return true;
    if (b && b.qos > 0 && b.durableName === undefined && !b.isClosed) {
      // A non-durable subscription's queue goes with its consumer; aedes removes a subscription it
      // replaces just before adding the new one, in the same tick, so the close waits for that.
      b.replacing = true;
      queueMicrotask(() => {
        if (b.replacing) b.close();
      });
      return true;
    }
    b?.close();
    return true;
  }

  /** A durable `$share` group queue that no persistent session is a member of any more goes with its last consumer. */
  private dropOrphanGroup(queue: string, session: MqttSession): void {
    if (this.state.hasShareMembers(queue)) return;
    this.core.deleteIfIdle(queue).catch((err) => session.reportError(err, 'share group delete'));
  }

  /** A non-durable QoS 1/2 binding of `filter` removed in this tick and not closed yet (a lookup: a scan per filter made restoring 50,000 subscriptions quadratic). */
  private replacedBinding(session: MqttSession, filter: string): SubscriptionBinding | undefined {
    const b = session.filters.get(filter);
    return b !== undefined && b.replacing && !b.isClosed ? b : undefined;
  }

  /** UNSUBSCRIBE: closes the connection's binding of `filter`. */
  closeBinding(session: MqttSession, filter: string): void {
    session.filters.get(filter)?.close();
  }
}
