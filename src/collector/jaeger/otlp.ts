/**
 * Stored spans -> OTLP JSON for the Jaeger /api/v3 endpoints. The stored row is turned back into
 * the one span shape (SpanData) and encoded by the collector's own OTLP encoder, so what the v3
 * API returns decodes into the same rows it came from.
 */
import type { Attributes, SpanData } from '../../spans/span-data.js';
import type { SpanRecord } from '../../store/reader.js';
import { SERVICE_NAME } from '../../semconv.js';
import { encodeTracesJson, type OtlpJsonTracesRequest } from '../otlp/encode.js';

export function spanDataFromRecord(r: SpanRecord): SpanData {
  const span: SpanData = {
    traceId: r.traceId,
    spanId: r.spanId,
    name: r.name,
    kind: r.kind,
    startTimeUnixNano: r.startNs,
    endTimeUnixNano: r.endNs,
    statusCode: r.statusCode,
    attributes: r.attributes as Attributes,
    events: r.events.map((e) => ({ name: e.name, timeUnixNano: BigInt(e.timeUnixNano), attributes: (e.attributes ?? {}) as Attributes })),
    links: r.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: (l.attributes ?? {}) as Attributes })),
    resource: r.resource as Attributes,
  };
  if (r.parentSpanId) span.parentSpanId = r.parentSpanId;
  if (r.statusMessage) span.statusMessage = r.statusMessage;
  if (r.scopeName) span.scopeName = r.scopeName;
  return span;
}

/** Jaeger's api_v3 HTTP envelope: `{"result": TracesData}` (grpc-gateway's wrapper of a streamed response). */
export interface V3TracesResponse {
  result: OtlpJsonTracesRequest;
}

export function toV3Traces(spans: readonly SpanRecord[]): V3TracesResponse {
  return { result: encodeTracesJson(spans.map(spanDataFromRecord)) };
}

/** Jaeger's api_v3 error envelope. */
export interface V3ErrorResponse {
  error: { httpCode: number; message: string };
}

export function v3Error(httpCode: number, message: string): V3ErrorResponse {
  return { error: { httpCode, message } };
}

/** A received span as the read layer would return it once stored (the inverse of spanDataFromRecord). */
export function recordFromSpanData(s: SpanData): SpanRecord {
  const end = s.endTimeUnixNano ?? s.startTimeUnixNano;
  const service = s.resource[SERVICE_NAME];
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId ?? null,
    name: s.name,
    kind: s.kind,
    startNs: s.startTimeUnixNano,
    endNs: end,
    durationNs: end > s.startTimeUnixNano ? end - s.startTimeUnixNano : 0n,
    statusCode: s.statusCode,
    statusMessage: s.statusMessage ?? null,
    serviceName: typeof service === 'string' ? service : null,
    scopeName: s.scopeName ?? null,
    agentId: null,
    attributes: s.attributes,
    events: s.events.map((e) => ({ name: e.name, timeUnixNano: e.timeUnixNano.toString(), attributes: e.attributes })),
    links: s.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: l.attributes })),
    resource: s.resource,
  };
}
