/**
 * OTLP request bodies (protobuf or JSON) -> the project's own shapes: SpanData for traces, flat
 * metric and log records for the rest.
 *
 * Both encodings go through one converter. protobufjs decodes binary bodies into messages whose
 * keys are the lowerCamelCase names of the OTLP JSON encoding (see proto.ts), so the converter
 * only has to tell the two apart where the encodings really differ, and does so by the runtime
 * type of the value: ids and bytes are Uint8Array in protobuf but hex / base64 strings in JSON;
 * 64-bit integers are Long objects in protobuf but decimal strings or numbers in JSON.
 * Protobuf trace requests, the collector's hot path, skip protobufjs and this walker: they are
 * read straight into SpanData by trace-reader.ts, with the same results (test/otlp-trace-reader
 * compares the two on random and scrambled requests).
 *
 * Error policy: a body that does not parse, or whose containers have the wrong shape (so that
 * nothing inside can even be counted), throws OtlpDecodeError and the HTTP layer answers 400.
 * One bad item (a span with a 3-byte trace id, a data point without a value) is rejected and
 * counted, and the rest of the request is kept: that is what OTLP partial success is for.
 *
 * Bounds: the body size is capped by the HTTP layer; here every per-item collection and value is
 * capped while converting (attributes, events, links, array elements, string length, nesting), so
 * the output stays small even when the input is hostile, and the work stays linear in the input.
 */
import { Buffer } from 'node:buffer';
import type protobuf from 'protobufjs';
import type {
  AttributeValue,
  Attributes,
  SpanData,
  SpanEventData,
  SpanLinkData,
} from '../../spans/span-data.js';
import {
  ExportLogsServiceRequest,
  ExportMetricsServiceRequest,
  ExportTraceServiceRequest,
  enumValues,
} from './proto.js';
import {
  apiSpanKind,
  INT64_MAX,
  capString,
  checkSpanTimes,
  Ctx,
  DEFAULT_DECODE_LIMITS,
  intAttribute,
  InvalidItem,
  OtlpDecodeError,
  setAttribute,
  withOptionalSpanFields,
  type DecodeDrops,
  type DecodedTraces,
  type DecodeLimits,
  type DecodeOptions,
  type DecodeResultBase,
  type OtlpContentType,
} from './decode-context.js';
import { readTraceRequest } from './trace-reader.js';

export { DEFAULT_DECODE_LIMITS, OtlpDecodeError };
export type { DecodeDrops, DecodedTraces, DecodeLimits, DecodeOptions, OtlpContentType };


export type MetricType = 'gauge' | 'sum' | 'histogram' | 'exponential_histogram' | 'summary';
export type MetricTemporality = 'delta' | 'cumulative' | 'unspecified';

export interface MetricExemplar {
  attributes: Attributes;
  timeUnixNano: bigint;
  value?: number;
  traceId?: string;
  spanId?: string;
}

export interface ExponentialBuckets {
  offset: number;
  bucketCounts: number[];
}

export interface MetricPoint {
  attributes: Attributes;
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  /** gauge and sum. Undefined only when `noRecordedValue`. */
  value?: number;
  /** histogram, exponential_histogram, summary. */
  count?: number;
  sum?: number;
  min?: number;
  max?: number;
  /** histogram: one more entry than `explicitBounds`, or both empty. */
  bucketCounts?: number[];
  explicitBounds?: number[];
  /** exponential_histogram. */
  scale?: number;
  zeroCount?: number;
  zeroThreshold?: number;
  positive?: ExponentialBuckets;
  negative?: ExponentialBuckets;
  /** summary. */
  quantiles?: { quantile: number; value: number }[];
  exemplars?: MetricExemplar[];
  /** DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK: a staleness marker, not a zero. */
  noRecordedValue?: boolean;
}

export interface MetricData {
  resource: Attributes;
  scopeName: string;
  scopeVersion?: string;
  name: string;
  description: string;
  unit: string;
  type: MetricType;
  /** gauge: unspecified; summary: cumulative (the proto defines its count and sum as cumulative). */
  temporality: MetricTemporality;
  /** sum only. */
  monotonic?: boolean;
  points: MetricPoint[];
}

