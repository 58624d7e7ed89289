import { useEffect, useRef } from 'preact/hooks';
import type uPlot from 'uplot';

// uPlot is 40% of the app's script and only charts use it: loaded with the first chart, so pages
// without one (runs, a trace) compile less before their first render. Its CSS is in main.tsx.
type UPlotClass = typeof uPlot;
let loading: Promise<UPlotClass> | undefined;
const loadUPlot = (): Promise<UPlotClass> => (loading ??= import('uplot').then((m) => m.default));

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

interface ChartProps {
  x: number[];
  series: Series[];
  labels?: string[];
  height?: number;
  yFormat?: (v: number) => string;
  testid?: string;
  /** Time charts: seconds per bucket. The axis reaches half a bucket past the first and last, so one bucket alone still gets a sensible axis (uPlot's own range for a single instant spans years). */
  step?: number;
}

/** Draws into `el`; returns what removes the chart again. */
function draw(uPlot: UPlotClass, el: HTMLElement, { x, series, labels, height = 220, yFormat, step }: ChartProps): () => void {
  const text = cssVar('--muted', '#666');
  const grid = cssVar('--grid', 'rgba(128,128,128,0.15)');
  const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  const bars = uPlot.paths.bars!({ size: [0.6, 64] });
  const opts: uPlot.Options = {
    width: Math.max(200, el.clientWidth),
    height,
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: labels
        ? { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] }
        : step !== undefined
          ? { time: true, auto: false, range: [x[0]! - step / 2, x[x.length - 1]! + step / 2] as uPlot.Range.MinMax }
          : { time: true },
    },
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
}

/**
 * A uPlot chart over time (x in epoch seconds) or over categories (x = 0..n-1 with `labels`).
 * Rebuilt when the data changes; follows its container's width.
 */
export function Chart(props: ChartProps) {
  const { x, series, labels, testid } = props;
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let undo: (() => void) | undefined;
    let live = true;
    void loadUPlot().then((lib) => {
      if (live && box.current && x.length > 0) undo = draw(lib, box.current, props);
    });
    return () => {
      live = false;
      undo?.();
    };
  }, [JSON.stringify([x, series.map((s) => [s.label, s.values]), labels, props.step])]);
  if (x.length === 0) return <p class="muted chart-empty">no data in this range</p>;
  return <div class="chart" ref={box} data-testid={testid} />;
}
