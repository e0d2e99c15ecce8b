import { BODY_ENCODING_MARKERS } from '../core/reserved.ts';
import type { StepProbe } from './step-probe.ts';
import type { Exchange, ExchangeMessage, HistoryEntry, Outcome } from './types.ts';

let seq = 0;
const boot = Date.now().toString(36);

/** Copies a message: a new headers object, the same (immutable) body buffer. */
export function copyMessage(m: ExchangeMessage): ExchangeMessage {
  return { ...m, headers: { ...m.headers } };
}

export interface ExchangeInit {
  routeId: string;
  message: ExchangeMessage;
  deliveryCount?: number;
  properties?: Record<string, unknown>;
  now?: number;
  /** Called once when the exchange and everything derived from it are settled. */
  onSettled: (o: Outcome) => void;
}

/** Parses a body as JSON, or gives its text. */
function parseBody(m: ExchangeMessage): unknown {
  const text = m.body.toString('utf8');
  if (m.bodyType === 'json') return JSON.parse(text);
  const c = text.charCodeAt(0);
  // Only text that can start a JSON value is tried, so plain text costs no exception.
  if (c === 123 || c === 91 || c === 34 || c === 45 || (c >= 48 && c <= 57) || text === 'true' || text === 'false' || text === 'null') {
    try {
      return JSON.parse(text);
    } catch {
      return text; // not JSON after all: the text is the value
    }
  }
  return text;
}

const ACK: Outcome = { kind: 'ack' };
const RELEASE: Outcome = { kind: 'release' };

/**
 * An exchange with its settlement built in (no separate object per message): `pending` counts
 * its own hold plus one per derived exchange not yet settled. When it reaches zero the outcome is
 * reported once, to the listeners and then to the parent (or the source): nack if anything
 * failed, release if anything was handed back, ack otherwise.
 */
class RouteExchange implements Exchange {
  readonly routeId: string;
  message: ExchangeMessage;
  original: ExchangeMessage;
  readonly createdAt: number;
  readonly deliveryCount: number;
  settled = false;
  /** The expression data view of this exchange (src/routing/expression.ts), made on first use. */
  view: unknown = undefined;
  /** The step holding the exchange now and when it took it (step-probe.ts): fields, so holding one allocates nothing. */
  probe: StepProbe | undefined = undefined;
  probeT0 = 0;
  private readonly seq: number;
  private idText: string | undefined;
  private props: Record<string, unknown> | undefined;
  private steps: HistoryEntry[] | undefined;
  private pending = 1;
  private error: Error | undefined;
  private released = false;
  private readonly parent: RouteExchange | undefined;
  private readonly done: ((o: Outcome) => void) | undefined;
  private listener: ((o: Outcome, ex: Exchange) => void) | undefined;
  private listeners: Array<(o: Outcome, ex: Exchange) => void> | undefined;
  /** The body buffer the cached value was parsed from: a new buffer invalidates it. */
  private parsedFrom: Buffer | undefined;
  private parsed: unknown;

  constructor(init: Omit<ExchangeInit, 'onSettled'>, parent: RouteExchange | undefined, done: ((o: Outcome) => void) | undefined) {
    this.seq = ++seq;
    this.routeId = init.routeId;
    this.message = init.message;
    this.original = init.message;
    this.props = init.properties;
    this.createdAt = init.now ?? Date.now();
    this.deliveryCount = init.deliveryCount ?? 1;
    this.parent = parent;
    this.done = done;
  }

  get id(): string {
    return (this.idText ??= `${boot}-${this.seq}`);
  }

  get properties(): Record<string, unknown> {
    return (this.props ??= {});
  }

  set properties(p: Record<string, unknown>) {
    this.props = p;
  }

  get history(): HistoryEntry[] {
    return (this.steps ??= []);
  }

  body(): unknown {
    if (this.parsedFrom !== this.message.body) {
      this.parsed = parseBody(this.message);
      this.parsedFrom = this.message.body;
    }
    return this.parsed;
  }

  setBody(value: unknown): void {
    const m = { ...this.message };
    // A body the route sets is not the encoding a body marker (x-amqp-body) names: the marker goes.
    for (const k of BODY_ENCODING_MARKERS) {
      if (m.headers[k] === undefined) continue;
      m.headers = { ...m.headers };
      delete m.headers[k];
    }
    if (Buffer.isBuffer(value)) {
      m.body = value;
      m.bodyType = 'bytes';
    } else if (typeof value === 'string') {
      m.body = Buffer.from(value, 'utf8');
      m.bodyType = 'text';
    } else {
      m.body = Buffer.from(JSON.stringify(value ?? null), 'utf8');
      m.bodyType = 'json';
      m.contentType = 'application/json';
      this.parsed = value;
      this.parsedFrom = m.body;
    }
    this.message = m;
  }

  ack(): void {
    this.settle(ACK);
  }

  nack(error: Error): void {
    this.settle({ kind: 'nack', error });
  }

  release(): void {
    this.settle(RELEASE);
  }

  derive(body?: unknown): Exchange {
    const child = new RouteExchange(
      { routeId: this.routeId, message: copyMessage(this.message), properties: { ...this.props }, deliveryCount: this.deliveryCount },
      this,
      undefined,
    );
    if (body !== undefined) {
      child.setBody(body); // may throw (a value JSON cannot hold): then no hold is taken
      child.original = child.message;
    }
    this.pending++;
    if (this.steps) child.history.push(...this.steps);
    return child;
  }

  onSettled(fn: (o: Outcome, ex: Exchange) => void): void {
    if (!this.listener) this.listener = fn;
    else (this.listeners ??= []).push(fn);
  }

  private settle(o: Outcome): void {
    // A second settlement is a bug in a step; ignoring it keeps the first (and the counts) right.
    if (this.settled) return;
    this.settled = true;
    // Settled while a step held it (an idempotent duplicate, an aggregate's inputs): it ended there.
    if (this.probe !== undefined) this.probe.ended(this);
    this.release1(o);
  }

  /** One hold released (this exchange's own, or a derived exchange's). */
  private release1(o: Outcome): void {
    if (o.kind === 'nack') this.error ??= o.error;
    else if (o.kind === 'release') this.released = true;
    if (--this.pending > 0) return;
    const out: Outcome = this.error ? { kind: 'nack', error: this.error } : this.released ? RELEASE : ACK;
    if (this.listener) this.listener(out, this);
    if (this.listeners) for (const fn of this.listeners) fn(out, this);
    if (this.parent) this.parent.release1(out);
    else this.done?.(out);
  }
}

/** Creates a root exchange (from a source, or an aggregate of others). */
export function createExchange(init: ExchangeInit): Exchange {
  return new RouteExchange(init, undefined, init.onSettled);
}

/** A message from plain values (tests, timers, route tests). */
export function messageOf(body: unknown, headers: Record<string, ExchangeMessage['headers'][string]> = {}): ExchangeMessage {
  if (Buffer.isBuffer(body)) return { body, bodyType: 'bytes', headers, durable: true };
  if (typeof body === 'string') return { body: Buffer.from(body), bodyType: 'text', headers, durable: true };
  return { body: Buffer.from(JSON.stringify(body ?? null)), bodyType: 'json', contentType: 'application/json', headers, durable: true };
}