export interface DecodedMetrics extends DecodeResultBase {
  metrics: MetricData[];
}

export interface LogData {
  resource: Attributes;
  scopeName: string;
  scopeVersion?: string;
  /** 0 when unknown. */
  timeUnixNano: bigint;
  observedTimeUnixNano: bigint;
  severityNumber: number;
  severityText: string;
  body: AttributeValue;
  attributes: Attributes;
  traceId?: string;
  spanId?: string;
  eventName?: string;
  flags: number;
}

export interface DecodedLogs extends DecodeResultBase {
  logs: LogData[];
}

// ---------------------------------------------------------------------------------------------
// Decoding context and narrowing helpers

type Rec = Record<string, unknown>;


/** The request's containers have the wrong shape; the whole request is rejected. */
function shapeError(message: string): OtlpDecodeError {
  return new OtlpDecodeError(`wrong request shape: ${message}`);
}


function isRec(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

const hasOwn = (o: Rec, key: string): boolean =>
  Object.prototype.hasOwnProperty.call(o, key) && o[key] !== undefined && o[key] !== null;

/** An optional sub-message. protobufjs leaves absent ones null; JSON leaves them out. */
function optRec(v: unknown, what: string): Rec | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isRec(v)) throw new InvalidItem(`${what} must be an object`);
  return v;
}

function list(v: unknown, what: string): readonly unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new InvalidItem(`${what} must be an array`);
  return v;
}

/** A container of the request itself; a wrong shape there is a 400, not a rejected item. */
function containerList(v: unknown, what: string): readonly unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw shapeError(`${what} must be an array`);
  return v;
}

function containerRec(v: unknown, what: string): Rec {
  if (!isRec(v)) throw shapeError(`${what} must be an object`);
  return v;
}

function str(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new InvalidItem(`${what} must be a string`);
  return v;
}

function bool(v: unknown, what: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new InvalidItem(`${what} must be a boolean`);
  return v;
}

interface LongLike {
  low: number;
  high: number;
  unsigned?: boolean;
}

function isLongLike(v: unknown): v is LongLike {
  return isRec(v) && typeof v.low === 'number' && typeof v.high === 'number';
}

const UINT_RE = /^[0-9]+$/;
const INT_RE = /^-?[0-9]+$/;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * A 64-bit integer: protobufjs Long, or (JSON) a decimal string or a number. The JSON mapping
 * allows both; the official JS exporter sends times as strings but int attribute values as numbers.
 */
function int64(v: unknown, what: string, signed: boolean): bigint {
  let out: bigint;
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'bigint') out = v;
  else if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new InvalidItem(`${what} must be an integer`);
    out = BigInt(v);
  } else if (typeof v === 'string') {
    if (!(signed ? INT_RE : UINT_RE).test(v) || v.length > 21) {
      throw new InvalidItem(`${what} must be a decimal integer`);
    }
    out = BigInt(v);
  } else if (isLongLike(v)) {
    const bits = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
    out = signed ? BigInt.asIntN(64, bits) : bits;
  } else {
    throw new InvalidItem(`${what} must be an integer`);
  }
  if (signed ? out < INT64_MIN || out > INT64_MAX : out < 0n || out > UINT64_MAX) {
    throw new InvalidItem(`${what} is out of range`);
  }
  return out;
}

const uint64 = (v: unknown, what: string): bigint => int64(v, what, false);

/** Counts (fixed64 / uint64) as numbers: exact up to 2^53, which no real count reaches. */
const count = (v: unknown, what: string): number => Number(uint64(v, what));

/** 32-bit integers are JSON numbers, but the proto3 JSON mapping accepts decimal strings too. */
function int32Range(v: unknown, what: string, min: number, max: number): number {
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'string' && INT_RE.test(v) && v.length <= 11 ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new InvalidItem(`${what} must be an integer in [${min}, ${max}]`);
  }
  return n;
}

