/**
 * SpanMetrics.spansEnded (the collector: a request's spans summed per attribute set, then
 * recorded) against spanEnded (one span at a time, straight into the instruments): the same data
 * points, for random mixes of model calls, tool calls and agent runs
 * (errors, unpriced calls, response models, zero and non-zero token kinds, label values that
 * would collide if simply joined). Histograms to the last bit (each attribute set's values are
 * recorded in arrival order); a counter summed per request first may differ in the last bits of a
 * float sum (cost), as CounterSums always did.
 */
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider, MetricReader, type MetricProducer, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { KeyedHistograms } from '../src/metrics/keyed-histograms.js';
import { SpanMetrics } from '../src/metrics/span-metrics.js';
import type { Attributes, SpanData } from '../src/spans/span-data.js';
import { rng } from './helpers.js';

class CollectingReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

function randomSpans(seed: number, n: number): SpanData[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const spans: SpanData[] = [];
  for (let i = 0; i < n; i++) {
    const start = 1_760_000_000_000_000_000n + BigInt(Math.floor(r() * 1e12));
    const kind = r();
    let attributes: Attributes;
    if (kind < 0.1) {
      attributes = { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.id': `a${i}`, 'gen_ai.agent.name': pick(['planner', 'coder']), 'agentloupe.agent.type': pick(['worker', 'lead']) };
    } else if (kind < 0.3) {
      attributes = { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': pick(['grep', 'edit']), 'gen_ai.agent.name': pick(['planner', 'coder']) };
      if (r() < 0.5) attributes['agentloupe.tool.approved'] = r() < 0.5;
    } else {
      attributes = {
        'gen_ai.operation.name': pick(['chat', 'embeddings']),
        'gen_ai.provider.name': pick(['anthropic', 'openai', 'a1:b', 'a']),
        'gen_ai.request.model': pick(['claude-sonnet-4-5', 'gpt-5-mini', 'b', '1:bb']),
        'gen_ai.usage.input_tokens': Math.floor(r() * 3000),
        'gen_ai.usage.output_tokens': pick([0, 17, Math.floor(r() * 900)]),
        'gen_ai.usage.cache_read.input_tokens': pick([0, 0, 300]),
        'gen_ai.usage.cache_creation.input_tokens': pick([0, 0, 120]),
        'gen_ai.usage.reasoning.output_tokens': pick([0, 40]),
      };
      if (r() < 0.6) attributes['gen_ai.agent.name'] = pick(['planner', 'coder']);
      if (r() < 0.3) attributes['gen_ai.response.model'] = pick(['claude-sonnet-4-5-20250929', 'gpt-5-mini-2025']);
      if (r() < 0.7) attributes['agentloupe.cost.usd'] = r() / 100;
      else if (r() < 0.5) attributes['agentloupe.cost.unpriced'] = true;
      if (r() < 0.2) attributes['error.type'] = pick(['timeout', '429']);
    }
    spans.push({
      traceId: 'ab'.repeat(16), spanId: (i + 1).toString(16).padStart(16, '0'), name: 'span', kind: 0, startTimeUnixNano: start,
      endTimeUnixNano: r() < 0.9 ? start + BigInt(Math.floor(r() * 5e9)) : undefined, statusCode: r() < 0.15 ? 2 : 0,
      attributes, events: [], links: [], resource: { 'service.name': 'test' },
    });
  }
  return spans;
}

/** What a reader collects after `record`; `keyed`: histograms aggregated by KeyedHistograms (the collector's way). */
async function collected(record: (m: SpanMetrics) => void, keyed = false): Promise<ResourceMetrics> {
  const histograms = keyed ? new KeyedHistograms({ name: 'test' }) : undefined;
  const reader = new CollectingReader(histograms ? { metricProducers: [histograms as MetricProducer] } : undefined);
  const provider = new MeterProvider({ readers: [reader] });
  const price = (_usage: unknown, model: string | undefined) => (model === 'b' ? { costUsd: 0, priced: false } : { costUsd: 0.5, priced: true });
  const metrics = new SpanMetrics(provider.getMeter('test'), price, histograms);
  record(metrics);
  const { resourceMetrics } = await reader.collect();
  await provider.shutdown();
  return resourceMetrics;
}

/** Data points by metric name and attribute set, times left out. */
async function points(record: (m: SpanMetrics) => void, keyed = false): Promise<Record<string, unknown>> {
  return byName(await collected(record, keyed));
}

/** Prometheus text, its metric blocks sorted (a producer's metrics come after the SDK's). */
function prometheusBlocks(rm: ResourceMetrics): string[] {
  return new PrometheusSerializer().serialize(rm).split(/(?=# HELP )/).sort();
}

function byName(rm: ResourceMetrics): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const sm of rm.scopeMetrics) {
    for (const m of sm.metrics) {
      const series: Record<string, unknown> = {};
      for (const p of m.dataPoints) {
        const labels = Object.entries(p.attributes).sort(([a], [b]) => (a < b ? -1 : 1));
        // Counters' float sums: 12 significant digits (see above); everything else exactly.
        series[JSON.stringify(labels)] = typeof p.value === 'number' ? Number(p.value.toPrecision(12)) : p.value;
      }
      out[m.descriptor.name] = series;
    }
  }
  return out;
}

describe('SpanMetrics per request', () => {
  it('gives the data points that recording each span at once gives', async () => {
    for (const seed of [1, 2, 3, 4]) {
      const spans = randomSpans(seed, 400);
      // Seed 4: runs of calls with the same labels, as one agent's requests mostly are.
      if (seed === 4) spans.sort((a, b) => (JSON.stringify(Object.values(a.attributes).slice(0, 3)) < JSON.stringify(Object.values(b.attributes).slice(0, 3)) ? -1 : 1));
      const requests = [spans.slice(0, 100), spans.slice(100, 250), spans.slice(250)];
      const summed = await points((m) => {
        for (const req of requests) m.spansEnded(req, (err) => { throw err; });
      });
      const oneByOne = await points((m) => {
        for (const s of spans) m.spanEnded(s, false);
      });
      expect(summed).toEqual(oneByOne);
      // The collector's own histogram aggregation: the same data points, the same Prometheus text.
      const record = (m: SpanMetrics): void => {
        for (const req of requests) m.spansEnded(req, (err) => { throw err; });
      };
      expect(await points(record, true)).toEqual(oneByOne);
      expect(prometheusBlocks(await collected(record, true))).toEqual(prometheusBlocks(await collected(record)));
      // Every kind of series is there (the generator covers them).
      for (const name of ['gen_ai.client.token.usage', 'gen_ai.client.operation.duration', 'agentloupe.tokens', 'agentloupe.cost.usd', 'agentloupe.calls.unpriced', 'agentloupe.agent.runs', 'agentloupe.agent.duration', 'agentloupe.tool.calls', 'agentloupe.tool.duration']) {
        expect(Object.keys((summed[name] ?? {}) as object).length, name).toBeGreaterThan(0);
      }
    }
  });
});

describe('KeyedHistograms', () => {
  it('keeps at most 2000 series, the SDK default, counting the rest under otel.metric.overflow', async () => {
    const h = new KeyedHistograms({ name: 'test' });
    for (let i = 0; i < 2500; i++) h.toolDuration.record(`tool${i}`, { 'gen_ai.tool.name': `tool${i}` }, [0.5, 1]);
    const { resourceMetrics } = await h.collect();
    const points = resourceMetrics.scopeMetrics[0]!.metrics[0]!.dataPoints;
    expect(points).toHaveLength(2000);
    const overflow = points.find((p) => p.attributes['otel.metric.overflow'] === true);
    expect((overflow?.value as { count: number }).count).toBe(2 * 501);
    expect(points.reduce((n, p) => n + (p.value as { count: number }).count, 0)).toBe(5000);
  });
});
