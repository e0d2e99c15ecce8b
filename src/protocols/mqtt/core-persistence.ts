import { Readable } from 'node:stream';
import type { Core } from '../../core/core.ts';
import type { Origin } from '../../core/reserved.ts';
import type { AedesClient, IncomingPacket } from './aedes-types.ts';
import { retainedQos } from '../../interop/mqtt-message.ts';
import type { RetainedWindow } from './retained-window.ts';
import type { SessionStore } from './session-store.ts';
import { coreToMqttTopic, encodeSegment, mqttFilterToCore, mqttMatches } from '../../interop/mqtt-topic.ts';
import type { WorkSlicer } from './work-slicer.ts';

/** What the persistence needs from the protocol. */
export interface PersistenceHost {
  readonly core: Core;
  /** The core client id of an MQTT client id's durable subscriptions (`mqtt.<encoded id>`). */
  coreClientId(clientId: string): string;
  /**
   * The connection's origin (component `mqtt`, to which the core reserves `mqtt.<client id>.*`, and
   * the subject logged in on it): deleting a session's subscriptions is checked under it.
   */
  originOf(client: AedesClient): Origin;
  /** The owner (user, null for anonymous) of the persistent session the accepted CONNECT of `clientId` opens; undefined with security off. */
  ownerOpening(clientId: string): string | null | undefined;
  /** Closes the live binding of a durable subscription, if any (a session taken over or cleaned). */
  closeDurable(queueName: string): void;
  /** Closes a connection's binding for a filter; returns its durable queue name, if it had one. */
  closeBinding(client: AedesClient, filter: string): void;
  /** The connection's PUBACK/PUBCOMP bookkeeping. */
  released(client: AedesClient, messageId: number): void;
  /** PUBREC on a persistent session: resolves once the ack and the pending PUBREL are stored. */
  received(client: AedesClient, messageId: number): Promise<void>;
  /** Sessions, inbound QoS 2 packet ids and pending PUBRELs by client id. */
  readonly sessions: SessionStore;
  /** Where loops over a session's subscriptions yield to the event loop. */
  readonly slicer: WorkSlicer;
  /** The connection whose SUBSCRIBE aedes is answering now, with its retained-message window, if any. */
  retainedFor(): { window: RetainedWindow; client: AedesClient } | undefined;
  /** Whether `authorizePublish` found this QoS 2 PUBLISH to be a retransmission. */
  isDuplicate(packet: object): boolean;
}

/** The MQTT options a persistent session keeps with each durable core subscription. */
export interface StoredMqttSubscription {
  filter: string;
  qos: 0 | 1 | 2;
}

const empty = (): Readable => Readable.from([]);

/**
 * What `subscriptionsByClient` answers for a stored session without subscriptions: aedes sets
 * CONNACK session-present from "any subscriptions restored", so it gets one it restores nothing
 * from (`authorizeSubscribe` drops it silently, by identity).
 */
const sessionMarkers = new WeakSet<object>();

/** Whether a subscription aedes restores is the marker of a stored session without subscriptions. */
export function isSessionMarker(sub: object): boolean {
  return sessionMarkers.has(sub);
}

/**
 * aedes's persistence interface (the promise form that aedes 1.2 and 2.0 call), implemented over the
 * core: a persistent session's subscriptions are durable core subscriptions, its queued messages are
 * those subscriptions' queues, retained messages are the core's. Nothing here keeps messages of its
 * own; the offline-queue methods are no-ops because the core queued the message when it was sent.
 */
export class CorePersistence {
  private readonly host: PersistenceHost;

  constructor(host: PersistenceHost) {
    this.host = host;
  }

  async setup(): Promise<void> {}

  // ------------------------------------------------------------- retained

  /** Retained messages were set or cleared in the core in the send's own store batch. */
  async storeRetained(): Promise<void> {}

  createRetainedStream(pattern: string): Readable {
    return this.createRetainedStreamCombi([pattern]);
  }

