import type { Command } from 'commander';
import type { ApiClient } from './api-client.ts';
import { CliError, EXIT } from './cli-error.ts';
import { integer, printJson, seg, withClient, withConnectionOptions, type ConnectionOpts } from './options.ts';
import { formatTable, type Column } from './table.ts';

/** A message summary as `GET /api/v1/queues/:name/messages` lists it (fields read defensively). */
export interface MessageRow {
  id: string;
  timestamp?: number;
  priority?: number;
  durable?: boolean;
  bodyType?: string;
  size?: number;
  originalDestination?: { type?: string; name?: string };
  /** The first bytes of the body (`base64` for a binary body). */
  preview?: { encoding?: string; data?: string; truncated?: boolean };
}

const preview = (m: MessageRow): string => {
  const p = m.preview;
  if (p?.data === undefined) return '';
  return `${p.encoding === 'base64' ? `base64:${p.data}` : p.data}${p.truncated ? '…' : ''}`;
};

export const MESSAGE_COLUMNS: ReadonlyArray<Column<MessageRow>> = [
  { header: 'id', value: (m) => m.id, align: 'left', max: 40 },
  { header: 'time', value: (m) => (typeof m.timestamp === 'number' ? new Date(m.timestamp).toISOString() : ''), align: 'left' },
  { header: 'prio', value: (m) => m.priority, align: 'right' },
  { header: 'durable', value: (m) => (m.durable === undefined ? '' : m.durable ? 'yes' : 'no'), align: 'left' },
  { header: 'bytes', value: (m) => m.size, align: 'right' },
  { header: 'origin', value: (m) => (m.originalDestination?.name === undefined ? '' : `${m.originalDestination.type ?? ''}:${m.originalDestination.name}`), align: 'left', max: 40 },
  { header: 'body', value: (m) => preview(m), align: 'left', max: 70 },
];

/** Up to `limit` messages of a queue from its head, without consuming them, page after page. */
export async function browseQueue(api: ApiClient, queue: string, selector: string | undefined, limit: number): Promise<MessageRow[]> {
  const rows: MessageRow[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.get<{ items?: MessageRow[]; next?: string }>(`/api/v1/queues/${seg(queue)}/messages`, { selector, limit: Math.min(1000, limit - rows.length), cursor });
    if (!page || !Array.isArray(page.items)) throw new CliError(EXIT.failed, 'unexpected answer to the browse');
    rows.push(...page.items.filter((m) => m && typeof m.id === 'string').slice(0, limit - rows.length));
    cursor = typeof page.next === 'string' && page.items.length > 0 ? page.next : undefined;
  } while (cursor !== undefined && rows.length < limit);
  return rows;
}

/** Registers `browse <queue>`. */
export function registerBrowseCommand(program: Command): void {
  withConnectionOptions(program.command('browse').argument('<queue>').description("list a queue's messages without consuming them (head first)"))
    .option('--selector <selector>', 'only messages matching this selector (docs/selectors.md)')
    .option('--limit <n>', 'most messages listed', integer('--limit', 1), 100)
    .action((queue: string, o: ConnectionOpts & { selector?: string; limit: number }) =>
      withClient(o, async (api) => {
        const rows = await browseQueue(api, queue, o.selector, o.limit);
        if (o.json) printJson(rows);
        else console.log(formatTable(MESSAGE_COLUMNS, rows));
      }),
    );
}
