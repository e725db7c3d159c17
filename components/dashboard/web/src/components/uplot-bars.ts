// The uPlot half of BarChart, in its own chunk (uPlot loads on first use):
// horizontal bars, one row per category (names readable on a phone), one bar
// per series in each row (grouped when there are several).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { BarData } from './BarChart';

const ROW = 34;

export function drawBars(el: HTMLElement, data: BarData): () => void {
  el.replaceChildren();
  const n = data.categories.length;
  const k = data.series.length;
  // Side by side when grouped; else every series on the row's centre (one has a value per row).
  const lanes = data.grouped ? k : 1;
  const width = () => Math.max(260, Math.floor(el.getBoundingClientRect().width || 600));
  const narrow = width() < 520;
  const maxChars = narrow ? 18 : 28;
  const short = (s: string) => (s.length > maxChars ? `${s.slice(0, maxChars - 1)}…` : s);
  const labelWidth = Math.min(narrow ? 128 : 200, 16 + 7 * Math.max(4, ...data.categories.map((c) => short(c).length)));
  const height = n * ROW * Math.max(1, lanes * 0.75) + 70;
  const groupSize = Math.min(0.8, 0.5 * lanes) / lanes;
  const opts: uPlot.Options = {
    width: width(),
    height,
    padding: [8, 16, 0, 0],
    scales: {
      x: { time: false, ori: 1, dir: -1, range: () => [-0.5, n - 0.5] },
      y: { ori: 0, dir: 1, range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] },
    },
    axes: [
      {
        side: 3,
        size: labelWidth,
        stroke: '#374151',
        grid: { show: false },
        ticks: { show: false },
        splits: () => data.categories.map((_, i) => i),
        values: (_u, splits) => splits.map((i) => short(data.categories[i] ?? '')),
      },
      {
        side: 2,
        stroke: '#374151',
        grid: { stroke: '#e5e7eb' },
        ticks: { stroke: '#d1d5db' },
        label: data.unit,
        labelSize: 20,
        size: 36,
        // Ticks far enough apart that decimals never run into each other on a phone.
        space: 56,
      },
    ],
    legend: { live: false },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    series: [
      { label: 'Row', value: (_u, v) => (v === null || v === undefined ? '' : (data.categories[v] ?? '')) },
      ...data.series.map((s, i) => ({
        label: s.label,
        stroke: s.color,
        fill: s.color,
        width: 0,
        points: { show: false },
        value: (_u: uPlot, v: number | null) => data.format(v),
        paths: uPlot.paths.bars!({
          size: [groupSize, 40, 4],
          align: (lanes === 1 ? 0 : i < lanes / 2 ? -1 : 1) as -1 | 0 | 1,
        }),
      })),
    ],
  };
  const xs = data.categories.map((_, i) => i);
  const plot = new uPlot(opts, [xs, ...data.series.map((s) => s.values)] as uPlot.AlignedData, el);
  const ro = new ResizeObserver(() => plot.setSize({ width: width(), height }));
  ro.observe(el);
  return () => {
    ro.disconnect();
    plot.destroy();
  };
}
