// Live data for a view: loads on mount and when `deps` change, refreshes itself
// at most every 10 s while the tab is visible (paused on `visibilitychange` to
// hidden, caught up on return), and keeps showing the last data when a refresh
// fails. GETs go through the client, which sends If-None-Match where the API
// gave an ETag.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export const REFRESH_MS = 10_000;

export type Live<T> = {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  updatedAt: Date | null;
  /** Loads again now (after a mutation). */
  reload: () => Promise<void>;
};

/**
 * Calls `refresh` when `interval` ms have passed since `lastAt()` (a
 * `Date.now()` value), checked every few seconds while the tab is visible and
 * at once when the tab becomes visible again — never while it is hidden.
 */
export function usePolling(refresh: () => void, lastAt: () => number, interval: number, enabled = true) {
  const ref = useRef({ refresh, lastAt });
  ref.current = { refresh, lastAt };
  useEffect(() => {
    if (!enabled) return;
    const tick = () => {
      if (document.visibilityState !== 'visible') return;
      if (Date.now() - ref.current.lastAt() < interval - 250) return;
      ref.current.refresh();
    };
    const timer = window.setInterval(tick, Math.min(interval, 2_000));
    document.addEventListener('visibilitychange', tick);
    return () => {
      window.clearInterval(timer);
      document.removeEventListener('visibilitychange', tick);
    };
  }, [enabled, interval]);
}

export function useLive<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: unknown[],
  opts: { refresh?: boolean; interval?: number } = {},
): Live<T> {
  const { refresh = true, interval = REFRESH_MS } = opts;
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [updatedAt, setUpdatedAt] = useState<Date | null>(null);
  const loadRef = useRef(load);
  loadRef.current = load;
  const inflight = useRef<AbortController | null>(null);
  const last = useRef(0);
  const generation = useRef(0);

  const run = useCallback(async (fresh: boolean) => {
    if (!fresh && inflight.current) return;
    inflight.current?.abort();
    const ctl = new AbortController();
    inflight.current = ctl;
    const gen = generation.current;
    try {
      const value = await loadRef.current(ctl.signal);
      if (ctl.signal.aborted || gen !== generation.current) return;
      setData(value);
      setError(null);
      setUpdatedAt(new Date());
    } catch (e) {
      if (ctl.signal.aborted || gen !== generation.current) return;
      if (e instanceof DOMException && e.name === 'AbortError') return;
      setError(e);
    } finally {
      if (inflight.current === ctl) inflight.current = null;
      if (gen === generation.current) {
        last.current = Date.now();
        setLoading(false);
      }
    }
  }, []);

  useEffect(() => {
    generation.current += 1;
    setData(undefined);
    setError(null);
    setLoading(true);
    void run(true);
    return () => {
      inflight.current?.abort();
      inflight.current = null;
    };
  }, deps);

  usePolling(() => void run(false), () => last.current, interval, refresh);

  const reload = useCallback(() => run(true), [run]);
  return { data, error, loading, updatedAt, reload };
}
