import mqemitter from 'mqemitter';
import type { DeliverFunc, OutgoingPacket } from './aedes-types.ts';

/** What the emitter needs from the protocol: binding client subscriptions to core consumers. */
export interface SubscriptionHost {
  /** Whether `notify` is a client subscription's delivery function (then attach it to the core). */
  isClientSubscription(filter: string, notify: DeliverFunc): boolean;
  attach(filter: string, notify: DeliverFunc): Promise<void>;
  /** Detaches a client subscription; false when `notify` was never one. */
  detach(notify: DeliverFunc): boolean;
}

type Done = (err?: Error) => void;

interface InnerEmitter {
  on(topic: string, notify: DeliverFunc, done?: Done): void;
  removeListener(topic: string, notify: DeliverFunc, done?: Done): void;
  emit(packet: OutgoingPacket, cb?: Done): void;
  close(cb: () => void): void;
}

/**
 * aedes's message emitter (the mqemitter interface), made the seam between aedes and the core:
 * `on` for a client subscription attaches a core consumer (done = the core subscription exists, so a
 * durable one is stored before SUBACK), `removeListener` detaches it, and `emit` routes nothing,
 * because every client message entered the core in `authorizePublish` already. aedes's own `$SYS`
 * listeners and messages (broker heartbeats, client events) go to an ordinary in-process mqemitter.
 */
export class CoreEmitter {
  private readonly host: SubscriptionHost;
  private readonly inner: InnerEmitter = mqemitter({ matchEmptyLevels: true }) as unknown as InnerEmitter;

  constructor(host: SubscriptionHost) {
    this.host = host;
  }

  on(topic: string, notify: DeliverFunc, done?: Done): void {
    if (!this.host.isClientSubscription(topic, notify)) {
      this.inner.on(topic, notify, done);
      return;
    }
    this.host.attach(topic, notify).then(
      () => done?.(),
      (err: Error) => done?.(err),
    );
  }

  removeListener(topic: string, notify: DeliverFunc, done?: Done): void {
    if (this.host.detach(notify)) {
      done?.();
      return;
    }
    this.inner.removeListener(topic, notify, done);
  }

  emit(packet: OutgoingPacket, cb?: Done): void {
    if (packet.topic.startsWith('$SYS/')) this.inner.emit(packet, cb);
    else if (cb) cb();
  }

  close(cb: () => void): void {
    this.inner.close(cb);
  }
}
