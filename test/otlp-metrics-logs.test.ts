/**
 * decodeMetrics / decodeLogs: hand-built OTLP JSON per the spec (every metric type, every rule),
 * then what the official OpenTelemetry JS metric and log exporters really send.
 */
import { startCaptureServer, type Captured } from './capture-server.js';
import { describe, expect, it } from 'vitest';
import { ROOT_CONTEXT, TraceFlags, trace, type HrTime } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import {
  AggregationTemporalityPreference,
  OTLPMetricExporter as JsonMetricExporter,
} from '@opentelemetry/exporter-metrics-otlp-http';
import {
  decodeLogs,
  decodeMetrics,
  OtlpDecodeError,
  type MetricData,
  type OtlpContentType,
} from '../src/collector/otlp/decode.js';

// Not direct dependencies of the package, but installed with @opentelemetry/sdk-node; the tests
// that need them are skipped if a future dependency tree drops them.
const optional = async <T>(load: () => Promise<T>): Promise<T | undefined> => {
  try {
    return await load();
  } catch {
    return undefined;
  }
};
const protoMetrics = await optional(() => import('@opentelemetry/exporter-metrics-otlp-proto'));
const sdkLogs = await optional(() => import('@opentelemetry/sdk-logs'));
const apiLogs = await optional(() => import('@opentelemetry/api-logs'));
const httpLogs = await optional(() => import('@opentelemetry/exporter-logs-otlp-http'));
const protoLogs = await optional(() => import('@opentelemetry/exporter-logs-otlp-proto'));

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const T0 = '1700000000000000000';
const T1 = '1700000010000000000';
const TRACE = '5b8efff798038103d269b633813fc60c';
const SPAN = 'eee19b7ec3c1b174';

