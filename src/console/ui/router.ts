import { useEffect, useState } from 'preact/hooks';

/**
 * A few lines of client-side routing over the History API: the HTTP server answers every console
 * path with index.html (SPA fallback), so `/queues/orders` can be bookmarked and reloaded.
 */
const listeners = new Set<(p: string) => void>();

export function navigate(to: string): void {
  if (to === location.pathname + location.search) return;
  history.pushState(null, '', to);
  for (const l of listeners) l(to);
}

window.addEventListener('popstate', () => {
  for (const l of listeners) l(location.pathname + location.search);
});

/** The current path (with its query), re-rendering on navigation. */
export function usePath(): string {
  const [path, setPath] = useState(location.pathname + location.search);
  useEffect(() => {
    listeners.add(setPath);
    return () => {
      listeners.delete(setPath);
    };
  }, []);
  return path;
}

/** Matches `/queues/:name` style patterns; returns the decoded parameters, or undefined. */
export function match(pattern: string, path: string): Record<string, string> | undefined {
  const p = pattern.split('/');
  const s = path.split('?')[0]!.split('/');
  if (p.length !== s.length) return undefined;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const want = p[i]!;
    const got = s[i]!;
    if (want.startsWith(':')) {
      if (got === '') return undefined;
      try {
        out[want.slice(1)] = decodeURIComponent(got);
      } catch {
        return undefined;
      }
    } else if (want !== got) return undefined;
  }
  return out;
}
