/**
 * SpanData -> OTLP ExportTraceServiceRequest (JSON object or protobuf bytes), for forwarding
 * received spans upstream; and the ExportXServiceResponse bodies the receiver answers with.
 *
 * The JSON form follows the OTLP JSON rules: hex ids, 64-bit integers as decimal strings, enums
 * as integers, lowerCamelCase keys. The protobuf form is built from the JSON form (one place
 * decides the structure), with the ids turned back into bytes and the non-finite doubles back
 * into numbers.
 */
import { Buffer } from 'node:buffer';
import type { AttributeValue, Attributes, SpanData } from '../../spans/span-data.js';
import type { OtlpContentType } from './decode.js';
import { ExportTraceServiceRequest, OTLP_SIGNALS, type OtlpSignal } from './proto.js';

export type { OtlpSignal } from './proto.js';

export type OtlpJsonDouble = number | 'NaN' | 'Infinity' | '-Infinity';

export interface OtlpJsonAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  /** int64 as a decimal string. */
  intValue?: string;
  doubleValue?: OtlpJsonDouble;
  arrayValue?: { values: OtlpJsonAnyValue[] };
  kvlistValue?: { values: OtlpJsonKeyValue[] };
}

export interface OtlpJsonKeyValue {
  key: string;
  value: OtlpJsonAnyValue;
}

export interface OtlpJsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** OTLP numbering: 1 INTERNAL, 2 SERVER, 3 CLIENT, 4 PRODUCER, 5 CONSUMER. */
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpJsonKeyValue[];
  events: { timeUnixNano: string; name: string; attributes: OtlpJsonKeyValue[] }[];
  links: { traceId: string; spanId: string; attributes: OtlpJsonKeyValue[] }[];
  status: { code: number; message?: string };
}

export interface OtlpJsonScopeSpans {
  scope: { name: string; version?: string };
  spans: OtlpJsonSpan[];
}

export interface OtlpJsonResourceSpans {
  resource: { attributes: OtlpJsonKeyValue[] };
  scopeSpans: OtlpJsonScopeSpans[];
}

export interface OtlpJsonTracesRequest {
  resourceSpans: OtlpJsonResourceSpans[];
}

const INT64_MIN = -(2 ** 63);
const INT64_LIMIT = 2 ** 63;

function jsonDouble(n: number): OtlpJsonDouble {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return 'Infinity';
  if (n === Number.NEGATIVE_INFINITY) return '-Infinity';
  return n;
}

/**
 * AttributeValue -> AnyValue. Integral numbers go out as intValue: a double that happens to be
 * whole (3.0) cannot be told from an int in JavaScript, and the official exporters decide the same
 * way. Decimal strings produced by the decoder for int64 values beyond 2^53 go out as strings: once
 * decoded, they are indistinguishable from string attributes, and a string is the lossless choice.
 */
export function toAnyValue(v: AttributeValue): OtlpJsonAnyValue {
  switch (typeof v) {
    case 'string':
      return { stringValue: v };
    case 'boolean':
      return { boolValue: v };
    case 'number':
      if (Number.isInteger(v) && v >= INT64_MIN && v < INT64_LIMIT) return { intValue: BigInt(v).toString() };
      return { doubleValue: jsonDouble(v) };
    default:
      if (v === null) return {};
      if (Array.isArray(v)) return { arrayValue: { values: v.map(toAnyValue) } };
      return { kvlistValue: { values: toKeyValues(v) } };
  }
}

export function toKeyValues(attributes: Attributes): OtlpJsonKeyValue[] {
  return Object.keys(attributes).map((key) => ({ key, value: toAnyValue(attributes[key] ?? null) }));
}

/** API SpanKind (INTERNAL=0 ...) -> OTLP SpanKind (INTERNAL=1 ...). */
function otlpSpanKind(kind: number): number {
  return Number.isInteger(kind) && kind >= 0 && kind <= 4 ? kind + 1 : 1;
}

function toJsonSpan(s: SpanData): OtlpJsonSpan {
  const span: OtlpJsonSpan = {
    traceId: s.traceId.toLowerCase(),
    spanId: s.spanId.toLowerCase(),
    name: s.name,
    kind: otlpSpanKind(s.kind),
    startTimeUnixNano: s.startTimeUnixNano.toString(),
    endTimeUnixNano: (s.endTimeUnixNano ?? 0n).toString(),
    attributes: toKeyValues(s.attributes),
    events: s.events.map((e) => ({
      timeUnixNano: e.timeUnixNano.toString(),
      name: e.name,
      attributes: toKeyValues(e.attributes),
    })),
    links: s.links.map((l) => ({
      traceId: l.traceId.toLowerCase(),
      spanId: l.spanId.toLowerCase(),
      attributes: toKeyValues(l.attributes),
    })),
    status: s.statusMessage ? { code: s.statusCode, message: s.statusMessage } : { code: s.statusCode },
  };
  if (s.parentSpanId) span.parentSpanId = s.parentSpanId.toLowerCase();
  return span;
}