  /**
   * The retained messages matching any of the filters of a SUBSCRIBE (none for `$share`), released
   * into the subscribing connection's retained window (QoS 1/2 in flight up to `mqtt.maxInflight`).
   */
  createRetainedStreamCombi(patterns: string[]): Readable {
    const subscribing = this.host.retainedFor();
    const window = subscribing?.window;
    // Each retained message once, at the QoS of the best filter of this SUBSCRIBE that matches it
    // (no more than it was published with); found through the core's topic index, per filter.
    const byTopic = new Map<string, { qos: number }>();
    // Security on: only topics the subscriber may consume, where its filter is granted only in part (issue 14).
    const origin = subscribing ? this.host.originOf(subscribing.client) : undefined;
    const out: Array<{ qos: number }> = [];
    for (const pattern of patterns) {
      if (pattern.startsWith('$share/')) continue;
      let core: string;
      try {
        core = mqttFilterToCore(pattern);
      } catch {
        continue; // refused in authorizeSubscribe already
      }
      const granted = subscribing?.client.subscriptions[pattern]?.qos ?? 2;
      for (const m of this.host.core.retained(core, origin)) {
        const topic = coreToMqttTopic(m.destination.name);
        // '' is the core name `~` (a STOMP/AMQP name): no PUBLISH may carry an empty topic [MQTT-4.7.3-1].
        if (topic.length === 0 || !mqttMatches(pattern, topic)) continue;
        const qos = Math.min(retainedQos(m), granted);
        const seen = byTopic.get(topic);
        if (seen) {
          if (qos > seen.qos) seen.qos = qos;
          continue;
        }
        const packet = { cmd: 'publish', topic, payload: m.body, qos, retain: true };
        byTopic.set(topic, packet);
        out.push(packet);
      }
    }
    return window ? window.stream(out) : Readable.from(out);
  }

  // ------------------------------------------------------------- subscriptions

  /** Durable core subscriptions are created when aedes attaches them through the emitter (before SUBACK). */
  async addSubscriptions(): Promise<void> {}

  /**
   * UNSUBSCRIBE on a persistent session: the durable core subscriptions go, with their queues. The
   * filters are walked in slices and the deletes are stored together (one store batch per slice, not
   * one synced write each); aedes writes UNSUBACK once all are stored.
   */
  async removeSubscriptions(client: AedesClient, topics: string[]): Promise<void> {
    const core = this.host.core;
    const cid = this.host.coreClientId(client.id!);
    const origin = this.host.originOf(client);
    const slicer = this.host.slicer;
    const deletes: Array<Promise<void>> = [];
    for (const filter of topics) {
      if (slicer.mustYield()) await slicer.yield(client);
      this.host.closeBinding(client, filter);
      // The durable subscription's name is the encoded filter (subscription-attacher.ts): a lookup, not a scan.
      const name = encodeSegment(filter);
      const q = core.findSubscription(`${cid}.${name}`);
      if (q !== undefined && (q.meta?.mqtt as StoredMqttSubscription | undefined)?.filter === filter) deletes.push(core.deleteSubscription(name, cid, origin).catch(goneAlready));
      if (this.host.sessions.hasShare(client.id!, filter)) deletes.push(this.leaveShare(client.id!, filter));
    }
    await Promise.all(deletes);
  }

  /** A persistent session leaves a durable `$share` group; the group's queue goes with its last persistent member. */
  private async leaveShare(clientId: string, filter: string): Promise<void> {
    const queue = await this.host.sessions.leaveShare(clientId, filter);
    // A clean member still attached keeps it; it is deleted when that member leaves (subscription-attacher.ts).
    if (queue !== undefined) await this.host.core.deleteIfIdle(queue);
  }

  /**
   * A clean-session-false CONNECT: the session's subscriptions, as stored with its durable core
   * subscriptions, to restore. The session itself is stored before CONNACK; one stored before has
   * session-present 1 even without subscriptions (as Mosquitto), through a marker aedes restores nothing from.
   */
  async subscriptionsByClient(client: { id: string }): Promise<Array<{ topic: string; qos: number; rh: number; rap: boolean; nl: boolean }>> {
    // Read before anything waits: known only during the CONNECT's synchronous run (mqtt-login.ts).
    const owner = this.host.ownerOpening(client.id);
    const out = [];
    for (const s of this.host.core.durableSubscriptions(this.host.coreClientId(client.id))) {
      const m = s.meta?.mqtt as StoredMqttSubscription | undefined;
      if (m) out.push({ topic: m.filter, qos: m.qos, rh: 0, rap: false, nl: false });
    }
    for (const { filter, qos } of this.host.sessions.shareFilters(client.id)) out.push({ topic: filter, qos, rh: 0, rap: false, nl: false });
    const present = out.length > 0 || this.host.sessions.hasSession(client.id);
    await this.host.sessions.openSession(client.id, owner);
    if (out.length === 0 && present) {
      const marker = { topic: '$junction/session', qos: 0, rh: 0, rap: false, nl: false };
      sessionMarkers.add(marker);
      out.push(marker);
    }
    return out;
  }

  /** A clean CONNECT ends any stored session of that client id: subscriptions, session record, pending PUBRELs. */
  async cleanSubscriptions(client: AedesClient): Promise<void> {
    // Walked in slices, the deletes stored together (as `removeSubscriptions`); CONNACK follows them.
    const cid = this.host.coreClientId(client.id!);
    const origin = this.host.originOf(client);
    const slicer = this.host.slicer;
    const deletes: Array<Promise<void>> = [];
    for (const s of this.host.core.durableSubscriptions(cid)) {
      if (slicer.mustYield()) await slicer.yield(client);
      this.host.closeDurable(s.name);
      if (s.subscriptionName !== undefined) deletes.push(this.host.core.deleteSubscription(s.subscriptionName, cid, origin).catch(goneAlready));
    }
    for (const { filter } of this.host.sessions.shareFilters(client.id!)) {
      if (slicer.mustYield()) await slicer.yield(client);
      this.host.closeBinding(client, filter);
      deletes.push(this.leaveShare(client.id!, filter));
    }
    await Promise.all(deletes);
    await this.host.sessions.endSession(client.id!);
  }

