/**
 * The Server-Sent Event streams of `GET /api/v1/events` (issue 15; docs/management.md#live-events).
 * One hub per server fans each sample of the sampler out to every open stream: what is the same for
 * every stream (the `stats` sample, the `routes` counters) is computed and serialised once per tick;
 * `queues` is diffed once per tick against the last tick's counters, then filtered per stream by what
 * its caller may `view`. Nothing here runs per message: the hub works once a second, on counters.
 *
 * Hostile or slow clients: at most `maxClients` streams (429 beyond); a stream whose unsent bytes
 * pass `maxBufferBytes` (a client that does not read) is dropped, so it cannot make the broker hold
 * its backlog; a comment heartbeat every 15 s keeps proxies from closing an idle stream and finds
 * dead peers; every stream ends when the server closes.
 */
import type { ServerResponse } from 'node:http';
import type { QueueStats } from '../../core/handles.ts';
import type { ConnectionEvent } from '../../transport/connection-directory.ts';
import type { ManagementContext } from '../context.ts';
import type { Sample, Telemetry } from '../telemetry-types.ts';

export const EVENT_TOPICS = ['stats', 'queues', 'routes', 'connections'] as const;
export type EventTopic = (typeof EVENT_TOPICS)[number];

export interface EventStreamOptions {
  maxClients: number;
  /** Unsent bytes a stream may hold before it is dropped (default 1 MiB). */
  maxBufferBytes?: number;
  /** Comment heartbeat period, ms (default 15 s). */
  heartbeatMs?: number;
  /** Queues or routes in one event at most (default 500); beyond, the event says `truncated: true`. */
  maxItems?: number;
  /** Connection events sent per second at most (default 200); beyond, a `connections-skipped` event counts the rest. */
  maxConnectionEvents?: number;
}

interface Stream {
  readonly res: ServerResponse;
  readonly topics: ReadonlySet<EventTopic>;
  /** May the caller `view` this queue (its topic for a subscription)? Cached per stream. */
  readonly canView: (q: QueueStats) => boolean;
  /** Whether the caller may still watch (session not ended); asked every minute. */
  readonly stillAllowed: () => boolean;
  /** The first `queues` event of a stream carries every queue it may see; later ones what changed. */
  primed: boolean;
}

/** Fields of QueueStats whose change makes a queue "changed" (every counter and gauge the console shows). */
const QUEUE_FIELDS = ['messages', 'paged', 'inDelivery', 'scheduled', 'consumers', 'enqueued', 'acked', 'expired', 'deadLettered', 'bytes', 'paused'] as const;

function changed(a: QueueStats, b: QueueStats): boolean {
  for (const k of QUEUE_FIELDS) if (a[k] !== b[k]) return true;
  return false;
}

const RECHECK_MS = 60_000;

/** The streams of one management server. */
export class EventStreams {
  private readonly streams = new Set<Stream>();
  private readonly maxBuffer: number;
  private readonly maxItems: number;
  private readonly maxConnEvents: number;
  private readonly heartbeatMs: number;
  private unsubscribeSamples: (() => void) | undefined;
  private unsubscribeConnections: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Last tick's queue counters, kept only while some stream watches queues. */
  private lastQueues = new Map<string, QueueStats>();
  private connEvents = 0;
  private connSkipped = 0;
  private lastRecheck = Date.now();
  private dropped = 0;

  private readonly ctx: ManagementContext;
  private readonly telemetry: Telemetry;
  private readonly opts: EventStreamOptions;

  constructor(ctx: ManagementContext, telemetry: Telemetry, opts: EventStreamOptions) {
    this.ctx = ctx;
    this.telemetry = telemetry;
    this.opts = opts;
    this.maxBuffer = opts.maxBufferBytes ?? 1024 * 1024;
    this.maxItems = opts.maxItems ?? 500;
    this.maxConnEvents = opts.maxConnectionEvents ?? 200;
    this.heartbeatMs = opts.heartbeatMs ?? 15_000;
  }

  get size(): number {
    return this.streams.size;
  }

  /** Streams dropped for not reading fast enough, since start. */
  get droppedSlow(): number {
    return this.dropped;
  }

  full(): boolean {
    return this.streams.size >= this.opts.maxClients;
  }

