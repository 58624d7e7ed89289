import { useLayoutEffect, useState } from 'preact/hooks';
import { useLive } from './live.js';

export const API = '/ui/api/v1';

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(`${API}/${path}`, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  const body = (await res.json().catch(() => ({}))) as { error?: string };
  if (!res.ok) throw new ApiError(res.status, body.error ?? `${res.status} ${res.statusText}`);
  return body as T;
}

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
}

/**
 * Fetches `path` (relative to the API) and again whenever it changes or the database does
 * (unless paused). Old data stays on screen while new data loads. Requests are never aborted:
 * a late answer for an old path is dropped instead. The request goes out as soon as the page's
 * DOM is committed, not after the first paint as useEffect would wait (under load, the runs
 * page's requests left ~150 ms later that way).
 */
export function useApi<T>(path: string | undefined): Loaded<T> {
  const { version } = useLive();
  const [state, setState] = useState<Loaded<T> & { path?: string }>({ data: undefined, error: undefined, loading: true });
  useLayoutEffect(() => {
    if (path === undefined) return;
    let current = true;
    setState((s) => ({ ...s, loading: true, ...(s.path !== path ? { data: undefined, error: undefined } : {}) }));
    getJson<T>(path).then(
      (data) => current && setState({ data, error: undefined, loading: false, path }),
      (err: unknown) => current && setState((s) => ({ data: s.path === path ? s.data : undefined, error: (err as Error).message, loading: false, path })),
    );
    return () => {
      current = false;
    };
  }, [path, version]);
  return state;
}
