import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, errorText, seg } from '../api.ts';
import type { Page, RouteFileProblem, RouteInfo, RoutesEvent } from '../api-types.ts';
import { fmtNum, Link, Notice } from '../components/common.tsx';
import { RouteActions } from '../components/route-actions.tsx';
import { useEvent } from '../events.ts';

/** Deployed routes with state and counters (live from `routes` events), their actions, and Deploy. */
export function RoutesView(): JSX.Element {
  const [routes, setRoutes] = useState<readonly RouteInfo[] | undefined>(undefined);
  const [problems, setProblems] = useState<readonly RouteFileProblem[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);
  const [info, setInfo] = useState<string | undefined>(undefined);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    api<Page<RouteInfo> & { problems?: RouteFileProblem[] }>('GET', '/routes?limit=1000').then(
      (p) => {
        setRoutes(p.items);
        setProblems(p.problems ?? []);
      },
      (e: unknown) => setError(errorText(e)),
    );
  }, [reload]);

  useEvent<RoutesEvent>('routes', (ev) => {
    if (routes === undefined) return;
    // A route deployed elsewhere (another console, the CLI): list again for its from and origin.
    if (ev.routes.some((r) => !routes.some((x) => x.id === r.id))) setReload((n) => n + 1);
    const byId = new Map(ev.routes.map((r) => [r.id, r]));
    setRoutes(
      routes.map((r) => {
        const u = byId.get(r.id);
        return u === undefined ? r : { ...r, state: u.state, stats: u.stats };
      }),
    );
  });

  return (
    <section aria-labelledby="routes-title">
      <header class="row">
        <h1 id="routes-title">Routes</h1>
        <Link href="/routes/new" class="button primary">
          Deploy a route
        </Link>
      </header>
      <Notice error={error} info={info} />
      <table aria-label="Routes">
        <thead>
          <tr>
            <th>Id</th>
            <th>State</th>
            <th>From</th>
            <th class="num">Completed</th>
            <th class="num">Failed</th>
            <th class="num">In flight</th>
            <th class="num">Dead-lettered</th>
            <th class="num">Mean ms</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {routes?.map((r) => (
            <tr key={r.id}>
              <td>
                <Link href={`/routes/${seg(r.id)}`}>{r.id}</Link>
              </td>
              <td>
                <span class={`state ${r.state}`}>{r.state}</span>
                {r.error !== undefined && <span class="error"> {r.error}</span>}
              </td>
              <td>{r.from}</td>
              <td class="num">{fmtNum(r.stats.completed)}</td>
              <td class={`num${r.stats.failed > 0 ? ' error' : ''}`}>{fmtNum(r.stats.failed)}</td>
              <td class="num">{fmtNum(r.stats.inFlight)}</td>
              <td class="num">{fmtNum(r.stats.deadLettered)}</td>
              <td class="num">{fmtNum(r.stats.meanMs)}</td>
              <td>
                <RouteActions
                  id={r.id}
                  state={r.state}
                  labelled
                  onDone={(i, e) => {
                    setInfo(i);
                    setError(e);
                    setReload((n) => n + 1);
                  }}
                />
              </td>
            </tr>
          ))}
          {routes !== undefined && routes.length === 0 && (
            <tr>
              <td colSpan={9} class="muted">
                No routes deployed.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {problems.length > 0 && (
        <section aria-labelledby="problems-title">
          <h2 id="problems-title">Route files that did not deploy</h2>
          <ul class="issues">
            {problems.map((p) => (
              <li key={p.file}>
                <code>{p.file}</code>: {p.error}
              </li>
            ))}
          </ul>
        </section>
      )}
    </section>
  );
}
