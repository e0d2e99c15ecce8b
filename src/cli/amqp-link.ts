import { readFileSync } from 'node:fs';
import rhea, { type Connection, type ConnectionOptions } from 'rhea';
import { apiClient, type ConnectionOpts } from './options.ts';
import { CliError, EXIT, clean } from './cli-error.ts';

/** Where a client command's AMQP connections go. */
export interface BrokerAddress {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
}

/** The AMQP port when the broker's overview does not say (the IANA one, the broker's default). */
const AMQP_DEFAULT_PORT = 5672;

/** Parses `--broker amqp://host:port` (or amqps://). */
export function parseBrokerUrl(text: string): BrokerAddress {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new CliError(EXIT.usage, `--broker '${text}' is not a URL (amqp://host:port)`);
  }
  if (u.protocol !== 'amqp:' && u.protocol !== 'amqps:') throw new CliError(EXIT.usage, `--broker must be amqp://host:port or amqps://host:port, got '${text}'`);
  const tls = u.protocol === 'amqps:';
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port === '' ? (tls ? 5671 : AMQP_DEFAULT_PORT) : Number(u.port), tls };
}

/**
 * The broker to connect to: `--broker`, else the host of `--url` and the AMQP port the broker
 * reports (`GET /api/v1/overview` `ports.amqp`), so `junction producer` needs no address against
 * `npm start`.
 */
export async function resolveBroker(o: ConnectionOpts & { broker?: string }): Promise<BrokerAddress> {
  if (o.broker !== undefined) return parseBrokerUrl(o.broker);
  const api = apiClient(o);
  try {
    const overview = await api.get<{ ports?: Record<string, unknown> }>('/api/v1/overview');
    const p = overview?.ports?.amqp;
    const port = typeof p === 'number' ? p : typeof (p as { port?: unknown } | undefined)?.port === 'number' ? (p as { port: number }).port : AMQP_DEFAULT_PORT;
    return { host: api.base.hostname.replace(/^\[|\]$/g, ''), port, tls: false };
  } finally {
    api.close();
  }
}

/** Options for each AMQP connection a client command opens. */
export interface LinkOptions {
  readonly user?: string;
  readonly password?: string;
  readonly insecure?: boolean;
  readonly ca?: string;
  readonly containerId: string;
}

/**
 * Opens one AMQP connection (rhea, no reconnect: a client command reports a lost broker and
 * exits). SASL PLAIN with a user, ANONYMOUS without.
 */
export function openAmqp(address: BrokerAddress, o: LinkOptions): Promise<Connection> {
  const container = rhea.create_container({ id: o.containerId });
  const options: ConnectionOptions = {
    host: address.host,
    port: address.port,
    reconnect: false,
    idle_time_out: 30_000,
    ...(o.user === undefined ? {} : { username: o.user, password: o.password ?? '' }),
    ...(address.tls ? { transport: 'tls' as const, rejectUnauthorized: !o.insecure, ...(o.ca === undefined ? {} : { ca: readFileSync(o.ca) }) } : {}),
  } as ConnectionOptions;
  return new Promise<Connection>((resolve, reject) => {
    const connection = container.connect(options);
    const fail = (ctx: { error?: unknown; connection?: Connection }): void => {
      const e = (ctx.error ?? (ctx.connection as { error?: unknown } | undefined)?.error) as { condition?: string; description?: string; message?: string; code?: string } | undefined;
      const condition = e?.condition ?? e?.code ?? '';
      const why = clean(e?.description ?? e?.message ?? (condition || 'connection closed'), 300);
      const auth = /unauthorized|sasl|auth/i.test(`${condition} ${why}`);
      reject(new CliError(auth ? EXIT.auth : EXIT.connect, `${auth ? 'AMQP login refused by' : 'cannot connect to'} amqp${address.tls ? 's' : ''}://${address.host}:${address.port}: ${condition && !why.includes(condition) ? `${condition} ` : ''}${why}`));
    };
    connection.once('connection_open', () => {
      connection.removeListener('disconnected', fail);
      connection.removeListener('connection_error', fail);
      resolve(connection);
    });
    connection.once('disconnected', fail);
    connection.once('connection_error', fail);
  });
}

/** Closes a connection and resolves once the broker answered (or after `ms`). */
export function closeAmqp(connection: Connection, ms = 5000): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!connection.is_open()) {
      connection.close();
      resolve();
      return;
    }
    const t = setTimeout(() => {
      connection.close();
      resolve();
    }, ms);
    const done = (): void => {
      clearTimeout(t);
      resolve();
    };
    connection.once('connection_close', done);
    connection.once('disconnected', done);
    connection.close();
  });
}

/** Checks `--destination queue://NAME` or `topic://NAME` (the AMQP addresses the broker maps, docs/amqp.md). */
export function parseDestination(text: string): string {
  if (!/^(queue|topic):\/\/\S+$/.test(text)) throw new CliError(EXIT.usage, `--destination must be queue://NAME or topic://NAME, got '${text}'`);
  return text;
}

/** The body text of `size` bytes (ASCII), the same for every message of a run. */
export function filler(size: number): string {
  const unit = 'junction-';
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}
