/**
 * The agentloupe histograms aggregated here, by a key the caller already has, instead of in the
 * OpenTelemetry SDK: the collector's own MeterProvider reads them as a MetricProducer, so a
 * Prometheus scrape shows the same series (same descriptors, buckets, count, sum, min and max,
 * same instrumentation scope) as SDK histograms would.
 *
 * Why: the SDK hashes a value's attribute set (sorted keys, JSON) on every record, about 1.5 µs
 * per value; three values per model call made that the largest single cost of the collector's
 * HTTP thread. Here a request's values are grouped by the label values the caller joins into a
 * key anyway (span-metrics.ts), and each group costs one Map lookup.
 *
 * Semantics follow the SDK's explicit-bucket histogram (sdk-metrics 2.x HistogramAccumulation and
 * HistogramInstrument): a value lands in the first bucket whose bound is >= the value; negative
 * values are refused (with the SDK's diag warning), NaN is not counted; min and max are kept;
 * temporality is cumulative; at most 2000 series per histogram, later attribute sets are counted
 * under `otel.metric.overflow=true` (the SDK's default cardinality limit). One difference: the
 * sum is added in arrival order, where the SDK adds per collection interval, so a float sum can
 * differ in its last bits.
 */
import { diag, ValueType, type Attributes } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type HistogramMetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import { HISTOGRAMS, type HistogramDefinition, type HistogramName } from './instruments.js';

/** One histogram's values, per attribute set: what span-metrics.ts records into. */
export interface HistogramSink {
  /** Adds `values` to the series of `attrs`; `key` must name that attribute set, and only it. */
  record(key: string, attrs: Attributes, values: readonly number[]): void;
}

type HrTime = [number, number];

interface Series {
  attrs: Attributes;
  startTime: HrTime;
  counts: number[];
  count: number;
  sum: number;
  min: number;
  max: number;
}

const CARDINALITY_LIMIT = 2000;
const OVERFLOW_KEY = '\u0000overflow';
const OVERFLOW_ATTRS: Attributes = { 'otel.metric.overflow': true };

function now(): HrTime {
  const ms = Date.now();
  return [Math.floor(ms / 1000), (ms % 1000) * 1_000_000];
}

/** The index of the first bound >= value (bounds.length when none): the SDK's binarySearchUB. */
function bucketOf(bounds: readonly number[], value: number): number {
  let lo = 0;
  let hi = bounds.length - 1;
  let found = bounds.length;
  while (hi >= lo) {
    const mid = lo + ((hi - lo) >> 1);
    if (bounds[mid]! < value) lo = mid + 1;
    else {
      found = mid;
      hi = mid - 1;
    }
  }
  return found;
}

class KeyedHistogram implements HistogramSink {
  private readonly series = new Map<string, Series>();

  constructor(readonly definition: HistogramDefinition) {}

  record(key: string, attrs: Attributes, values: readonly number[]): void {
    let s = this.series.get(key);
    if (s === undefined) {
      if (this.series.size >= CARDINALITY_LIMIT - 1) {
        key = OVERFLOW_KEY;
        attrs = OVERFLOW_ATTRS;
        s = this.series.get(key);
      }
      if (s === undefined) {
        s = { attrs, startTime: now(), counts: new Array<number>(this.definition.boundaries.length + 1).fill(0), count: 0, sum: 0, min: Infinity, max: -Infinity };
        this.series.set(key, s);
      }
    }
    const bounds = this.definition.boundaries;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v < 0) {
        diag.warn(`negative value provided to histogram ${this.definition.name}: ${v}`);
        continue;
      }
      if (Number.isNaN(v)) continue;
      s.count += 1;
      s.sum += v;
      if (v < s.min) s.min = v;
      if (v > s.max) s.max = v;
      s.counts[bucketOf(bounds, v)]! += 1;
    }
  }

  toMetricData(endTime: HrTime): HistogramMetricData | undefined {
    if (this.series.size === 0) return undefined;
    const d = this.definition;
    return {
      descriptor: { name: d.name, description: d.description, unit: d.unit, valueType: ValueType.DOUBLE },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: [...this.series.values()].map((s) => ({
        attributes: s.attrs,
        startTime: s.startTime,
        endTime,
        value: {
          buckets: { boundaries: [...d.boundaries], counts: [...s.counts] },
          count: s.count,
          sum: s.sum,
          ...(s.count > 0 ? { min: s.min, max: s.max } : {}),
        },
      })),
    };
  }
}

/** The four agentloupe histograms, and the MetricProducer a MetricReader reads them through. */
export class KeyedHistograms implements MetricProducer, Record<HistogramName, HistogramSink> {
  readonly tokenUsage = new KeyedHistogram(HISTOGRAMS.tokenUsage);
  readonly operationDuration = new KeyedHistogram(HISTOGRAMS.operationDuration);
  readonly agentDuration = new KeyedHistogram(HISTOGRAMS.agentDuration);
  readonly toolDuration = new KeyedHistogram(HISTOGRAMS.toolDuration);

  /** `scope`: the Meter's, so the series carry the scope the SDK's would. */
  constructor(private readonly scope: InstrumentationScope) {}

  collect(): Promise<CollectionResult> {
    const endTime = now();
    const metrics: HistogramMetricData[] = [];
    for (const h of [this.tokenUsage, this.operationDuration, this.agentDuration, this.toolDuration]) {
      const data = h.toMetricData(endTime);
      if (data !== undefined) metrics.push(data);
    }
    // A MetricReader keeps only the scope metrics of a producer; its resource is the provider's.
    return Promise.resolve({ resourceMetrics: { resource: resourceFromAttributes({}), scopeMetrics: [{ scope: this.scope, metrics }] }, errors: [] });
  }
}
