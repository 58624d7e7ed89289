export { createInstruments, METRIC, TOKEN_USAGE_BUCKETS, OPERATION_DURATION_BUCKETS, AGENT_DURATION_BUCKETS, type AgentInstruments } from './instruments.js';
export { SpanMetrics } from './span-metrics.js';
export { MetricsSpanProcessor } from './metrics-span-processor.js';
export { metricReadersFromEnv, DEFAULT_PROMETHEUS_PORT, type EnvMetricReaders } from './metric-readers.js';
