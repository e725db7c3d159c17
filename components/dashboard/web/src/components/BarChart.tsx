// Horizontal bar charts drawn with uPlot (loaded on first use, as MetricsChart
// does): one row per category, one bar per series. The figures are also in a
// table next to each chart, which screen readers and CSV downloads use.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ErrorBox, Loading } from './ui';

export type BarData = {
  categories: string[];
  series: { label: string; color: string; values: (number | null)[] }[];
  /** The value axis' label, e.g. "hours". */
  unit: string;
  /** A value as the legend shows it. */
  format: (v: number | null) => string;
  /** Each row shows every series side by side (two at most); otherwise each row has one series' bar. */
  grouped?: boolean;
};

export function BarChart({ data, label }: { data: BarData; label: string }) {
  const host = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<unknown>(null);
  const [ready, setReady] = useState(false);
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    let destroyed = false;
    let cleanup: (() => void) | null = null;
    import('./uplot-bars')
      .then(({ drawBars }) => {
        if (destroyed) return;
        cleanup = drawBars(el, data);
        setReady(true);
      })
      .catch((e) => setError(e));
    return () => {
      destroyed = true;
      cleanup?.();
    };
  }, [data]);
  return (
    <figure class="chart bar-chart">
      {error ? <ErrorBox error={error} title="The chart could not be drawn" /> : null}
      {!ready && !error ? <Loading label="Drawing chart…" /> : null}
      <div ref={host} class="bar-chart-host" role="img" aria-label={label} />
      <figcaption class="muted small">{label}.</figcaption>
    </figure>
  );
}
