import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, errorText, seg } from '../api.ts';
import type { Page, Subscription } from '../api-types.ts';
import { fmtNum, Link, Notice } from '../components/common.tsx';
import { useConfirm } from '../components/confirm.tsx';
import { useGet } from '../components/use-get.ts';

/** Durable topic subscriptions (JMS durable subscribers, MQTT persistent sessions' subscriptions): list, delete. */
export function SubscriptionsView(): JSX.Element {
  const list = useGet<Page<Subscription>>('/subscriptions?limit=1000');
  const items = list.data?.items;
  const [failed, setError] = useState<string | undefined>(undefined);
  const error = failed ?? list.error;
  const [info, setInfo] = useState<string | undefined>(undefined);
  const [dialog, ask] = useConfirm();

  const remove = async (s: Subscription): Promise<void> => {
    if (!(await ask({ title: `Delete subscription ${s.name}?`, body: <p>Its stored messages are deleted; a consumer attached to it is closed.</p>, confirm: 'Delete subscription' }))) return;
    try {
      await api('DELETE', `/subscriptions/${seg(s.name)}`);
      setInfo(`Subscription ${s.name} deleted.`);
      list.reload();
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <section aria-labelledby="subs-title">
      <h1 id="subs-title">Durable subscriptions</h1>
      <Notice error={error} info={info} />
      <table aria-label="Durable subscriptions">
        <thead>
          <tr>
            <th>Queue</th>
            <th>Topic</th>
            <th>Client id</th>
            <th>Subscription</th>
            <th>Selector</th>
            <th class="num">Messages</th>
            <th class="num">Consumers</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {items?.map((s) => (
            <tr key={s.name}>
              <td>
                <Link href={`/queues/${seg(s.name)}`}>{s.name}</Link>
              </td>
              <td>{s.topic}</td>
              <td>{s.clientId ?? '-'}</td>
              <td>
                {s.subscriptionName ?? '-'}
                {s.shared && <span class="tag">shared</span>}
              </td>
              <td>{s.selector ?? ''}</td>
              <td class="num">{fmtNum(s.messages)}</td>
              <td class="num">{fmtNum(s.consumers)}</td>
              <td>
                <button type="button" class="danger" aria-label={`Delete subscription ${s.name}`} onClick={() => void remove(s)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
          {items !== undefined && items.length === 0 && (
            <tr>
              <td colSpan={8} class="muted">
                No durable subscriptions.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {dialog}
    </section>
  );
}
