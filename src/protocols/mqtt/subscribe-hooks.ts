import type { Core } from '../../core/core.ts';
import { JunctionError } from '../../errors.ts';
import type { AedesClient, OutgoingPacket } from './aedes-types.ts';
import { isSessionMarker } from './core-persistence.ts';
import type { MqttConfig } from './mqtt-config.ts';
import type { MqttSession } from './mqtt-session.ts';
import { RetainedWindow } from './retained-window.ts';
import type { SubscriptionAttacher } from './subscription-attacher.ts';
import { mqttFilterToCore, parseShared } from '../../interop/mqtt-topic.ts';
import type { WorkSlicer } from './work-slicer.ts';

/** What the hooks share with the adapter (mqtt-protocol.ts). */
export interface SubscribeHooksInit {
  core: Core;
  cfg: Pick<MqttConfig, 'maxInflight' | 'maxSubscriptionsPerSession'>;
  /** The adapter's sessions, by aedes client. */
  sessions: ReadonlyMap<AedesClient, MqttSession>;
  subs: SubscriptionAttacher;
  slicer: WorkSlicer;
  /** Removes one subscription from aedes (aedes.unsubscribe). */
  unsubscribe(filter: string, func: unknown): void;
  /** Security is on: each filter's permissions are checked before SUBACK. */
  secured: boolean;
}

/**
 * The aedes hooks of the subscribe side of an MQTT connection: each SUBSCRIBE filter authorised
 * (session cap, broker-wide caps, a filter the core can take) in slices, a clean session's
 * UNSUBSCRIBE kept behind the SUBSCRIBE work before it, and the retained messages sent on SUBSCRIBE
 * given packet ids within a per-connection window.
 */
export class SubscribeHooks {
  private readonly core: Core;
  private readonly cfg: SubscribeHooksInit['cfg'];
  private readonly sessions: ReadonlyMap<AedesClient, MqttSession>;
  private readonly subs: SubscriptionAttacher;
  private readonly slicer: WorkSlicer;
  private readonly unsubscribe: (filter: string, func: unknown) => void;
  private readonly secured: boolean;
  /** Per connection: its retained messages sent on SUBSCRIBE in flight, bounded as a subscription's. */
  private readonly retainedWindows = new WeakMap<AedesClient, RetainedWindow>();
  /** The connection whose SUBSCRIBE aedes answers now (between its 'subscribe' event and the retained stream). */
  subscribing: AedesClient | null = null;

  constructor(init: SubscribeHooksInit) {
    this.core = init.core;
    this.cfg = init.cfg;
    this.sessions = init.sessions;
    this.subs = init.subs;
    this.slicer = init.slicer;
    this.unsubscribe = init.unsubscribe;
    this.secured = init.secured;
  }

  /**
   * Each filter of a SUBSCRIBE, and each subscription a persistent session restores at CONNECT, comes
   * here first (aedes calls this for all of them in one loop). The rest of its work (aedes's, and the
   * core consumer it attaches) follows the callback, so the callback is given in slices
   * ({@link WorkSlicer}): 50,000 restored subscriptions are made without holding the event loop.
   * aedes writes the SUBACK (and CONNACK) once every filter has called back, so both still follow
   * the subscriptions they answer ([MQTT-3.8.4-1], and CONNACK after the session is restored).
   */
  authorizeSubscribe(client: AedesClient, sub: { topic: string; qos: number }, cb: (err: Error | null, sub?: { topic: string; qos: number } | null) => void): void {
    if (isSessionMarker(sub)) {
      cb(null, null); // restored for CONNACK session-present only
      return;
    }
    this.slicer.run(client, () => this.authorizeFilter(client, sub, cb));
  }

  /**
   * aedes has answered a clean session's UNSUBSCRIBE. aedes handles the packets of one read together,
   * and calls nothing of ours for a clean session's UNSUBSCRIBE: one that came right behind a SUBSCRIBE
   * whose filters still wait in the slicer found none of them to remove (UNSUBACK went out first) and
   * they were added after it. Its removal is repeated behind them, as aedes's own (doUnsubscribe).
   * A persistent session's UNSUBSCRIBE waits in `removeSubscriptions` behind the same work already.
   */
  unsubscribeInOrder(client: AedesClient, filters: string[]): void {
    if (!client.clean || client.closed || !this.slicer.has(client)) return;
    this.slicer.run(client, () => {
      for (const filter of filters) {
        const s = client.subscriptions[filter];
        if (s === undefined) continue;
        delete client.subscriptions[filter];
        this.unsubscribe(filter, s.func);
      }
    });
  }

