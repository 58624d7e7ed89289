/**
 * Jaeger's metrics API (`GET /api/metrics/latencies|calls|errors`, `/api/metrics/minstep`) computed
 * from the local spans table, so the Jaeger UI's Monitor tab works with no Prometheus and no
 * span-metrics connector.
 *
 * Parameters and answer follow Jaeger's query service (cmd/query/app/query_parser.go
 * parseMetricsQueryParams, http_handler.go) and what jaeger-ui sends and parses (src/api/jaeger.ts
 * fetchMetrics, src/reducers/metrics.ts): `service` (required, repeatable), `spanKind`
 * (repeatable; default server), `groupByOperation`, `endTs` (ms, default now), `lookback`, `step`,
 * `ratePer` (ms; defaults 1 h, 5 s, 10 min), and `quantile` for latencies. The answer is a
 * MetricFamily: `{name, type: "GAUGE", help, metrics: [{labels, metricPoints: [{gaugeValue:
 * {doubleValue}, timestamp}]}]}`, one series per service (and operation when grouped).
 *
 * What each point means, at time t of the range endTs-lookback, +step, ... endTs, over the spans
 * that started in the window (t - ratePer, t] (Jaeger's Prometheus queries use the same window,
 * `[ratePer]`):
 *   calls    spans in the window / ratePer in seconds (calls per second)
 *   errors   spans with status ERROR / spans in the window (a fraction), null with no spans
 *   latencies the q-quantile of their durations in milliseconds, null with no spans; exact, by
 *            nearest rank (the smallest duration d with at least q of the spans taking <= d),
 *            not interpolated from histogram buckets as Prometheus does
 * A series exists when its service (and operation) has at least one span in the whole range.
 */
import { SpanSampleLimitError, type SpanSample } from '../../store/span-rates.js';
import { spanKindFromName } from './model.js';
import { ParamError } from './params.js';

export type MetricKind = 'latencies' | 'calls' | 'errors';

export interface MetricsQuery {
  services: string[];
  /** OTel API SpanKind numbers. */
  kinds: number[];
  groupByOperation: boolean;
  endNs: bigint;
  lookbackNs: bigint;
  stepNs: bigint;
  ratePerNs: bigint;
  /** Latencies only, in (0, 1]. */
  quantile?: number;
}

export interface MetricPoint {
  gaugeValue: { doubleValue: number | null };
  /** RFC 3339, ms precision. */
  timestamp: string;
}

export interface MetricSeries {
  labels: { name: string; value: string }[];
  metricPoints: MetricPoint[];
}

export interface MetricFamily {
  name: string;
  type: 'GAUGE';
  help: string;
  metrics: MetricSeries[];
}

const MS = 1_000_000n;
/** Jaeger's defaults (cmd/query/app/default_params.go). */
export const METRICS_DEFAULTS = { lookbackMs: 3_600_000, stepMs: 5_000, ratePerMs: 600_000 } as const;
/** The smallest step this store answers (Jaeger's Prometheus store reports 1 s too). */
export const MIN_STEP_MS = 1000;
/** Points per series, like Prometheus' 11 000 points per range query. */
export const MAX_POINTS = 11_000;
/** Spans read for one query. */
export const MAX_SPANS = 500_000;

function intParam(q: URLSearchParams, name: string, fallback: number, min: number): bigint {
  const text = q.get(name);
  if (text === null || text === '') return BigInt(fallback);
  if (!/^\d{1,16}$/.test(text.trim()) || Number(text) < min) throw new ParamError(name, `"${text}" is not a whole number of milliseconds${min > 0 ? ` (at least ${min})` : ''}`);
  return BigInt(text.trim());
}

/** The `service` values: repeated, or comma-joined (older Jaeger, and jaeger-ui's `service=a,service=b`). */
function services(q: URLSearchParams): string[] {
  const out: string[] = [];
  for (const value of q.getAll('service')) {
    for (const part of value.split(',')) {
      const name = part.startsWith('service=') ? part.slice('service='.length) : part;
      if (name !== '' && !out.includes(name)) out.push(name);
    }
  }
  return out;
}

