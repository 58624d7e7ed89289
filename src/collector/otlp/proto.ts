/**
 * OTLP message definitions (opentelemetry-proto v1: common, resource, trace, metrics, logs and the
 * three collector services), declared here as a protobufjs JSON descriptor rather than loaded from
 * the upstream .proto files: the package ships no .proto files, and a descriptor in TypeScript
 * needs no file I/O, no parser and no code generation at start-up.
 *
 * Field names are lowerCamelCase, so a decoded protobuf message has exactly the keys of the OTLP
 * JSON encoding, and decode.ts converts both encodings with one walker. Field numbers and types
 * follow opentelemetry-proto; a mistake here would silently misread data, so the tests decode what
 * the official OpenTelemetry JS exporters send and compare it with what the SDK recorded.
 *
 * Fields that are still "Development" upstream (Resource.entity_refs, Metric.metadata) are declared
 * so that they decode cleanly; unknown fields are skipped by protobufjs anyway.
 */
import protobuf from 'protobufjs';

const COMMON = '.opentelemetry.proto.common.v1';
const RESOURCE = '.opentelemetry.proto.resource.v1';
const TRACE = '.opentelemetry.proto.trace.v1';
const METRICS = '.opentelemetry.proto.metrics.v1';
const LOGS = '.opentelemetry.proto.logs.v1';

const field = (id: number, type: string): protobuf.IField => ({ id, type });
const repeated = (id: number, type: string): protobuf.IField => ({ id, type, rule: 'repeated' });
/** proto3 `optional`: presence is tracked, which protobufjs models as a synthetic one-field oneof. */
const optional = (id: number, type: string): protobuf.IField => ({
  id,
  type,
  options: { proto3_optional: true },
});
const reserved = (...ids: number[]): number[][] => ids.map((id) => [id, id]);

const KEY_VALUES = `${COMMON}.KeyValue`;

const commonV1: protobuf.INamespace = {
  nested: {
    AnyValue: {
      oneofs: {
        value: {
          oneof: [
            'stringValue',
            'boolValue',
            'intValue',
            'doubleValue',
            'arrayValue',
            'kvlistValue',
            'bytesValue',
          ],
        },
      },
      fields: {
        stringValue: field(1, 'string'),
        boolValue: field(2, 'bool'),
        intValue: field(3, 'int64'),
        doubleValue: field(4, 'double'),
        arrayValue: field(5, `${COMMON}.ArrayValue`),
        kvlistValue: field(6, `${COMMON}.KeyValueList`),
        bytesValue: field(7, 'bytes'),
      },
    },
    ArrayValue: { fields: { values: repeated(1, `${COMMON}.AnyValue`) } },
    KeyValueList: { fields: { values: repeated(1, KEY_VALUES) } },
    KeyValue: { fields: { key: field(1, 'string'), value: field(2, `${COMMON}.AnyValue`) } },
    InstrumentationScope: {
      fields: {
        name: field(1, 'string'),
        version: field(2, 'string'),
        attributes: repeated(3, KEY_VALUES),
        droppedAttributesCount: field(4, 'uint32'),
      },
    },
    EntityRef: {
      fields: {
        schemaUrl: field(1, 'string'),
        type: field(2, 'string'),
        idKeys: repeated(3, 'string'),
        descriptionKeys: repeated(4, 'string'),
      },
    },
  },
};

const resourceV1: protobuf.INamespace = {
  nested: {
    Resource: {
      fields: {
        attributes: repeated(1, KEY_VALUES),
        droppedAttributesCount: field(2, 'uint32'),
        entityRefs: repeated(3, `${COMMON}.EntityRef`),
      },
    },
  },
};

