import type { Core } from '../../core/core.ts';
import type { TransactionHandle } from '../../core/handles.ts';
import type { StateValue } from '../../core/ports/store.ts';
import { JunctionError } from '../../errors.ts';
import { encodeSegment } from '../../interop/mqtt-topic.ts';

/** What one client id has: a persistent session, inbound QoS 2 packet ids awaiting PUBREL, outbound ones awaiting PUBCOMP. */
interface ClientState {
  session: boolean;
  /**
   * The user the stored session belongs to (issue 14): a user name, null for the anonymous subject,
   * undefined when none was recorded (made while security was off, or before owners were stored).
   */
  owner: string | null | undefined;
  /** Inbound QoS 2 packet ids awaiting PUBREL ([MQTT-4.3.3-2]); those of a persistent session are stored. */
  qos2In: Set<number>;
  stored: Set<number>;
  /** Outbound QoS 2 packet ids PUBRECed and not PUBCOMPed, of a persistent session (stored). */
  pubrel: Set<number>;
  /** `$share` filters of a persistent session whose group queue is durable: filter -> granted QoS and queue (stored). */
  shares: Map<string, { qos: number; queue: string }>;
  /** Inbound QoS 2 sends not settled yet, by packet id (made on the first). */
  sending: Map<number, Promise<unknown>> | null;
  /** Stored inbound QoS 2 ids whose delete (at PUBREL) is being stored (made on the first). */
  releasing: Map<number, Promise<void>> | null;
}

/** The value of every record: the client id (keys hold it encoded) and, per packet id, the id. */
interface Record {
  c: string;
  /** The session's owner (session records only): a user name, or null for the anonymous subject. */
  u?: string | null;
  p?: number;
  /** `$share` membership: the filter, its QoS and the group's core queue. */
  f?: string;
  q?: number;
  n?: string;
}

const SESSION = 'mqtt.session.';
const QOS2_IN = 'mqtt.qos2in.';
const PUBREL = 'mqtt.pubrel.';
const SHARE = 'mqtt.share.';

/**
 * The MQTT session state that is not a subscription, kept as core state (`Core.putState`, keys under
 * `mqtt.`) so that it survives a broker crash, and indexed in memory by client id so that nothing
 * scans: a persistent session's existence (CONNACK session-present), its inbound QoS 2 packet ids
 * awaiting PUBREL (stored in the batch of the message itself, so a retransmission after a crash is
 * still recognised), and its outbound QoS 2 packet ids awaiting PUBCOMP (stored in the batch of the
 * core ack at PUBREC, so the PUBREL is resent after a reconnect or a restart, [MQTT-4.4.0-1]).
 * A clean session's inbound QoS 2 ids are kept in memory only: its state ends with its connection
 * ([MQTT-3.1.2-6]).
 */
export class SessionStore {
  private readonly core: Core;
  private readonly clients = new Map<string, ClientState>();
  /** Persistent members (client ids) of each durable `$share` group queue. */
  private readonly members = new Map<string, Set<string>>();

  constructor(core: Core) {
    this.core = core;
    for (const { key, value } of core.state('mqtt.')) {
      const r = value as unknown as Record;
      if (typeof r?.c !== 'string') continue;
      if (key.startsWith(SESSION)) {
        const s = this.of(r.c);
        s.session = true;
        if (r.u === null || typeof r.u === 'string') s.owner = r.u;
      }
      else if (key.startsWith(SHARE)) {
        if (typeof r.f === 'string' && typeof r.n === 'string') this.addShare(r.c, r.f, r.q ?? 1, r.n);
      }
      else if (typeof r.p !== 'number') continue;
      else if (key.startsWith(QOS2_IN)) {
        const s = this.of(r.c);
        s.qos2In.add(r.p);
        s.stored.add(r.p);
      } else if (key.startsWith(PUBREL)) this.of(r.c).pubrel.add(r.p);
    }
  }

  /** Client ids with inbound QoS 2 packet ids awaiting PUBREL. */
  get inboundQos2Clients(): number {
    let n = 0;
    for (const s of this.clients.values()) if (s.qos2In.size > 0) n++;
    return n;
  }

  // ------------------------------------------------------------- sessions

  /** Whether a persistent session of this client id is stored. */
  hasSession(clientId: string): boolean {
    return this.clients.get(clientId)?.session === true;
  }

  /**
   * Whether `user` (null: the anonymous subject) may use the session state of `clientId`: there is
   * none, it is theirs, or it has no recorded owner (made while security was off).
   */
  mayUse(clientId: string, user: string | null): boolean {
    const s = this.clients.get(clientId);
    return s === undefined || !s.session || s.owner === undefined || s.owner === user;
  }

