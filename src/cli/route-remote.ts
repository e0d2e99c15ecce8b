import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ApiClient } from './api-client.ts';
import { CliError, EXIT, clean } from './cli-error.ts';
import { printJson, seg, withClient, withConnectionOptions, type ConnectionOpts } from './options.ts';
import { formatTable, type Column } from './table.ts';

/** A route as `GET /api/v1/routes` lists it (fields read defensively). */
export interface RouteRow {
  id: string;
  state?: string;
  from?: string;
  stats?: Record<string, unknown>;
}

const count = (r: RouteRow, ...keys: string[]): number | undefined => {
  for (const k of keys) {
    const v = r.stats?.[k];
    if (typeof v === 'number') return v;
  }
  return undefined;
};

export const ROUTE_COLUMNS: ReadonlyArray<Column<RouteRow>> = [
  { header: 'id', value: (r) => r.id, align: 'left', max: 60 },
  { header: 'state', value: (r) => r.state, align: 'left' },
  { header: 'from', value: (r) => r.from, align: 'left', max: 60 },
  { header: 'completed', value: (r) => count(r, 'completed', 'exchangesCompleted'), align: 'right' },
  { header: 'failed', value: (r) => count(r, 'failed', 'exchangesFailed'), align: 'right' },
  { header: 'in flight', value: (r) => count(r, 'inFlight', 'exchangesInFlight'), align: 'right' },
];

/** A file argument (rather than a deployed route's id) for `route graph`: it exists, or is named like a route file. */
export function isLocalRouteArg(arg: string): boolean {
  return /\.route\.(json|ts)$/.test(arg) || existsSync(arg);
}

/** The deploy bodies of a route file: each definition of a JSON file, or the TypeScript source as it is. */
export async function deployBodies(file: string): Promise<unknown[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(EXIT.usage, `cannot read ${file}: ${(err as Error).message}`);
  }
  if (file.endsWith('.ts')) return [{ source: text, language: 'ts' }];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CliError(EXIT.usage, `${file} is not valid JSON: ${(err as Error).message}`);
  }
  return (Array.isArray(raw) ? raw : [raw]).map((definition) => ({ definition }));
}

async function deploy(api: ApiClient, file: string, o: ConnectionOpts & { replace?: boolean }): Promise<number> {
  const results: unknown[] = [];
  for (const body of await deployBodies(file)) {
    const id = (body as { definition?: { id?: unknown } }).definition?.id;
    let r: unknown;
    try {
      r = await api.post('/api/v1/routes', body);
    } catch (err) {
      // Already deployed: --replace redeploys it in place (PUT), as a file edit in routes/ does.
      if (!(err instanceof CliError && o.replace && err.api?.code !== undefined && /EXISTS|CONFLICT|409/.test(err.api.code) && typeof id === 'string')) throw err;
      r = await api.put(`/api/v1/routes/${seg(id)}`, body);
    }
    results.push(r);
    if (!o.json) {
      const ids = routeIds(r);
      console.log(`deployed ${ids.length > 0 ? ids.join(', ') : file}`);
    }
  }
  if (o.json) printJson(results.length === 1 ? results[0] : results);
  return EXIT.ok;
}

function routeIds(answer: unknown): string[] {
  const a = answer as { id?: unknown; ids?: unknown; routes?: Array<{ id?: unknown }> } | undefined;
  if (typeof a?.id === 'string') return [a.id];
  if (Array.isArray(a?.ids)) return a.ids.filter((x): x is string => typeof x === 'string');
  if (Array.isArray(a?.routes)) return a.routes.map((r) => r?.id).filter((x): x is string => typeof x === 'string');
  return [];
}

/** Registers the remote route commands (list, deploy, undeploy, suspend, resume, restart, graph ID) on `route`. */
export function registerRemoteRouteCommands(route: Command, localGraph: (file: string) => Promise<number>): void {
  withConnectionOptions(route.command('list').description('the deployed routes with their state and counters'))
    .action((o: ConnectionOpts) =>
      withClient(o, async (api) => {
        const r = await api.get<{ items?: RouteRow[] } | RouteRow[]>('/api/v1/routes');
        const items = Array.isArray(r) ? r : r?.items;
        if (!Array.isArray(items)) throw new CliError(EXIT.failed, 'unexpected answer to GET /api/v1/routes');
        if (o.json) printJson(items);
        else console.log(formatTable(ROUTE_COLUMNS, items));
      }),
    );
  withConnectionOptions(route.command('deploy').argument('<file>').description('deploy the route(s) of a .route.json or .route.ts file on the broker'))
    .option('--replace', 'redeploy a route that is already deployed')
    .action((file: string, o: ConnectionOpts & { replace?: boolean }) => withClient(o, (api) => deploy(api, file, o)));
  withConnectionOptions(route.command('undeploy').argument('<id>').description('stop and remove a deployed route'))
    // The API drains by default (as undeploy always did); --no-drain hands in-flight exchanges back at once.
    .option('--no-drain', 'do not wait for the exchanges in flight: hand them back to the broker at once')
    .action((id: string, o: ConnectionOpts & { drain: boolean }) =>
      withClient(o, async (api) => {
        const r = await api.delete(`/api/v1/routes/${seg(id)}`, { drain: o.drain });
        if (o.json) printJson(r ?? { undeployed: id });
        else console.log(`undeployed ${id}`);
      }),
    );
  for (const verb of ['suspend', 'resume', 'restart'] as const) {
    withConnectionOptions(route.command(verb).argument('<id>').description(`${verb} a deployed route`))
      .action((id: string, o: ConnectionOpts) =>
        withClient(o, async (api) => {
          const r = await api.post(`/api/v1/routes/${seg(id)}/${verb}`);
          if (o.json) printJson(r ?? {});
          else console.log(`${verb === 'suspend' ? 'suspended' : verb === 'resume' ? 'resumed' : 'restarted'} ${id}`);
        }),
      );
  }
  withConnectionOptions(route.command('graph').argument('<id-or-file>').description("a deployed route's graph as Mermaid text (--json: the model with step counters); a route FILE: its routes as Mermaid, offline"))
    .action(async (arg: string, o: ConnectionOpts) => {
      if (isLocalRouteArg(arg)) {
        process.exitCode = await localGraph(arg);
        return;
      }
      await withClient(o, async (api) => {
        const g = await api.get<{ model?: unknown; steps?: unknown; mermaid?: string }>(`/api/v1/routes/${seg(arg)}/graph`);
        if (o.json) printJson({ model: g?.model, steps: g?.steps });
        else if (typeof g?.mermaid === 'string') console.log(g.mermaid.split('\n').map((l) => clean(l, 10_000)).join('\n'));
        else throw new CliError(EXIT.failed, 'the server sent no Mermaid text');
      });
    });
}