describe('decodeMetrics: OTLP JSON per the spec', () => {
  const request = {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'agents' } }] },
        scopeMetrics: [
          {
            scope: { name: 'agentloupe', version: '0.1.0' },
            metrics: [
              {
                name: 'agent.health',
                unit: '1',
                gauge: { dataPoints: [{ asDouble: 0.5, timeUnixNano: T1, attributes: [{ key: 'check', value: { stringValue: 'db' } }] }] },
              },
              {
                name: 'gen_ai.client.token.usage.total',
                description: 'tokens',
                unit: '{token}',
                sum: {
                  aggregationTemporality: 2,
                  isMonotonic: true,
                  dataPoints: [
                    { asInt: '1234', startTimeUnixNano: T0, timeUnixNano: T1, attributes: [{ key: 'gen_ai.token.type', value: { stringValue: 'input' } }] },
                    { asInt: 56, startTimeUnixNano: T0, timeUnixNano: T1, attributes: [{ key: 'gen_ai.token.type', value: { stringValue: 'output' } }] },
                    { asDouble: 1, timeUnixNano: 0 },
                    { startTimeUnixNano: T0, timeUnixNano: T1 },
                    { startTimeUnixNano: T0, timeUnixNano: T1, flags: 1 },
                  ],
                },
              },
              {
                name: 'agents.active',
                sum: { aggregationTemporality: 'AGGREGATION_TEMPORALITY_DELTA', isMonotonic: false, dataPoints: [{ asInt: '-2', timeUnixNano: T1 }] },
              },
              {
                name: 'gen_ai.client.operation.duration',
                unit: 's',
                histogram: {
                  aggregationTemporality: 1,
                  dataPoints: [
                    {
                      startTimeUnixNano: T0,
                      timeUnixNano: T1,
                      count: '3',
                      sum: 3.5,
                      min: 0.5,
                      max: 2,
                      bucketCounts: ['1', 1, '1'],
                      explicitBounds: [1, 1.5],
                      exemplars: [
                        { timeUnixNano: T1, asDouble: 2, traceId: TRACE, spanId: SPAN, filteredAttributes: [{ key: 'user', value: { stringValue: 'u1' } }] },
                      ],
                    },
                    { timeUnixNano: T1, count: 1, bucketCounts: [1, 0], explicitBounds: [1, 2] },
                    { timeUnixNano: T1, count: 0 },
                  ],
                },
              },
              {
                name: 'latency.exp',
                exponentialHistogram: {
                  aggregationTemporality: 2,
                  dataPoints: [
                    {
                      timeUnixNano: T1,
                      count: 5,
                      sum: 10,
                      scale: -1,
                      zeroCount: '1',
                      zeroThreshold: 0.001,
                      positive: { offset: -2, bucketCounts: ['1', '2'] },
                      negative: { bucketCounts: [1] },
                    },
                  ],
                },
              },
              {
                name: 'legacy.summary',
                summary: {
                  dataPoints: [
                    { timeUnixNano: T1, count: '10', sum: 55, quantileValues: [{ quantile: 0.5, value: 5 }, { quantile: 1, value: 10 }] },
                  ],
                },
              },
              { name: 'no.data' },
            ],
          },
        ],
      },
    ],
  };

  it('flattens every metric type with its points, temporality and monotonicity', () => {
    const { metrics, rejected, errors } = decodeMetrics(json(request), 'json');
    const byName = new Map(metrics.map((m) => [m.name, m] as const));
    const gauge = byName.get('agent.health');
    expect(gauge).toMatchObject({
      resource: { 'service.name': 'agents' },
      scopeName: 'agentloupe',
      scopeVersion: '0.1.0',
      type: 'gauge',
      temporality: 'unspecified',
      unit: '1',
      description: '',
    });
    expect(gauge?.monotonic).toBeUndefined();
    expect(gauge?.points).toEqual([{ attributes: { check: 'db' }, startTimeUnixNano: 0n, timeUnixNano: BigInt(T1), value: 0.5 }]);

    const tokens = byName.get('gen_ai.client.token.usage.total');
    expect(tokens).toMatchObject({ type: 'sum', temporality: 'cumulative', monotonic: true, unit: '{token}' });
    expect(tokens?.points.map((p) => [p.attributes['gen_ai.token.type'], p.value, p.startTimeUnixNano])).toEqual([
      ['input', 1234, BigInt(T0)],
      ['output', 56, BigInt(T0)],
      [undefined, undefined, BigInt(T0)],
    ]);
    expect(tokens?.points[2]?.noRecordedValue).toBe(true);

    expect(byName.get('agents.active')).toMatchObject({ temporality: 'delta', monotonic: false, points: [{ value: -2 }] });

    const duration = byName.get('gen_ai.client.operation.duration');
    expect(duration).toMatchObject({ type: 'histogram', temporality: 'delta' });
    expect(duration?.points[0]).toEqual({
      attributes: {},
      startTimeUnixNano: BigInt(T0),
      timeUnixNano: BigInt(T1),
      count: 3,
      sum: 3.5,
      min: 0.5,
      max: 2,
      bucketCounts: [1, 1, 1],
      explicitBounds: [1, 1.5],
      exemplars: [{ attributes: { user: 'u1' }, timeUnixNano: BigInt(T1), value: 2, traceId: TRACE, spanId: SPAN }],
    });
    // No buckets at all is valid: count and sum only.
    expect(duration?.points[1]).toMatchObject({ count: 0, bucketCounts: [], explicitBounds: [] });
    expect(duration?.points[1]?.sum).toBeUndefined();

    expect(byName.get('latency.exp')?.points[0]).toMatchObject({
      count: 5,
      sum: 10,
      scale: -1,
      zeroCount: 1,
      zeroThreshold: 0.001,
      positive: { offset: -2, bucketCounts: [1, 2] },
      negative: { offset: 0, bucketCounts: [1] },
    });
    expect(byName.get('legacy.summary')).toMatchObject({
      type: 'summary',
      temporality: 'cumulative',
      points: [{ count: 10, sum: 55, quantiles: [{ quantile: 0.5, value: 5 }, { quantile: 1, value: 10 }] }],
    });

    // Rejected: time 0, a number point without value, buckets that do not match bounds, a metric without data.
    expect(rejected).toBe(4);
    expect(errors.join('\n')).toMatch(/timeUnixNano must be set/);
    expect(errors.join('\n')).toMatch(/has no value/);
    expect(errors.join('\n')).toMatch(/bucketCounts has 2 entries for 2 explicitBounds/);
    expect(errors.join('\n')).toMatch(/no data/);
    expect(byName.has('no.data')).toBe(false);
  });

  it('throws OtlpDecodeError for bodies that are not metrics requests', () => {
    expect(() => decodeMetrics(Buffer.from('{'), 'json')).toThrow(OtlpDecodeError);
    expect(() => decodeMetrics(json({ resourceMetrics: 'x' }), 'json')).toThrow(OtlpDecodeError);
    expect(() => decodeMetrics(Buffer.from([0x0a, 0x05, 0x01]), 'protobuf')).toThrow(OtlpDecodeError);
  });
});

