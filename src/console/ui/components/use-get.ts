import { useEffect, useState } from 'preact/hooks';
import { api, errorText } from '../api.ts';

/**
 * The answer of `GET path`, fetched again when the path changes or on `reload()`; `delay` ms
 * debounce a path that changes while typed (a filter). `setData` lets live events patch it.
 */
export function useGet<T>(path: string, delay = 0): {
  data: T | undefined;
  setData: (f: (d: T | undefined) => T | undefined) => void;
  error: string | undefined;
  reload: () => void;
} {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [n, setN] = useState(0);
  useEffect(() => {
    const t = setTimeout(() => {
      api<T>('GET', path).then(
        (d) => {
          setData(d);
          setError(undefined);
        },
        (e: unknown) => setError(errorText(e)),
      );
    }, delay);
    return () => clearTimeout(t);
  }, [path, n]);
  return { data, setData, error, reload: () => setN((x) => x + 1) };
}