/** Deterministic key for an attribute set: same content, same key, whatever the key order. */
function canonical(v: AttributeValue): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  return `{${Object.keys(v)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(v[k] ?? null)}`)
    .join(',')}}`;
}

/**
 * SpanData[] -> OTLP JSON ExportTraceServiceRequest, grouped by resource (by content, not by object
 * identity, so spans decoded from different requests of one service share a group) and by scope.
 */
export function encodeTracesJson(spans: readonly SpanData[]): OtlpJsonTracesRequest {
  const byResource = new Map<string, { resource: OtlpJsonResourceSpans; scopes: Map<string, OtlpJsonScopeSpans> }>();
  // Decoded spans share their resource object; canonicalise each distinct object once.
  const keyOf = new Map<Attributes, string>();
  for (const s of spans) {
    let rKey = keyOf.get(s.resource);
    if (rKey === undefined) {
      rKey = canonical(s.resource);
      keyOf.set(s.resource, rKey);
    }
    let group = byResource.get(rKey);
    if (group === undefined) {
      group = {
        resource: { resource: { attributes: toKeyValues(s.resource) }, scopeSpans: [] },
        scopes: new Map(),
      };
      byResource.set(rKey, group);
    }
    const sKey = `${s.scopeName ?? ''}\u0000${s.scopeVersion ?? ''}`;
    let scopeSpans = group.scopes.get(sKey);
    if (scopeSpans === undefined) {
      const scope: OtlpJsonScopeSpans['scope'] = { name: s.scopeName ?? '' };
      if (s.scopeVersion) scope.version = s.scopeVersion;
      scopeSpans = { scope, spans: [] };
      group.scopes.set(sKey, scopeSpans);
      group.resource.scopeSpans.push(scopeSpans);
    }
    scopeSpans.spans.push(toJsonSpan(s));
  }
  return { resourceSpans: [...byResource.values()].map((g) => g.resource) };
}

// ---------------------------------------------------------------------------------------------
// Protobuf

/** Message objects for protobufjs: ids as bytes, doubles as numbers; int64 decimal strings are read by protobufjs as is. */
type ProtoValue = string | number | boolean | Uint8Array | ProtoMessage | ProtoValue[] | undefined;
interface ProtoMessage {
  [key: string]: ProtoValue;
}

const hexBytes = (hex: string): Uint8Array => Buffer.from(hex, 'hex');

function protoDouble(d: OtlpJsonDouble): number {
  return typeof d === 'number' ? d : Number(d);
}

function protoAnyValue(v: OtlpJsonAnyValue): ProtoMessage {
  if (v.arrayValue) return { arrayValue: { values: v.arrayValue.values.map(protoAnyValue) } };
  if (v.kvlistValue) return { kvlistValue: { values: v.kvlistValue.values.map(protoKeyValue) } };
  if (v.doubleValue !== undefined) return { doubleValue: protoDouble(v.doubleValue) };
  return { ...v } as ProtoMessage;
}

function protoKeyValue(kv: OtlpJsonKeyValue): ProtoMessage {
  return { key: kv.key, value: protoAnyValue(kv.value) };
}

function protoSpan(s: OtlpJsonSpan): ProtoMessage {
  const span: ProtoMessage = {
    traceId: hexBytes(s.traceId),
    spanId: hexBytes(s.spanId),
    name: s.name,
    kind: s.kind,
    startTimeUnixNano: s.startTimeUnixNano,
    endTimeUnixNano: s.endTimeUnixNano,
    attributes: s.attributes.map(protoKeyValue),
    events: s.events.map((e) => ({
      timeUnixNano: e.timeUnixNano,
      name: e.name,
      attributes: e.attributes.map(protoKeyValue),
    })),
    links: s.links.map((l) => ({
      traceId: hexBytes(l.traceId),
      spanId: hexBytes(l.spanId),
      attributes: l.attributes.map(protoKeyValue),
    })),
    status: { ...s.status },
  };
  if (s.parentSpanId) span.parentSpanId = hexBytes(s.parentSpanId);
  return span;
}

/** SpanData[] -> OTLP protobuf ExportTraceServiceRequest bytes. */
export function encodeTracesProtobuf(spans: readonly SpanData[]): Uint8Array {
  const json = encodeTracesJson(spans);
  const message: ProtoMessage = {
    resourceSpans: json.resourceSpans.map((rs) => ({
      resource: { attributes: rs.resource.attributes.map(protoKeyValue) },
      scopeSpans: rs.scopeSpans.map((ss) => ({
        scope: { ...ss.scope },
        spans: ss.spans.map(protoSpan),
      })),
    })),
  };
  return ExportTraceServiceRequest.encode(message).finish();
}

// ---------------------------------------------------------------------------------------------
// Export responses

/** An error message longer than this is cut: it goes back to a client that only logs it. */
const MAX_ERROR_MESSAGE = 4096;

/**
 * The body of a successful (HTTP 200) export response. With nothing rejected and no message the
 * response is empty (`{}` / zero bytes): the spec asks servers to leave partial_success unset
 * when everything was accepted. Otherwise partial_success carries the count and the message;
 * a message with a zero count is the spec's way of sending a warning.
 */
export function encodeExportResponse(
  kind: OtlpSignal,
  rejected: number,
  errorMessage: string | undefined,
  contentType: 'json',
): string;
export function encodeExportResponse(
  kind: OtlpSignal,
  rejected: number,
  errorMessage: string | undefined,
  contentType: 'protobuf',
): Buffer;
export function encodeExportResponse(
  kind: OtlpSignal,
  rejected: number,
  errorMessage: string | undefined,
  contentType: OtlpContentType,
): Buffer | string;
export function encodeExportResponse(
  kind: OtlpSignal,
  rejected: number,
  errorMessage: string | undefined,
  contentType: OtlpContentType,
): Buffer | string {
  const signal = OTLP_SIGNALS[kind];
  const count = Number.isFinite(rejected) && rejected > 0 ? Math.floor(rejected) : 0;
  const message = errorMessage ? errorMessage.slice(0, MAX_ERROR_MESSAGE) : '';
  const partialSuccess: Record<string, string> = {};
  if (count > 0) partialSuccess[signal.rejectedField] = String(count);
  if (message) partialSuccess.errorMessage = message;
  const response = Object.keys(partialSuccess).length > 0 ? { partialSuccess } : {};
  if (contentType === 'json') return JSON.stringify(response);
  const bytes = signal.response.encode(response).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
