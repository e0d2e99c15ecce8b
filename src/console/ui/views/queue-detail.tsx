import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, errorText, query, seg } from '../api.ts';
import type { Job, QueueDetail, QueueStats, QueuesEvent } from '../api-types.ts';
import { JobProgress } from '../components/job-progress.tsx';
import { fmtBytes, fmtNum, Link, Notice, StatCards } from '../components/common.tsx';
import { useConfirm } from '../components/confirm.tsx';
import { useEvent } from '../events.ts';
import { navigate } from '../router.ts';
import { MessageBrowser } from './message-browser.tsx';

/** `DLQ`, `orders.DLQ`, `dlq.orders`, `DLQ.orders`: the names Artemis and ActiveMQ give dead-letter addresses. */
const DLQ_NAME = /(^|[._-])(dlq|dead[._-]?letter)([._-]|$)/i;

/** One queue: live statistics, pause/resume, purge, delete, send a test message, and its messages. */
export function QueueDetailView(props: { name: string }): JSX.Element {
  const { name } = props;
  const [stats, setStats] = useState<QueueStats | QueueDetail | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [info, setInfo] = useState<string | undefined>(undefined);
  const [refresh, setRefresh] = useState(0);
  const [job, setJob] = useState<Job | undefined>(undefined);
  const [dialog, ask] = useConfirm();

  useEffect(() => {
    api<QueueDetail>('GET', `/queues/${seg(name)}`).then(
      (q) => setStats(q),
      (e: unknown) => setError(errorText(e)),
    );
  }, [name, refresh]);
  useEvent<QueuesEvent>('queues', (ev) => {
    const q = ev.changed.find((c) => c.name === name);
    if (q !== undefined) setStats((cur) => ({ ...cur, ...q }));
  });

  const run = async (what: () => Promise<unknown>, done: string): Promise<void> => {
    try {
      await what();
      setInfo(done);
      setError(undefined);
      setRefresh((r) => r + 1);
    } catch (e) {
      setError(errorText(e));
      setInfo(undefined);
    }
  };
  const purge = async (): Promise<void> => {
    if (!(await ask({ title: `Purge ${name}?`, body: <p>Every message not in delivery is deleted.</p>, confirm: 'Purge queue' }))) return;
    try {
      // A small queue is purged before the answer; a large one as a job (202).
      const r = await api<{ removed: number; skipped: number } | { job: Job }>('DELETE', `/queues/${seg(name)}/messages`);
      if ('job' in r) setJob(r.job);
      else setInfo(`Queue ${name} purged: ${fmtNum(r.removed)} removed${r.skipped > 0 ? `, ${fmtNum(r.skipped)} in delivery kept` : ''}.`);
      setError(undefined);
      setRefresh((n) => n + 1);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const remove = async (): Promise<void> => {
    if (!(await ask({ title: `Delete queue ${name}?`, confirm: 'Delete queue' }))) return;
    try {
      await api('DELETE', `/queues/${seg(name)}${query({ force: (stats?.messages ?? 0) > 0 || (stats?.consumers ?? 0) > 0 ? true : undefined })}`);
      navigate('/queues');
    } catch (e) {
      setError(errorText(e));
    }
  };

  const dlq = DLQ_NAME.test(name);
  return (
    <section aria-labelledby="queue-title">
      <p class="crumbs">
        <Link href="/queues">Queues</Link> /
      </p>
      <header class="row">
        <h1 id="queue-title">
          {name} {dlq && <span class="tag warn">dead-letter queue</span>} {stats?.paused && <span class="tag warn">paused</span>}
        </h1>
        <div class="actions">
          {stats?.paused ? (
            <button type="button" onClick={() => void run(() => api('POST', `/queues/${seg(name)}/resume`), 'Delivery resumed.')}>
              Resume
            </button>
          ) : (
            <button type="button" onClick={() => void run(() => api('POST', `/queues/${seg(name)}/pause`), 'Delivery paused.')}>
              Pause
            </button>
          )}
          <button type="button" class="danger" onClick={() => void purge()}>
            Purge
          </button>
          <button type="button" class="danger" onClick={() => void remove()}>
            Delete queue
          </button>
        </div>
      </header>
      <Notice error={error} info={info} />
      {job !== undefined && <JobProgress key={job.id} job={job} onDone={() => setRefresh((n) => n + 1)} />}
      {stats !== undefined && (
        <StatCards
          label="Queue statistics"
          items={[
              ['Messages', fmtNum(stats.messages)],
              ['In delivery', fmtNum(stats.inDelivery)],
              ['Paged', fmtNum(stats.paged)],
              ['Scheduled', fmtNum(stats.scheduled)],
              ['Consumers', fmtNum(stats.consumers)],
              ['Enqueued', fmtNum(stats.enqueued)],
              ['Acknowledged', fmtNum(stats.acked)],
              ['Expired', fmtNum(stats.expired)],
              ['Dead-lettered', fmtNum(stats.deadLettered)],
              ['Bytes', fmtBytes(stats.bytes)],
          ]}
        />
      )}
      <SendMessage queue={name} topic={stats?.kind === 'subscription' ? stats.topic : undefined} onSent={() => void run(async () => undefined, 'Test message sent.')} onError={setError} />
      <MessageBrowser queue={name} dlq={dlq} refresh={refresh} onChanged={() => setRefresh((r) => r + 1)} />
      {dialog}
    </section>
  );
}

/** Sends a test message to the queue (or, for a subscription, its topic): `POST /messages`. */
function SendMessage(props: { queue: string; topic: string | undefined; onSent: () => void; onError: (e: string) => void }): JSX.Element {
  const [body, setBody] = useState('');
  const [props_, setProps] = useState('');
  const [priority, setPriority] = useState(4);
  const [durable, setDurable] = useState(true);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    let properties: Record<string, unknown> | undefined;
    if (props_.trim() !== '') {
      try {
        properties = JSON.parse(props_) as Record<string, unknown>;
      } catch {
        return props.onError('Properties: enter a JSON object, e.g. {"region": "eu"}.');
      }
    }
    const address = props.topic ?? props.queue;
    try {
      await api('POST', '/messages', { address, type: props.topic === undefined ? 'queue' : 'topic', body, bodyEncoding: 'utf8', properties, priority, durable });
      props.onSent();
    } catch (err) {
      props.onError(errorText(err));
    }
  };
  return (
    <details class="card">
      <summary>Send a test message{props.topic !== undefined ? ` to topic ${props.topic}` : ''}</summary>
      <form class="send" aria-label="Send a test message" onSubmit={(e) => void submit(e)}>
        <label>
          Message body
          <textarea rows={4} value={body} onInput={(e) => setBody(e.currentTarget.value)} />
        </label>
        <label>
          Properties (JSON)
          <input value={props_} placeholder='{"region": "eu"}' onInput={(e) => setProps(e.currentTarget.value)} />
        </label>
        <div class="toolbar">
          <label>
            Priority
            <input type="number" min={0} max={9} value={priority} onInput={(e) => setPriority(Number(e.currentTarget.value))} />
          </label>
          <label class="check">
            <input type="checkbox" checked={durable} onChange={(e) => setDurable(e.currentTarget.checked)} />
            Persistent
          </label>
          <button type="submit" class="primary">
            Send message
          </button>
        </div>
      </form>
    </details>
  );
}