describe('decodeLogs: OTLP JSON per the spec', () => {
  it('flattens log records with body, severity, ids and event name', () => {
    const { logs, rejected, errors } = decodeLogs(
      json({
        resourceLogs: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'agents' } }] },
            scopeLogs: [
              {
                scope: { name: 'agentloupe.logs' },
                logRecords: [
                  {
                    timeUnixNano: T0,
                    observedTimeUnixNano: T1,
                    severityNumber: 13,
                    severityText: 'WARN',
                    body: { stringValue: 'rate limited' },
                    attributes: [{ key: 'retry', value: { intValue: '2' } }],
                    traceId: TRACE.toUpperCase(),
                    spanId: SPAN,
                    flags: 1,
                    eventName: 'gen_ai.client.retry',
                  },
                  {
                    observedTimeUnixNano: T1,
                    severityNumber: 'SEVERITY_NUMBER_ERROR',
                    body: { kvlistValue: { values: [{ key: 'error', value: { stringValue: 'boom' } }, { key: 'codes', value: { arrayValue: { values: [{ intValue: 1 }] } } }] } },
                    traceId: '00000000000000000000000000000000',
                    spanId: '',
                  },
                  { body: {} },
                  { traceId: 'abcd', body: { stringValue: 'bad trace id' } },
                ],
              },
            ],
          },
        ],
      }),
      'json',
    );
    expect(rejected).toBe(1);
    expect(errors[0]).toMatch(/logRecords\[3\].*traceId must be 16 bytes/);
    expect(logs[0]).toEqual({
      resource: { 'service.name': 'agents' },
      scopeName: 'agentloupe.logs',
      timeUnixNano: BigInt(T0),
      observedTimeUnixNano: BigInt(T1),
      severityNumber: 13,
      severityText: 'WARN',
      body: 'rate limited',
      attributes: { retry: 2 },
      traceId: TRACE,
      spanId: SPAN,
      flags: 1,
      eventName: 'gen_ai.client.retry',
    });
    expect(logs[1]).toMatchObject({ severityNumber: 17, body: { error: 'boom', codes: [1] }, timeUnixNano: 0n });
    expect(logs[1]?.traceId).toBeUndefined();
    expect(logs[1]?.spanId).toBeUndefined();
    expect(logs[2]).toMatchObject({ body: null, severityNumber: 0, severityText: '', attributes: {} });
  });
});

// ---------------------------------------------------------------------------------------------
// The official exporters



const contentTypeOf = (req: Captured): OtlpContentType =>
  (req.headers['content-type'] ?? '').startsWith('application/x-protobuf') ? 'protobuf' : 'json';

type MetricExporterFactory = (url: string, temporality: AggregationTemporalityPreference) => PushMetricExporter;

const METRIC_EXPORTERS: [string, MetricExporterFactory | undefined][] = [
  ['http/json', (url, temporalityPreference) => new JsonMetricExporter({ url, temporalityPreference })],
  [
    'http/protobuf',
    protoMetrics &&
      ((url, temporalityPreference) => new protoMetrics.OTLPMetricExporter({ url, temporalityPreference })),
  ],
];

