import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, errorText, query, seg } from '../api.ts';
import type { Connection, ConnectionDetail, Page } from '../api-types.ts';
import { fmtBytes, fmtTime, Notice, Pager, useCursor } from '../components/common.tsx';
import { useConfirm } from '../components/confirm.tsx';
import { useGet } from '../components/use-get.ts';
import { useEvent } from '../events.ts';

const PAGE = 100;

/** Client connections of every protocol: filter, subscriptions, byte counts, close one (with the protocol's own close). */
export function ConnectionsView(): JSX.Element {
  const [protocol, setProtocol] = useState('');
  const [user, setUser] = useState('');
  const [clientId, setClientId] = useState('');
  const pages = useCursor();
  const { cursor } = pages;
  const list = useGet<Page<Connection>>(`/connections${query({ protocol, user, clientId, limit: PAGE, cursor })}`, 150);
  const page = list.data;
  const [failed, setError] = useState<string | undefined>(undefined);
  const error = failed ?? list.error;
  const [info, setInfo] = useState<string | undefined>(undefined);
  const [dialog, ask] = useConfirm();
  const [open, setOpen] = useState<ConnectionDetail | undefined>(undefined);
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  // Connection events only say something changed: reload at most once a second.
  useEvent('connection', () => {
    if (pending.current !== undefined) return;
    pending.current = setTimeout(() => {
      pending.current = undefined;
      list.reload();
    }, 1000);
  });
  useEffect(() => () => clearTimeout(pending.current), []);

  const details = async (c: Connection): Promise<void> => {
    if (open?.id === c.id) return setOpen(undefined);
    try {
      setOpen(await api<ConnectionDetail>('GET', `/connections/${seg(c.id)}`));
    } catch (e) {
      setError(errorText(e));
    }
  };
  const restart = (): void => pages.reset();
  const close = async (c: Connection): Promise<void> => {
    const who = `${c.protocol} connection ${c.id}${c.clientId ? ` (${c.clientId})` : ''}`;
    if (!(await ask({ title: `Close ${who}?`, body: <p>The client is disconnected with the protocol's own close; it may reconnect.</p>, confirm: 'Close connection' }))) return;
    try {
      await api('DELETE', `/connections/${seg(c.id)}?reason=${encodeURIComponent('closed from the web console')}`);
      setInfo(`Closed ${who}.`);
      list.reload();
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <section aria-labelledby="connections-title">
      <h1 id="connections-title">Connections</h1>
      <div class="toolbar" role="search">
        <label>
          Protocol
          <select value={protocol} onChange={(e) => (setProtocol(e.currentTarget.value), restart())}>
            <option value="">all</option>
            <option value="stomp">STOMP</option>
            <option value="mqtt">MQTT</option>
            <option value="amqp">AMQP</option>
          </select>
        </label>
        <label>
          User
          <input value={user} onInput={(e) => (setUser(e.currentTarget.value), restart())} />
        </label>
        <label>
          Client id
          <input value={clientId} onInput={(e) => (setClientId(e.currentTarget.value), restart())} />
        </label>
      </div>
      <Notice error={error} info={info} />
      <table aria-label="Connections">
        <thead>
          <tr>
            <th class="num">Id</th>
            <th>Protocol</th>
            <th>Remote</th>
            <th>User</th>
            <th>Client id</th>
            <th>Connected</th>
            <th class="num">In</th>
            <th class="num">Out</th>
            <th class="num">Subscriptions</th>
            <th class="num">Producers</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {page?.items.map((c) => [
            <tr key={c.id}>
              <td class="num">{c.id}</td>
              <td>
                {c.protocol} {c.version ?? ''} <span class="muted">{c.transport}{c.tls ? '+tls' : ''}</span>
              </td>
              <td>{c.remoteAddress}</td>
              <td>{c.user ?? <span class="muted">-</span>}</td>
              <td>{c.clientId ?? <span class="muted">-</span>}</td>
              <td>{fmtTime(c.connectedAt)}</td>
              <td class="num">{fmtBytes(c.bytesIn)}</td>
              <td class="num">{fmtBytes(c.bytesOut)}</td>
              <td class="num">{c.subscriptionCount}</td>
              <td class="num">{c.producerCount}</td>
              <td class="row-actions">
                <button type="button" aria-expanded={open?.id === c.id} aria-label={`Details of connection ${c.id}`} onClick={() => void details(c)}>
                  Details
                </button>
                <button type="button" class="danger" aria-label={`Close connection ${c.id}`} onClick={() => void close(c)}>
                  Close
                </button>
              </td>
            </tr>,
            open?.id === c.id && (
              <tr key={`${c.id}-details`} class="details">
                <td colSpan={11}>
                  <ConnectionDetails c={open} />
                </td>
              </tr>
            ),
          ])}
          {page !== undefined && page.items.length === 0 && (
            <tr>
              <td colSpan={11} class="muted">
                No connections.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <Pager label="Connection pages" pages={pages} next={page?.next} />
      {dialog}
    </section>
  );
}

/** A connection's subscriptions (consumers) and the addresses it declared it sends to. */
function ConnectionDetails(props: { c: ConnectionDetail }): JSX.Element {
  const { c } = props;
  return (
    <div>
      <table aria-label={`Subscriptions of connection ${c.id}`}>
        <thead>
          <tr>
            <th>Subscription</th>
            <th>Destination</th>
            <th>Queue</th>
            <th>Selector</th>
            <th class="num">Unacked</th>
          </tr>
        </thead>
        <tbody>
          {c.subscriptions.map((s) => (
            <tr key={s.id}>
              <td>{s.id}</td>
              <td>{s.destination}</td>
              <td>{s.queue ?? '-'}</td>
              <td>{s.selector ?? ''}</td>
              <td class="num">{s.unacked ?? '-'}</td>
            </tr>
          ))}
          {c.subscriptions.length === 0 && (
            <tr>
              <td colSpan={5} class="muted">
                No subscriptions.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {c.producers.length > 0 && <p>Sends to: {c.producers.join(', ')}</p>}
    </div>
  );
}
