// The uPlot half of MetricsChart, in its own chunk: uPlot and its stylesheet
// load only when a chart is first drawn.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ChartData } from './MetricsChart';

export function draw(el: HTMLElement, data: ChartData, colors: Record<string, string>): () => void {
  el.replaceChildren();
  const width = () => Math.max(280, Math.floor(el.getBoundingClientRect().width || 600));
  const opts: uPlot.Options = {
    width: width(),
    height: 260,
    scales: { x: { time: true } },
    axes: [
      { stroke: '#374151', grid: { stroke: '#e5e7eb' }, ticks: { stroke: '#d1d5db' } },
      { stroke: '#374151', grid: { stroke: '#e5e7eb' }, ticks: { stroke: '#d1d5db' }, size: 56 },
    ],
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
    series: [
      { label: 'Time' },
      ...data.series.map((s) => ({
        label: s.kind.replace(/_/g, ' '),
        stroke: colors[s.kind] ?? '#1d4ed8',
        width: 2,
        points: { show: data.xs.length <= 48 },
      })),
    ],
  };
  const plot = new uPlot(opts, [data.xs, ...data.series.map((s) => s.values)] as uPlot.AlignedData, el);
  const ro = new ResizeObserver(() => plot.setSize({ width: width(), height: 260 }));
  ro.observe(el);
  return () => {
    ro.disconnect();
    plot.destroy();
  };
}
