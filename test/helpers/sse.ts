/** One Server-Sent Event as an EventSource would dispatch it. */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/**
 * Reads a `text/event-stream` response the way the WHATWG EventSource does (fields `event`, `data`
 * (lines joined by \n), `id`, `retry`; `:` comments ignored; a blank line dispatches; CR, LF and CRLF
 * line ends), so tests see exactly what a browser would. Comments and `retry` are kept in `comments`
 * / `retry` to check the heartbeat and the reconnection delay.
 */
export class SseReader {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  retry: number | undefined;
  ended = false;
  private buffer = '';
  private current: { event?: string; data: string[]; id?: string } = { data: [] };
  private waiters: Array<() => void> = [];
  private readonly done: Promise<void>;
  private readonly controller: AbortController;

  constructor(res: Response, controller: AbortController) {
    this.controller = controller;
    this.done = this.pump(res);
  }

  private async pump(res: Response): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) this.feed(decoder.decode(chunk, { stream: true }));
    } catch {
      // Aborted by close(), or the server dropped the stream.
    }
    this.ended = true;
    this.wake();
  }

  private feed(text: string): void {
    this.buffer += text;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      // A lone CR at the end may be the first half of CRLF: wait for more.
      if (m[0] === '\r' && m.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      this.line(line);
    }
    this.wake();
  }

  private line(line: string): void {
    if (line === '') {
      if (this.current.data.length > 0) this.events.push({ event: this.current.event ?? 'message', data: this.current.data.join('\n'), ...(this.current.id !== undefined ? { id: this.current.id } : {}) });
      this.current = { data: [] };
      return;
    }
    if (line.startsWith(':')) {
      this.comments.push(line.slice(1).trim());
      return;
    }
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.current.event = value;
    else if (field === 'data') this.current.data.push(value);
    else if (field === 'id') this.current.id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves with the first event (from the start) that `pred` accepts; rejects after `timeoutMs` or at the end of the stream. */
  async waitFor(pred: (e: SseEvent) => boolean, timeoutMs = 10_000, from = 0): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(from).find(pred);
      if (found) return found;
      if (this.ended) throw new Error(`stream ended without the event (saw: ${this.events.map((e) => e.event).join(', ')})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no such event within ${timeoutMs} ms (saw: ${this.events.map((e) => e.event).join(', ')})`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => (clearTimeout(t), r()));
      });
    }
  }

  /** Resolves once the server has ended the stream. */
  async waitEnd(timeoutMs = 10_000): Promise<void> {
    await Promise.race([this.done, new Promise((_, reject) => setTimeout(() => reject(new Error('stream did not end')), timeoutMs).unref())]);
  }

  close(): void {
    this.controller.abort();
  }
}

/** Opens an event stream with fetch; rejects unless the answer is 200 text/event-stream. */
export async function openEvents(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  if (res.status !== 200 || !res.headers.get('content-type')?.startsWith('text/event-stream')) {
    const body = await res.text();
    throw Object.assign(new Error(`event stream refused: ${res.status} ${body}`), { status: res.status, body });
  }
  return new SseReader(res, controller);
}
