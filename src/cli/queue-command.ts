import { Option, type Command } from 'commander';
import type { ApiClient } from './api-client.ts';
import { CliError, EXIT } from './cli-error.ts';
import { positiveNumber, printJson, seg, withClient, withConnectionOptions, type ConnectionOpts } from './options.ts';
import { progressBar } from './progress.ts';
import { formatTable, sortRows, type Column } from './table.ts';

/** A queue as `GET /api/v1/queues` lists it (the core's QueueStats; fields read defensively). */
export interface QueueRow {
  name: string;
  kind?: string;
  messages?: number;
  consumers?: number;
  enqueued?: number;
  acked?: number;
  inDelivery?: number;
  deadLettered?: number;
  paused?: boolean;
}

/** A bulk message job (`GET /api/v1/jobs/:id`). */
export interface Job {
  id: string;
  action: string;
  queue: string;
  state: 'running' | 'done' | 'failed' | 'cancelled';
  processed: number;
  skipped: number;
  total: number;
  error?: string;
}

interface Page<T> {
  items: T[];
  next?: string;
  total?: number;
}

/** Most queues `queue stat` reads (pages of 1000). */
const MAX_STAT_ROWS = 50_000;

/** The columns of `queue stat`, Artemis's `queue stat` set in Junction's words. */
export const QUEUE_COLUMNS: ReadonlyArray<Column<QueueRow>> = [
  { header: 'name', value: (q) => `${q.name}${q.paused ? ' (paused)' : ''}`, align: 'left', max: 60 },
  { header: 'messages', value: (q) => q.messages ?? 0, align: 'right' },
  { header: 'consumers', value: (q) => q.consumers ?? 0, align: 'right' },
  { header: 'enqueued', value: (q) => q.enqueued ?? 0, align: 'right' },
  { header: 'acked', value: (q) => q.acked ?? 0, align: 'right' },
  { header: 'in delivery', value: (q) => q.inDelivery ?? 0, align: 'right' },
  { header: 'DLQ', value: (q) => q.deadLettered ?? 0, align: 'right' },
];

/** What `--sort` accepts (a leading `-`: descending). */
export const QUEUE_SORT_KEYS: Readonly<Record<string, (q: QueueRow) => string | number>> = {
  name: (q) => q.name,
  messages: (q) => q.messages ?? 0,
  consumers: (q) => q.consumers ?? 0,
  enqueued: (q) => q.enqueued ?? 0,
  acked: (q) => q.acked ?? 0,
  inDelivery: (q) => q.inDelivery ?? 0,
  dlq: (q) => q.deadLettered ?? 0,
};

/** Every queue matching `filter`, page after page (capped). */
export async function listQueues(api: ApiClient, filter: string | undefined): Promise<QueueRow[]> {
  const rows: QueueRow[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.get<Page<QueueRow>>('/api/v1/queues', { filter, limit: 1000, cursor });
    if (!page || !Array.isArray(page.items)) throw new CliError(EXIT.failed, 'GET /api/v1/queues: unexpected answer');
    rows.push(...page.items.filter((q) => q && typeof q.name === 'string'));
    cursor = typeof page.next === 'string' && page.items.length > 0 ? page.next : undefined;
  } while (cursor !== undefined && rows.length < MAX_STAT_ROWS);
  return rows;
}

/** Follows a job to its end, with a progress bar on a terminal; exit 1 unless it is done. */
export async function followJob(api: ApiClient, first: Job, json: boolean, intervalMs = 250): Promise<number> {
  let job = first;
  const bar = progressBar(job.total, `${job.action} ${job.queue}`, !json);
  try {
    while (job.state === 'running') {
      await new Promise((r) => setTimeout(r, intervalMs));
      job = await api.get<Job>(`/api/v1/jobs/${seg(job.id)}`);
      bar.update(job.processed + job.skipped, Math.max(job.total, job.processed + job.skipped));
    }
  } finally {
    bar.stop();
  }
  if (json) printJson(job);
  else console.log(`${job.action} ${job.queue}: ${job.state}, ${job.processed} processed, ${job.skipped} skipped of ${job.total}${job.error ? ` (${job.error})` : ''}`);
  return job.state === 'done' ? EXIT.ok : EXIT.failed;
}

/** The job an action answered (`{ job }`: the job, or its id). */
function jobOf(answer: unknown): Job | undefined {
  const j = (answer as { job?: unknown } | undefined)?.job;
  if (typeof j === 'string') return { id: j, action: '', queue: '', state: 'running', processed: 0, skipped: 0, total: 0 };
  if (j && typeof j === 'object' && typeof (j as Job).id === 'string') return j as Job;
  return undefined;
}