export function parseMetricsQuery(kind: MetricKind, q: URLSearchParams, nowMs: number): MetricsQuery {
  const names = services(q);
  if (names.length === 0) throw new ParamError('service', 'please provide at least one service name');
  const kindNames = q.getAll('spanKind').filter((k) => k !== '');
  const kinds = (kindNames.length > 0 ? kindNames : ['server']).map((name) => {
    // Stored spans have no "unspecified": OTLP's UNSPECIFIED is stored as INTERNAL.
    const k = spanKindFromName(name === 'unspecified' ? 'internal' : name.replace(/^SPAN_KIND_/i, ''));
    if (k === undefined) throw new ParamError('spanKind', `"${name}" is not a span kind (unspecified, internal, server, client, producer or consumer)`);
    return k;
  });
  const group = q.get('groupByOperation');
  if (group !== null && group !== '' && !/^(true|false|1|0)$/i.test(group)) throw new ParamError('groupByOperation', `"${group}" is not true or false`);
  const query: MetricsQuery = {
    services: names,
    kinds: [...new Set(kinds)],
    groupByOperation: group !== null && /^(true|1)$/i.test(group),
    endNs: intParam(q, 'endTs', nowMs, 0) * MS,
    lookbackNs: intParam(q, 'lookback', METRICS_DEFAULTS.lookbackMs, 1) * MS,
    stepNs: intParam(q, 'step', METRICS_DEFAULTS.stepMs, MIN_STEP_MS) * MS,
    ratePerNs: intParam(q, 'ratePer', METRICS_DEFAULTS.ratePerMs, 1) * MS,
  };
  if (query.lookbackNs / query.stepNs + 1n > BigInt(MAX_POINTS)) {
    throw new ParamError('step', `lookback / step asks for more than ${MAX_POINTS} points; use a larger step`);
  }
  if (kind === 'latencies') {
    const text = q.get('quantile') ?? '';
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || value <= 0 || value > 1) throw new ParamError('quantile', `"${text}" is not a quantile in (0, 1], e.g. 0.95`);
    query.quantile = value;
  }
  return query;
}

/** The span start range a query reads: the first window opens ratePer before the first point. */
export function sampleRange(q: MetricsQuery): { fromNs: bigint; toNs: bigint } {
  return { fromNs: q.endNs - q.lookbackNs - q.ratePerNs, toNs: q.endNs };
}

function pointTimes(q: MetricsQuery): bigint[] {
  const times: bigint[] = [];
  for (let t = q.endNs - q.lookbackNs; t <= q.endNs; t += q.stepNs) times.push(t);
  return times;
}

function nearestRank(sorted: readonly number[], quantile: number): number {
  return sorted[Math.max(0, Math.ceil(quantile * sorted.length) - 1)]!;
}

const NAMES: Record<MetricKind, [string, string]> = {
  latencies: ['service_latencies', 'service_operation_latencies'],
  calls: ['service_call_rate', 'service_operation_call_rate'],
  errors: ['service_error_rate', 'service_operation_error_rate'],
};

function help(kind: MetricKind, q: MetricsQuery): string {
  const by = q.groupByOperation ? 'service & operation' : 'service';
  if (kind === 'latencies') return `${q.quantile}th quantile latency, grouped by ${by}`;
  if (kind === 'calls') return `calls/sec, grouped by ${by}`;
  return `error rate, computed as a fraction of errors/sec over calls/sec, grouped by ${by}`;
}

/**
 * One query's MetricFamily from its spans (as SpanRateQueries.samples returns them for
 * sampleRange(q), oldest first). Each point's window is found with two moving indexes over
 * the sorted spans, so the work is linear in spans plus points.
 */
export function computeMetrics(kind: MetricKind, q: MetricsQuery, samples: readonly SpanSample[]): MetricFamily {
  const groups = new Map<string, { labels: MetricSeries['labels']; spans: SpanSample[] }>();
  for (const s of samples) {
    const key = q.groupByOperation ? `${s.service}\u0000${s.operation}` : s.service;
    let g = groups.get(key);
    if (g === undefined) {
      const labels = [{ name: 'service_name', value: s.service }];
      if (q.groupByOperation) labels.push({ name: 'operation', value: s.operation });
      g = { labels, spans: [] };
      groups.set(key, g);
    }
    g.spans.push(s);
  }
  const times = pointTimes(q);
  const ratePerSeconds = Number(q.ratePerNs) / 1e9;
  const metrics: MetricSeries[] = [];
  const ordered = [...groups.values()].sort((a, b) => (a.labels.map((l) => l.value).join('\u0000') < b.labels.map((l) => l.value).join('\u0000') ? -1 : 1));
  for (const g of ordered) {
    const spans = g.spans;
    let lo = 0;
    let hi = 0;
    let errors = 0;
    const points: MetricPoint[] = [];
    for (const t of times) {
      for (; hi < spans.length && spans[hi]!.startNs <= t; hi++) if (spans[hi]!.error) errors++;
      for (; lo < hi && spans[lo]!.startNs <= t - q.ratePerNs; lo++) if (spans[lo]!.error) errors--;
      const n = hi - lo;
      let value: number | null;
      if (kind === 'calls') value = n / ratePerSeconds;
      else if (n === 0) value = null;
      else if (kind === 'errors') value = errors / n;
      else {
        const ms: number[] = [];
        for (let i = lo; i < hi; i++) ms.push(Number(spans[i]!.durationNs) / 1e6);
        ms.sort((a, b) => a - b);
        value = nearestRank(ms, q.quantile!);
      }
      points.push({ gaugeValue: { doubleValue: value }, timestamp: new Date(Number(t / MS)).toISOString() });
    }
    metrics.push({ labels: g.labels, metricPoints: points });
  }
  return { name: NAMES[kind][q.groupByOperation ? 1 : 0], type: 'GAUGE', help: help(kind, q), metrics };
}

export { SpanSampleLimitError };