/** Two collection cycles: counter +5 then +2; histogram 10, 200, 3000 then 50; an up-down counter. */
async function exportMetricsTwice(
  factory: MetricExporterFactory,
  temporality: AggregationTemporalityPreference,
): Promise<MetricData[][]> {
  const server = await startCaptureServer();
  const reader = new PeriodicExportingMetricReader({
    exporter: factory(`${server.url}/v1/metrics`, temporality),
    exportIntervalMillis: 3_600_000,
  });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'metrics-test' }),
    readers: [reader],
  });
  try {
    const meter = provider.getMeter('agentloupe-metrics', '0.1.0');
    const tokens = meter.createCounter('gen_ai.client.token.usage', { unit: '{token}', description: 'tokens used' });
    const duration = meter.createHistogram('gen_ai.client.operation.duration', { unit: 'ms' });
    const active = meter.createUpDownCounter('agents.active');
    tokens.add(5, { 'gen_ai.request.model': 'gpt-4o' });
    duration.record(10);
    duration.record(200);
    duration.record(3000);
    active.add(3);
    await provider.forceFlush();
    tokens.add(2, { 'gen_ai.request.model': 'gpt-4o' });
    duration.record(50);
    active.add(-1);
    await provider.forceFlush();
  } finally {
    await provider.shutdown();
    await server.close();
  }
  return server.requests.map((req) => {
    const decoded = decodeMetrics(req.body, contentTypeOf(req));
    expect(decoded.rejected).toBe(0);
    return decoded.metrics;
  });
}

