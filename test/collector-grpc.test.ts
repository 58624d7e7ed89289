/**
 * OTLP/gRPC receiver: the official OTel JS gRPC exporters (traces, metrics, logs) store exactly the
 * rows the OTLP/HTTP protobuf exporters store for the same payloads, and every gRPC status the
 * receiver gives is checked with a raw grpc-js client (the exporters do not expose the status).
 */
import grpc from '@grpc/grpc-js';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as GrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { OTLP_GRPC_SERVICES } from '../src/collector/grpc/receiver.js';
import { encodeTracesProtobuf } from '../src/collector/otlp/encode.js';
import { ExportTraceServiceResponse } from '../src/collector/otlp/proto.js';
import { retryDelayMsOf } from '../src/collector/rpc-status.js';
import type { RunningCollector } from '../src/collector/server.js';
import { createMonitor } from '../src/index.js';
import type { SpanData } from '../src/spans/span-data.js';
import { dumpTables, query, testCollector } from './collector-fixture.js';

function grpcEndpoint(c: RunningCollector): string {
  expect(c.grpcUrl).toBeDefined();
  return c.grpcUrl!;
}

/** The same agent swarm through two exporters at once: one per collector. */
async function recordSwarm(exporters: SpanExporter[]): Promise<void> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'grpc-swarm', 'process.pid': 4242 }),
    spanProcessors: exporters.map((e) => new BatchSpanProcessor(e, { maxExportBatchSize: 5, scheduledDelayMillis: 10 })),
  });
  const monitor = createMonitor({ tracerProvider: provider, registerGlobal: false });
  await monitor.withAgent({ type: 'architect', planId: 'REQ-9' }, async (architect) => {
    architect.recordUsage({ provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 1200, outputTokens: 300, cacheReadTokens: 800 });
    await monitor.withAgent({ type: 'developer' }, async (dev) => {
      dev.recordUsage({ provider: 'openai', model: 'gpt-4o', inputTokens: 500, outputTokens: 120, reasoningTokens: 20 });
      dev.recordTool({ name: 'write_file', args: { path: 'a.ts' }, approved: true, approvalType: 'user' });
    });
    await monitor.withAgent({ type: 'reviewer' }, async () => Promise.reject(new Error('3 problems'))).catch(() => undefined);
  });
  await provider.forceFlush();
  await provider.shutdown();
}

/** Coding-agent events (one per tool) and a session metric, as Claude Code / Gemini CLI / Codex send them. */
async function recordCodingAgents(logExporters: LogRecordExporter[], metricExporters: PushMetricExporter[]): Promise<void> {
  const resource = resourceFromAttributes({ 'service.name': 'claude-code', 'process.pid': 99 });
  const logs = new LoggerProvider({ resource, processors: logExporters.map((e) => new BatchLogRecordProcessor({ exporter: e, scheduledDelayMillis: 10 })) });
  const logger = logs.getLogger('com.anthropic.claude_code.events', '2.0.0');
  const time = new Date(1_760_000_000_000);
  logger.emit({ timestamp: time, severityNumber: SeverityNumber.INFO, body: 'claude_code.api_request', attributes: { 'event.name': 'api_request', 'session.id': 'S-grpc', model: 'claude-sonnet-4-5', input_tokens: '12', output_tokens: '30', cache_read_tokens: '100', cost_usd: '0.0123', duration_ms: '2300' } });
  logger.emit({ timestamp: time, body: 'gemini_cli.api_response', attributes: { 'event.name': 'gemini_cli.api_response', 'session.id': 'G-grpc', model: 'gemini-2.5-pro', input_token_count: 1000, output_token_count: 100, cached_content_token_count: 400, thoughts_token_count: 50, duration_ms: 900 } });
  logger.emit({ timestamp: time, attributes: { 'event.name': 'codex.sse_event', 'event.kind': 'response.completed', 'conversation.id': 'C-grpc', model: 'gpt-5-codex', input_token_count: '900', output_token_count: '80', cached_token_count: '500', reasoning_token_count: '30' } });
  const meters = new MeterProvider({ resource, readers: metricExporters.map((exporter) => new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })) });
  meters.getMeter('com.anthropic.claude_code').createCounter('claude_code.token.usage').add(42, { 'session.id': 'S-metric', type: 'input' });
  await logs.forceFlush();
  await meters.forceFlush();
  await logs.shutdown();
  await meters.shutdown();
}