const uint32 = (v: unknown, what: string): number => int32Range(v, what, 0, 0xffffffff);
const int32 = (v: unknown, what: string): number => int32Range(v, what, -0x80000000, 0x7fffffff);

/** The proto3 JSON mapping writes NaN and the infinities as strings, and allows numeric strings. */
function double(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (v === 'NaN') return Number.NaN;
    if (v === 'Infinity') return Number.POSITIVE_INFINITY;
    if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
    const n = Number(v);
    if (v.trim() !== '' && Number.isFinite(n)) return n;
  }
  throw new InvalidItem(`${what} must be a number`);
}

/** OTLP JSON requires integer enums; names are accepted too, as the protobuf JSON mapping allows. */
function enumNumber(v: unknown, names: Readonly<Record<string, number>>, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string') {
    const byName = names[v];
    if (byName !== undefined) return byName;
    if (INT_RE.test(v)) return Number(v);
  }
  throw new InvalidItem(`${what} must be an enum value`);
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** Raw bytes of an id: Uint8Array in protobuf, a case-insensitive hex string in OTLP JSON. */
function idBytesToHex(v: unknown, what: string): string {
  // protobufjs's default for an absent bytes field is a frozen empty array, not a Uint8Array.
  if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) return '';
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  if (typeof v === 'string') {
    if (v.length > 64) throw new InvalidItem(`${what} is too long`);
    if (!HEX_RE.test(v)) throw new InvalidItem(`${what} must be hex-encoded (OTLP JSON does not use base64 ids)`);
    return v.toLowerCase();
  }
  throw new InvalidItem(`${what} must be bytes`);
}

const ZERO_RE = /^0*$/;

/**
 * A trace or span id as lowercase hex. `optional` ids (parent span id, log record ids, exemplar
 * ids) may be empty or all zero, which both mean "none"; required ones may not.
 */
function id(v: unknown, bytes: number, what: string, optional: boolean): string | undefined {
  const hex = idBytesToHex(v, what);
  if (optional && ZERO_RE.test(hex)) return undefined;
  if (hex.length !== bytes * 2) {
    throw new InvalidItem(`${what} must be ${bytes} bytes, got ${hex.length / 2}`);
  }
  if (ZERO_RE.test(hex)) throw new InvalidItem(`${what} must not be all zero`);
  return hex;
}

// ---------------------------------------------------------------------------------------------
// AnyValue / attributes

/** Bytes become base64 text: AttributeValue has no bytes type, and base64 is what OTLP JSON uses. */
function bytesToBase64(v: unknown, ctx: Ctx): string {
  const maxBytes = Math.floor((ctx.limits.maxStringLength / 4) * 3);
  let buf: Buffer;
  if (v instanceof Uint8Array) buf = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  else if (typeof v === 'string') buf = Buffer.from(v, 'base64');
  else throw new InvalidItem('bytesValue must be bytes');
  if (buf.length > maxBytes) {
    ctx.dropped.values += 1;
    buf = buf.subarray(0, maxBytes);
  }
  return buf.toString('base64');
}


function anyValue(v: unknown, ctx: Ctx, depth: number): AttributeValue {
  const o = optRec(v, 'value');
  if (o === undefined) return null;
  // Own properties only: a protobufjs message carries oneof defaults on its prototype.
  if (hasOwn(o, 'stringValue')) return capString(str(o.stringValue, 'stringValue'), ctx);
  if (hasOwn(o, 'boolValue')) return bool(o.boolValue, 'boolValue');
  if (hasOwn(o, 'intValue')) return intAttribute(int64(o.intValue, 'intValue', true));
  if (hasOwn(o, 'doubleValue')) return double(o.doubleValue, 'doubleValue');
  if (hasOwn(o, 'arrayValue')) {
    if (depth >= ctx.limits.maxDepth) {
      ctx.dropped.values += 1;
      return null;
    }
    const items = list(optRec(o.arrayValue, 'arrayValue')?.values, 'arrayValue.values');
    const n = Math.min(items.length, ctx.limits.maxArrayLength);
    ctx.dropped.values += items.length - n;
    const out: AttributeValue[] = new Array<AttributeValue>(n);
    for (let i = 0; i < n; i++) out[i] = anyValue(items[i], ctx, depth + 1);
    return out;
  }
  if (hasOwn(o, 'kvlistValue')) {
    if (depth >= ctx.limits.maxDepth) {
      ctx.dropped.values += 1;
      return null;
    }
    const items = list(optRec(o.kvlistValue, 'kvlistValue')?.values, 'kvlistValue.values');
    const n = Math.min(items.length, ctx.limits.maxArrayLength);
    ctx.dropped.values += items.length - n;
    return keyValues(items, n, ctx, depth + 1);
  }
  if (hasOwn(o, 'bytesValue')) return bytesToBase64(o.bytesValue, ctx);
  // An empty AnyValue is valid OTLP ("no value").
  return null;
}


