/**
 * The one span shape the span-to-row mapping reads. The in-process processor converts an OTel
 * `ReadableSpan` into it; the collector converts received OTLP spans into it. Times are
 * nanoseconds since the Unix epoch as bigint (a double cannot hold them exactly).
 */
export type AttributeValue =
  | string
  | number
  | boolean
  | null
  | AttributeValue[]
  | { [key: string]: AttributeValue };

export type Attributes = Record<string, AttributeValue>;

/** OTLP / OTel API SpanKind numbering: INTERNAL=0 in the API, OTLP adds UNSPECIFIED. We store the API's. */
export const SPAN_KIND_NAMES = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;

export interface SpanEventData {
  name: string;
  timeUnixNano: bigint;
  attributes: Attributes;
}

export interface SpanLinkData {
  traceId: string;
  spanId: string;
  attributes: Attributes;
}

export interface SpanData {
  /** 32 lowercase hex characters. */
  traceId: string;
  /** 16 lowercase hex characters. */
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** OTel API SpanKind: 0 INTERNAL, 1 SERVER, 2 CLIENT, 3 PRODUCER, 4 CONSUMER. */
  kind: number;
  startTimeUnixNano: bigint;
  /** Undefined while the span is still running (onStart). */
  endTimeUnixNano?: bigint;
  /** 0 UNSET, 1 OK, 2 ERROR. */
  statusCode: number;
  statusMessage?: string;
  attributes: Attributes;
  events: SpanEventData[];
  links: SpanLinkData[];
  resource: Attributes;
  scopeName?: string;
  scopeVersion?: string;
}
