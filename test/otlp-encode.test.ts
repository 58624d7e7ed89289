/**
 * SpanData -> OTLP (JSON and protobuf) -> SpanData must be lossless for everything SpanData can
 * hold; and the export responses must be what the official exporters understand as partial success.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { decodeTraces } from '../src/collector/otlp/decode.js';
import { encodeExportResponse, encodeTracesJson, encodeTracesProtobuf } from '../src/collector/otlp/encode.js';
import {
  ExportLogsServiceResponse,
  ExportMetricsServiceResponse,
  ExportTraceServiceResponse,
} from '../src/collector/otlp/proto.js';
import type { Attributes, SpanData } from '../src/spans/span-data.js';

const agentResource: Attributes = { 'service.name': 'agents', 'process.pid': 4242, tags: ['a', 'b'] };
const otherResource: Attributes = { 'service.name': 'tools' };

const SPANS: SpanData[] = [
  {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    name: 'invoke_agent planner',
    kind: 0,
    startTimeUnixNano: 1_700_000_000_123_456_789n,
    endTimeUnixNano: 1_700_000_002_999_999_999n,
    statusCode: 2,
    statusMessage: 'exit code 3',
    attributes: {
      str: 'héllo',
      empty: '',
      int: 42,
      negative: -7,
      big: 2 ** 40,
      beyond_double_precision: '9223372036854775807',
      double: 3.25,
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      bool: false,
      nothing: null,
      list: ['a', 1, 2.5, true, null, ['nested']],
      map: { k: 'v', inner: { deeper: [1, 2] }, none: null },
      empty_list: [],
      empty_map: {},
    },
    events: [
      { name: 'status', timeUnixNano: 1_700_000_001_000_000_001n, attributes: { status: 'running' } },
      { name: 'bare', timeUnixNano: 1_700_000_001_500_000_000n, attributes: {} },
    ],
    links: [{ traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', spanId: 'bbbbbbbbbbbbbbbb', attributes: { why: 'retry' } }],
    resource: agentResource,
    scopeName: 'agentloupe',
    scopeVersion: '0.1.0',
  },
  {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203332',
    parentSpanId: 'b7ad6b7169203331',
    name: 'chat gpt-4o',
    kind: 2,
    startTimeUnixNano: 1_700_000_000_200_000_000n,
    endTimeUnixNano: 1_700_000_000_900_000_000n,
    statusCode: 0,
    attributes: { 'gen_ai.usage.input_tokens': 1000 },
    events: [],
    links: [],
    // Same content, different object: must still share one ResourceSpans.
    resource: { ...agentResource },
    scopeName: 'agentloupe',
    scopeVersion: '0.1.0',
  },
  {
    traceId: '1af7651916cd43dd8448eb211c80319c',
    spanId: 'c7ad6b7169203331',
    name: 'execute_tool search',
    kind: 1,
    startTimeUnixNano: 1n,
    endTimeUnixNano: 2n,
    statusCode: 1,
    attributes: {},
    events: [],
    links: [],
    resource: otherResource,
  },
  {
    traceId: '1af7651916cd43dd8448eb211c80319c',
    spanId: 'c7ad6b7169203332',
    parentSpanId: 'c7ad6b7169203331',
    name: 'consume',
    kind: 4,
    startTimeUnixNano: 3n,
    endTimeUnixNano: 4n,
    statusCode: 0,
    attributes: {},
    events: [],
    links: [],
    resource: otherResource,
    scopeName: 'queue',
  },
];

describe('encodeTracesJson / encodeTracesProtobuf', () => {
  it('writes OTLP JSON: grouped by resource and scope, hex ids, int64 as strings, OTLP kinds', () => {
    const json = encodeTracesJson(SPANS);
    expect(json.resourceSpans).toHaveLength(2);
    const [agents, tools] = json.resourceSpans;
    expect(agents?.scopeSpans).toHaveLength(1);
    expect(agents?.scopeSpans[0]?.scope).toEqual({ name: 'agentloupe', version: '0.1.0' });
    expect(agents?.scopeSpans[0]?.spans.map((s) => s.kind)).toEqual([1, 3]);
    expect(tools?.scopeSpans.map((s) => s.scope)).toEqual([{ name: '' }, { name: 'queue' }]);
    expect(tools?.scopeSpans.map((s) => s.spans[0]?.kind)).toEqual([2, 5]);
    const root = agents?.scopeSpans[0]?.spans[0];
    expect(root).toMatchObject({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      startTimeUnixNano: '1700000000123456789',
      endTimeUnixNano: '1700000002999999999',
      status: { code: 2, message: 'exit code 3' },
    });
    expect(root?.parentSpanId).toBeUndefined();
    const attr = (key: string): unknown => root?.attributes.find((a) => a.key === key)?.value;
    expect(attr('int')).toEqual({ intValue: '42' });
    expect(attr('double')).toEqual({ doubleValue: 3.25 });
    expect(attr('nan')).toEqual({ doubleValue: 'NaN' });
    expect(attr('nothing')).toEqual({});
    expect(attr('map')).toEqual({
      kvlistValue: {
        values: [
          { key: 'k', value: { stringValue: 'v' } },
          {
            key: 'inner',
            value: {
              kvlistValue: {
                values: [{ key: 'deeper', value: { arrayValue: { values: [{ intValue: '1' }, { intValue: '2' }] } } }],
              },
            },
          },
          { key: 'none', value: {} },
        ],
      },
    });
    // JSON text must survive JSON.stringify: no bigint anywhere.
    expect(() => JSON.stringify(json)).not.toThrow();
  });

  it('round-trips through JSON', () => {
    const body = Buffer.from(JSON.stringify(encodeTracesJson(SPANS)));
    const { spans, rejected } = decodeTraces(body, 'json');
    expect(rejected).toBe(0);
    expect(spans).toEqual(SPANS);
  });

  it('round-trips through protobuf', () => {
    const { spans, rejected } = decodeTraces(Buffer.from(encodeTracesProtobuf(SPANS)), 'protobuf');
    expect(rejected).toBe(0);
    expect(spans).toEqual(SPANS);
    // Decoded spans of one ResourceSpans share one resource object.
    expect(spans[0]?.resource).toBe(spans[1]?.resource);
  });

  it('re-encodes decoded spans to the same request', () => {
    const once = decodeTraces(Buffer.from(encodeTracesProtobuf(SPANS)), 'protobuf').spans;
    expect(encodeTracesJson(once)).toEqual(encodeTracesJson(SPANS));
    expect(Buffer.from(encodeTracesProtobuf(once))).toEqual(Buffer.from(encodeTracesProtobuf(SPANS)));
  });

  it('encodes an empty batch as an empty request', () => {
    expect(encodeTracesJson([])).toEqual({ resourceSpans: [] });
    expect(encodeTracesProtobuf([])).toHaveLength(0);
  });
});

describe('encodeExportResponse', () => {
  it('leaves partial_success unset when everything was accepted', () => {
    expect(encodeExportResponse('traces', 0, undefined, 'json')).toBe('{}');
    expect(encodeExportResponse('metrics', 0, '', 'protobuf')).toHaveLength(0);
  });

  it('writes the per-signal rejected counter as JSON (int64 as a string)', () => {
    expect(JSON.parse(encodeExportResponse('traces', 3, 'bad ids', 'json'))).toEqual({
      partialSuccess: { rejectedSpans: '3', errorMessage: 'bad ids' },
    });
    expect(JSON.parse(encodeExportResponse('metrics', 2, undefined, 'json'))).toEqual({
      partialSuccess: { rejectedDataPoints: '2' },
    });
    expect(JSON.parse(encodeExportResponse('logs', 0, 'just a warning', 'json'))).toEqual({
      partialSuccess: { errorMessage: 'just a warning' },
    });
  });

  it('writes protobuf the proto definitions read back', () => {
    const read = (type: typeof ExportTraceServiceResponse, bytes: Buffer): unknown =>
      type.toObject(type.decode(bytes), { longs: Number });
    expect(read(ExportTraceServiceResponse, encodeExportResponse('traces', 3, 'bad ids', 'protobuf'))).toEqual({
      partialSuccess: { rejectedSpans: 3, errorMessage: 'bad ids' },
    });
    expect(read(ExportMetricsServiceResponse, encodeExportResponse('metrics', 5, undefined, 'protobuf'))).toEqual({
      partialSuccess: { rejectedDataPoints: 5 },
    });
    expect(read(ExportLogsServiceResponse, encodeExportResponse('logs', 1, 'x', 'protobuf'))).toEqual({
      partialSuccess: { rejectedLogRecords: 1, errorMessage: 'x' },
    });
  });

  for (const [label, factory, contentType] of [
    ['http/json', (url: string) => new JsonTraceExporter({ url }), 'json'],
    ['http/protobuf', (url: string) => new ProtoTraceExporter({ url }), 'protobuf'],
  ] as const satisfies readonly (readonly [string, (url: string) => SpanExporter, 'json' | 'protobuf'])[]) {
    it(`is read as a partial success by the official ${label} exporter`, async () => {
      const server = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          const body = encodeExportResponse('traces', 2, 'two spans had bad ids', contentType);
          res.writeHead(200, {
            'content-type': contentType === 'json' ? 'application/json' : 'application/x-protobuf',
          });
          res.end(body);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const warnings: string[] = [];
      const logger: DiagLogger = {
        error: () => undefined,
        warn: (...args: unknown[]) => void warnings.push(args.map(String).join(' ')),
        info: () => undefined,
        debug: () => undefined,
        verbose: () => undefined,
      };
      diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
      const { port } = server.address() as AddressInfo;
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': 'partial' }),
        spanProcessors: [new SimpleSpanProcessor(factory(`http://127.0.0.1:${port}/v1/traces`))],
      });
      try {
        provider.getTracer('t').startSpan('s').end();
        await provider.forceFlush();
      } finally {
        await provider.shutdown();
        diag.disable();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      const partial = warnings.find((w) => w.includes('Partial Success'));
      expect(partial, warnings.join('\n')).toBeDefined();
      expect(partial).toMatch(/"rejectedSpans":"?2"?/);
      expect(partial).toContain('"errorMessage":"two spans had bad ids"');
    });
  }
});