function keyValues(items: readonly unknown[], n: number, ctx: Ctx, depth: number): Attributes {
  const out: Attributes = {};
  for (let i = 0; i < n; i++) {
    const kv = optRec(items[i], 'attribute');
    if (kv === undefined) {
      ctx.dropped.attributes += 1;
      continue;
    }
    setAttribute(out, capString(str(kv.key, 'attribute key'), ctx), anyValue(kv.value, ctx, depth));
  }
  return out;
}

/** A `repeated KeyValue` attribute set, capped at maxAttributes (the rest counted as dropped). */
function attributes(v: unknown, ctx: Ctx, what: string): Attributes {
  const items = list(v, what);
  const n = Math.min(items.length, ctx.limits.maxAttributes);
  ctx.dropped.attributes += items.length - n;
  return keyValues(items, n, ctx, 0);
}

interface Scope {
  name: string;
  version?: string;
}

function resourceAttributes(v: unknown, ctx: Ctx): Attributes {
  return attributes(optRec(v, 'resource')?.attributes, ctx, 'resource.attributes');
}

function scope(v: unknown): Scope {
  const s = optRec(v, 'scope');
  const version = str(s?.version, 'scope.version');
  return version ? { name: str(s?.name, 'scope.name'), version } : { name: str(s?.name, 'scope.name') };
}

/**
 * Walks resource -> scope -> item lists. A resource or scope that does not convert rejects the
 * items under it (they are countable); containers of the wrong type reject the request.
 */
function walk<R>(
  ctx: Ctx,
  doc: unknown,
  names: { resources: string; scopes: string; items: string },
  /** `where` builds the item's path for error messages; only called on the error path. */
  convert: (item: unknown, resource: Attributes, scope: Scope, where: () => string) => R | undefined,
  sink: (out: R) => void,
  /** How many rejectable units (spans, data points, log records) one item holds. */
  weight: (item: unknown) => number = () => 1,
): void {
  const root = containerRec(doc, 'request body');
  const resources = containerList(root[names.resources], names.resources);
  for (let r = 0; r < resources.length; r++) {
    const rItem = containerRec(resources[r], `${names.resources}[${r}]`);
    const scopes = containerList(rItem[names.scopes], `${names.resources}[${r}].${names.scopes}`);
    let resource: Attributes | undefined;
    let resourceError: unknown;
    try {
      resource = resourceAttributes(rItem.resource, ctx);
    } catch (err) {
      resourceError = err;
    }
    for (let s = 0; s < scopes.length; s++) {
      const where = `${names.resources}[${r}].${names.scopes}[${s}]`;
      const sItem = containerRec(scopes[s], where);
      const items = containerList(sItem[names.items], `${where}.${names.items}`);
      if (items.length === 0) continue;
      let sc: Scope;
      try {
        if (resource === undefined) throw resourceError;
        sc = scope(sItem.scope);
      } catch (err) {
        let n = 0;
        for (const item of items) n += weight(item);
        ctx.reject(n, where, err);
        continue;
      }
      for (let i = 0; i < items.length; i++) {
        const itemWhere = (): string => `${where}.${names.items}[${i}]`;
        try {
          const out = convert(items[i], resource, sc, itemWhere);
          if (out !== undefined) sink(out);
        } catch (err) {
          ctx.reject(weight(items[i]), itemWhere(), err);
        }
      }
    }
  }
}

