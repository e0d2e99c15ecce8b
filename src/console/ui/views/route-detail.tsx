import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, errorText, seg } from '../api.ts';
import type { RouteGraph as Graph, RouteInfo, RoutesEvent, StepStats } from '../api-types.ts';
import { fmtNum, Link, Notice, StatCards } from '../components/common.tsx';
import { RouteActions } from '../components/route-actions.tsx';
import { nodeText, RouteGraph } from '../components/route-graph.tsx';
import { useEvent } from '../events.ts';
import { navigate } from '../router.ts';

/** One route: state, counters, actions, and its live graph (model once, step counters from `routes` events). */
export function RouteDetailView(props: { id: string }): JSX.Element {
  const { id } = props;
  const [route, setRoute] = useState<RouteInfo | undefined>(undefined);
  const [graph, setGraph] = useState<Graph | undefined>(undefined);
  const [steps, setSteps] = useState<ReadonlyMap<string, StepStats>>(new Map());
  const [rising, setRising] = useState<ReadonlySet<string>>(new Set());
  const [error, setError] = useState<string | undefined>(undefined);
  const [info, setInfo] = useState<string | undefined>(undefined);
  const [reload, setReload] = useState(0);
  const lastFailed = useRef(new Map<string, number>());

  const update = (list: readonly StepStats[]): void => {
    const up = new Set<string>();
    for (const s of list) {
      const before = lastFailed.current.get(s.id);
      if (before !== undefined && s.failed > before) up.add(s.id);
      lastFailed.current.set(s.id, s.failed);
    }
    setRising(up);
    setSteps(new Map(list.map((s) => [s.id, s])));
  };

  useEffect(() => {
    api<RouteInfo | { route: RouteInfo }>('GET', `/routes/${seg(id)}`).then(
      (r) => setRoute('route' in r ? r.route : r),
      (e: unknown) => setError(errorText(e)),
    );
    api<Graph>('GET', `/routes/${seg(id)}/graph`).then(
      (g) => {
        setGraph(g);
        update(g.steps);
      },
      (e: unknown) => setError(errorText(e)),
    );
  }, [id, reload]);

  useEvent<RoutesEvent>('routes', (ev) => {
    const r = ev.routes.find((x) => x.id === id);
    if (r === undefined) return;
    setRoute((cur) => (cur === undefined ? cur : { ...cur, state: r.state, stats: r.stats }));
    // New step ids: the route was redeployed with another definition; fetch its model again.
    if (graph !== undefined && r.steps.some((s) => !graph.model.nodes.some((n) => n.id === s.id))) setReload((n) => n + 1);
    update(r.steps);
  });

  const ordered = graph?.model.nodes ?? [];
  return (
    <section aria-labelledby="route-title">
      <p class="crumbs">
        <Link href="/routes">Routes</Link> /
      </p>
      <header class="row">
        <h1 id="route-title">
          Route {id} {route !== undefined && <span class={`state ${route.state}`}>{route.state}</span>}
        </h1>
        <div class="actions">
          {route !== undefined && (
            <RouteActions
              id={id}
              state={route.state}
              onDone={(i, e) => {
                setInfo(i);
                setError(e);
                if (i?.includes('undeployed')) navigate('/routes');
                else setReload((n) => n + 1);
              }}
            />
          )}
          <Link href={`/routes/${seg(id)}/edit`} class="button">
            Edit
          </Link>
        </div>
      </header>
      {route !== undefined && (
        <p class="muted">
          From <code>{route.from}</code>, version {route.version ?? 1}, deployed from {route.origin ?? 'api'}
        </p>
      )}
      <Notice error={error ?? route?.error} info={info} />
      {route !== undefined && (
        <StatCards
          label="Route statistics"
          items={[
              ['Completed', fmtNum(route.stats.completed)],
              ['Failed', fmtNum(route.stats.failed)],
              ['In flight', fmtNum(route.stats.inFlight)],
              ['Dead-lettered', fmtNum(route.stats.deadLettered)],
              ['Redeliveries', fmtNum(route.stats.redeliveries)],
              ['Mean ms', fmtNum(route.stats.meanMs)],
              ['Max ms', fmtNum(route.stats.maxMs)],
          ]}
        />
      )}
      {graph !== undefined && <RouteGraph title={`Graph of route ${id}`} model={graph.model} steps={steps} rising={rising} />}
      {graph !== undefined && (
        <table aria-label="Step counters">
          <thead>
            <tr>
              <th>Step</th>
              <th>Kind</th>
              <th>Label</th>
              <th class="num">Entered</th>
              <th class="num">Completed</th>
              <th class="num">Failed</th>
              <th class="num">In flight</th>
            </tr>
          </thead>
          <tbody>
            {ordered.map((n) => {
              const s = steps.get(n.id);
              return (
                <tr key={n.id} class={s !== undefined && s.failed > 0 ? 'failing' : ''}>
                  <td>{n.path}</td>
                  <td>{n.kind}</td>
                  <td>{nodeText(n)}</td>
                  <td class="num">{fmtNum(s?.entered)}</td>
                  <td class="num">{fmtNum(s?.completed)}</td>
                  <td class="num">{fmtNum(s?.failed)}</td>
                  <td class="num">{fmtNum(s?.inFlight)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
