import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { API, api, errorText, seg } from '../api.ts';
import type { MessageDetail } from '../api-types.ts';
import { fmtBytes, fmtDest, fmtTime, Notice } from '../components/common.tsx';

/** One message: headers, properties, a preview of its body and a link to download the raw body. */
export function MessageView(props: { queue: string; id: string; onClose: () => void }): JSX.Element {
  const [msg, setMsg] = useState<MessageDetail | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    setMsg(undefined);
    api<MessageDetail>('GET', `/queues/${seg(props.queue)}/messages/${seg(props.id)}`).then(setMsg, (e: unknown) => setError(errorText(e)));
  }, [props.queue, props.id]);

  const headers: Array<[string, string]> = [];
  if (msg !== undefined) {
    const h: Record<string, unknown> = { ...(msg.headers ?? {}) };
    const put = (k: string, v: unknown): void => {
      if (v !== undefined && !(k in h)) h[k] = v;
    };
    put('destination', msg.destination && fmtDest(msg.destination));
    put('originalDestination', msg.originalDestination && fmtDest(msg.originalDestination));
    put('priority', msg.priority);
    put('durable', msg.durable);
    put('timestamp', msg.timestamp);
    put('expiration', msg.expiration);
    put('bodyType', msg.bodyType);
    put('contentType', msg.contentType);
    for (const [k, v] of Object.entries(h)) {
      if (v === undefined) continue;
      const text = (k === 'timestamp' || k === 'expiration' || k === 'deliveryTime') && typeof v === 'number' ? fmtTime(v) : typeof v === 'object' && v !== null && 'name' in v && 'type' in v ? fmtDest(v as { type: string; name: string }) : typeof v === 'string' ? v : JSON.stringify(v);
      headers.push([k, text]);
    }
  }
  const preview = msg?.body?.preview ?? msg?.bodyPreview;
  const encoding = msg?.body?.encoding ?? msg?.bodyEncoding;
  const truncated = msg?.body?.truncated ?? msg?.bodyTruncated;
  const size = msg?.body?.size ?? msg?.bodySize ?? msg?.size;

  return (
    <section class="card message" aria-labelledby="message-title">
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
            Body <span class="muted">({fmtBytes(size)}{encoding !== undefined ? `, ${encoding}` : ''}{truncated ? ', preview truncated' : ''})</span>
          </h3>
          <pre class="body" aria-label="Body preview">{preview ?? ''}</pre>
          <a href={`${API}/queues/${seg(props.queue)}/messages/${seg(props.id)}/body`} download={`${props.id.replace(/[^\w.-]/g, '_')}.bin`}>
            Download body
          </a>
        </>
      )}
    </section>
  );
}