function parseBody(body: Uint8Array, contentType: OtlpContentType, type: protobuf.Type): unknown {
  if (contentType === 'json') {
    let text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new OtlpDecodeError(`invalid JSON: ${(err as Error).message}`, { cause: err });
    }
  }
  if (contentType === 'protobuf') {
    try {
      return type.decode(body);
    } catch (err) {
      // Truncated or corrupt input; absurdly deep nesting ends here too, as a RangeError.
      throw new OtlpDecodeError(`invalid protobuf ${type.name}: ${(err as Error).message}`, { cause: err });
    }
  }
  throw new OtlpDecodeError(`unsupported content type: ${String(contentType)}`);
}

// ---------------------------------------------------------------------------------------------
// Traces

const SPAN_KIND_NAMES = enumValues('opentelemetry.proto.trace.v1.Span.SpanKind');
const STATUS_CODE_NAMES = enumValues('opentelemetry.proto.trace.v1.Status.StatusCode');


function convertSpan(v: unknown, resource: Attributes, sc: Scope, ctx: Ctx): SpanData {
  const s = optRec(v, 'span');
  if (s === undefined) throw new InvalidItem('span must be an object');
  const traceId = id(s.traceId, 16, 'traceId', false) as string;
  const spanId = id(s.spanId, 8, 'spanId', false) as string;
  const parentSpanId = id(s.parentSpanId, 8, 'parentSpanId', true);

  const rawEvents = list(s.events, 'events');
  const nEvents = Math.min(rawEvents.length, ctx.limits.maxEventsPerSpan);
  ctx.dropped.events += rawEvents.length - nEvents;
  const events: SpanEventData[] = [];
  for (let i = 0; i < nEvents; i++) {
    const e = optRec(rawEvents[i], 'event');
    if (e === undefined) {
      ctx.dropped.events += 1;
      continue;
    }
    events.push({
      name: capString(str(e.name, 'event.name'), ctx),
      timeUnixNano: uint64(e.timeUnixNano, 'event.timeUnixNano'),
      attributes: attributes(e.attributes, ctx, 'event.attributes'),
    });
  }

  const rawLinks = list(s.links, 'links');
  const nLinks = Math.min(rawLinks.length, ctx.limits.maxLinksPerSpan);
  ctx.dropped.links += rawLinks.length - nLinks;
  const links: SpanLinkData[] = [];
  for (let i = 0; i < nLinks; i++) {
    const l = optRec(rawLinks[i], 'link');
    if (l === undefined) {
      ctx.dropped.links += 1;
      continue;
    }
    let linkTrace: string;
    let linkSpan: string;
    try {
      linkTrace = id(l.traceId, 16, 'link.traceId', false) as string;
      linkSpan = id(l.spanId, 8, 'link.spanId', false) as string;
    } catch (err) {
      // A link that points nowhere is worth less than the span that carries it.
      if (!(err instanceof InvalidItem)) throw err;
      ctx.dropped.links += 1;
      continue;
    }
    links.push({ traceId: linkTrace, spanId: linkSpan, attributes: attributes(l.attributes, ctx, 'link.attributes') });
  }

  const status = optRec(s.status, 'status');
  const code = enumNumber(status?.code, STATUS_CODE_NAMES, 'status.code');
  const statusMessage = status ? str(status.message, 'status.message') : '';
  const end = uint64(s.endTimeUnixNano, 'endTimeUnixNano');
  const start = uint64(s.startTimeUnixNano, 'startTimeUnixNano');
  checkSpanTimes(start, end);

  const span: SpanData = {
    traceId,
    spanId,
    name: capString(str(s.name, 'name'), ctx),
    kind: apiSpanKind(enumNumber(s.kind, SPAN_KIND_NAMES, 'kind')),
    startTimeUnixNano: start,
    statusCode: code >= 0 && code <= 2 ? code : 0,
    attributes: attributes(s.attributes, ctx, 'attributes'),
    events,
    links,
    resource,
  };
  return withOptionalSpanFields(span, parentSpanId, end, statusMessage, sc, ctx);
}