  private authorizeFilter(client: AedesClient, sub: { topic: string; qos: number }, cb: (err: Error | null, sub?: { topic: string; qos: number } | null) => void): void {
    const session = this.sessions.get(client);
    // A SUBSCRIBE (not a restore: those are the session's, made under the cap) of a filter the session
    // does not have yet, with the session at its cap: SUBACK 0x80 for it, the connection stays.
    if (session && client.connected && !this.subs.has(session, sub.topic) && session.subscriptionCount >= this.cfg.maxSubscriptionsPerSession) {
      if (!session.capWarned) {
        session.capWarned = true;
        const err = new JunctionError('ERR_MQTT_SUBSCRIPTION_LIMIT', `MQTT session is at its limit of ${this.cfg.maxSubscriptionsPerSession} subscriptions (mqtt.maxSubscriptionsPerSession): SUBACK 0x80`);
        session.log.warn({ clientId: client.id, filter: sub.topic.slice(0, 200), code: err.code, err: err.message }, 'mqtt subscription refused (further ones not logged)');
      }
      cb(null, null);
      return;
    }
    // A new filter needs a core consumer and a subscription queue: past the broker-wide caps (config
    // `core`) SUBACK 0x80, the connection stays. The core logs the refusal (once a minute).
    if (session && client.connected && !this.subs.has(session, sub.topic) && this.core.resourceLimitError(1, 1, sub.topic) !== undefined) {
      cb(null, null);
      return;
    }
    try {
      const shared = parseShared(sub.topic);
      mqttFilterToCore(shared ? shared.filter : sub.topic);
    } catch (err) {
      // SUBACK 0x80 for this filter; the connection stays.
      this.sessions.get(client)?.log.warn({ clientId: client.id, filter: sub.topic.slice(0, 200), err: (err as Error).message }, 'mqtt subscription refused');
      cb(null, null);
      return;
    }
    if (session && this.secured && !this.permitted(session, sub)) {
      cb(null, null);
      return;
    }
    if (session) this.subs.expect(session, sub.topic);
    cb(null, sub);
  }

  /**
   * Security on: whether the connection's subject may have this subscription, asked of the core with
   * the very consumer it would attach (SUBACK 0x80 otherwise, [MQTT-3.9.3]; the other filters of the
   * SUBSCRIBE are granted as usual and the connection stays). The core checks `consume` on the
   * filter as an address (`a/+/c` is `a.*.c`: a grant on `a.#` or `a.*.c` covers it, one on `a.b.c`
   * does not, as Artemis matches a filter), `createAddress` for a topic it creates, and
   * `createNonDurableQueue` or, for a persistent session or a durable `$share` group,
   * `createDurableQueue` for a new subscription queue; and that a durable one is this user's.
   * Refused here, not when the consumer is attached after SUBACK, which would close the connection.
   */
  private permitted(session: MqttSession, sub: { topic: string; qos: number }): boolean {
    try {
      const { destination, subscription } = this.subs.specFor(session.client, sub.topic, sub.qos);
      this.core.assertMayConsume({ destination, origin: session.origin, ...(subscription ? { subscription } : {}) });
      return true;
    } catch (err) {
      session.logDenied('mqtt subscription refused: SUBACK 0x80', err as Error, sub.topic);
      return false;
    }
  }

  /**
   * Chooses the packet id of an outgoing QoS 1/2 PUBLISH that aedes sends: only retained messages
   * sent on SUBSCRIBE (core deliveries are written by their session, each at its own subscription's
   * QoS). A retained one comes at the QoS its SUBSCRIBE's best matching filter was granted (chosen
   * in `createRetainedStreamCombi`: looking at every subscription of the client here cost one filter
   * match per subscription per retained message, 10^9 for 10,000 subscriptions and 100,000 retained
   * messages), capped at a subscription equal to the topic (as aedes caps it after this hook), inside
   * the connection's window.
   */
  authorizeForward(client: AedesClient, packet: OutgoingPacket): OutgoingPacket | null {
    const session = this.sessions.get(client);
    if (!session) return packet;
    if (packet.qos === 0) return packet;
    const window = this.retainedWindows.get(client);
    const cap = client.subscriptions[packet.topic]?.qos ?? 2;
    if (cap < packet.qos) packet.qos = cap as 0 | 1;
    if (packet.qos === 0) {
      window?.settled();
      return packet;
    }
    const id = session.allocate();
    if (id === undefined) {
      window?.settled();
      return null;
    }
    window?.taken(id);
    packet.messageId = id;
    return packet;
  }

  /** The connection whose SUBSCRIBE aedes answers now, with its retained window (made on its first SUBSCRIBE). */
  takeRetainedWindow(): { window: RetainedWindow; client: AedesClient } | undefined {
    const client = this.subscribing;
    this.subscribing = null;
    const session = client ? this.sessions.get(client) : undefined;
    if (!client || !session) return undefined;
    let w = this.retainedWindows.get(client);
    if (!w) {
      const made = (w = new RetainedWindow(this.cfg.maxInflight));
      this.retainedWindows.set(client, made);
      session.stream.once('close', () => made.close());
    }
    return { window: w, client };
  }

  /** PUBACK / PUBCOMP of `messageId`: a retained message's place in the window is free again. */
  released(client: AedesClient, messageId: number): void {
    this.retainedWindows.get(client)?.released(messageId);
  }
}