  /** The core routes; it never asks aedes who is subscribed. */
  async subscriptionsByTopic(): Promise<[]> {
    return [];
  }

  async countOffline(): Promise<{ subscriptions: number; clients: number }> {
    return { subscriptions: 0, clients: 0 };
  }

  // ------------------------------------------------------------- outgoing (broker -> client)

  async outgoingEnqueue(): Promise<void> {}

  async outgoingEnqueueCombi(): Promise<void> {}

  /**
   * PUBLISH: nothing to keep (the core holds it until acked). PUBREL (PUBREC received, persistent
   * session): aedes writes the PUBREL once the ack and the pending PUBREL are stored together.
   */
  async outgoingUpdate(client: AedesClient, packet: { cmd: string; messageId?: number }): Promise<void> {
    if (packet.cmd === 'pubrel' && packet.messageId !== undefined) await this.host.received(client, packet.messageId);
  }

  /** PUBACK / PUBCOMP: settle the core delivery behind the packet id. */
  async outgoingClearMessageId<P extends { messageId?: number }>(client: AedesClient, packet: P): Promise<P> {
    if (packet.messageId !== undefined) this.host.released(client, packet.messageId);
    return packet;
  }

  /**
   * After CONNACK: the PUBRELs an earlier connection of this persistent session owes ([MQTT-4.4.0-1];
   * their packet ids were taken in `preConnect`). Unacknowledged messages come back from the core
   * (with DUP) when the session's consumers reattach.
   */
  outgoingStream(client: AedesClient): Readable {
    if (client.clean || !client.id) return empty();
    return Readable.from(this.host.sessions.pendingPubrel(client.id).map((messageId) => ({ cmd: 'pubrel', messageId })));
  }

  // ------------------------------------------------------------- incoming QoS 2

  async incomingStorePacket(): Promise<void> {}

  /**
   * Found (resolve) = a retransmission: aedes answers PUBREC again without publishing. A PUBREL sent
   * again (on a new connection) while the first one's delete is being stored is answered after it.
   */
  async incomingGetPacket(client: AedesClient, packet: IncomingPacket): Promise<IncomingPacket> {
    const deleting = packet.cmd === 'pubrel' && packet.messageId !== undefined ? this.host.sessions.releasing(client.id!, packet.messageId) : undefined;
    if (deleting) {
      try {
        await deleting;
      } catch (err) {
        client.close(); // no PUBCOMP: the id is still stored
        throw err;
      }
    }
    if (packet.cmd === 'publish' ? this.host.isDuplicate(packet) : packet.messageId !== undefined && this.host.sessions.hasQos2(client.id!, packet.messageId)) {
      return packet;
    }
    throw new Error('no such packet');
  }

  /**
   * PUBREL: aedes writes PUBCOMP once a persistent session's stored packet id is deleted. aedes
   * writes it even when this rejects, so a failed delete closes the connection first: the client,
   * without PUBCOMP, sends PUBREL again on its next connection (the id is still taken until then).
   */
  async incomingDelPacket(client: AedesClient, packet: IncomingPacket): Promise<void> {
    if (packet.messageId === undefined) return;
    try {
      await this.host.sessions.releaseQos2(client.id!, packet.messageId);
    } catch (err) {
      client.close();
      throw err;
    }
  }

  /** A clean CONNECT: the inbound QoS 2 packet ids of that client id go ([MQTT-3.1.2-6]). */
  async cleanIncoming(client: AedesClient): Promise<void> {
    if (client.id) await this.host.sessions.dropQos2(client.id);
  }

  // ------------------------------------------------------------- wills

  /** aedes keeps the will on the client and publishes it through `authorizePublish` on an abrupt close. */
  async putWill(): Promise<void> {}

  async getWill(): Promise<undefined> {
    return undefined;
  }

  async delWill(): Promise<undefined> {
    return undefined;
  }

  streamWill(): Readable {
    return empty();
  }

  getClientList(): Readable {
    return empty();
  }

  async destroy(): Promise<void> {}
}

/**
 * A subscription another purge of the same client id deleted meanwhile (a clean CONNECT whose client
 * left goes on purging while the next CONNECT purges too): gone is what both wanted.
 */
function goneAlready(err: unknown): void {
  if ((err as { code?: string }).code !== 'ERR_SUBSCRIPTION_NOT_FOUND') throw err;
}
