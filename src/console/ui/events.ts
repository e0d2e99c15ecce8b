import { useEffect, useRef } from 'preact/hooks';
import { API, api, ApiError } from './api.ts';

/**
 * The broker's live stream (`GET /api/v1/events`, Server-Sent Events): one EventSource for the
 * whole console, shared by every view that listens, opened after login and closed at logout. The
 * browser reconnects by itself (SSE's `retry`), so a broker restart only pauses the live views.
 */
type Handler = (data: unknown) => void;

const EVENTS = ['stats', 'queues', 'routes', 'connection'] as const;
export type EventName = (typeof EVENTS)[number];

/**
 * The topics asked for, most first: a user who may not view routes or connections
 * (`view` on `$sys.mgmt.routes` / `.connections`) is refused the whole stream (403), and a refused
 * EventSource closes for good, so the console asks again with fewer.
 */
const TOPIC_SETS = ['stats,queues,routes,connections', 'stats,queues,routes', 'stats,queues,connections', 'stats,queues', 'stats'];

let source: EventSource | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;
const handlers = new Map<EventName, Set<Handler>>();

function open(set: number): void {
  const es = new EventSource(`${API}/events?topics=${TOPIC_SETS[set]}`, { withCredentials: true });
  source = es;
  let opened = false;
  es.onopen = () => {
    opened = true;
  };
  es.onerror = () => {
    // A network error while open: the browser reconnects by itself (readyState CONNECTING).
    if (es.readyState !== EventSource.CLOSED || source !== es) return;
    // Refused before it ever opened: fewer topics. Closed after it was open (the session ended,
    // the broker restarted): again in a while, after a request that shows the login if the
    // session is gone (its 401 closes the events).
    if (!opened) {
      if (set + 1 < TOPIC_SETS.length) open(set + 1);
      return;
    }
    const retry = (): void => {
      timer = setTimeout(() => {
        api('GET', '/overview').then(
          () => {
            if (source === es) open(set);
          },
          (err: unknown) => {
            if (source === es && !(err instanceof ApiError && (err.status === 401 || err.status === 403))) retry();
          },
        );
      }, 5000);
    };
    retry();
  };
  for (const name of EVENTS) {
    es.addEventListener(name, (ev) => {
      let data: unknown;
      try {
        data = JSON.parse((ev as MessageEvent<string>).data);
      } catch {
        return;
      }
      for (const h of handlers.get(name) ?? []) h(data);
    });
  }
}

export function openEvents(): void {
  if (source === undefined) open(0);
}

export function closeEvents(): void {
  clearTimeout(timer);
  source?.close();
  source = undefined;
}

/** Calls `handler` with each `name` event while the component is mounted (the latest handler, without resubscribing). */
export function useEvent<T>(name: EventName, handler: (data: T) => void): void {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => {
    const h: Handler = (d) => ref.current(d as T);
    let set = handlers.get(name);
    if (set === undefined) handlers.set(name, (set = new Set()));
    set.add(h);
    return () => {
      set.delete(h);
    };
  }, [name]);
}
