// Horizontal bar charts drawn with uPlot (loaded on first use, as MetricsChart
// does): one row per category, one bar per series. The figures are also in a
// table next to each chart, which screen readers and CSV downloads use.
import { LazyChart } from './lazyChart';

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
  return (
    <LazyChart<BarData>
      data={data}
      load={() => import('./uplot-bars').then((m) => m.drawBars)}
      label={label}
      figureClass="chart bar-chart"
      hostClass="bar-chart-host"
      caption={`${label}.`}
    />
  );
}
