/**
 * Stored spans -> OTLP JSON for the Jaeger /api/v3 endpoints. The stored row is turned back into
 * the one span shape (SpanData) and encoded by the collector's own OTLP encoder, so what the v3
 * API returns decodes into the same rows it came from.
 */
import type { Attributes, SpanData } from '../../spans/span-data.js';
import type { SpanRecord } from '../../store/reader.js';
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
