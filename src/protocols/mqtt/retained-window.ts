import { Readable } from 'node:stream';

/**
 * The receive window of the retained messages a connection's SUBSCRIBEs send: at most `max` QoS 1/2
 * ones in flight (sent, not yet PUBACKed/PUBCOMPed), as for the messages of a subscription, so a
 * SUBSCRIBE matching 100k retained messages does not put 100k PUBLISHes (and packet ids) in flight.
 *
 * aedes pipes the stream from `createRetainedStreamCombi` into the connection and hands each PUBLISH
 * to `authorizeForward`, which reports what became of it: a packet id taken (`taken`, freed by
 * `released` at PUBACK/PUBCOMP) or nothing to wait for (`settled`: QoS 0 after the cap, no id).
 * QoS 0 retained messages are paced by aedes's writes only.
 */
export class RetainedWindow {
  private readonly max: number;
  private readonly maxWaiting: number;
  private readonly ids = new Set<number>();
  /** QoS 1/2 retained messages pushed and not yet released (or settled). */
  private outstanding = 0;
  /** Retained PUBLISHes of this connection's streams not pushed yet (held while the window is full). */
  waiting = 0;
  /** SUBSCRIBEs whose retained messages were not sent because `maxWaiting` were waiting already. */
  dropped = 0;
  private readonly streams = new Set<WindowedStream>();

  /**
   * `maxWaiting` bounds what a client that SUBSCRIBEs again and again without acknowledging can make
   * the broker hold: once that many retained PUBLISHes wait, a further SUBSCRIBE gets none (its
   * subscription is made as usual). The default is the packet id space, what aedes alone could have
   * in flight before; one SUBSCRIBE is never cut short.
   */
  constructor(max: number, maxWaiting = 65535) {
    this.max = Math.max(1, max);
    this.maxWaiting = maxWaiting;
  }

  /** The retained PUBLISHes of one SUBSCRIBE, released into the window as it has room. */
  stream(packets: Array<{ qos: number }>): Readable {
    if (this.waiting >= this.maxWaiting && packets.length > 0) {
      this.dropped++;
      packets = [];
    }
    const s = new WindowedStream(this, packets);
    this.waiting += packets.length;
    this.streams.add(s);
    s.once('close', () => {
      this.streams.delete(s);
      this.waiting -= s.left;
    });
    return s;
  }

  get hasRoom(): boolean {
    return this.outstanding < this.max;
  }

  /** A QoS 1/2 retained PUBLISH is pushed to aedes. */
  pushed(): void {
    this.outstanding++;
  }

  /** `authorizeForward` gave a retained PUBLISH packet id `id`. */
  taken(id: number): void {
    this.ids.add(id);
  }

  /** A retained QoS 1/2 PUBLISH needs no acknowledgement after all (capped to QoS 0, or not sent). */
  settled(): void {
    this.outstanding = Math.max(0, this.outstanding - 1);
    this.wake();
  }

  /** PUBACK / PUBCOMP for packet id `id` (a no-op unless a retained PUBLISH had it). */
  released(id: number): void {
    if (!this.ids.delete(id)) return;
    this.settled();
  }

  /** The connection is gone: its streams stop. */
  close(): void {
    for (const s of this.streams) s.destroy();
  }

  private wake(): void {
    for (const s of this.streams) s.poke();
  }
}

class WindowedStream extends Readable {
  private readonly window: RetainedWindow;
  private readonly packets: Array<{ qos: number }>;
  private next = 0;
  private waiting = false;

  constructor(window: RetainedWindow, packets: Array<{ qos: number }>) {
    super({ objectMode: true, highWaterMark: 1 });
    this.window = window;
    this.packets = packets;
  }

  /** Packets not pushed yet. */
  get left(): number {
    return this.packets.length - this.next;
  }

  /** There may be room again. */
  poke(): void {
    if (!this.waiting || this.destroyed) return;
    this.waiting = false;
    this._read();
  }

  override _read(): void {
    for (;;) {
      const p = this.packets[this.next];
      if (p === undefined) {
        this.push(null);
        return;
      }
      if (p.qos > 0) {
        if (!this.window.hasRoom) {
          this.waiting = true;
          return;
        }
        this.window.pushed();
      }
      this.next++;
      this.window.waiting--;
      if (!this.push(p)) return;
    }
  }
}