describe('decodeMetrics: what the official OTLP metric exporters send', () => {
  for (const [label, factory] of METRIC_EXPORTERS) {
    for (const [name, preference, expected] of [
      ['delta', AggregationTemporalityPreference.DELTA, { counter: [5, 2], count: [3, 1], sum: [3210, 50] }],
      ['cumulative', AggregationTemporalityPreference.CUMULATIVE, { counter: [5, 7], count: [3, 4], sum: [3210, 3260] }],
    ] as const) {
      it.skipIf(factory === undefined)(`${label}, ${name}: counter and histogram across two exports`, async () => {
        const exports = await exportMetricsTwice(factory as MetricExporterFactory, preference);
        expect(exports.length).toBeGreaterThanOrEqual(2);
        const find = (i: number, metricName: string): MetricData | undefined =>
          exports[i]?.find((m) => m.name === metricName);
        for (const i of [0, 1]) {
          const tokens = find(i, 'gen_ai.client.token.usage');
          expect(tokens).toMatchObject({
            type: 'sum',
            temporality: name,
            monotonic: true,
            unit: '{token}',
            description: 'tokens used',
            scopeName: 'agentloupe-metrics',
            scopeVersion: '0.1.0',
            resource: { 'service.name': 'metrics-test' },
          });
          expect(tokens?.points).toHaveLength(1);
          expect(tokens?.points[0]?.attributes).toEqual({ 'gen_ai.request.model': 'gpt-4o' });
          expect(tokens?.points[0]?.value).toBe(expected.counter[i]);
          expect(tokens?.points[0]?.timeUnixNano).toBeGreaterThanOrEqual(tokens?.points[0]?.startTimeUnixNano ?? 0n);

          const duration = find(i, 'gen_ai.client.operation.duration');
          expect(duration).toMatchObject({ type: 'histogram', temporality: name, unit: 'ms' });
          const point = duration?.points[0];
          expect(point?.count).toBe(expected.count[i]);
          expect(point?.sum).toBe(expected.sum[i]);
          expect(point?.bucketCounts).toHaveLength((point?.explicitBounds?.length ?? 0) + 1);
          expect(point?.bucketCounts?.reduce((a, b) => a + b, 0)).toBe(point?.count);
          expect(point?.min).toBeTypeOf('number');
          expect(point?.max).toBeTypeOf('number');

          const active = find(i, 'agents.active');
          expect(active).toMatchObject({ type: 'sum', monotonic: false });
        }
        expect(find(1, 'agents.active')?.points[0]?.value).toBe(2);
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------

const LOG_EXPORTERS: [string, ((url: string) => unknown) | undefined][] = [
  ['http/json', httpLogs && ((url: string) => new httpLogs.OTLPLogExporter({ url }))],
  ['http/protobuf', protoLogs && ((url: string) => new protoLogs.OTLPLogExporter({ url }))],
];

const hrToNanos = (t: HrTime): bigint => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

describe('decodeLogs: what the official OTLP log exporters send', () => {
  for (const [label, factory] of LOG_EXPORTERS) {
    it.skipIf(factory === undefined || sdkLogs === undefined || apiLogs === undefined)(
      `${label}: decoded records equal what the SDK recorded`,
      async () => {
        if (factory === undefined || sdkLogs === undefined || apiLogs === undefined) return;
        const server = await startCaptureServer();
        const memory = new sdkLogs.InMemoryLogRecordExporter();
        const provider = new sdkLogs.LoggerProvider({
          resource: resourceFromAttributes({ 'service.name': 'logs-test' }),
          processors: [
            // sdk-logs 0.2xx takes an options object, unlike SimpleSpanProcessor.
            new sdkLogs.SimpleLogRecordProcessor({ exporter: factory(`${server.url}/v1/logs`) as never }),
            new sdkLogs.SimpleLogRecordProcessor({ exporter: memory }),
          ],
        });
        const spanContext = { traceId: TRACE, spanId: SPAN, traceFlags: TraceFlags.SAMPLED };
        let recorded: ReturnType<typeof memory.getFinishedLogRecords> = [];
        try {
          const logger = provider.getLogger('agentloupe-logs', '2.0.0');
          logger.emit({
            timestamp: [1_700_000_000, 123_456_789],
            severityNumber: apiLogs.SeverityNumber.WARN,
            severityText: 'WARN',
            body: 'rate limited',
            attributes: { retry: 2, model: 'gpt-4o', ratio: 0.5, ok: false, tags: ['a', 'b'] },
            eventName: 'gen_ai.client.retry',
            context: trace.setSpanContext(ROOT_CONTEXT, spanContext),
          });
          logger.emit({
            severityNumber: apiLogs.SeverityNumber.ERROR,
            body: { error: 'boom', codes: [1, 2], nested: { deep: true } },
          });
          await provider.forceFlush();
          // Read before shutdown: the in-memory exporter forgets its records when shut down.
          recorded = memory.getFinishedLogRecords();
        } finally {
          await provider.shutdown();
          await server.close();
        }
        const decoded = server.requests.map((req) => decodeLogs(req.body, contentTypeOf(req)));
        expect(decoded.every((d) => d.rejected === 0)).toBe(true);
        const logs = decoded.flatMap((d) => d.logs);
        const expected = recorded.map((r) => {
          const out: Record<string, unknown> = {
            resource: { ...r.resource.attributes },
            scopeName: r.instrumentationScope.name,
            scopeVersion: r.instrumentationScope.version,
            timeUnixNano: hrToNanos(r.hrTime),
            observedTimeUnixNano: hrToNanos(r.hrTimeObserved),
            severityNumber: r.severityNumber ?? 0,
            severityText: r.severityText ?? '',
            body: r.body ?? null,
            attributes: { ...r.attributes },
          };
          if (r.spanContext) {
            out.traceId = r.spanContext.traceId;
            out.spanId = r.spanContext.spanId;
          }
          if (r.eventName) out.eventName = r.eventName;
          return out;
        });
        expect(logs).toHaveLength(2);
        expect(logs).toMatchObject(expected);
        expect(logs[0]).toMatchObject({
          traceId: TRACE,
          spanId: SPAN,
          flags: 1,
          eventName: 'gen_ai.client.retry',
          timeUnixNano: 1_700_000_000_123_456_789n,
        });
        expect(logs[1]?.traceId).toBeUndefined();
      },
    );
  }
});
