import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  color: string;
  values: (number | null)[];
  /** Drawn as bars instead of a line. */
  bars?: boolean;
  format?: (v: number) => string;
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/**
 * A uPlot chart over time (x in epoch seconds) or over categories (x = 0..n-1 with `labels`).
 * Rebuilt when the data changes; follows its container's width.
 */
export function Chart({ x, series, labels, height = 220, yFormat, testid }: { x: number[]; series: Series[]; labels?: string[]; height?: number; yFormat?: (v: number) => string; testid?: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || x.length === 0) return;
    const text = cssVar('--muted', '#666');
    const grid = cssVar('--grid', 'rgba(128,128,128,0.15)');
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const bars = uPlot.paths.bars!({ size: [0.6, 64] });
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: labels ? { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] } : { time: true } },
      axes: [
        labels
          ? { ...axis, values: (_u, splits) => splits.map((s) => (Number.isInteger(s) ? (labels[s] ?? '') : '')), splits: () => labels.map((_l, i) => i), rotate: 0 }
          : axis,
        { ...axis, size: 64, values: (_u, splits) => splits.map((v) => (yFormat ? yFormat(v) : String(v))) },
      ],
      series: [
        labels ? { label: 'group', value: (_u, v) => (v === null ? '' : (labels[v] ?? '')) } : {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          fill: s.bars ? s.color : undefined,
          width: s.bars ? 0 : 2,
          points: { show: x.length < 40 },
          paths: s.bars ? bars : undefined,
          value: (_u: uPlot, v: number | null) => (v === null ? '-' : s.format ? s.format(v) : String(v)),
        })),
      ],
    };
    const plot = new uPlot(opts, [x, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [JSON.stringify([x, series.map((s) => [s.label, s.values]), labels])]);
  if (x.length === 0) return <p class="muted chart-empty">no data in this range</p>;
  return <div class="chart" ref={box} data-testid={testid} />;
}