/**
 * An OTLP ExportTraceServiceRequest -> SpanData. Spans share their resource's Attributes object.
 * Throws OtlpDecodeError when the body is not a decodable request at all.
 */
export function decodeTraces(
  body: Uint8Array,
  contentType: OtlpContentType,
  options?: DecodeOptions,
): DecodedTraces {
  // Protobuf, the collector's hot path, is read straight into SpanData (trace-reader.ts).
  if (contentType === 'protobuf') return readTraceRequest(body, options);
  const ctx = new Ctx(options);
  const doc = parseBody(body, contentType, ExportTraceServiceRequest);
  const spans: SpanData[] = [];
  walk(
    ctx,
    doc,
    { resources: 'resourceSpans', scopes: 'scopeSpans', items: 'spans' },
    (item, resource, sc) => convertSpan(item, resource, sc, ctx),
    (span) => spans.push(span),
  );
  return { spans, rejected: ctx.rejected, errors: ctx.errors, dropped: ctx.dropped };
}

// ---------------------------------------------------------------------------------------------
// Metrics

const TEMPORALITY_NAMES = enumValues('opentelemetry.proto.metrics.v1.AggregationTemporality');
const NO_RECORDED_VALUE = 1;

function temporality(v: unknown): MetricTemporality {
  const t = enumNumber(v, TEMPORALITY_NAMES, 'aggregationTemporality');
  return t === 1 ? 'delta' : t === 2 ? 'cumulative' : 'unspecified';
}

function optionalDouble(o: Rec, key: string): number | undefined {
  return hasOwn(o, key) ? double(o[key], key) : undefined;
}

function counts(v: unknown, what: string): number[] {
  return list(v, what).map((c) => count(c, what));
}

function exemplars(v: unknown, ctx: Ctx): MetricExemplar[] | undefined {
  const items = list(v, 'exemplars');
  if (items.length === 0) return undefined;
  const out: MetricExemplar[] = [];
  ctx.dropped.values += Math.max(items.length - ctx.limits.maxArrayLength, 0);
  for (const item of items.slice(0, ctx.limits.maxArrayLength)) {
    const e = optRec(item, 'exemplar');
    if (e === undefined) continue;
    const ex: MetricExemplar = {
      attributes: attributes(e.filteredAttributes, ctx, 'exemplar.filteredAttributes'),
      timeUnixNano: uint64(e.timeUnixNano, 'exemplar.timeUnixNano'),
    };
    if (hasOwn(e, 'asDouble')) ex.value = double(e.asDouble, 'exemplar.asDouble');
    else if (hasOwn(e, 'asInt')) ex.value = Number(int64(e.asInt, 'exemplar.asInt', true));
    const traceId = id(e.traceId, 16, 'exemplar.traceId', true);
    const spanId = id(e.spanId, 8, 'exemplar.spanId', true);
    if (traceId !== undefined) ex.traceId = traceId;
    if (spanId !== undefined) ex.spanId = spanId;
    out.push(ex);
  }
  return out;
}

function buckets(v: unknown, what: string): ExponentialBuckets {
  const b = optRec(v, what);
  return {
    offset: int32(b?.offset, `${what}.offset`),
    bucketCounts: counts(b?.bucketCounts, `${what}.bucketCounts`),
  };
}