  /**
   * A clean-session-false CONNECT: the session is stored (once; later CONNECTs find it). With
   * security on, `owner` is the user it belongs to, stored with it (it survives a restart); a
   * session without a recorded owner is claimed by it. One recorded for another user is refused.
   */
  async openSession(clientId: string, owner?: string | null): Promise<void> {
    const s = this.of(clientId);
    if (s.session && (owner === undefined || s.owner === owner)) return;
    if (s.session && s.owner !== undefined) {
      // Two users' CONNECTs with one client id authenticated at the same time: the first one's.
      throw new JunctionError('ERR_SECURITY_UNAUTHORIZED', `the MQTT session of client id ${clientId.slice(0, 100)} belongs to another user`);
    }
    const was = { session: s.session, owner: s.owner };
    s.session = true;
    s.owner = owner;
    try {
      await this.core.putState(SESSION + encodeSegment(clientId), owner === undefined ? { c: clientId } : { c: clientId, u: owner });
    } catch (err) {
      s.session = was.session;
      s.owner = was.owner;
      throw err;
    }
  }

  /** A clean CONNECT ends the stored session: its record and its pending PUBRELs go ([MQTT-3.1.2-6]). */
  async endSession(clientId: string): Promise<void> {
    const s = this.clients.get(clientId);
    if (!s) return;
    const enc = encodeSegment(clientId);
    const writes: Array<Promise<void>> = [];
    if (s.session) writes.push(this.core.putState(SESSION + enc, null));
    for (const p of s.pubrel) writes.push(this.core.putState(`${PUBREL}${enc}.${p}`, null));
    s.session = false;
    s.owner = undefined;
    s.pubrel.clear();
    this.drop(clientId, s);
    await Promise.all(writes);
  }

  // ------------------------------------------------------------- inbound QoS 2

  hasQos2(clientId: string, messageId: number): boolean {
    return this.clients.get(clientId)?.qos2In.has(messageId) === true;
  }

  /**
   * The send of an inbound QoS 2 PUBLISH recorded with `addQos2` is `send` until it settles. A
   * retransmission of it (another connection of the client id: a reconnect or a takeover while the
   * first is being stored) is acknowledged through `sendOf`, so its PUBREC waits for the store too.
   */
  sendingQos2(clientId: string, messageId: number, send: Promise<unknown>, stored: boolean): void {
    const s = this.clients.get(clientId);
    if (!s?.qos2In.has(messageId)) return;
    const sending = (s.sending ??= new Map());
    sending.set(messageId, send);
    const done = (): void => {
      if (sending.get(messageId) === send) sending.delete(messageId);
    };
    send.then(() => {
      done();
      // A send that waited (BLOCK) stored its record after the id was dropped (a clean CONNECT) or
      // released meanwhile, whose delete went first: delete it again, or it would come back at a
      // restart and the client's next message with this id would be taken for a retransmission.
      if (stored && !this.clients.get(clientId)?.stored.has(messageId)) this.core.putState(this.qos2Key(clientId, messageId), null).catch(() => {});
    }, done);
  }

  /** The unsettled send of an inbound QoS 2 packet id, if any (see `sendingQos2`). */
  sendOf(clientId: string, messageId: number): Promise<unknown> | undefined {
    return this.clients.get(clientId)?.sending?.get(messageId);
  }

  /**
   * Records an inbound QoS 2 packet id at once (a retransmission in the same read is then seen).
   * For a persistent session, returns the state to store in the message's own batch.
   */
  addQos2(clientId: string, messageId: number, durable: boolean): { key: string; value: StateValue } | undefined {
    const s = this.of(clientId);
    s.qos2In.add(messageId);
    if (!durable) return undefined;
    s.stored.add(messageId);
    return { key: this.qos2Key(clientId, messageId), value: { c: clientId, p: messageId } };
  }

  /**
   * PUBREL: the packet id is free. A stored one is deleted first (resolves once the store has that):
   * a PUBCOMP before it would let a crash keep the id, and the client's next message with it would
   * be taken for a retransmission. `stored: false` after a failed send, whose batch held the record.
   */
  async releaseQos2(clientId: string, messageId: number, opts: { stored?: boolean } = {}): Promise<void> {
    const s = this.clients.get(clientId);
    if (!s?.qos2In.has(messageId)) return;
    const stored = s.stored.delete(messageId);
    s.qos2In.delete(messageId);
    if (!stored || opts.stored === false) {
      this.drop(clientId, s);
      return;
    }
    const del = this.core.putState(this.qos2Key(clientId, messageId), null);
    const releasing = (s.releasing ??= new Map());
    releasing.set(messageId, del);
    try {
      await del;
    } catch (err) {
      // Still stored: still taken (the client sends PUBREL again, not a new PUBLISH with this id).
      s.qos2In.add(messageId);
      s.stored.add(messageId);
      throw err;
    } finally {
      releasing.delete(messageId);
      this.drop(clientId, s);
    }
  }

  /** The delete of a stored inbound QoS 2 id that a PUBREL started and the store does not have yet. */
  releasing(clientId: string, messageId: number): Promise<void> | undefined {
    return this.clients.get(clientId)?.releasing?.get(messageId);
  }

