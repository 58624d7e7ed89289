/**
 * Stored spans -> the Jaeger v1 query API's JSON (the shapes of jaegertracing/jaeger
 * internal/uimodel): µs times, typed tags, CHILD_OF / FOLLOWS_FROM references, one process per
 * distinct resource. Span fields that are not attributes become the tags Jaeger's own OTLP
 * translator adds (span.kind, otel.status_code, error, ...), so Grafana and the Jaeger UI show
 * and search them as they would a trace stored by Jaeger.
 */
import * as A from '../../semconv.js';
import { SPAN_KIND_NAMES } from '../../spans/span-data.js';
import type { SpanRecord } from '../../store/reader.js';

export type JaegerValueType = 'string' | 'bool' | 'int64' | 'float64';

export interface JaegerKeyValue {
  key: string;
  type: JaegerValueType;
  value: string | boolean | number;
}

export interface JaegerReference {
  refType: 'CHILD_OF' | 'FOLLOWS_FROM';
  traceID: string;
  spanID: string;
}

export interface JaegerLog {
  /** µs since the epoch. */
  timestamp: number;
  fields: JaegerKeyValue[];
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  flags: number;
  operationName: string;
  references: JaegerReference[];
  /** µs since the epoch. */
  startTime: number;
  /** µs. */
  duration: number;
  tags: JaegerKeyValue[];
  logs: JaegerLog[];
  processID: string;
  warnings: string[] | null;
}

export interface JaegerProcess {
  serviceName: string;
  tags: JaegerKeyValue[];
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, JaegerProcess>;
  warnings: string[] | null;
}

/** Jaeger's structured response: every v1 endpoint answers in this envelope. */
export interface JaegerResponse<T> {
  data: T;
  total: number;
  limit: number;
  offset: number;
  errors: { code: number; msg: string }[] | null;
}

/** Lowercase span kind names, as Jaeger reports them (`internal`, `server`, `client`, ...). */
export function spanKindName(kind: number): string {
  return (SPAN_KIND_NAMES[kind] ?? 'INTERNAL').toLowerCase();
}

/** The API SpanKind for a Jaeger span-kind name, or undefined for an unknown one. */
export function spanKindFromName(name: string): number | undefined {
  const i = (SPAN_KIND_NAMES as readonly string[]).indexOf(name.trim().toUpperCase());
  return i < 0 ? undefined : i;
}

/** One attribute as a typed Jaeger tag. Arrays and maps have no Jaeger type: they go as JSON text. */
export function toKeyValue(key: string, value: unknown): JaegerKeyValue {
  switch (typeof value) {
    case 'string':
      return { key, type: 'string', value };
    case 'boolean':
      return { key, type: 'bool', value };
    case 'number':
      return Number.isSafeInteger(value) ? { key, type: 'int64', value } : { key, type: 'float64', value };
    case 'bigint':
      return { key, type: 'int64', value: Number(value) };
    default:
      return { key, type: 'string', value: value === null || value === undefined ? '' : JSON.stringify(value) };
  }
}

function keyValues(attrs: Record<string, unknown>, skip?: string): JaegerKeyValue[] {
  const out: JaegerKeyValue[] = [];
  for (const key of Object.keys(attrs)) if (key !== skip) out.push(toKeyValue(key, attrs[key]));
  return out;
}

const micros = (ns: bigint): number => Number(ns / 1000n);

function spanTags(s: SpanRecord): JaegerKeyValue[] {
  const tags = keyValues(s.attributes);
  tags.push({ key: A.JAEGER_TAG_SPAN_KIND, type: 'string', value: spanKindName(s.kind) });
  if (s.scopeName) tags.push({ key: A.JAEGER_TAG_SCOPE_NAME, type: 'string', value: s.scopeName });
  if (s.statusCode === 1) tags.push({ key: A.JAEGER_TAG_STATUS_CODE, type: 'string', value: 'OK' });
  if (s.statusCode === 2) {
    tags.push({ key: A.JAEGER_TAG_STATUS_CODE, type: 'string', value: 'ERROR' });
    tags.push({ key: A.JAEGER_TAG_ERROR, type: 'bool', value: true });
  }
  if (s.statusMessage) tags.push({ key: A.JAEGER_TAG_STATUS_DESCRIPTION, type: 'string', value: s.statusMessage });
  return tags;
}

function references(s: SpanRecord): JaegerReference[] {
  const refs: JaegerReference[] = [];
  if (s.parentSpanId) refs.push({ refType: 'CHILD_OF', traceID: s.traceId, spanID: s.parentSpanId });
  for (const l of s.links) refs.push({ refType: 'FOLLOWS_FROM', traceID: l.traceId, spanID: l.spanId });
  return refs;
}

function logs(s: SpanRecord): JaegerLog[] {
  return s.events.map((e) => ({
    timestamp: micros(BigInt(e.timeUnixNano)),
    fields: [{ key: A.JAEGER_LOG_EVENT, type: 'string', value: e.name }, ...keyValues(e.attributes ?? {})],
  }));
}

/**
 * The spans of one trace (as MonitoringStore.getTrace returns them) -> a Jaeger trace. Spans of
 * one resource share a process (p1, p2, ... in order of first appearance).
 */
export function toJaegerTrace(traceId: string, spans: readonly SpanRecord[]): JaegerTrace {
  const processes: Record<string, JaegerProcess> = {};
  const processIds = new Map<string, string>();
  const out: JaegerSpan[] = [];
  for (const s of spans) {
    const resourceKey = JSON.stringify(s.resource);
    let processID = processIds.get(resourceKey);
    if (processID === undefined) {
      processID = `p${processIds.size + 1}`;
      processIds.set(resourceKey, processID);
      processes[processID] = { serviceName: s.serviceName ?? 'unknown_service', tags: keyValues(s.resource, A.SERVICE_NAME) };
    }
    out.push({
      traceID: s.traceId,
      spanID: s.spanId,
      flags: 1,
      operationName: s.name,
      references: references(s),
      startTime: micros(s.startNs),
      duration: micros(s.durationNs),
      tags: spanTags(s),
      logs: logs(s),
      processID,
      warnings: null,
    });
  }
  return { traceID: traceId, spans: out, processes, warnings: null };
}

export function jaegerResponse<T>(data: T, total = 0): JaegerResponse<T> {
  return { data, total, limit: 0, offset: 0, errors: null };
}

export function jaegerError(code: number, msg: string): JaegerResponse<null> {
  return { data: null, total: 0, limit: 0, offset: 0, errors: [{ code, msg }] };
}
