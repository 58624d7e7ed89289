/**
 * The OTLP decoder against what the official OpenTelemetry JS exporters really put on the wire:
 * a real SDK, real OTLP/HTTP exporters (JSON and protobuf, plain and gzip) and a real HTTP server
 * on loopback. The decoded SpanData must equal what an in-memory exporter saw for the same spans.
 * Then the rules of the OTLP JSON mapping, and hostile input.
 */
import { startCaptureServer, type Captured } from './capture-server.js';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type HrTime } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import protobuf from 'protobufjs';
import { decodeTraces, OtlpDecodeError, type OtlpContentType } from '../src/collector/otlp/decode.js';
import { ExportTraceServiceRequest } from '../src/collector/otlp/proto.js';
import type { Attributes, SpanData } from '../src/spans/span-data.js';



/** What the HTTP layer will do: undo Content-Encoding, pick the decoder from Content-Type. */
function decodeCaptured(req: Captured): { spans: SpanData[]; rejected: number } {
  const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(req.body) : req.body;
  const type = req.headers['content-type'] ?? '';
  const contentType: OtlpContentType = type.startsWith('application/x-protobuf') ? 'protobuf' : 'json';
  return decodeTraces(body, contentType);
}

const hrToNanos = (t: HrTime): bigint => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

/** The SpanData the in-process path would build from the same ReadableSpan. */
function fromReadable(span: ReadableSpan): SpanData {
  const ctx = span.spanContext();
  const out: SpanData = {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    name: span.name,
    kind: span.kind,
    startTimeUnixNano: hrToNanos(span.startTime),
    endTimeUnixNano: hrToNanos(span.endTime),
    statusCode: span.status.code,
    attributes: { ...span.attributes } as Attributes,
    events: span.events.map((e) => ({
      name: e.name,
      timeUnixNano: hrToNanos(e.time),
      attributes: { ...(e.attributes ?? {}) } as Attributes,
    })),
    links: span.links.map((l) => ({
      traceId: l.context.traceId,
      spanId: l.context.spanId,
      attributes: { ...(l.attributes ?? {}) } as Attributes,
    })),
    resource: { ...span.resource.attributes } as Attributes,
    scopeName: span.instrumentationScope.name,
  };
  if (span.parentSpanContext?.spanId) out.parentSpanId = span.parentSpanContext.spanId;
  if (span.status.message) out.statusMessage = span.status.message;
  if (span.instrumentationScope.version) out.scopeVersion = span.instrumentationScope.version;
  return out;
}

const EVERY_TYPE = {
  'attr.string': 'héllo ✓ "quoted"',
  'attr.empty_string': '',
  'attr.int': 42,
  'attr.negative_int': -7,
  'attr.zero': 0,
  'attr.big_int': 2 ** 40,
  'attr.double': 3.25,
  'attr.negative_double': -0.5,
  'attr.bool_true': true,
  'attr.bool_false': false,
  'attr.strings': ['a', 'b', ''],
  'attr.ints': [1, 2, 3],
  'attr.doubles': [1.5, 2.5],
  'attr.bools': [true, false],
  'attr.empty_array': [],
  'attr.with_null': ['x', null],
};