const traceV1: protobuf.INamespace = {
  nested: {
    TracesData: { fields: { resourceSpans: repeated(1, `${TRACE}.ResourceSpans`) } },
    ResourceSpans: {
      reserved: reserved(1000),
      fields: {
        resource: field(1, `${RESOURCE}.Resource`),
        scopeSpans: repeated(2, `${TRACE}.ScopeSpans`),
        schemaUrl: field(3, 'string'),
      },
    },
    ScopeSpans: {
      fields: {
        scope: field(1, `${COMMON}.InstrumentationScope`),
        spans: repeated(2, `${TRACE}.Span`),
        schemaUrl: field(3, 'string'),
      },
    },
    Span: {
      fields: {
        traceId: field(1, 'bytes'),
        spanId: field(2, 'bytes'),
        traceState: field(3, 'string'),
        parentSpanId: field(4, 'bytes'),
        flags: field(16, 'fixed32'),
        name: field(5, 'string'),
        kind: field(6, `${TRACE}.Span.SpanKind`),
        startTimeUnixNano: field(7, 'fixed64'),
        endTimeUnixNano: field(8, 'fixed64'),
        attributes: repeated(9, KEY_VALUES),
        droppedAttributesCount: field(10, 'uint32'),
        events: repeated(11, `${TRACE}.Span.Event`),
        droppedEventsCount: field(12, 'uint32'),
        links: repeated(13, `${TRACE}.Span.Link`),
        droppedLinksCount: field(14, 'uint32'),
        status: field(15, `${TRACE}.Status`),
      },
      nested: {
        SpanKind: {
          values: {
            SPAN_KIND_UNSPECIFIED: 0,
            SPAN_KIND_INTERNAL: 1,
            SPAN_KIND_SERVER: 2,
            SPAN_KIND_CLIENT: 3,
            SPAN_KIND_PRODUCER: 4,
            SPAN_KIND_CONSUMER: 5,
          },
        },
        Event: {
          fields: {
            timeUnixNano: field(1, 'fixed64'),
            name: field(2, 'string'),
            attributes: repeated(3, KEY_VALUES),
            droppedAttributesCount: field(4, 'uint32'),
          },
        },
        Link: {
          fields: {
            traceId: field(1, 'bytes'),
            spanId: field(2, 'bytes'),
            traceState: field(3, 'string'),
            attributes: repeated(4, KEY_VALUES),
            droppedAttributesCount: field(5, 'uint32'),
            flags: field(6, 'fixed32'),
          },
        },
      },
    },
    Status: {
      reserved: reserved(1),
      fields: {
        message: field(2, 'string'),
        code: field(3, `${TRACE}.Status.StatusCode`),
      },
      nested: {
        StatusCode: {
          values: { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 },
        },
      },
    },
    SpanFlags: {
      values: {
        SPAN_FLAGS_DO_NOT_USE: 0,
        SPAN_FLAGS_TRACE_FLAGS_MASK: 0x000000ff,
        SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK: 0x00000100,
        SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK: 0x00000200,
      },
    },
  },
};

