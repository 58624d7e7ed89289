import type { Counter, Meter } from '@opentelemetry/api';
import * as A from '../semconv.js';
import type { OtlpSignal } from './otlp/index.js';

/** The collector's own instrument names (Prometheus: dots become underscores, counters get `_total`). */
export const COLLECTOR_METRIC = {
  accepted: 'agentloupe.collector.accepted',
  rejected: 'agentloupe.collector.rejected',
  dropped: 'agentloupe.collector.dropped',
  requests: 'agentloupe.collector.requests',
  queueDepth: 'agentloupe.collector.queue.depth',
  forwardQueueDepth: 'agentloupe.collector.forward.queue.depth',
} as const;

/** Why items were dropped: the `agentloupe.collector.reason` attribute. */
export type DropReason = 'queue_full' | 'write_failed' | 'forward' | 'too_large' | 'bad_request' | 'aborted';

export interface CollectorGauges {
  queueDepth: () => number;
  forwardQueueDepth: () => number;
}

/** Ingest counters: what came in, what was refused as invalid, what was lost and why. */
export class CollectorMetrics {
  private readonly acceptedCounter: Counter;
  private readonly rejectedCounter: Counter;
  private readonly droppedCounter: Counter;
  private readonly requestsCounter: Counter;

  constructor(meter: Meter, gauges: CollectorGauges) {
    this.acceptedCounter = meter.createCounter(COLLECTOR_METRIC.accepted, { description: 'Spans, metric data points and log records accepted', unit: '{item}' });
    this.rejectedCounter = meter.createCounter(COLLECTOR_METRIC.rejected, { description: 'Items rejected as invalid (OTLP partial success)', unit: '{item}' });
    this.droppedCounter = meter.createCounter(COLLECTOR_METRIC.dropped, { description: 'Items or requests lost after being received', unit: '{item}' });
    this.requestsCounter = meter.createCounter(COLLECTOR_METRIC.requests, { description: 'Export requests by HTTP status or gRPC status code', unit: '{request}' });
    meter
      .createObservableGauge(COLLECTOR_METRIC.queueDepth, { description: 'Write operations waiting for SQLite', unit: '{operation}' })
      .addCallback((r) => r.observe(gauges.queueDepth()));
    meter
      .createObservableGauge(COLLECTOR_METRIC.forwardQueueDepth, { description: 'Requests waiting to be forwarded upstream', unit: '{request}' })
      .addCallback((r) => r.observe(gauges.forwardQueueDepth()));
  }

  accepted(signal: OtlpSignal, n: number): void {
    if (n > 0) this.acceptedCounter.add(n, { [A.COLLECTOR_ATTR_SIGNAL]: signal });
  }

  rejected(signal: OtlpSignal, n: number): void {
    if (n > 0) this.rejectedCounter.add(n, { [A.COLLECTOR_ATTR_SIGNAL]: signal });
  }

  dropped(signal: OtlpSignal | 'all', reason: DropReason, n: number): void {
    if (n > 0) this.droppedCounter.add(n, { [A.COLLECTOR_ATTR_SIGNAL]: signal, [A.COLLECTOR_ATTR_REASON]: reason });
  }

  request(signal: OtlpSignal | 'other', status: number): void {
    this.requestsCounter.add(1, { [A.COLLECTOR_ATTR_SIGNAL]: signal, [A.HTTP_RESPONSE_STATUS_CODE]: status });
  }

  /** An OTLP/gRPC export, by its gRPC status code. */
  grpcRequest(signal: OtlpSignal, code: number): void {
    this.requestsCounter.add(1, { [A.COLLECTOR_ATTR_SIGNAL]: signal, [A.RPC_GRPC_STATUS_CODE]: code });
  }
}