/** A small agent run: root agent span, model call with link, events, error; tool call in another scope. */
function produceSpans(provider: BasicTracerProvider): void {
  const tracer = provider.getTracer('agentloupe-test', '1.2.3');
  const other = provider.getTracer('other-scope');
  const root = tracer.startSpan('invoke_agent planner', {
    kind: SpanKind.INTERNAL,
    startTime: [1_700_000_000, 123_456_789],
    attributes: EVERY_TYPE,
  });
  const ctx = trace.setSpan(ROOT_CONTEXT, root);
  const chat = tracer.startSpan(
    'chat gpt-4o',
    {
      kind: SpanKind.CLIENT,
      startTime: [1_700_000_000, 200_000_001],
      attributes: { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1234 },
      links: [
        {
          context: {
            traceId: '0af7651916cd43dd8448eb211c80319c',
            spanId: 'b7ad6b7169203331',
            traceFlags: TraceFlags.SAMPLED,
            isRemote: true,
          },
          attributes: { 'link.reason': 'retry of', 'link.attempt': 2 },
        },
      ],
    },
    ctx,
  );
  chat.addEvent('gen_ai.choice', { 'gen_ai.choice.index': 0, finish_reason: 'stop' }, [1_700_000_000, 500_000_001]);
  chat.recordException(new Error('boom'), [1_700_000_000, 600_000_000]);
  chat.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited' });
  chat.end([1_700_000_001, 1]);

  const tool = other.startSpan('execute_tool search', { kind: SpanKind.SERVER, attributes: { n: 1 } }, ctx);
  tool.setStatus({ code: SpanStatusCode.OK });
  tool.end();
  const producer = tracer.startSpan('publish', { kind: SpanKind.PRODUCER }, ctx);
  producer.end();
  const consumer = tracer.startSpan('receive', { kind: SpanKind.CONSUMER }, trace.setSpan(ROOT_CONTEXT, producer));
  consumer.addEvent('no attributes');
  consumer.end();
  root.end([1_700_000_002, 999_999_999]);
}

type ExporterFactory = (url: string) => SpanExporter;

const CASES: [string, ExporterFactory, string, boolean][] = [
  ['http/json', (url) => new JsonTraceExporter({ url }), 'application/json', false],
  [
    'http/json + gzip',
    (url) => new JsonTraceExporter({ url, compression: CompressionAlgorithm.GZIP }),
    'application/json',
    true,
  ],
  ['http/protobuf', (url) => new ProtoTraceExporter({ url }), 'application/x-protobuf', false],
  [
    'http/protobuf + gzip',
    (url) => new ProtoTraceExporter({ url, compression: CompressionAlgorithm.GZIP }),
    'application/x-protobuf',
    true,
  ],
];

async function exportThrough(factory: ExporterFactory): Promise<{ captured: Captured[]; expected: SpanData[] }> {
  const server = await startCaptureServer();
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'agentloupe-otlp-test',
      'service.version': '0.1.0',
      'host.cpu.count': 8,
      'deployment.tags': ['a', 'b'],
    }),
    spanProcessors: [new SimpleSpanProcessor(factory(`${server.url}/v1/traces`)), new SimpleSpanProcessor(memory)],
  });
  try {
    produceSpans(provider);
    await provider.forceFlush();
    return { captured: [...server.requests], expected: memory.getFinishedSpans().map(fromReadable) };
  } finally {
    await provider.shutdown();
    await server.close();
  }
}

const bySpanId = (a: SpanData, b: SpanData): number => a.spanId.localeCompare(b.spanId);

