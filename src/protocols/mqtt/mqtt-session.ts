import type { Logger } from 'pino';
import type { AedesClient, DeliverFunc } from './aedes-types.ts';
import type { BindingOwner, DeliveryRef, SubscriptionBinding } from './subscription-binding.ts';

interface Completion {
  done: boolean;
  err: Error | null;
  cb: (err: Error | null) => void;
}

interface Inflight {
  /** The core delivery behind this packet id; null for a retained message sent on SUBSCRIBE. */
  ref: DeliveryRef | null;
  /** QoS 2 on a persistent session: settled in the core at PUBREC, the id stays taken until PUBCOMP. */
  settled: boolean;
}

/**
 * Junction's state for one MQTT connection (aedes keeps the protocol state): its subscriptions
 * bound to core consumers, the outgoing packet ids in flight mapped to core deliveries, and the
 * chain that completes its publishes in arrival order.
 */
export class MqttSession implements BindingOwner {
  readonly client: AedesClient;
  readonly log: Logger;
  readonly bindings = new Map<DeliverFunc, SubscriptionBinding>();
  /** Set once a connection error has been logged (each is logged once). */
  errorLogged = false;
  private readonly inflight = new Map<number, Inflight>();
  private nextId = 1;
  /** Publishes waiting for completion, in arrival order. */
  private readonly completions: Completion[] = [];
  private flushScheduled = false;
  private ended = false;

  constructor(client: AedesClient, log: Logger) {
    this.client = client;
    this.log = log;
  }

  /**
   * Chooses the packet id of an outgoing QoS 1/2 PUBLISH, skipping ids still in flight (aedes's own
   * counter does not), and maps it to the core delivery. Undefined when all 65,535 are taken.
   */
  allocate(ref: DeliveryRef | null): number | undefined {
    if (this.inflight.size >= 65535) return undefined;
    let id = this.nextId;
    while (this.inflight.has(id)) id = id >= 65535 ? 1 : id + 1;
    this.nextId = id >= 65535 ? 1 : id + 1;
    this.inflight.set(id, { ref, settled: false });
    return id;
  }

  /** PUBACK or PUBCOMP: the delivery is done; its credit returns. */
  released(id: number): void {
    const e = this.inflight.get(id);
    if (!e) return;
    this.inflight.delete(id);
    if (!e.ref) return;
    if (e.settled) e.ref.binding.returnCredit();
    else e.ref.binding.acked(e.ref.id, true);
  }

  /** PUBREC on a persistent session: the client has the message, so the core may forget it. */
  received(id: number): void {
    const e = this.inflight.get(id);
    if (!e || !e.ref || e.settled) return;
    e.settled = true;
    e.ref.binding.acked(e.ref.id, false);
  }

  /**
   * Completes an `authorizePublish` once `work` is done, in the order publishes arrived
   * ([MQTT-4.6.0-2]: PUBACKs in order), and always from a fresh macrotask: aedes reads the client's
   * next chunk inside the callback, and a chain of microtask completions would starve the sockets.
   */
  complete(work: Promise<unknown>, cb: (err: Error | null) => void): void {
    const c: Completion = { done: false, err: null, cb };
    this.completions.push(c);
    work.then(
      () => this.settle(c, null),
      (err: unknown) => this.settle(c, err instanceof Error ? err : new Error(String(err))),
    );
  }

  private settle(c: Completion, err: Error | null): void {
    c.done = true;
    c.err = err;
    if (this.flushScheduled || this.completions[0] !== c) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Calls back every completed publish at the head of the line, in order, in one macrotask. */
  private flush(): void {
    this.flushScheduled = false;
    while (this.completions.length > 0 && this.completions[0]!.done) {
      const c = this.completions.shift()!;
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

  /** The connection is gone: close what aedes did not (deliveries in flight return to their queues). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const b of [...this.bindings.values()]) b.close();
    this.inflight.clear();
  }

  reportError(err: unknown, what: string): void {
    this.log.debug({ err, what }, 'mqtt core operation failed');
  }
}