  /** A clean CONNECT: every inbound QoS 2 id of this client id goes, stored ones from the store too. */
  async dropQos2(clientId: string): Promise<void> {
    const s = this.clients.get(clientId);
    if (!s) return;
    const stored = [...s.stored];
    s.qos2In.clear();
    s.stored.clear();
    this.drop(clientId, s);
    await Promise.all(stored.map((p) => this.core.putState(this.qos2Key(clientId, p), null)));
  }

  private qos2Key(clientId: string, messageId: number): string {
    return `${QOS2_IN}${encodeSegment(clientId)}.${messageId}`;
  }

  // ------------------------------------------------------------- outbound QoS 2

  /** Outbound packet ids of this client id awaiting PUBCOMP (their PUBREL is resent on reconnect). */
  pendingPubrel(clientId: string): number[] {
    return [...(this.clients.get(clientId)?.pubrel ?? [])];
  }

  /** PUBREC on a persistent session: records the pending PUBREL in `tx` (the one that acks the delivery). */
  addPubrel(tx: TransactionHandle, clientId: string, messageId: number): void {
    this.of(clientId).pubrel.add(messageId);
    tx.putState(this.pubrelKey(clientId, messageId), { c: clientId, p: messageId });
  }

  /** The commit of `addPubrel` failed: the id is not pending. */
  forgetPubrel(clientId: string, messageId: number): void {
    const s = this.clients.get(clientId);
    if (!s?.pubrel.delete(messageId)) return;
    this.drop(clientId, s);
  }

  /** PUBCOMP: the pending PUBREL is done (a no-op for an id that had none). */
  async releasePubrel(clientId: string, messageId: number): Promise<void> {
    const s = this.clients.get(clientId);
    if (!s?.pubrel.delete(messageId)) return;
    this.drop(clientId, s);
    await this.core.putState(this.pubrelKey(clientId, messageId), null);
  }

  private pubrelKey(clientId: string, messageId: number): string {
    return `${PUBREL}${encodeSegment(clientId)}.${messageId}`;
  }

  // ------------------------------------------------------------- durable $share membership

  /** The `$share` filters a persistent session restores (those whose group queue is durable). */
  shareFilters(clientId: string): Array<{ filter: string; qos: number }> {
    return [...(this.clients.get(clientId)?.shares ?? [])].map(([filter, { qos }]) => ({ filter, qos }));
  }

  /** Whether a persistent session of `clientId` is a member of a durable `$share` group through `filter`. */
  hasShare(clientId: string, filter: string): boolean {
    return this.clients.get(clientId)?.shares.has(filter) === true;
  }

  /** A persistent session subscribed `filter`, whose group queue `queue` is durable: stored before SUBACK. */
  async joinShare(clientId: string, filter: string, qos: number, queue: string): Promise<void> {
    const old = this.clients.get(clientId)?.shares.get(filter);
    if (old && old.qos === qos && old.queue === queue) return;
    this.addShare(clientId, filter, qos, queue);
    await this.core.putState(this.shareKey(clientId, filter), { c: clientId, f: filter, q: qos, n: queue });
  }

  /**
   * UNSUBSCRIBE or a clean CONNECT: the session leaves the group. Returns the group's queue when no
   * persistent member is left (the caller deletes it), else undefined.
   */
  async leaveShare(clientId: string, filter: string): Promise<string | undefined> {
    const s = this.clients.get(clientId);
    const share = s?.shares.get(filter);
    if (!s || !share) return undefined;
    s.shares.delete(filter);
    const left = this.members.get(share.queue);
    left?.delete(clientId);
    const empty = left === undefined || left.size === 0;
    if (empty) this.members.delete(share.queue);
    this.drop(clientId, s);
    await this.core.putState(this.shareKey(clientId, filter), null);
    return empty ? share.queue : undefined;
  }

  /** Whether a durable `$share` group queue has a persistent member. */
  hasShareMembers(queue: string): boolean {
    return (this.members.get(queue)?.size ?? 0) > 0;
  }

  private addShare(clientId: string, filter: string, qos: number, queue: string): void {
    this.of(clientId).shares.set(filter, { qos, queue });
    let m = this.members.get(queue);
    if (!m) this.members.set(queue, (m = new Set()));
    m.add(clientId);
  }

  private shareKey(clientId: string, filter: string): string {
    return `${SHARE}${encodeSegment(clientId)}.${encodeSegment(filter)}`;
  }

  // ------------------------------------------------------------- index

  private of(clientId: string): ClientState {
    let s = this.clients.get(clientId);
    if (!s) this.clients.set(clientId, (s = { session: false, owner: undefined, qos2In: new Set(), stored: new Set(), pubrel: new Set(), shares: new Map(), sending: null, releasing: null }));
    return s;
  }

  /** A client id with nothing left has no entry (every persistent client id would otherwise stay). */
  private drop(clientId: string, s: ClientState): void {
    if (!s.session && s.qos2In.size === 0 && s.pubrel.size === 0 && s.shares.size === 0 && !s.releasing?.size) this.clients.delete(clientId);
  }
}