describe('decodeTraces: what the official OTLP/HTTP trace exporters send', () => {
  for (const [label, factory, contentType, gzip] of CASES) {
    it(`${label}: decoded SpanData equals what the SDK recorded`, async () => {
      const { captured, expected } = await exportThrough(factory);
      expect(expected).toHaveLength(5);
      expect(captured.length).toBeGreaterThan(0);
      for (const req of captured) {
        expect(req.path).toBe('/v1/traces');
        expect(req.headers['content-type']).toBe(contentType);
        expect(req.headers['content-encoding']).toBe(gzip ? 'gzip' : undefined);
      }
      const decoded = captured.map(decodeCaptured);
      expect(decoded.map((d) => d.rejected)).toEqual(decoded.map(() => 0));
      const spans = decoded.flatMap((d) => d.spans);
      expect(spans.sort(bySpanId)).toEqual(expected.sort(bySpanId));

      // The properties that matter most downstream, spelled out.
      const chat = spans.find((s) => s.name === 'chat gpt-4o');
      const root = spans.find((s) => s.name === 'invoke_agent planner');
      const tool = spans.find((s) => s.name === 'execute_tool search');
      expect(root?.parentSpanId).toBeUndefined();
      expect(root?.startTimeUnixNano).toBe(1_700_000_000_123_456_789n);
      expect(root?.endTimeUnixNano).toBe(1_700_000_002_999_999_999n);
      expect(root?.attributes['attr.negative_int']).toBe(-7);
      expect(root?.attributes['attr.with_null']).toEqual(['x', null]);
      expect(chat?.parentSpanId).toBe(root?.spanId);
      expect(chat?.traceId).toBe(root?.traceId);
      expect(chat?.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(chat?.kind).toBe(SpanKind.CLIENT);
      expect(chat?.statusCode).toBe(2);
      expect(chat?.statusMessage).toBe('rate limited');
      expect(chat?.events.map((e) => e.name)).toEqual(['gen_ai.choice', 'exception']);
      expect(chat?.events[0]?.timeUnixNano).toBe(1_700_000_000_500_000_001n);
      expect(chat?.links[0]).toEqual({
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        attributes: { 'link.reason': 'retry of', 'link.attempt': 2 },
      });
      expect(chat?.scopeName).toBe('agentloupe-test');
      expect(chat?.scopeVersion).toBe('1.2.3');
      expect(chat?.resource['service.name']).toBe('agentloupe-otlp-test');
      expect(tool?.kind).toBe(SpanKind.SERVER);
      expect(tool?.statusCode).toBe(1);
      expect(tool?.scopeName).toBe('other-scope');
      expect(tool?.scopeVersion).toBeUndefined();
      expect(spans.find((s) => s.name === 'publish')?.kind).toBe(SpanKind.PRODUCER);
      expect(spans.find((s) => s.name === 'receive')?.kind).toBe(SpanKind.CONSUMER);
    });
  }

  it('documents the JSON exporter wire format: hex ids, int64 times as strings, ints as numbers', async () => {
    const { captured } = await exportThrough((url) => new JsonTraceExporter({ url }));
    const body = JSON.parse(captured[0]?.body.toString('utf8') ?? '') as {
      resourceSpans: {
        scopeSpans: {
          spans: {
            traceId: unknown;
            spanId: unknown;
            startTimeUnixNano: unknown;
            kind: unknown;
            flags: unknown;
            attributes: { key: string; value: Record<string, unknown> }[];
          }[];
        }[];
      }[];
    };
    const span = body.resourceSpans[0]?.scopeSpans[0]?.spans[0];
    expect(span?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(span?.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(typeof span?.startTimeUnixNano).toBe('string');
    expect(typeof span?.kind).toBe('number');
    // flags = W3C trace flags | SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE (0x100).
    expect(typeof span?.flags).toBe('number');
    const intAttr = span?.attributes.find((a) => a.key === 'gen_ai.usage.input_tokens');
    expect(intAttr?.value).toEqual({ intValue: 1234 });
  });
});

// ---------------------------------------------------------------------------------------------

const TRACE = '5b8efff798038103d269b633813fc60c';
const SPAN = 'eee19b7ec3c1b174';
const PARENT = 'eee19b7ec3c1b173';

function jsonRequest(spans: unknown[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
          scopeSpans: [{ scope: { name: 'manual', version: '1' }, spans }],
          ...extra,
        },
      ],
    }),
  );
}

