// Metric counts over time, drawn with uPlot (loaded on first use so it stays
// out of the first page load): campaign-wide, or one channel's (`?channel=`),
// with the per-channel totals in a table beside the chart.
import type { CampaignMetrics } from '../api/types';
import { titleCase } from '../lib/format';
import { LazyChart } from './lazyChart';

export const SERIES_COLORS: Record<string, string> = {
  sent: '#4b5563',
  delivered: '#1d4ed8',
  opened: '#0f766e',
  clicked: '#7c3aed',
  conversions: '#15803d',
  bounced: '#b91c1c',
  dropped: '#c2410c',
  deferred: '#a16207',
  unsubscribed: '#be185d',
  spam_reports: '#7f1d1d',
  spend: '#0e7490',
};

export type ChartData = { xs: number[]; series: { kind: string; values: number[] }[] };

/** Every bucket from `from` to `to` (the API lists only buckets with counts), with one series per kind. */
export function toChartData(m: CampaignMetrics, kinds: string[]): ChartData {
  const step = m.granularity === 'day' ? 86_400 : 3_600;
  const from = m.from ?? 0;
  const to = m.to ?? from;
  const index = new Map<number, Record<string, number>>();
  for (const b of m.buckets ?? []) if (b.start !== undefined) index.set(b.start, b.counts ?? {});
  const xs: number[] = [];
  for (let t = from; t < to && xs.length < 2_000; t += step) xs.push(t);
  return {
    xs,
    series: kinds.map((kind) => ({ kind, values: xs.map((t) => index.get(t)?.[kind] ?? 0) })),
  };
}

export function MetricsChart({ data, label }: { data: ChartData; label: string }) {
  return (
    <LazyChart<ChartData>
      data={data}
      load={() => import('./uplot-draw').then((m) => (el: HTMLDivElement, d: ChartData) => m.draw(el, d, SERIES_COLORS))}
      label={label}
      figureClass="chart"
      hostClass="chart-host"
      caption={
        <>
          {label}. Series: {data.series.map((s) => titleCase(s.kind)).join(', ') || 'none'}.
        </>
      }
    />
  );
}
