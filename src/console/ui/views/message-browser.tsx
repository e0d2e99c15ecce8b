import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, errorText, query, seg } from '../api.ts';
import type { Job, MessageSummary, Page } from '../api-types.ts';
import { fmtBytes, fmtDest, fmtTime, Notice, Pager, useCursor } from '../components/common.tsx';
import { useConfirm } from '../components/confirm.tsx';
import { JobProgress } from '../components/job-progress.tsx';
import { MessageView } from './message-view.tsx';

const PAGE = 50;
type Action = 'remove' | 'move' | 'copy' | 'retry';
const ACTIONS: ReadonlyArray<readonly [Action, string]> = [
  ['remove', 'Delete'],
  ['move', 'Move'],
  ['copy', 'Copy'],
  ['retry', 'Retry to origin'],
];

/**
 * Non-destructive browsing of a queue (a selector, cursor pages), one message opened below, and
 * bulk operations on the selected messages or on every message the selector matches, run as a
 * job with progress. A dead-letter queue (`dlq`, or any message carrying an original destination)
 * shows the original destination and offers "Retry to origin" first.
 */
export function MessageBrowser(props: { queue: string; dlq: boolean; refresh: number; onChanged: () => void }): JSX.Element {
  const { queue } = props;
  const [selectorInput, setSelectorInput] = useState('');
  const [selector, setSelector] = useState('');
  const pages = useCursor();
  const { cursor } = pages;
  const [page, setPage] = useState<Page<MessageSummary> | undefined>(undefined);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [open, setOpen] = useState<string | undefined>(undefined);
  const [action, setAction] = useState<Action>(props.dlq ? 'retry' : 'remove');
  const [target, setTarget] = useState('');
  const [job, setJob] = useState<Job | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [reload, setReload] = useState(0);
  const [dialog, ask] = useConfirm();

  useEffect(() => {
    api<Page<MessageSummary>>('GET', `/queues/${seg(queue)}/messages${query({ selector, limit: PAGE, cursor })}`).then(
      (p) => {
        setPage(p);
        setError(undefined);
        setSelected((s) => new Set([...s].filter((id) => p.items.some((m) => m.id === id))));
      },
      (e: unknown) => setError(errorText(e)),
    );
  }, [queue, selector, cursor, reload, props.refresh]);

  const dlq = props.dlq || (page?.items.some((m) => m.originalDestination !== undefined) ?? false);
  useEffect(() => {
    if (dlq) setAction((a) => (a === 'remove' ? 'retry' : a));
  }, [dlq]);

  const start = async (act: Action, scope: 'selected' | 'selector'): Promise<void> => {
    const ids = [...selected];
    const what = scope === 'selected' ? `${ids.length} selected message${ids.length === 1 ? '' : 's'}` : selector === '' ? 'every message of the queue' : `every message matching ${selector}`;
    const label = ACTIONS.find(([a]) => a === act)![1];
    if ((act === 'move' || act === 'copy') && target.trim() === '') return setError(`${label}: enter the target queue or topic.`);
    if (act === 'remove' || scope === 'selector') {
      if (!(await ask({ title: `${label} ${what}?`, body: act === 'remove' ? <p>Deleted messages cannot be restored.</p> : undefined, confirm: label, danger: act === 'remove' }))) return;
    }
    const body: Record<string, unknown> = { action: act };
    if (scope === 'selected') body.ids = ids;
    else if (selector !== '') body.selector = selector;
    if (act === 'move' || act === 'copy') body.target = target.trim();
    try {
      const r = await api<{ job: Job }>('POST', `/queues/${seg(queue)}/messages/actions`, body);
      setJob(r.job);
      setError(undefined);
    } catch (e) {
      setError(errorText(e));
    }
  };

  const toggle = (id: string, on: boolean): void => {
    const s = new Set(selected);
    if (on) s.add(id);
    else s.delete(id);
    setSelected(s);
  };
  const items = page?.items ?? [];
  const allOn = items.length > 0 && items.every((m) => selected.has(m.id));

  return (
    <section aria-labelledby="browser-title">
      <h2 id="browser-title">Messages</h2>
      <form
        class="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          pages.reset();
          setSelector(selectorInput.trim());
        }}
      >
        <label class="grow">
          Selector
          <input value={selectorInput} placeholder="priority > 4 AND region = 'eu'" onInput={(e) => setSelectorInput(e.currentTarget.value)} />
        </label>
        <button type="submit">Apply selector</button>
        <button type="button" onClick={() => setReload((r) => r + 1)}>
          Refresh
        </button>
      </form>
      <div class="toolbar" aria-label="Bulk actions" role="group">
        {dlq && (
          <button type="button" class="primary" disabled={selected.size === 0} onClick={() => void start('retry', 'selected')}>
            Retry selected to origin
          </button>
        )}
        <label>
          Action
          <select value={action} onChange={(e) => setAction(e.currentTarget.value as Action)}>
            {ACTIONS.map(([a, l]) => (
              <option key={a} value={a}>
                {l}
              </option>
            ))}
          </select>
        </label>
        {(action === 'move' || action === 'copy') && (
          <label>
            Target
            <input value={target} placeholder="queue name" onInput={(e) => setTarget(e.currentTarget.value)} />
          </label>
        )}
        <button type="button" disabled={selected.size === 0} onClick={() => void start(action, 'selected')}>
          Apply to selected ({selected.size})
        </button>
        <button type="button" onClick={() => void start(action, 'selector')}>
          Apply to all {selector === '' ? 'messages' : 'matching'}
        </button>
      </div>
      {job !== undefined && (
        <JobProgress
          key={job.id}
          job={job}
          onDone={() => {
            setSelected(new Set());
            setReload((r) => r + 1);
            props.onChanged();
          }}
        />
      )}
      <Notice error={error} />
      <table aria-label="Messages">
        <thead>
          <tr>
            <th>
              <input type="checkbox" aria-label="Select all on this page" checked={allOn} onChange={(e) => setSelected(e.currentTarget.checked ? new Set(items.map((m) => m.id)) : new Set())} />
            </th>
            <th>Id</th>
            {dlq && <th>Original destination</th>}
            <th class="num">Priority</th>
            <th>Timestamp</th>
            <th class="num">Size</th>
            <th>Body</th>
            <th>Properties</th>
            {dlq && <th>Actions</th>}
          </tr>
        </thead>
        <tbody>
          {items.map((m) => (
            <tr key={m.id} class={open === m.id ? 'selected' : ''}>
              <td>
                <input type="checkbox" aria-label={`Select message ${m.id}`} checked={selected.has(m.id)} onChange={(e) => toggle(m.id, e.currentTarget.checked)} />
              </td>
              <td>
                <button type="button" class="link" aria-label={`Open message ${m.id}`} onClick={() => setOpen(m.id)}>
                  {m.id}
                </button>
              </td>
              {dlq && <td>{fmtDest(m.originalDestination)}</td>}
              <td class="num">{m.priority ?? '-'}</td>
              <td>{fmtTime(m.timestamp)}</td>
              <td class="num">{fmtBytes(m.size)}</td>
              <td class="props">
                <code>{m.preview.encoding === 'utf8' ? m.preview.data : '(binary)'}</code>
                {m.preview.truncated ? '…' : ''}
              </td>
              <td class="props">
                {summary(m.properties)}
                {m.propertyCount > Object.keys(m.properties).length ? ` (+${m.propertyCount - Object.keys(m.properties).length})` : ''}
              </td>
              {dlq && (
                <td class="row-actions">
                  <button
                    type="button"
                    disabled={m.originalDestination === undefined}
                    aria-label={`Retry ${m.id} to origin`}
                    onClick={() => void api<{ job: Job }>('POST', `/queues/${seg(queue)}/messages/actions`, { action: 'retry', ids: [m.id] }).then((r) => setJob(r.job), (e: unknown) => setError(errorText(e)))}
                  >
                    Retry
                  </button>
                  <button
                    type="button"
                    class="danger"
                    aria-label={`Delete ${m.id}`}
                    onClick={() => void api<{ job: Job }>('POST', `/queues/${seg(queue)}/messages/actions`, { action: 'remove', ids: [m.id] }).then((r) => setJob(r.job), (e: unknown) => setError(errorText(e)))}
                  >
                    Delete
                  </button>
                </td>
              )}
            </tr>
          ))}
          {page !== undefined && items.length === 0 && (
            <tr>
              <td colSpan={dlq ? 9 : 7} class="muted">
                No messages{selector !== '' ? ' match the selector' : ''}.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <Pager label="Message pages" pages={pages} next={page?.next} />
      {open !== undefined && <MessageView queue={queue} id={open} onClose={() => setOpen(undefined)} />}
      {dialog}
    </section>
  );
}

function summary(p: Readonly<Record<string, unknown>> | undefined): string {
  if (p === undefined) return '';
  const s = Object.entries(p)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