describe('decodeTraces: OTLP JSON mapping rules', () => {
  it('accepts int64 as strings or numbers, enums as integers or names, ids in any case', () => {
    const { spans, rejected } = decodeTraces(
      jsonRequest([
        {
          traceId: TRACE.toUpperCase(),
          spanId: SPAN.toUpperCase(),
          parentSpanId: PARENT,
          name: 'strings',
          kind: 3,
          startTimeUnixNano: '1700000000123456789',
          endTimeUnixNano: 1_700_000_001_000_000_000,
          status: { code: 2, message: 'bad' },
          attributes: [
            { key: 'int.number', value: { intValue: 42 } },
            { key: 'int.string', value: { intValue: '42' } },
            { key: 'int.negative', value: { intValue: '-5' } },
            { key: 'int.huge', value: { intValue: '9007199254740993' } },
            { key: 'int.min', value: { intValue: '-9223372036854775808' } },
            { key: 'double.nan', value: { doubleValue: 'NaN' } },
            { key: 'double.inf', value: { doubleValue: '-Infinity' } },
            { key: 'double.string', value: { doubleValue: '2.5' } },
            { key: 'bytes', value: { bytesValue: 'AAEC' } },
            {
              key: 'kv',
              value: {
                kvlistValue: {
                  values: [
                    { key: 'nested', value: { arrayValue: { values: [{ intValue: 1 }, { stringValue: 'x' }, {}] } } },
                  ],
                },
              },
            },
            { key: 'empty', value: {} },
            { key: 'no_value' },
          ],
        },
        { traceId: TRACE, spanId: 'eee19b7ec3c1b175', name: 'names', kind: 'SPAN_KIND_SERVER', status: { code: 'STATUS_CODE_OK' } },
        { traceId: TRACE, spanId: 'eee19b7ec3c1b176', name: 'unspecified', kind: 0 },
        { traceId: TRACE, spanId: 'eee19b7ec3c1b177', name: 'internal', kind: 1 },
      ]),
      'json',
    );
    expect(rejected).toBe(0);
    const [a, b, c, d] = spans;
    expect(a?.traceId).toBe(TRACE);
    expect(a?.spanId).toBe(SPAN);
    expect(a?.parentSpanId).toBe(PARENT);
    expect(a?.kind).toBe(SpanKind.CLIENT);
    expect(a?.startTimeUnixNano).toBe(1_700_000_000_123_456_789n);
    expect(a?.endTimeUnixNano).toBe(1_700_000_001_000_000_000n);
    expect(a?.statusCode).toBe(2);
    expect(a?.statusMessage).toBe('bad');
    expect(a?.attributes).toEqual({
      'int.number': 42,
      'int.string': 42,
      'int.negative': -5,
      'int.huge': '9007199254740993',
      'int.min': '-9223372036854775808',
      'double.nan': Number.NaN,
      'double.inf': Number.NEGATIVE_INFINITY,
      'double.string': 2.5,
      bytes: 'AAEC',
      kv: { nested: [1, 'x', null] },
      empty: null,
      no_value: null,
    });
    expect(a?.resource).toEqual({ 'service.name': 'svc' });
    expect(a?.scopeName).toBe('manual');
    expect(b?.kind).toBe(SpanKind.SERVER);
    expect(b?.statusCode).toBe(1);
    expect(c?.kind).toBe(SpanKind.INTERNAL);
    expect(d?.kind).toBe(SpanKind.INTERNAL);
    expect(c?.endTimeUnixNano).toBeUndefined();
  });

  it('ignores unknown fields at every level, and snake_case keys are unknown fields', () => {
    const body = Buffer.from(
      JSON.stringify({
        futureField: { x: 1 },
        resourceSpans: [
          {
            unknown: [1, 2],
            resource: { attributes: [], droppedAttributesCount: 0, entityRefs: [{ type: 'service' }], extra: true },
            schemaUrl: 'https://opentelemetry.io/schemas/1.30.0',
            scopeSpans: [
              {
                scope: { name: 's', attributes: [{ key: 'a', value: { stringValue: 'b' } }], what: 1 },
                spans: [
                  { traceId: TRACE, spanId: SPAN, name: 'ok', flags: 257, traceState: 'a=b', newThing: { deep: [1] } },
                  { trace_id: TRACE, span_id: SPAN, name: 'snake' },
                ],
              },
            ],
          },
        ],
      }),
    );
    const { spans, rejected, errors } = decodeTraces(body, 'json');
    expect(spans.map((s) => s.name)).toEqual(['ok']);
    expect(rejected).toBe(1);
    expect(errors[0]).toMatch(/spans\[1\].*traceId/);
  });
});

