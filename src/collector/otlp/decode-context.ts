/**
 * What both OTLP decoders share (the protobufjs walker in decode.ts, which reads JSON, metrics and
 * logs, and the hand-written trace reader in trace-reader.ts): the error policy, the limits, the
 * per-request counters and the few value rules that must not differ between them.
 */
import type { AttributeValue, Attributes, SpanData } from '../../spans/span-data.js';

export type OtlpContentType = 'protobuf' | 'json';

/** The body cannot be decoded at all: answer 400 Bad Request. */
export class OtlpDecodeError extends Error {
  override readonly name = 'OtlpDecodeError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface DecodeLimits {
  /** Attributes kept per attribute set (span, event, link, resource, data point, log record). */
  maxAttributes: number;
  /** UTF-16 code units kept per string value or attribute key. */
  maxStringLength: number;
  /** Nesting levels of array / kvlist values; deeper values become null. */
  maxDepth: number;
  /** Elements kept per array value or kvlist value. */
  maxArrayLength: number;
  maxEventsPerSpan: number;
  maxLinksPerSpan: number;
  /** Messages kept in `errors` (the count of rejected items is always exact). */
  maxErrors: number;
}

export const DEFAULT_DECODE_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  maxAttributes: 1024,
  maxStringLength: 64 * 1024,
  maxDepth: 16,
  maxArrayLength: 1024,
  maxEventsPerSpan: 1024,
  maxLinksPerSpan: 1024,
  maxErrors: 20,
});

export interface DecodeOptions {
  limits?: Partial<DecodeLimits>;
}

/** What the caps removed. Nothing here makes the request fail; it is for counting and logging. */
export interface DecodeDrops {
  attributes: number;
  events: number;
  links: number;
  /** Array elements, kvlist entries and too-deep values dropped, plus strings truncated. */
  values: number;
}

export interface DecodeResultBase {
  /** Items rejected as invalid: the `rejected_*` count of the partial-success response. */
  rejected: number;
  /** Why, for the first `maxErrors` rejections. */
  errors: string[];
  dropped: DecodeDrops;
}

export interface DecodedTraces extends DecodeResultBase {
  spans: SpanData[];
}

/** One item is invalid; the item is rejected, not the request. */
export class InvalidItem extends Error {}

export class Ctx {
  readonly limits: DecodeLimits;
  readonly dropped: DecodeDrops = { attributes: 0, events: 0, links: 0, values: 0 };
  readonly errors: string[] = [];
  rejected = 0;

  constructor(options: DecodeOptions | undefined) {
    this.limits = { ...DEFAULT_DECODE_LIMITS, ...options?.limits };
  }

  reject(n: number, where: string, err: unknown): void {
    if (!(err instanceof InvalidItem)) throw err;
    this.rejected += n;
    if (this.errors.length < this.limits.maxErrors) this.errors.push(`${where}: ${err.message}`);
  }
}

export function capString(s: string, ctx: Ctx): string {
  const max = ctx.limits.maxStringLength;
  if (s.length <= max) return s;
  ctx.dropped.values += 1;
  // Do not leave half a surrogate pair behind.
  const code = s.charCodeAt(max - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** The span fields OTLP may leave out, set only when present; both decoders end a span here. */
export function withOptionalSpanFields(
  span: SpanData, parentSpanId: string | undefined, endTime: bigint, statusMessage: string, scope: { name: string; version?: string }, ctx: Ctx,
): SpanData {
  if (parentSpanId !== undefined) span.parentSpanId = parentSpanId;
  // OTLP has no "still running"; 0 means the sender did not know the end time.
  if (endTime !== 0n) span.endTimeUnixNano = endTime;
  if (statusMessage) span.statusMessage = capString(statusMessage, ctx);
  if (scope.name) span.scopeName = scope.name;
  if (scope.version) span.scopeVersion = scope.version;
  return span;
}


/** Safe integers stay numbers; larger int64 values become decimal strings so no digit is lost. */
export function intAttribute(n: bigint): number | string {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}

export function setAttribute(out: Attributes, key: string, value: AttributeValue): void {
  // A plain assignment to "__proto__" would replace the object's prototype instead of adding a key.
  if (key === '__proto__') {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    out[key] = value;
  }
}

export const INT64_MAX = 2n ** 63n - 1n;

/** OTLP SpanKind (UNSPECIFIED=0, INTERNAL=1, ...) -> OTel API SpanKind (INTERNAL=0, ...). */
export function apiSpanKind(otlpKind: number): number {
  return otlpKind >= 2 && otlpKind <= 5 ? otlpKind - 1 : 0;
}

/**
 * A span's times, checked before any row is built, so a bad time rejects the span whole (partial
 * success) instead of failing its span row after its telemetry row was written.
 */
export function checkSpanTimes(start: bigint, end: bigint): void {
  if (start > INT64_MAX || end > INT64_MAX) {
    throw new InvalidItem(`${start > INT64_MAX ? 'start' : 'end'}TimeUnixNano ${start > INT64_MAX ? start : end} is past 2^63-1 ns (the year 2262); send Unix epoch nanoseconds`);
  }
  if (end !== 0n && end < start) throw new InvalidItem(`the span ends (${end}) before it starts (${start}); check the sender's clock or its time units`);
}
