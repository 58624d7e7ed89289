import type { HrTime } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Attributes, SpanData } from './span-data.js';

export function hrTimeToNs(t: HrTime): bigint {
  return BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
}

/** True when the span has ended (its end time is set). */
export function hasEnded(span: ReadableSpan): boolean {
  return span.ended;
}

/**
 * Converts an SDK span to the mapping's SpanData. `ended` false gives a start-time view
 * (no end time), which is what onStart sees.
 */
export function fromReadableSpan(span: ReadableSpan, ended = span.ended): SpanData {
  const ctx = span.spanContext();
  return {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    name: span.name,
    kind: span.kind,
    startTimeUnixNano: hrTimeToNs(span.startTime),
    endTimeUnixNano: ended ? hrTimeToNs(span.endTime) : undefined,
    statusCode: span.status.code,
    statusMessage: span.status.message,
    attributes: span.attributes as Attributes,
    events: span.events.map((e) => ({
      name: e.name,
      timeUnixNano: hrTimeToNs(e.time),
      attributes: (e.attributes ?? {}) as Attributes,
    })),
    links: span.links.map((l) => ({
      traceId: l.context.traceId,
      spanId: l.context.spanId,
      attributes: (l.attributes ?? {}) as Attributes,
    })),
    resource: span.resource.attributes as Attributes,
    scopeName: span.instrumentationScope.name,
    scopeVersion: span.instrumentationScope.version,
  };
}
