/** The Jaeger-compatible query API over the SQLite `spans` table (mounted by `agentloupe collector`). */
export { jaegerApi, jaegerApp, jaegerRoutes, DEFAULT_TRACE_LIMIT, JAEGER_POST_PATHS, type JaegerApi, type JaegerHandler, type JaegerReply, type JaegerRoutesOptions } from './routes.js';
export { computeMetrics, parseMetricsQuery, sampleRange, type MetricFamily, type MetricKind, type MetricsQuery } from './metrics.js';
export {
  toJaegerTrace,
  toKeyValue,
  spanKindName,
  type JaegerKeyValue,
  type JaegerLog,
  type JaegerProcess,
  type JaegerReference,
  type JaegerResponse,
  type JaegerSpan,
  type JaegerTrace,
  type JaegerValueType,
} from './model.js';
export { spanDataFromRecord, toV3Traces, type V3TracesResponse, type V3ErrorResponse } from './otlp.js';
export { ParamError, parseGoDuration, parseRfc3339 } from './params.js';