const metricsV1: protobuf.INamespace = {
  nested: {
    MetricsData: { fields: { resourceMetrics: repeated(1, `${METRICS}.ResourceMetrics`) } },
    ResourceMetrics: {
      reserved: reserved(1000),
      fields: {
        resource: field(1, `${RESOURCE}.Resource`),
        scopeMetrics: repeated(2, `${METRICS}.ScopeMetrics`),
        schemaUrl: field(3, 'string'),
      },
    },
    ScopeMetrics: {
      fields: {
        scope: field(1, `${COMMON}.InstrumentationScope`),
        metrics: repeated(2, `${METRICS}.Metric`),
        schemaUrl: field(3, 'string'),
      },
    },
    Metric: {
      reserved: reserved(4, 6, 8),
      oneofs: {
        data: { oneof: ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] },
      },
      fields: {
        name: field(1, 'string'),
        description: field(2, 'string'),
        unit: field(3, 'string'),
        gauge: field(5, `${METRICS}.Gauge`),
        sum: field(7, `${METRICS}.Sum`),
        histogram: field(9, `${METRICS}.Histogram`),
        exponentialHistogram: field(10, `${METRICS}.ExponentialHistogram`),
        summary: field(11, `${METRICS}.Summary`),
        metadata: repeated(12, KEY_VALUES),
      },
    },
    Gauge: { fields: { dataPoints: repeated(1, `${METRICS}.NumberDataPoint`) } },
    Sum: {
      fields: {
        dataPoints: repeated(1, `${METRICS}.NumberDataPoint`),
        aggregationTemporality: field(2, `${METRICS}.AggregationTemporality`),
        isMonotonic: field(3, 'bool'),
      },
    },
    Histogram: {
      fields: {
        dataPoints: repeated(1, `${METRICS}.HistogramDataPoint`),
        aggregationTemporality: field(2, `${METRICS}.AggregationTemporality`),
      },
    },
    ExponentialHistogram: {
      fields: {
        dataPoints: repeated(1, `${METRICS}.ExponentialHistogramDataPoint`),
        aggregationTemporality: field(2, `${METRICS}.AggregationTemporality`),
      },
    },
    Summary: { fields: { dataPoints: repeated(1, `${METRICS}.SummaryDataPoint`) } },
    AggregationTemporality: {
      values: {
        AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
        AGGREGATION_TEMPORALITY_DELTA: 1,
        AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
      },
    },
    DataPointFlags: {
      values: { DATA_POINT_FLAGS_DO_NOT_USE: 0, DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK: 1 },
    },
    NumberDataPoint: {
      reserved: reserved(1),
      oneofs: { value: { oneof: ['asDouble', 'asInt'] } },
      fields: {
        attributes: repeated(7, KEY_VALUES),
        startTimeUnixNano: field(2, 'fixed64'),
        timeUnixNano: field(3, 'fixed64'),
        asDouble: field(4, 'double'),
        asInt: field(6, 'sfixed64'),
        exemplars: repeated(5, `${METRICS}.Exemplar`),
        flags: field(8, 'uint32'),
      },
    },
    HistogramDataPoint: {
      reserved: reserved(1),
      oneofs: {
        _sum: { oneof: ['sum'] },
        _min: { oneof: ['min'] },
        _max: { oneof: ['max'] },
      },
      fields: {
        attributes: repeated(9, KEY_VALUES),
        startTimeUnixNano: field(2, 'fixed64'),
        timeUnixNano: field(3, 'fixed64'),
        count: field(4, 'fixed64'),
        sum: optional(5, 'double'),
        bucketCounts: repeated(6, 'fixed64'),
        explicitBounds: repeated(7, 'double'),
        exemplars: repeated(8, `${METRICS}.Exemplar`),
        flags: field(10, 'uint32'),
        min: optional(11, 'double'),
        max: optional(12, 'double'),
      },
    },
    ExponentialHistogramDataPoint: {
      oneofs: {
        _sum: { oneof: ['sum'] },
        _min: { oneof: ['min'] },
        _max: { oneof: ['max'] },
      },
      fields: {
        attributes: repeated(1, KEY_VALUES),
        startTimeUnixNano: field(2, 'fixed64'),
        timeUnixNano: field(3, 'fixed64'),
        count: field(4, 'fixed64'),
        sum: optional(5, 'double'),
        scale: field(6, 'sint32'),
        zeroCount: field(7, 'fixed64'),
        positive: field(8, `${METRICS}.ExponentialHistogramDataPoint.Buckets`),
        negative: field(9, `${METRICS}.ExponentialHistogramDataPoint.Buckets`),
        flags: field(10, 'uint32'),
        exemplars: repeated(11, `${METRICS}.Exemplar`),
        min: optional(12, 'double'),
        max: optional(13, 'double'),
        zeroThreshold: field(14, 'double'),
      },
      nested: {
        Buckets: {
          fields: {
            offset: field(1, 'sint32'),
            bucketCounts: repeated(2, 'uint64'),
          },
        },
      },
    },
    SummaryDataPoint: {
      reserved: reserved(1),
      fields: {
        attributes: repeated(7, KEY_VALUES),
        startTimeUnixNano: field(2, 'fixed64'),
        timeUnixNano: field(3, 'fixed64'),
        count: field(4, 'fixed64'),
        sum: field(5, 'double'),
        quantileValues: repeated(6, `${METRICS}.SummaryDataPoint.ValueAtQuantile`),
        flags: field(8, 'uint32'),
      },
      nested: {
        ValueAtQuantile: {
          fields: { quantile: field(1, 'double'), value: field(2, 'double') },
        },
      },
    },
    Exemplar: {
      reserved: reserved(1),
      oneofs: { value: { oneof: ['asDouble', 'asInt'] } },
      fields: {
        filteredAttributes: repeated(7, KEY_VALUES),
        timeUnixNano: field(2, 'fixed64'),
        asDouble: field(3, 'double'),
        asInt: field(6, 'sfixed64'),
        spanId: field(4, 'bytes'),
        traceId: field(5, 'bytes'),
      },
    },
  },
};

