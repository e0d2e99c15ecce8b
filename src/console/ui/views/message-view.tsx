import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { API, api, errorText, seg } from '../api.ts';
import type { MessageDetail } from '../api-types.ts';
import { fmtBytes, fmtDest, fmtTime, Notice } from '../components/common.tsx';

/** One message: headers, properties, a preview of its body and a link to download the raw body. */
export function MessageView(props: { queue: string; id: string; onClose: () => void }): JSX.Element {
  const [msg, setMsg] = useState<MessageDetail | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const ref = useRef<HTMLElement>(null);
  useEffect(() => {
    if (msg !== undefined) ref.current?.scrollIntoView({ block: 'nearest' });
  }, [msg]);
  useEffect(() => {
    setMsg(undefined);
    api<MessageDetail>('GET', `/queues/${seg(props.queue)}/messages/${seg(props.id)}`).then(setMsg, (e: unknown) => setError(errorText(e)));
  }, [props.queue, props.id]);

  const headers: Array<[string, string]> = [];
  if (msg !== undefined) {
    const { properties: _p, body: _b, ...h } = msg;
    for (const [k, v] of Object.entries(h)) {
      if (v === undefined) continue;
      const text = (k === 'timestamp' || k === 'expiration' || k === 'deliveryTime') && typeof v === 'number' ? fmtTime(v) : typeof v === 'object' && v !== null && 'name' in v ? fmtDest(v as { type: string; name: string }) : String(v);
      headers.push([k, text]);
    }
  }

  return (
    <section ref={ref} class="card message" aria-labelledby="message-title">
      <header class="row">
        <h2 id="message-title">Message {props.id}</h2>
        <button type="button" onClick={props.onClose}>
          Close message
        </button>
      </header>
      <Notice error={error} />
      {msg !== undefined && (
        <>
          <div class="two">
            <table aria-label="Headers">
              <caption>Headers</caption>
              <tbody>
                {headers.map(([k, v]) => (
                  <tr key={k}>
                    <th scope="row">{k}</th>
                    <td>{v}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <table aria-label="Properties">
              <caption>Properties</caption>
              <tbody>
                {Object.entries(msg.properties ?? {}).map(([k, v]) => (
                  <tr key={k}>
                    <th scope="row">{k}</th>
                    <td>{v === null ? 'null' : String(v)}</td>
                  </tr>
                ))}
                {Object.keys(msg.properties ?? {}).length === 0 && (
                  <tr>
                    <td class="muted">none</td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          <h3>
            Body <span class="muted">({fmtBytes(msg.bodySize)}{msg.body.encoding === 'base64' ? ', binary: shown as base64' : ''}{msg.body.truncated ? ', preview truncated' : ''})</span>
          </h3>
          <pre class="body" aria-label="Body preview">{msg.body.data}</pre>
          <a href={`${API}/queues/${seg(props.queue)}/messages/${seg(props.id)}/body`} download={`${props.id.replace(/[^\w.-]/g, '_')}.bin`}>
            Download body
          </a>
        </>
      )}
    </section>
  );
}