  /** Starts streaming on `res` (the caller has authorized and checked `full()`). */
  open(res: ServerResponse, topics: ReadonlySet<EventTopic>, canView: (q: QueueStats) => boolean, stillAllowed: () => boolean): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store',
      connection: 'keep-alive',
      // nginx would otherwise buffer the stream.
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    const s: Stream = { res, topics, canView, stillAllowed, primed: false };
    this.streams.add(s);
    res.on('close', () => this.remove(s));
    // The client's EventSource reconnects after 5 s when the stream breaks.
    this.write(s, 'retry: 5000\n\n');
    if (topics.has('stats')) this.write(s, frame('stats', JSON.stringify(this.telemetry.latest())));
    this.listen();
  }

  /** Ends every stream (server closing). */
  closeAll(): void {
    for (const s of [...this.streams]) s.res.end();
    this.streams.clear();
    this.stopListening();
  }

  private remove(s: Stream): void {
    if (!this.streams.delete(s)) return;
    if (this.streams.size === 0) this.stopListening();
  }

  /** Writes a chunk; a stream whose unsent bytes pass the cap is dropped (destroyed: the backlog is freed). */
  private write(s: Stream, chunk: string): void {
    if (s.res.destroyed || s.res.writableEnded) return;
    s.res.write(chunk);
    if (s.res.writableLength > this.maxBuffer) {
      this.dropped++;
      this.ctx.log.warn({ remote: s.res.socket?.remoteAddress, buffered: s.res.writableLength }, 'event stream dropped: the client does not read it');
      this.remove(s);
      s.res.destroy();
    }
  }

  private listen(): void {
    this.unsubscribeSamples ??= this.telemetry.subscribe((sample) => this.tick(sample));
    if (!this.heartbeat) {
      this.heartbeat = setInterval(() => {
        for (const s of [...this.streams]) this.write(s, ': heartbeat\n\n');
      }, this.heartbeatMs);
      this.heartbeat.unref();
    }
    if (!this.unsubscribeConnections && [...this.streams].some((s) => s.topics.has('connections'))) {
      try {
        this.unsubscribeConnections = this.ctx.connections.onEvent((e) => this.connection(e));
      } catch (err) {
        this.ctx.log.warn({ err }, 'event streams: connection events unavailable');
        this.unsubscribeConnections = () => {};
      }
    }
  }

  private stopListening(): void {
    this.unsubscribeSamples?.();
    this.unsubscribeSamples = undefined;
    this.unsubscribeConnections?.();
    this.unsubscribeConnections = undefined;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.lastQueues.clear();
  }

  private connection(e: ConnectionEvent): void {
    if (this.connEvents >= this.maxConnEvents) {
      this.connSkipped++;
      return;
    }
    this.connEvents++;
    const chunk = frame('connection', JSON.stringify(e));
    for (const s of [...this.streams]) if (s.topics.has('connections')) this.write(s, chunk);
  }

  private tick(sample: Sample): void {
    const now = Date.now();
    if (now - this.lastRecheck >= RECHECK_MS) {
      this.lastRecheck = now;
      for (const s of [...this.streams]) {
        if (!s.stillAllowed()) {
          this.remove(s);
          s.res.end();
        }
      }
    }
    const wants = (t: EventTopic) => [...this.streams].filter((s) => s.topics.has(t));
    const stats = wants('stats');
    if (stats.length > 0) {
      const chunk = frame('stats', JSON.stringify(sample));
      for (const s of stats) this.write(s, chunk);
    }
    const queues = wants('queues');
    if (queues.length > 0) this.queues(queues);
    else this.lastQueues.clear();
    const routes = wants('routes');
    if (routes.length > 0) {
      const chunk = frame('routes', JSON.stringify(this.routes()));
      for (const s of routes) this.write(s, chunk);
    }
    if (this.connSkipped > 0) {
      const chunk = frame('connections-skipped', JSON.stringify({ skipped: this.connSkipped }));
      for (const s of wants('connections')) this.write(s, chunk);
    }
    this.connEvents = 0;
    this.connSkipped = 0;
  }

  private queues(streams: Stream[]): void {
    let all: QueueStats[];
    try {
      all = this.ctx.core.queueStats();
    } catch (err) {
      this.ctx.log.warn({ err }, 'event streams: queue statistics unavailable');
      return;
    }
    const previous = this.lastQueues;
    const next = new Map<string, QueueStats>();
    const diff: QueueStats[] = [];
    for (const q of all) {
      next.set(q.name, q);
      const before = previous.get(q.name);
      if (!before || changed(before, q)) diff.push(q);
    }
    const removed: string[] = [];
    for (const name of previous.keys()) if (!next.has(name)) removed.push(name);
    this.lastQueues = next;
    for (const s of streams) {
      const source = s.primed ? diff : all;
      const visible: QueueStats[] = [];
      let truncated = false;
      for (const q of source) {
        if (!s.canView(q)) continue;
        if (visible.length >= this.maxItems) {
          truncated = true;
          break;
        }
        visible.push(q);
      }
      // A queue the caller could not see is not named when it goes either.
      const gone = removed.filter((name) => s.canView(previous.get(name)!));
      if (!s.primed || visible.length > 0 || gone.length > 0) this.write(s, frame('queues', JSON.stringify({ changed: visible, removed: gone, truncated })));
      s.primed = true;
    }
  }

  private routes(): { routes: Array<{ id: string; state: string; stats: unknown; steps: unknown[] }>; truncated: boolean } {
    let list: ReturnType<ManagementContext['routes']['list']>;
    try {
      list = this.ctx.routes.list();
    } catch {
      return { routes: [], truncated: false };
    }
    const out = list.slice(0, this.maxItems).map((r) => {
      let steps: unknown[] = [];
      try {
        steps = this.ctx.routes.stepStats(r.id);
      } catch {
        // Step statistics not available (a route between versions, or not instrumented): the route's own counters still go.
      }
      return { id: r.id, state: r.state, stats: r.stats, steps };
    });
    return { routes: out, truncated: list.length > this.maxItems };
  }
}

/** One SSE event: `data` is one line of JSON (JSON.stringify never emits a raw newline). */
function frame(event: string, data: string): string {
  return `event: ${event}\ndata: ${data}\n\n`;
}
