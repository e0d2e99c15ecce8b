import type { Command } from 'commander';
import { CliError, EXIT } from './cli-error.ts';
import { integer, printJson, seg, withClient, withConnectionOptions, type ConnectionOpts } from './options.ts';
import { formatBytes, formatTable, type Column } from './table.ts';

/** A connection as `GET /api/v1/connections` lists it (ConnectionInfo; fields read defensively). */
export interface ConnectionRow {
  id: number | string;
  protocol?: string;
  transport?: string;
  tls?: boolean;
  remoteAddress?: string;
  user?: string;
  clientId?: string;
  connectedAt?: number;
  bytesIn?: number;
  bytesOut?: number;
  subscriptions?: unknown[];
}

export const CONNECTION_COLUMNS: ReadonlyArray<Column<ConnectionRow>> = [
  { header: 'id', value: (c) => String(c.id), align: 'right' },
  { header: 'protocol', value: (c) => `${c.protocol ?? ''}${c.transport === 'ws' ? '/ws' : ''}${c.tls ? '+tls' : ''}`, align: 'left' },
  { header: 'remote', value: (c) => c.remoteAddress, align: 'left', max: 50 },
  { header: 'user', value: (c) => c.user ?? '', align: 'left', max: 30 },
  { header: 'client id', value: (c) => c.clientId ?? '', align: 'left', max: 40 },
  { header: 'since', value: (c) => (typeof c.connectedAt === 'number' ? new Date(c.connectedAt).toISOString() : ''), align: 'left' },
  { header: 'in', value: (c) => (typeof c.bytesIn === 'number' ? formatBytes(c.bytesIn) : ''), align: 'right' },
  { header: 'out', value: (c) => (typeof c.bytesOut === 'number' ? formatBytes(c.bytesOut) : ''), align: 'right' },
  { header: 'subs', value: (c) => (Array.isArray(c.subscriptions) ? c.subscriptions.length : ''), align: 'right' },
];

/** Registers `connection list|close`. */
export function registerConnectionCommands(program: Command): void {
  const connection = program.command('connection').description('client connections of every protocol: list, close');
  withConnectionOptions(connection.command('list').description('one line per client connection'))
    .option('--protocol <name>', 'stomp, mqtt or amqp')
    .option('--client-id <id>', 'only this client id')
    .option('--for-user <user>', 'only connections of this user')
    .option('--limit <n>', 'most connections listed (up to 1000)', integer('--limit', 1), 1000)
    .action((o: ConnectionOpts & { protocol?: string; clientId?: string; forUser?: string; limit: number }) =>
      withClient(o, async (api) => {
        const page = await api.get<{ items?: ConnectionRow[] }>('/api/v1/connections', { protocol: o.protocol, user: o.forUser, clientId: o.clientId, limit: Math.min(1000, o.limit) });
        if (!page || !Array.isArray(page.items)) throw new CliError(EXIT.failed, 'unexpected answer to GET /api/v1/connections');
        if (o.json) printJson(page.items);
        else console.log(formatTable(CONNECTION_COLUMNS, page.items));
      }),
    );
  withConnectionOptions(connection.command('close').argument('<id>').description("close a connection with its protocol's own close (STOMP ERROR, MQTT disconnect, AMQP close)"))
    .action((id: string, o: ConnectionOpts) =>
      withClient(o, async (api) => {
        const r = await api.delete(`/api/v1/connections/${seg(id)}`);
        if (o.json) printJson(r ?? { closed: id });
        else console.log(`closed connection ${id}`);
      }),
    );
}