function convertPoint(v: unknown, type: MetricType, ctx: Ctx): MetricPoint {
  const p = optRec(v, 'data point');
  if (p === undefined) throw new InvalidItem('data point must be an object');
  const timeUnixNano = uint64(p.timeUnixNano, 'timeUnixNano');
  // metrics.proto: "Data points with the 0 value for TimeUnixNano SHOULD be rejected by consumers."
  if (timeUnixNano === 0n) throw new InvalidItem('timeUnixNano must be set');
  const flags = uint32(p.flags, 'flags');
  const point: MetricPoint = {
    attributes: attributes(p.attributes, ctx, 'attributes'),
    startTimeUnixNano: uint64(p.startTimeUnixNano, 'startTimeUnixNano'),
    timeUnixNano,
  };
  if ((flags & NO_RECORDED_VALUE) !== 0) point.noRecordedValue = true;

  switch (type) {
    case 'gauge':
    case 'sum':
      if (hasOwn(p, 'asDouble')) point.value = double(p.asDouble, 'asDouble');
      else if (hasOwn(p, 'asInt')) point.value = Number(int64(p.asInt, 'asInt', true));
      else if (!point.noRecordedValue) throw new InvalidItem('data point has no value');
      break;
    case 'histogram': {
      point.count = count(p.count, 'count');
      const bucketCounts = counts(p.bucketCounts, 'bucketCounts');
      const explicitBounds = list(p.explicitBounds, 'explicitBounds').map((b) => double(b, 'explicitBounds'));
      if (bucketCounts.length !== 0 && bucketCounts.length !== explicitBounds.length + 1) {
        throw new InvalidItem(
          `bucketCounts has ${bucketCounts.length} entries for ${explicitBounds.length} explicitBounds`,
        );
      }
      point.bucketCounts = bucketCounts;
      point.explicitBounds = explicitBounds;
      break;
    }
    case 'exponential_histogram':
      point.count = count(p.count, 'count');
      point.scale = int32(p.scale, 'scale');
      point.zeroCount = count(p.zeroCount, 'zeroCount');
      point.zeroThreshold = double(p.zeroThreshold, 'zeroThreshold');
      point.positive = buckets(p.positive, 'positive');
      point.negative = buckets(p.negative, 'negative');
      break;
    case 'summary':
      point.count = count(p.count, 'count');
      point.sum = double(p.sum, 'sum');
      point.quantiles = list(p.quantileValues, 'quantileValues').map((q) => {
        const qv = optRec(q, 'quantileValue');
        return { quantile: double(qv?.quantile, 'quantile'), value: double(qv?.value, 'value') };
      });
      break;
  }
  if (type === 'histogram' || type === 'exponential_histogram') {
    // Explicit presence (proto3 optional): a histogram of negative values has no sum.
    const sum = optionalDouble(p, 'sum');
    const min = optionalDouble(p, 'min');
    const max = optionalDouble(p, 'max');
    if (sum !== undefined) point.sum = sum;
    if (min !== undefined) point.min = min;
    if (max !== undefined) point.max = max;
  }
  if (type !== 'summary') {
    const ex = exemplars(p.exemplars, ctx);
    if (ex !== undefined) point.exemplars = ex;
  }
  return point;
}

const METRIC_DATA_FIELDS: readonly [string, MetricType][] = [
  ['gauge', 'gauge'],
  ['sum', 'sum'],
  ['histogram', 'histogram'],
  ['exponentialHistogram', 'exponential_histogram'],
  ['summary', 'summary'],
];

/**
 * An OTLP ExportMetricsServiceRequest -> one record per metric, with its data points. `rejected`
 * counts data points (the `rejected_data_points` of the partial-success response).
 */
export function decodeMetrics(
  body: Uint8Array,
  contentType: OtlpContentType,
  options?: DecodeOptions,
): DecodedMetrics {
  const ctx = new Ctx(options);
  const doc = parseBody(body, contentType, ExportMetricsServiceRequest);
  const metrics: MetricData[] = [];
  walk(
    ctx,
    doc,
    { resources: 'resourceMetrics', scopes: 'scopeMetrics', items: 'metrics' },
    (item, resource, sc, where) => {
      const m = optRec(item, 'metric');
      if (m === undefined) throw new InvalidItem('metric must be an object');
      const found = METRIC_DATA_FIELDS.find(([key]) => hasOwn(m, key));
      if (found === undefined) throw new InvalidItem('metric has no data (gauge, sum, histogram, ...)');
      const [key, type] = found;
      const data = optRec(m[key], key) as Rec;
      const rawPoints = list(data.dataPoints, `${key}.dataPoints`);
      // Metric-level fields: invalid ones reject every point of the metric, counted as points.
      let metric: MetricData;
      try {
        metric = metricHeader(m, data, type, resource, sc, ctx);
      } catch (err) {
        ctx.reject(Math.max(rawPoints.length, 1), where(), err);
        return undefined;
      }
      for (let i = 0; i < rawPoints.length; i++) {
        try {
          metric.points.push(convertPoint(rawPoints[i], type, ctx));
        } catch (err) {
          ctx.reject(1, `${where()}.${key}.dataPoints[${i}] (${metric.name})`, err);
        }
      }
      return metric.points.length > 0 ? metric : undefined;
    },
    (metric) => metrics.push(metric),
    metricWeight,
  );
  return { metrics, rejected: ctx.rejected, errors: ctx.errors, dropped: ctx.dropped };
}