const logsV1: protobuf.INamespace = {
  nested: {
    LogsData: { fields: { resourceLogs: repeated(1, `${LOGS}.ResourceLogs`) } },
    ResourceLogs: {
      reserved: reserved(1000),
      fields: {
        resource: field(1, `${RESOURCE}.Resource`),
        scopeLogs: repeated(2, `${LOGS}.ScopeLogs`),
        schemaUrl: field(3, 'string'),
      },
    },
    ScopeLogs: {
      fields: {
        scope: field(1, `${COMMON}.InstrumentationScope`),
        logRecords: repeated(2, `${LOGS}.LogRecord`),
        schemaUrl: field(3, 'string'),
      },
    },
    SeverityNumber: {
      values: {
        SEVERITY_NUMBER_UNSPECIFIED: 0,
        SEVERITY_NUMBER_TRACE: 1,
        SEVERITY_NUMBER_TRACE2: 2,
        SEVERITY_NUMBER_TRACE3: 3,
        SEVERITY_NUMBER_TRACE4: 4,
        SEVERITY_NUMBER_DEBUG: 5,
        SEVERITY_NUMBER_DEBUG2: 6,
        SEVERITY_NUMBER_DEBUG3: 7,
        SEVERITY_NUMBER_DEBUG4: 8,
        SEVERITY_NUMBER_INFO: 9,
        SEVERITY_NUMBER_INFO2: 10,
        SEVERITY_NUMBER_INFO3: 11,
        SEVERITY_NUMBER_INFO4: 12,
        SEVERITY_NUMBER_WARN: 13,
        SEVERITY_NUMBER_WARN2: 14,
        SEVERITY_NUMBER_WARN3: 15,
        SEVERITY_NUMBER_WARN4: 16,
        SEVERITY_NUMBER_ERROR: 17,
        SEVERITY_NUMBER_ERROR2: 18,
        SEVERITY_NUMBER_ERROR3: 19,
        SEVERITY_NUMBER_ERROR4: 20,
        SEVERITY_NUMBER_FATAL: 21,
        SEVERITY_NUMBER_FATAL2: 22,
        SEVERITY_NUMBER_FATAL3: 23,
        SEVERITY_NUMBER_FATAL4: 24,
      },
    },
    LogRecordFlags: {
      values: { LOG_RECORD_FLAGS_DO_NOT_USE: 0, LOG_RECORD_FLAGS_TRACE_FLAGS_MASK: 0x000000ff },
    },
    LogRecord: {
      reserved: reserved(4),
      fields: {
        timeUnixNano: field(1, 'fixed64'),
        observedTimeUnixNano: field(11, 'fixed64'),
        severityNumber: field(2, `${LOGS}.SeverityNumber`),
        severityText: field(3, 'string'),
        body: field(5, `${COMMON}.AnyValue`),
        attributes: repeated(6, KEY_VALUES),
        droppedAttributesCount: field(7, 'uint32'),
        flags: field(8, 'fixed32'),
        traceId: field(9, 'bytes'),
        spanId: field(10, 'bytes'),
        eventName: field(12, 'string'),
      },
    },
  },
};

