import type { Log } from '../../core/ports/log.ts';

/** A short reason for a connection failure: a socket error's code and message, an AMQP error's condition. */
export function reasonOf(err: unknown): string {
  if (err === undefined || err === null) return 'connection closed';
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== undefined && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  if (typeof err === 'object') {
    const e = err as { condition?: unknown; description?: unknown };
    if (e.condition !== undefined) return `${String(e.condition)}${e.description !== undefined ? `: ${String(e.description)}` : ''}`;
  }
  return String(err);
}

/**
 * Whether a remote endpoint's connection is up, logged on change only: one warn line when it goes
 * down (with the reason, no stack: a remote refusing connections is expected, not a bug) and one
 * info line when it is back, however many reconnect attempts fail in between (rhea retries up to
 * every 5 s, MQTT.js every `reconnectPeriod`).
 */
export class RemoteStatus {
  private down = false;
  private closing = false;
  private readonly log: Log;
  /** The endpoint's log fields (route, endpoint, role). */
  readonly fields: Record<string, unknown>;

  constructor(log: Log, fields: Record<string, unknown>) {
    this.log = log;
    this.fields = fields;
  }

  get isDown(): boolean {
    return this.down;
  }

  /** The endpoint is closing: the end of its connection is no news. */
  close(): void {
    this.closing = true;
  }

  /** A connection attempt failed or the connection was lost. */
  failed(err: unknown): void {
    if (this.down || this.closing) return;
    this.down = true;
    this.log.warn({ ...this.fields, reason: reasonOf(err) }, 'remote endpoint down');
  }

  /** Connected (again). */
  connected(): void {
    if (!this.down) return;
    this.down = false;
    this.log.info(this.fields, 'remote endpoint back');
  }
}
