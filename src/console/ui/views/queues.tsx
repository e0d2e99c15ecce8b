import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError, errorText, query, seg } from '../api.ts';
import type { Page, QueueStats, QueuesEvent } from '../api-types.ts';
import { fmtBytes, fmtNum, Link, Notice, Pager, useCursor } from '../components/common.tsx';
import { useConfirm } from '../components/confirm.tsx';
import { useGet } from '../components/use-get.ts';
import { useEvent } from '../events.ts';

const PAGE = 50;

/** The sortable columns (server-side `?sort=`; `-` for descending). */
const COLUMNS: ReadonlyArray<readonly [keyof QueueStats, string]> = [
  ['name', 'Name'],
  ['messages', 'Messages'],
  ['inDelivery', 'In delivery'],
  ['consumers', 'Consumers'],
  ['enqueued', 'Enqueued'],
  ['acked', 'Acknowledged'],
  ['deadLettered', 'Dead-lettered'],
  ['bytes', 'Bytes'],
];

/** Queues (anycast queues and topic subscriptions): filter, sort and page on the server; live depth from `queues` events. */
export function QueuesView(): JSX.Element {
  const [filter, setFilter] = useState('');
  const [kind, setKind] = useState('');
  const [sort, setSort] = useState('name');
  const pages = useCursor();
  const { cursor } = pages;
  const list = useGet<Page<QueueStats>>(`/queues${query({ filter, kind, sort, limit: PAGE, cursor })}`, 150);
  const page = list.data;
  const setPage = list.setData;
  const [failed, setError] = useState<string | undefined>(undefined);
  const error = failed ?? list.error;
  const [info, setInfo] = useState<string | undefined>(undefined);
  const [dialog, ask] = useConfirm();

  useEvent<QueuesEvent>('queues', (ev) => {
    setPage((p) => {
      if (p === undefined) return p;
      const changed = new Map(ev.changed.map((q) => [q.name, q]));
      const removed = new Set(ev.removed ?? []);
      if (!p.items.some((q) => changed.has(q.name) || removed.has(q.name))) return p;
      return { ...p, items: p.items.filter((q) => !removed.has(q.name)).map((q) => changed.get(q.name) ?? q) };
    });
  });

  const restart = (): void => pages.reset();
  const run = async (what: () => Promise<unknown>, done: string): Promise<void> => {
    try {
      await what();
      setInfo(done);
      setError(undefined);
      list.reload();
    } catch (e) {
      setError(errorText(e));
      setInfo(undefined);
    }
  };
  const remove = async (q: QueueStats): Promise<void> => {
    if (!(await ask({ title: `Delete queue ${q.name}?`, body: <p>Its {fmtNum(q.messages)} messages are deleted with it.</p>, confirm: 'Delete queue' }))) return;
    try {
      await api('DELETE', `/queues/${seg(q.name)}`);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 409)) return void setError(errorText(e));
      if (!(await ask({ title: `Queue ${q.name} is not empty or in use`, body: <p>{e.message}</p>, confirm: 'Delete anyway' }))) return;
      return run(() => api('DELETE', `/queues/${seg(q.name)}?force=true`), `Queue ${q.name} deleted.`);
    }
    setInfo(`Queue ${q.name} deleted.`);
    list.reload();
  };

  return (
    <section aria-labelledby="queues-title">
      <h1 id="queues-title">Queues</h1>
      <CreateQueue onCreated={(name) => void run(async () => undefined, `Queue ${name} created.`)} onError={setError} />
      <div class="toolbar" role="search">
        <label>
          Filter
          <input type="search" placeholder="name contains" value={filter} onInput={(e) => (setFilter(e.currentTarget.value), restart())} />
        </label>
        <label>
          Kind
          <select value={kind} onChange={(e) => (setKind(e.currentTarget.value), restart())}>
            <option value="">all</option>
            <option value="anycast">queues</option>
            <option value="subscription">topic subscriptions</option>
          </select>
        </label>
      </div>
      <Notice error={error} info={info} />
      <table aria-label="Queues">
        <thead>
          <tr>
            {COLUMNS.map(([key, label]) => {
              const dir = sort === key ? 'ascending' : sort === `-${key}` ? 'descending' : undefined;
              return (
                <th key={key} aria-sort={dir ?? 'none'} class={key === 'name' ? '' : 'num'}>
                  <button type="button" class="sort" onClick={() => (setSort(sort === key ? `-${key}` : key), restart())}>
                    {label}
                    {dir === 'ascending' ? ' ▲' : dir === 'descending' ? ' ▼' : ''}
                  </button>
                </th>
              );
            })}
            <th>State</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {page?.items.map((q) => (
            <tr key={q.name}>
              <td>
                <Link href={`/queues/${seg(q.name)}`}>{q.name}</Link>
                {q.kind === 'subscription' && <span class="tag">topic {q.topic}</span>}
                {!q.durable && <span class="tag">non-durable</span>}
              </td>
              <td class="num" data-col="messages">{fmtNum(q.messages)}</td>
              <td class="num">{fmtNum(q.inDelivery)}</td>
              <td class="num">{fmtNum(q.consumers)}</td>
              <td class="num">{fmtNum(q.enqueued)}</td>
              <td class="num">{fmtNum(q.acked)}</td>
              <td class="num">{fmtNum(q.deadLettered)}</td>
              <td class="num">{fmtBytes(q.bytes)}</td>
              <td>{q.paused ? <span class="tag warn">paused</span> : 'active'}</td>
              <td class="row-actions">
                {q.paused ? (
                  <button type="button" aria-label={`Resume ${q.name}`} onClick={() => void run(() => api('POST', `/queues/${seg(q.name)}/resume`), `Queue ${q.name} resumed.`)}>
                    Resume
                  </button>
                ) : (
                  <button type="button" aria-label={`Pause ${q.name}`} onClick={() => void run(() => api('POST', `/queues/${seg(q.name)}/pause`), `Queue ${q.name} paused.`)}>
                    Pause
                  </button>
                )}
                <button type="button" class="danger" aria-label={`Delete ${q.name}`} onClick={() => void remove(q)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
          {page !== undefined && page.items.length === 0 && (
            <tr>
              <td colSpan={COLUMNS.length + 2} class="muted">
                No queues{filter !== '' ? ` matching "${filter}"` : ''}.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <Pager label="Queue pages" pages={pages} next={page?.next} summary={page?.total !== undefined ? `${fmtNum(page.total)} queue${page.total === 1 ? '' : 's'}` : undefined} />
      {dialog}
    </section>
  );
}

function CreateQueue(props: { onCreated: (name: string) => void; onError: (e: string) => void }): JSX.Element {
  const [name, setName] = useState('');
  const [durable, setDurable] = useState(true);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    try {
      await api('POST', '/queues', { name, durable });
      setName('');
      props.onCreated(name);
    } catch (err) {
      props.onError(errorText(err));
    }
  };
  return (
    <form class="toolbar" aria-label="Create queue" onSubmit={(e) => void submit(e)}>
      <label>
        New queue
        <input required value={name} placeholder="orders.in" onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label class="check">
        <input type="checkbox" checked={durable} onChange={(e) => setDurable(e.currentTarget.checked)} />
        Durable
      </label>
      <button type="submit">Create queue</button>
    </form>
  );
}