/** The request/response pair and partial-success message of one collector service. */
function collectorService(
  signal: 'Trace' | 'Metrics' | 'Logs',
  resourceField: string,
  resourceType: string,
  rejectedField: string,
): protobuf.INamespace {
  return {
    nested: {
      [`Export${signal}ServiceRequest`]: { fields: { [resourceField]: repeated(1, resourceType) } },
      [`Export${signal}ServiceResponse`]: {
        fields: { partialSuccess: field(1, `Export${signal}PartialSuccess`) },
      },
      [`Export${signal}PartialSuccess`]: {
        fields: { [rejectedField]: field(1, 'int64'), errorMessage: field(2, 'string') },
      },
    },
  };
}

const descriptor: protobuf.INamespace = {
  nested: {
    opentelemetry: {
      nested: {
        proto: {
          nested: {
            common: { nested: { v1: commonV1 } },
            resource: { nested: { v1: resourceV1 } },
            trace: { nested: { v1: traceV1 } },
            metrics: { nested: { v1: metricsV1 } },
            logs: { nested: { v1: logsV1 } },
            collector: {
              nested: {
                trace: {
                  nested: {
                    v1: collectorService('Trace', 'resourceSpans', `${TRACE}.ResourceSpans`, 'rejectedSpans'),
                  },
                },
                metrics: {
                  nested: {
                    v1: collectorService(
                      'Metrics',
                      'resourceMetrics',
                      `${METRICS}.ResourceMetrics`,
                      'rejectedDataPoints',
                    ),
                  },
                },
                logs: {
                  nested: {
                    v1: collectorService('Logs', 'resourceLogs', `${LOGS}.ResourceLogs`, 'rejectedLogRecords'),
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

// Without the `long` package protobufjs decodes 64-bit fields into doubles, and nanosecond
// timestamps (~1.7e18) silently lose their last digits. protobufjs depends on `long`; make sure.
if (!protobuf.util.Long) {
  throw new Error('protobufjs cannot find the "long" package: OTLP 64-bit timestamps would be decoded inexactly');
}

/** The resolved root: every type above, looked up by its full name (`opentelemetry.proto....`). */
export const otlpRoot: protobuf.Root = protobuf.Root.fromJSON(descriptor);
// Resolve every type reference now, so a typo in the descriptor fails at import, not mid-request.
otlpRoot.resolveAll();

function type(fullName: string): protobuf.Type {
  return otlpRoot.lookupType(fullName);
}

export const ExportTraceServiceRequest = type('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
export const ExportTraceServiceResponse = type('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
export const ExportMetricsServiceRequest = type(
  'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest',
);
export const ExportMetricsServiceResponse = type(
  'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse',
);
export const ExportLogsServiceRequest = type('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
export const ExportLogsServiceResponse = type('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');

export type OtlpSignal = 'traces' | 'metrics' | 'logs';

/** Per signal: request and response types, the request's top-level list and the response's rejected counter. */
export const OTLP_SIGNALS: Readonly<
  Record<
    OtlpSignal,
    { request: protobuf.Type; response: protobuf.Type; resourceField: string; rejectedField: string }
  >
> = {
  traces: {
    request: ExportTraceServiceRequest,
    response: ExportTraceServiceResponse,
    resourceField: 'resourceSpans',
    rejectedField: 'rejectedSpans',
  },
  metrics: {
    request: ExportMetricsServiceRequest,
    response: ExportMetricsServiceResponse,
    resourceField: 'resourceMetrics',
    rejectedField: 'rejectedDataPoints',
  },
  logs: {
    request: ExportLogsServiceRequest,
    response: ExportLogsServiceResponse,
    resourceField: 'resourceLogs',
    rejectedField: 'rejectedLogRecords',
  },
};

/** OTLP enum name -> number, for JSON senders that spell enums by name (the spec forbids it; be lenient). */
export function enumValues(fullName: string): Readonly<Record<string, number>> {
  return otlpRoot.lookupEnum(fullName).values;
}