/** Data points in a metric, for counting what a rejected resource or scope takes with it. */
function metricWeight(item: unknown): number {
  if (!isRec(item)) return 1;
  for (const [key] of METRIC_DATA_FIELDS) {
    const data = item[key];
    if (isRec(data) && Array.isArray(data.dataPoints)) return Math.max(data.dataPoints.length, 1);
  }
  return 1;
}

function metricHeader(
  m: Rec,
  data: Rec,
  type: MetricType,
  resource: Attributes,
  sc: Scope,
  ctx: Ctx,
): MetricData {
  const metric: MetricData = {
    resource,
    scopeName: sc.name,
    name: capString(str(m.name, 'name'), ctx),
    description: capString(str(m.description, 'description'), ctx),
    unit: capString(str(m.unit, 'unit'), ctx),
    type,
    temporality:
      type === 'gauge'
        ? 'unspecified'
        : type === 'summary'
          ? 'cumulative'
          : temporality(data.aggregationTemporality),
    points: [],
  };
  if (sc.version) metric.scopeVersion = sc.version;
  if (type === 'sum') metric.monotonic = bool(data.isMonotonic, 'isMonotonic');
  return metric;
}

// ---------------------------------------------------------------------------------------------
// Logs

const SEVERITY_NAMES = enumValues('opentelemetry.proto.logs.v1.SeverityNumber');

function convertLog(v: unknown, resource: Attributes, sc: Scope, ctx: Ctx): LogData {
  const l = optRec(v, 'log record');
  if (l === undefined) throw new InvalidItem('log record must be an object');
  const traceId = id(l.traceId, 16, 'traceId', true);
  const spanId = id(l.spanId, 8, 'spanId', true);
  const eventName = str(l.eventName, 'eventName');
  const log: LogData = {
    resource,
    scopeName: sc.name,
    timeUnixNano: uint64(l.timeUnixNano, 'timeUnixNano'),
    observedTimeUnixNano: uint64(l.observedTimeUnixNano, 'observedTimeUnixNano'),
    severityNumber: enumNumber(l.severityNumber, SEVERITY_NAMES, 'severityNumber'),
    severityText: capString(str(l.severityText, 'severityText'), ctx),
    body: anyValue(l.body, ctx, 0),
    attributes: attributes(l.attributes, ctx, 'attributes'),
    flags: uint32(l.flags, 'flags'),
  };
  if (sc.version) log.scopeVersion = sc.version;
  if (traceId !== undefined) log.traceId = traceId;
  if (spanId !== undefined) log.spanId = spanId;
  if (eventName) log.eventName = capString(eventName, ctx);
  return log;
}

/** An OTLP ExportLogsServiceRequest -> flat log records. */
export function decodeLogs(body: Uint8Array, contentType: OtlpContentType, options?: DecodeOptions): DecodedLogs {
  const ctx = new Ctx(options);
  const doc = parseBody(body, contentType, ExportLogsServiceRequest);
  const logs: LogData[] = [];
  walk(
    ctx,
    doc,
    { resources: 'resourceLogs', scopes: 'scopeLogs', items: 'logRecords' },
    (item, resource, sc) => convertLog(item, resource, sc, ctx),
    (log) => logs.push(log),
  );
  return { logs, rejected: ctx.rejected, errors: ctx.errors, dropped: ctx.dropped };
}
