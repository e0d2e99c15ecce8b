import type { Log } from '../../core/ports/log.ts';
import type { Exchange, Producer } from '../types.ts';

/**
 * `log:NAME[?level=info][&showBody=true]`: a line per exchange in the broker's log (message id,
 * headers, body size; the body itself only with `showBody=true`, as payloads stay out of logs).
 */
export class LogProducer implements Producer {
  readonly uri: string;
  private readonly name: string;
  private readonly level: 'debug' | 'info' | 'warn' | 'error';
  private readonly showBody: boolean;
  private readonly log: Log;

  constructor(uri: string, name: string, options: URLSearchParams, log: Log) {
    this.uri = uri;
    this.name = name;
    const level = options.get('level') ?? 'info';
    this.level = level === 'debug' || level === 'warn' || level === 'error' ? level : 'info';
    this.showBody = options.get('showBody') === 'true';
    this.log = log;
  }

  async send(ex: Exchange): Promise<void> {
    const m = ex.message;
    const entry: Record<string, unknown> = { log: this.name, route: ex.routeId, exchange: ex.id, messageId: m.messageId, headers: m.headers, bodyBytes: m.body.length };
    if (this.showBody) entry.body = m.body.toString('utf8');
    this.log[this.level](entry, `log:${this.name}`);
  }
}
