import { useEffect, useRef } from 'preact/hooks';
import { API } from './api.ts';

/**
 * The broker's live stream (`GET /api/v1/events`, Server-Sent Events): one EventSource for the
 * whole console, shared by every view that listens, opened after login and closed at logout. The
 * browser reconnects by itself (SSE's `retry`), so a broker restart only pauses the live views.
 */
type Handler = (data: unknown) => void;

const EVENTS = ['stats', 'queues', 'routes', 'connection'] as const;
export type EventName = (typeof EVENTS)[number];

let source: EventSource | undefined;
const handlers = new Map<EventName, Set<Handler>>();

export function openEvents(): void {
  if (source !== undefined) return;
  source = new EventSource(`${API}/events?topics=stats,queues,routes,connections`, { withCredentials: true });
  for (const name of EVENTS) {
    source.addEventListener(name, (ev) => {
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

export function closeEvents(): void {
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
