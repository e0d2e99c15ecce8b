/** The longest delay a Node timer takes (a signed 32-bit ms count). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Time as heart-beating sees it: the system clock in the broker, a virtual one in tests. */
export interface HeartBeatClock {
  /** Epoch ms. */
  now(): number;
  /** Calls `fn` every `ms` until the returned function is called; must not keep the process alive. */
  every(ms: number, fn: () => void): () => void;
}

/** Node's clock and interval timers (unref'd: heart-beats never keep the broker running). */
export const systemClock: HeartBeatClock = {
  now: Date.now,
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref();
    return () => clearInterval(t);
  },
};

/** What heart-beating needs from its connection. */
export interface HeartBeatPeer {
  /** Writes one heart-beat (an EOL) to the peer. */
  beat(): void;
  /** Whether the broker itself is not reading the connection now: the peer's heart-beats wait in the socket. */
  notReading(): boolean;
  /** Nothing came from the peer for twice the interval it promised: the connection is dead. */
  missed(expectEvery: number): void;
}

/** Heart-beat intervals agreed on CONNECT, in ms (0: none that way). */
export interface HeartBeatTerms {
  /** The `heart-beat` header of CONNECTED: what the server can send and wants. */
  header: string;
  /** The server sends a heart-beat when it wrote nothing for this long. */
  sendEvery: number;
  /** The server expects something from the client at least this often. */
  expectEvery: number;
}

/**
 * STOMP 1.1 heart-beating negotiation: each side sends at the larger of what it can and what the
 * other wants, and neither way when either says 0. `offered` is the client's `heart-beat` header
 * (`cx,cy`), `server` the broker's configured `[sx, sy]`.
 */
export function negotiateHeartBeat(offered: string | undefined, server: readonly [number, number]): HeartBeatTerms {
  const [cx, cy] = (offered ?? '0,0').split(',').map((s) => Number(s.trim()));
  const [sx, sy] = server;
  const clientSends = Number.isFinite(cx) ? cx! : 0;
  const clientWants = Number.isFinite(cy) ? cy! : 0;
  // At most what a Node timer takes: a longer one fires after 1 ms (a 1 ms interval per connection
  // and a TimeoutOverflowWarning); sending or checking every ~24.8 days instead is within what the peer asked.
  const sendEvery = sx > 0 && clientWants > 0 ? Math.min(Math.max(sx, clientWants), MAX_TIMER_MS) : 0;
  const expectEvery = sy > 0 && clientSends > 0 ? Math.min(Math.max(sy, clientSends), MAX_TIMER_MS) : 0;
  return { header: `${sx > 0 ? sx : 0},${sy > 0 ? sy : 0}`, sendEvery, expectEvery };
}

/**
 * One connection's heart-beats: the session tells it when it read and wrote; once started with the
 * agreed terms it writes a heart-beat when the server has been quiet for 90% of the send interval
 * (checked every half interval, at least every 50 ms), and calls the peer dead when nothing was read
 * for twice the expected interval (allowing for network delay).
 */
export class HeartBeats {
  private readonly peer: HeartBeatPeer;
  private readonly clock: HeartBeatClock;
  private lastRead: number;
  private lastWrite: number;
  private readonly stops: Array<() => void> = [];

  constructor(peer: HeartBeatPeer, clock: HeartBeatClock = systemClock) {
    this.peer = peer;
    this.clock = clock;
    this.lastRead = this.lastWrite = clock.now();
  }

  /** Bytes came from the peer. */
  read(): void {
    this.lastRead = this.clock.now();
  }

  /** Bytes went to the peer. */
  wrote(): void {
    this.lastWrite = this.clock.now();
  }

  /** Starts the timers the terms call for. */
  start(terms: HeartBeatTerms): void {
    const { sendEvery, expectEvery } = terms;
    if (sendEvery > 0) {
      this.stops.push(
        this.clock.every(Math.max(50, Math.floor(sendEvery / 2)), () => {
          if (this.clock.now() - this.lastWrite >= sendEvery * 0.9) this.peer.beat();
        }),
      );
    }
    if (expectEvery > 0) {
      this.stops.push(
        this.clock.every(expectEvery, () => {
          // Not while the broker itself does not read the connection (frames in flight, or waiting
          // for the partial-frame budget): the peer's heart-beats wait in the socket.
          if (this.peer.notReading()) this.lastRead = this.clock.now();
          else if (this.clock.now() - this.lastRead > expectEvery * 2) this.peer.missed(expectEvery);
        }),
      );
    }
  }

  /** Stops the timers (the connection is gone). */
  stop(): void {
    for (const stop of this.stops.splice(0)) stop();
  }
}