async function stat(api: ApiClient, o: ConnectionOpts & { filter?: string; sort: string; watch?: number | true }): Promise<number> {
  const once = async (): Promise<QueueRow[]> => sortRows(await listQueues(api, o.filter), o.sort, QUEUE_SORT_KEYS);
  if (o.watch === undefined) {
    const rows = await once();
    if (o.json) printJson(rows);
    else console.log(formatTable(QUEUE_COLUMNS, rows));
    return EXIT.ok;
  }
  const seconds = o.watch === true ? 2 : o.watch;
  const redraw = process.stdout.isTTY && !o.json;
  let stop = false;
  const onSigint = (): void => {
    stop = true;
  };
  process.once('SIGINT', onSigint);
  try {
    while (!stop) {
      const rows = await once();
      // JSON: one line per refresh (NDJSON); a terminal: the screen redrawn; a pipe: tables one after another.
      if (o.json) process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), queues: rows })}\n`);
      else process.stdout.write(`${redraw ? '\x1b[H\x1b[2J' : '\n'}${new Date().toISOString()}  every ${seconds}s (Ctrl-C stops)\n${formatTable(QUEUE_COLUMNS, rows)}\n`);
      const until = Date.now() + seconds * 1000;
      while (!stop && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(200, until - Date.now())));
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  return EXIT.ok;
}

type ActionOpts = ConnectionOpts & { to?: string; selector?: string; ids?: string[]; wait: boolean };

async function messageAction(api: ApiClient, action: 'move' | 'copy' | 'retry' | 'remove', queue: string, o: ActionOpts): Promise<number> {
  if ((action === 'move' || action === 'copy') && o.to === undefined) throw new CliError(EXIT.usage, `queue ${action} needs --to QUEUE`);
  const body = { action, ...(o.ids ? { ids: o.ids } : {}), ...(o.selector === undefined ? {} : { selector: o.selector }), ...(o.to === undefined ? {} : { target: o.to }) };
  const job = jobOf(await api.post(`/api/v1/queues/${seg(queue)}/messages/actions`, body));
  if (!job) throw new CliError(EXIT.failed, 'the server answered no job');
  if (!o.wait) {
    if (o.json) printJson(job);
    else console.log(`job ${job.id} started`);
    return EXIT.ok;
  }
  return followJob(api, { ...job, action: job.action || action, queue: job.queue || queue }, o.json === true);
}

/** Registers `queue stat|create|delete|purge|pause|resume|move|copy|retry|remove`. */
export function registerQueueCommands(program: Command): void {
  const queue = program.command('queue').description('queues: statistics, create, delete, purge, pause, resume, move/copy/retry messages');

  withConnectionOptions(queue.command('stat').description('one line per queue: messages, consumers, enqueued, acked, in delivery, dead-lettered'))
    .option('--filter <text>', 'only queues whose name contains text')
    .option('--sort <field>', `sort by ${Object.keys(QUEUE_SORT_KEYS).join('|')} (prefix - for descending)`, 'name')
    .addOption(new Option('--watch [seconds]', 'redraw every few seconds until Ctrl-C').argParser(positiveNumber('--watch')))
    .action((o: ConnectionOpts & { filter?: string; sort: string; watch?: number | true }) => {
      if (!Object.hasOwn(QUEUE_SORT_KEYS, o.sort.replace(/^-/, ''))) throw new CliError(EXIT.usage, `--sort must be one of ${Object.keys(QUEUE_SORT_KEYS).join(', ')} (prefix - for descending), got '${o.sort}'`);
      return withClient(o, (api) => stat(api, o));
    });

  withConnectionOptions(queue.command('create').argument('<name>').description('create a queue'))
    .option('--no-durable', 'a queue that does not survive a restart')
    .action((name: string, o: ConnectionOpts & { durable: boolean }) =>
      withClient(o, async (api) => {
        const r = await api.post('/api/v1/queues', { name, durable: o.durable });
        if (o.json) printJson(r);
        else console.log(`created ${name}`);
      }),
    );

  withConnectionOptions(queue.command('delete').argument('<name>').description('delete a queue (refused unless empty and unused, unless --force)'))
    .option('--force', 'delete even with messages or consumers')
    .action((name: string, o: ConnectionOpts & { force?: boolean }) =>
      withClient(o, async (api) => {
        const r = await api.delete(`/api/v1/queues/${seg(name)}`, o.force ? { force: true } : {});
        if (o.json) printJson(r ?? { deleted: name });
        else console.log(`deleted ${name}`);
      }),
    );

  withConnectionOptions(queue.command('purge').argument('<name>').description('remove every message of a queue, or those a selector matches'))
    .option('--selector <selector>', 'only messages matching this selector (docs/selectors.md)')
    .action((name: string, o: ConnectionOpts & { selector?: string }) =>
      withClient(o, async (api) => {
        const r = await api.delete<Record<string, unknown> | undefined>(`/api/v1/queues/${seg(name)}/messages`, { selector: o.selector });
        const job = jobOf(r);
        if (job) return followJob(api, { ...job, action: job.action || 'purge', queue: job.queue || name }, o.json === true);
        if (o.json) printJson(r ?? {});
        else console.log(`purged ${name}${typeof r?.removed === 'number' ? `: ${r.removed} message(s) removed` : ''}`);
        return EXIT.ok;
      }),
    );

  for (const verb of ['pause', 'resume'] as const) {
    withConnectionOptions(queue.command(verb).argument('<name>').description(verb === 'pause' ? 'stop delivering to consumers (sends are still accepted)' : 'deliver again'))
      .action((name: string, o: ConnectionOpts) =>
        withClient(o, async (api) => {
          const r = await api.post(`/api/v1/queues/${seg(name)}/${verb}`);
          if (o.json) printJson(r ?? {});
          else console.log(`${verb === 'pause' ? 'paused' : 'resumed'} ${name}`);
        }),
      );
  }

  const actions = [
    ['move', 'move messages to another queue (--to)'],
    ['copy', 'copy messages to another queue (--to), keeping them'],
    ['retry', 'send dead-lettered or expired messages back to their original destination'],
    ['remove', 'delete messages by id or selector'],
  ] as const;
  for (const [action, description] of actions) {
    const cmd = withConnectionOptions(queue.command(action).argument('<queue>').description(`${description}; runs as a job, followed to its end`));
    if (action === 'move' || action === 'copy') cmd.option('--to <queue>', 'target queue');
    cmd
      .option('--selector <selector>', 'only messages matching this selector')
      .option('--ids <id...>', 'only these message ids')
      .option('--no-wait', 'print the job id and return without following it')
      .action((name: string, o: ActionOpts) => withClient(o, (api) => messageAction(api, action, name, o)));
  }
}