describe('decodeTraces: bad input', () => {
  const valid = (): Uint8Array =>
    ExportTraceServiceRequest.encode({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
          scopeSpans: [
            {
              scope: { name: 's' },
              spans: [
                {
                  traceId: Buffer.from(TRACE, 'hex'),
                  spanId: Buffer.from(SPAN, 'hex'),
                  name: 'one',
                  startTimeUnixNano: '1700000000000000001',
                },
              ],
            },
          ],
        },
      ],
    }).finish();

  it('decodes the valid protobuf baseline', () => {
    const { spans } = decodeTraces(Buffer.from(valid()), 'protobuf');
    expect(spans).toHaveLength(1);
    expect(spans[0]?.startTimeUnixNano).toBe(1_700_000_000_000_000_001n);
  });

  it('throws OtlpDecodeError for truncated or garbage protobuf', () => {
    const bytes = valid();
    expect(() => decodeTraces(Buffer.from(bytes.subarray(0, bytes.length - 3)), 'protobuf')).toThrow(OtlpDecodeError);
    expect(() => decodeTraces(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]), 'protobuf')).toThrow(OtlpDecodeError);
    expect(() => decodeTraces(Buffer.from('{"resourceSpans":[]}'), 'protobuf')).toThrow(OtlpDecodeError);
  });

  it('throws OtlpDecodeError for invalid JSON and for the wrong top-level shape', () => {
    for (const text of ['{"resourceSpans": [', '', 'not json', '[]', '"x"', 'null', '42', '{"resourceSpans": {}}',
      '{"resourceSpans": [1]}', '{"resourceSpans": [{"scopeSpans": "x"}]}', '{"resourceSpans": [{"scopeSpans": [{"spans": {}}]}]}']) {
      expect(() => decodeTraces(Buffer.from(text), 'json'), text).toThrow(OtlpDecodeError);
    }
    // An empty request is a valid request.
    expect(decodeTraces(Buffer.from('{}'), 'json')).toMatchObject({ spans: [], rejected: 0 });
    expect(decodeTraces(Buffer.alloc(0), 'protobuf')).toMatchObject({ spans: [], rejected: 0 });
  });

  it('rejects (and counts) spans with bad ids, keeping the rest of the request', () => {
    const { spans, rejected, errors } = decodeTraces(
      jsonRequest([
        { traceId: TRACE, spanId: SPAN, name: 'good' },
        { traceId: TRACE.slice(2), spanId: SPAN, name: 'short trace id' },
        { traceId: '0'.repeat(32), spanId: SPAN, name: 'zero trace id' },
        { traceId: TRACE, spanId: '0000000000000000', name: 'zero span id' },
        { traceId: TRACE, spanId: SPAN + '00', name: 'long span id' },
        { traceId: TRACE, spanId: SPAN, parentSpanId: 'abc', name: 'odd parent' },
        { traceId: 'W46O/5gDgQPSabYzgT/GDA==', spanId: SPAN, name: 'base64 id' },
        { spanId: SPAN, name: 'missing trace id' },
        { traceId: TRACE, spanId: SPAN, name: 'bad time', startTimeUnixNano: '12.5' },
        { traceId: TRACE, spanId: SPAN, name: 5 },
        'not a span',
        { traceId: TRACE, spanId: 'eee19b7ec3c1b175', parentSpanId: '0000000000000000', name: 'zero parent is root' },
      ]),
      'json',
    );
    expect(spans.map((s) => s.name)).toEqual(['good', 'zero parent is root']);
    expect(spans[1]?.parentSpanId).toBeUndefined();
    expect(rejected).toBe(10);
    expect(errors).toHaveLength(10);
    expect(errors[0]).toMatch(/traceId must be 16 bytes, got 15/);
    expect(errors.join('\n')).toMatch(/all zero/);

    // Same rule for protobuf bytes.
    const proto = ExportTraceServiceRequest.encode({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                { traceId: Buffer.alloc(4, 1), spanId: Buffer.from(SPAN, 'hex'), name: 'short' },
                { traceId: Buffer.from(TRACE, 'hex'), spanId: Buffer.from(SPAN, 'hex'), name: 'fine' },
              ],
            },
          ],
        },
      ],
    }).finish();
    const p = decodeTraces(Buffer.from(proto), 'protobuf');
    expect(p.spans.map((s) => s.name)).toEqual(['fine']);
    expect(p.rejected).toBe(1);
  });

  it('rejects every span of a resource whose attributes are malformed', () => {
    const body = Buffer.from(
      JSON.stringify({
        resourceSpans: [
          { resource: { attributes: 'nope' }, scopeSpans: [{ spans: [{ traceId: TRACE, spanId: SPAN }, {}] }] },
          { scopeSpans: [{ spans: [{ traceId: TRACE, spanId: SPAN, name: 'kept' }] }] },
        ],
      }),
    );
    const { spans, rejected } = decodeTraces(body, 'json');
    expect(spans.map((s) => s.name)).toEqual(['kept']);
    expect(rejected).toBe(2);
  });

  it('caps a million attributes quickly, counting the dropped ones', () => {
    const N = 1_000_000;
    const DISTINCT = 2000;
    // Assembled with protobufjs's Writer plus one repeated record, so the test spends its time
    // in the decoder rather than in building a million-element request.
    const attribute = (w: protobuf.Writer, key: string, value: number): void => {
      w.uint32((9 << 3) | 2).fork(); // Span.attributes: KeyValue
      w.uint32((1 << 3) | 2).string(key);
      w.uint32((2 << 3) | 2).fork().uint32((3 << 3) | 0).int64(value).ldelim(); // AnyValue.int_value
      w.ldelim();
    };
    const head = protobuf.Writer.create();
    head.uint32((1 << 3) | 2).bytes(Buffer.from(TRACE, 'hex'));
    head.uint32((2 << 3) | 2).bytes(Buffer.from(SPAN, 'hex'));
    head.uint32((5 << 3) | 2).string('huge');
    for (let i = 0; i < DISTINCT; i++) attribute(head, `k${i}`, i);
    const one = protobuf.Writer.create();
    attribute(one, 'same', 1);
    const record = one.finish();
    const tail = Buffer.alloc(record.length * (N - DISTINCT)).fill(record);
    const span = Buffer.concat([head.finish(), tail]);
    const w = protobuf.Writer.create();
    w.uint32((1 << 3) | 2).fork(); // ExportTraceServiceRequest.resource_spans
    w.uint32((2 << 3) | 2).fork(); // ResourceSpans.scope_spans
    w.uint32((2 << 3) | 2).bytes(span); // ScopeSpans.spans
    w.ldelim().ldelim();
    const body = Buffer.from(w.finish());

    const started = performance.now();
    const { spans, dropped } = decodeTraces(body, 'protobuf');
    const elapsed = performance.now() - started;
    expect(Object.keys(spans[0]?.attributes ?? {})).toHaveLength(1024);
    expect(spans[0]?.attributes.k1023).toBe(1023);
    expect(spans[0]?.attributes.k1024).toBeUndefined();
    expect(dropped.attributes).toBe(N - 1024);
    // What is past the cap is skipped by its length, not decoded; the HTTP layer's body limit
    // bounds the rest.
    expect(elapsed).toBeLessThan(15_000);
  });

  it('caps huge JSON attribute sets, long strings and deep nesting', () => {
    const DEPTH = 5_000;
    const deep = `${'{"arrayValue":{"values":['.repeat(DEPTH)}{"stringValue":"bottom"}${']}}'.repeat(DEPTH)}`;
    const attributes = [
      `{"key":"long","value":{"stringValue":"${'x'.repeat(1_000_000)}"}}`,
      `{"key":"deep","value":${deep}}`,
      '{"key":"__proto__","value":{"stringValue":"not a prototype"}}',
      ...Array.from({ length: 200_000 }, (_, i) => `{"key":"k${i}","value":{"intValue":"${i}"}}`),
    ];
    // Built as text: JSON.stringify itself recurses and cannot write 5000 levels.
    const body = Buffer.from(
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE}","spanId":"${SPAN}","name":"big",` +
        `"attributes":[${attributes.join(',')}]}]}]}]}`,
    );
    const started = performance.now();
    const { spans, dropped } = decodeTraces(body, 'json', { limits: { maxDepth: 4, maxStringLength: 1000 } });
    expect(performance.now() - started).toBeLessThan(15_000);
    const attrs = spans[0]?.attributes ?? {};
    expect(Object.keys(attrs)).toHaveLength(1024);
    expect(dropped.attributes).toBe(attributes.length - 1024);
    expect(attrs.long).toHaveLength(1000);
    expect(attrs.deep).toEqual([[[[null]]]]);
    expect(Object.getPrototypeOf(attrs)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(attrs, '__proto__')).toBe(true);
    expect(dropped.values).toBe(2);
  });

  it('caps absurdly deep protobuf nesting at maxDepth as the JSON path does, without recursing into it', () => {
    // AnyValue{array_value: ArrayValue{values: AnyValue{...}}}, 200k levels, assembled inside-out.
    const levels = 200_000;
    const headers: Buffer[] = [];
    let size = 0;
    const varint = (n: number): number[] => {
      const out: number[] = [];
      while (n > 0x7f) {
        out.push((n & 0x7f) | 0x80);
        n >>>= 7;
      }
      out.push(n);
      return out;
    };
    for (let i = 0; i < levels; i++) {
      const arrayValue = [0x0a, ...varint(size)]; // ArrayValue.values
      size += arrayValue.length;
      const anyValue = [0x2a, ...varint(size)]; // AnyValue.array_value
      size += anyValue.length;
      headers.push(Buffer.from([...anyValue, ...arrayValue]));
    }
    const value = Buffer.concat(headers.reverse());
    const kv = Buffer.concat([Buffer.from([0x0a, 1, 0x6b, 0x12, ...varint(value.length)]), value]);
    const span = Buffer.concat([
      Buffer.from([0x0a, 16]),
      Buffer.from(TRACE, 'hex'),
      Buffer.from([0x12, 8]),
      Buffer.from(SPAN, 'hex'),
      Buffer.from([0x4a, ...varint(kv.length)]),
      kv,
    ]);
    const scopeSpans = Buffer.concat([Buffer.from([0x12, ...varint(span.length)]), span]);
    const resourceSpans = Buffer.concat([Buffer.from([0x12, ...varint(scopeSpans.length)]), scopeSpans]);
    const request = Buffer.concat([Buffer.from([0x0a, ...varint(resourceSpans.length)]), resourceSpans]);
    // Past maxDepth the value is skipped by its length, not decoded: no deep recursion, no 400
    // for a well-framed body, and the same value as the JSON path gives (see the JSON test above).
    const started = performance.now();
    const { spans, dropped } = decodeTraces(request, 'protobuf', { limits: { maxDepth: 4 } });
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(spans[0]?.attributes.k).toEqual([[[[null]]]]);
    expect(dropped.values).toBe(1);
    // Broken framing anywhere inside that depth is still a 400.
    const cut = Buffer.from(request);
    cut[cut.length - 1] = 0xff;
    expect(() => decodeTraces(cut.subarray(0, cut.length - 2), 'protobuf')).toThrow(OtlpDecodeError);
  });

  it('rejects an unsupported content type', () => {
    expect(() => decodeTraces(Buffer.from('{}'), 'xml' as OtlpContentType)).toThrow(OtlpDecodeError);
  });
});