type Client = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** A raw client for one service, sending pre-encoded bytes, so each status can be provoked and read. */
function rawClient(address: string, service: string, options: grpc.ClientOptions = {}): Client {
  const Ctor = grpc.makeGenericClientConstructor(
    { Export: { path: `/${service}/Export`, requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b } },
    service,
  );
  return new Ctor(address.replace(/^http:\/\//, ''), grpc.credentials.createInsecure(), options) as unknown as Client;
}

interface CallResult {
  error?: grpc.ServiceError;
  response?: Buffer;
}

function call(client: Client, body: Uint8Array, metadata = new grpc.Metadata()): Promise<CallResult> {
  return new Promise((resolve) => {
    client.Export!(Buffer.from(body), metadata, (error: grpc.ServiceError | null, response?: Buffer) => resolve(error ? { error } : { response }));
  });
}

const TRACE = '0af7651916cd43dd8448eb211c80319c';
function span(i: number, overrides: Partial<SpanData> = {}): SpanData {
  return {
    traceId: TRACE,
    spanId: (0x1000 + i).toString(16).padStart(16, '0'),
    name: `step ${i}`,
    kind: 0,
    startTimeUnixNano: 1_760_000_000_000_000_000n + BigInt(i),
    endTimeUnixNano: 1_760_000_000_500_000_000n,
    statusCode: 0,
    attributes: { i },
    events: [],
    links: [],
    resource: { 'service.name': 'raw-grpc' },
    ...overrides,
  };
}

describe('OTLP/gRPC receiver', () => {
  it('official trace exporters: rows over gRPC (plain and gzip) equal rows over OTLP/HTTP protobuf', async () => {
    const http = await testCollector();
    const plain = await testCollector();
    const gzip = await testCollector();
    await recordSwarm([
      new ProtoTraceExporter({ url: `${http.url}/v1/traces` }),
      new GrpcTraceExporter({ url: grpcEndpoint(plain) }),
      new GrpcTraceExporter({ url: grpcEndpoint(gzip), compression: 'gzip' as never }),
    ]);
    await Promise.all([http.flush(), plain.flush(), gzip.flush()]);
    const expected = dumpTables(http.dbPath);
    expect(expected.agents).toHaveLength(3);
    expect(expected.telemetry).toHaveLength(3);
    expect(expected.spans).toHaveLength(6);
    expect(dumpTables(plain.dbPath)).toEqual(expected);
    expect(dumpTables(gzip.dbPath)).toEqual(expected);
    expect(plain.stats().traces).toEqual({ requests: plain.stats().traces.requests, accepted: 6, rejected: 0 });
  });

  it('official log and metric exporters: coding-agent sessions over gRPC equal those over OTLP/HTTP protobuf', async () => {
    const http = await testCollector();
    const viaGrpc = await testCollector();
    await recordCodingAgents(
      [new ProtoLogExporter({ url: `${http.url}/v1/logs` }), new GrpcLogExporter({ url: grpcEndpoint(viaGrpc) })],
      [new ProtoMetricExporter({ url: `${http.url}/v1/metrics` }), new GrpcMetricExporter({ url: grpcEndpoint(viaGrpc) })],
    );
    await Promise.all([http.flush(), viaGrpc.flush()]);
    const expected = dumpTables(http.dbPath);
    expect(expected.agents.map((a) => a.id)).toEqual(['claude-code-S-grpc', 'claude-code-S-metric', 'codex-C-grpc', 'gemini-cli-G-grpc']);
    expect(expected.telemetry.map((t) => [t.agent_id, t.total_tokens])).toEqual(
      expect.arrayContaining([['claude-code-S-grpc', 142n], ['gemini-cli-G-grpc', 1150n], ['codex-C-grpc', 980n]]),
    );
    expect(dumpTables(viaGrpc.dbPath)).toEqual(expected);
    expect(viaGrpc.stats().logs.accepted).toBe(3);
    expect(viaGrpc.stats().metrics.accepted).toBeGreaterThan(0);
    expect(viaGrpc.stats().metrics.accepted).toBe(http.stats().metrics.accepted);
  });

  it('OK with partial success: invalid spans are rejected and counted, the rest stored', async () => {
    const c = await testCollector();
    const client = rawClient(grpcEndpoint(c), OTLP_GRPC_SERVICES.traces);
    const bad = span(2, { traceId: 'abcdef' as string });
    // encodeTracesProtobuf writes ids as given: a 3-byte trace id is what a broken sender would send.
    const res = await call(client, encodeTracesProtobuf([span(1), bad, span(3)]));
    client.close();
    expect(res.error).toBeUndefined();
    const answer = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(res.response!), { longs: Number }) as { partialSuccess?: { rejectedSpans: number; errorMessage: string } };
    expect(answer.partialSuccess?.rejectedSpans).toBe(1);
    expect(answer.partialSuccess?.errorMessage).toMatch(/traceId must be 16 bytes, got 3/);
    await c.flush();
    expect(query(c.dbPath, 'SELECT name FROM spans ORDER BY name')).toEqual([{ name: 'step 1' }, { name: 'step 3' }]);
  });

  it('INVALID_ARGUMENT for a message that is not an export request; nothing stored is lost', async () => {
    const c = await testCollector();
    const client = rawClient(grpcEndpoint(c), OTLP_GRPC_SERVICES.traces);
    expect((await call(client, encodeTracesProtobuf([span(1)]))).error).toBeUndefined();
    const res = await call(client, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    client.close();
    expect(res.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(res.error?.details).toMatch(/invalid protobuf ExportTraceServiceRequest/);
    await c.flush();
    expect(query(c.dbPath, 'SELECT COUNT(*) AS n FROM spans')).toEqual([{ n: 1n }]);
  });

  it('UNAUTHENTICATED without the token (raw client and official exporter); OK with it', async () => {
    const c = await testCollector({ token: 's3cret' });
    const client = rawClient(grpcEndpoint(c), OTLP_GRPC_SERVICES.traces);
    const none = await call(client, encodeTracesProtobuf([span(1)]));
    const wrong = new grpc.Metadata();
    wrong.set('authorization', 'Bearer nope');
    const bad = await call(client, encodeTracesProtobuf([span(2)]), wrong);
    const right = new grpc.Metadata();
    right.set('authorization', 'Bearer s3cret');
    const good = await call(client, encodeTracesProtobuf([span(3)]), right);
    client.close();
    expect(none.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(none.error?.details).toMatch(/bearer token/);
    expect(bad.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(good.error).toBeUndefined();

    // The official exporter: a failure without the token, success with it in its metadata.
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
    provider.getTracer('t').startSpan('exported').end();
    const exportWith = (metadata?: grpc.Metadata): Promise<number> => {
      const exporter = new GrpcTraceExporter({ url: grpcEndpoint(c), ...(metadata ? { metadata } : {}) });
      return new Promise<number>((resolve) => exporter.export(memory.getFinishedSpans(), (r) => resolve(r.code))).finally(() => exporter.shutdown());
    };
    expect(await exportWith()).toBe(ExportResultCode.FAILED);
    expect(await exportWith(right)).toBe(ExportResultCode.SUCCESS);
    await c.flush();
    expect(query(c.dbPath, 'SELECT name FROM spans ORDER BY name')).toEqual([{ name: 'exported' }, { name: 'step 3' }]);
  });

  it('UNAVAILABLE with a RetryInfo delay when the write queue is full', async () => {
    const c = await testCollector({ maxQueueSize: 3, retryAfterSeconds: 7 });
    const client = rawClient(grpcEndpoint(c), OTLP_GRPC_SERVICES.traces);
    const res = await call(client, encodeTracesProtobuf([span(1), span(2), span(3), span(4)]));
    client.close();
    expect(res.error?.code).toBe(grpc.status.UNAVAILABLE);
    const details = res.error!.metadata.get('grpc-status-details-bin')[0];
    expect(Buffer.isBuffer(details)).toBe(true);
    expect(retryDelayMsOf(details as Buffer)).toBe(7000);
    expect(c.stats().refused).toBe(1);
  });

  it('UNAVAILABLE with a RetryInfo delay when memory admission refuses; HTTP and gRPC share one admission', async () => {
    // A 1 MiB cap: the test process is far past 3/5 of it, so only a request with none other in
    // flight is admitted. An HTTP request held open (headers sent, body not finished) is that one.
    const c = await testCollector({ maxMemoryBytes: 1024 * 1024, retryAfterSeconds: 3 });
    const body = Buffer.from(encodeTracesProtobuf([span(1)]));
    const held = request(`${c.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length } });
    const answered = new Promise<number>((resolve, reject) => {
      held.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      held.on('error', reject);
    });
    held.write(body.subarray(0, 10));
    for (let i = 0; c.stats().admission.inflightRequests === 0; i++) {
      if (i > 200) throw new Error('the held HTTP request was never admitted');
      await new Promise((r) => setTimeout(r, 10));
    }
    const client = rawClient(grpcEndpoint(c), OTLP_GRPC_SERVICES.traces);
    const refused = await call(client, encodeTracesProtobuf([span(2)]));
    expect(refused.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(refused.error?.details).toMatch(/memory cap/);
    const details = refused.error!.metadata.get('grpc-status-details-bin')[0];
    expect(retryDelayMsOf(details as Buffer)).toBe(3000);
    expect(c.stats().admission.refused).toBe(1);
    // Once the HTTP request is answered nothing is in flight: the retry is admitted and stored.
    held.end(body.subarray(10));
    expect(await answered).toBe(200);
    const retried = await call(client, encodeTracesProtobuf([span(2)]));
    client.close();
    expect(retried.error).toBeUndefined();
    expect(c.stats().admission.inflightRequests).toBe(0);
    expect(c.stats().admission.inflightBytes).toBe(0);
    expect(query(c.dbPath, 'SELECT name FROM spans ORDER BY name')).toEqual([{ name: 'step 1' }, { name: 'step 2' }]);
  });

  it('RESOURCE_EXHAUSTED for a message over the size cap, plain or as a gzip bomb; gzip within the cap is accepted', async () => {
    const c = await testCollector({ maxBodyBytes: 4096 });
    const big = encodeTracesProtobuf([span(1, { attributes: { blob: 'x'.repeat(100_000) } })]);
    expect(gzipSync(big).length).toBeLessThan(4096);
    const plain = rawClient(grpcEndpoint(c), OTLP_GRPC_SERVICES.traces);
    const tooBig = await call(plain, big);
    plain.close();
    expect(tooBig.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const gz = rawClient(grpcEndpoint(c), OTLP_GRPC_SERVICES.traces, { 'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip });
    const bomb = await call(gz, big);
    expect(bomb.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const small = await call(gz, encodeTracesProtobuf([span(2, { attributes: { note: 'y'.repeat(2000) } })]));
    gz.close();
    expect(small.error).toBeUndefined();
    await c.flush();
    expect(query(c.dbPath, 'SELECT name FROM spans')).toEqual([{ name: 'step 2' }]);
  });

  it('UNIMPLEMENTED for a method the receiver does not serve; --grpc-port 0 equivalent turns gRPC off', async () => {
    const c = await testCollector();
    const client = rawClient(grpcEndpoint(c), 'opentelemetry.proto.collector.profiles.v1development.ProfilesService');
    const res = await call(client, Buffer.alloc(0));
    client.close();
    expect(res.error?.code).toBe(grpc.status.UNIMPLEMENTED);
    const off = await testCollector({ grpcPort: false });
    expect(off.grpcUrl).toBeUndefined();
  });
});
