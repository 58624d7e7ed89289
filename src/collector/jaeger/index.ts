/** The Jaeger-compatible query API over the SQLite `spans` table (mounted by `agentloupe collector`). */
export { jaegerRoutes, DEFAULT_TRACE_LIMIT, type JaegerHandler } from './routes.js';
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
