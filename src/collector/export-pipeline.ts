/**
 * One received export request, whatever carried it (OTLP/HTTP or OTLP/gRPC): decode, map to
 * write ops, queue them whole or not at all, count, forward. The transports only translate the
 * outcome into their own status codes, so both give the same rows and the same partial-success
 * answers for the same payload.
 */
import { warnOnce } from '../log.js';
import type { SpanMetrics } from '../metrics/span-metrics.js';
import type { CostFunction } from '../spans/mapping.js';
import type { TelemetryRow, WriteOp } from '../spans/rows.js';
import { codingAgentLogOps, codingAgentMetricOps } from './coding-agents.js';
import type { CollectorMetrics } from './collector-metrics.js';
import type { Forwarder } from './forwarder.js';
import type { WriteQueue } from '../store/write-queue.js';
import { decodeLogs, decodeMetrics, decodeTraces, OtlpDecodeError, type DecodeLimits, type OtlpContentType, type OtlpSignal } from './otlp/index.js';
import type { SpanOpsBuilder } from './span-ops.js';

export interface SignalStats {
  requests: number;
  /** Spans / data points / log records accepted. */
  accepted: number;
  /** Invalid items rejected inside accepted requests (partial success). */
  rejected: number;
}

/** What to do with a request: the transport maps each kind to its own status. */
export type ExportOutcome =
  /**
   * Queued for SQLite; `rejected` items were invalid (OTLP partial success). `committed`
   * resolves once the rows are in the database: transports answer success only then, so an
   * acknowledged request survives a kill of the collector.
   */
  | { kind: 'ok'; accepted: number; rejected: number; message?: string; committed: Promise<void> }
  /** The body is not an OTLP request: HTTP 400, gRPC INVALID_ARGUMENT. Not retryable. */
  | { kind: 'invalid'; message: string }
  /** The write queue is full: HTTP 503, gRPC UNAVAILABLE, both with a retry delay. */
  | { kind: 'overloaded'; message: string };

/** The request as received, for forwarding upstream unchanged. */
export interface ForwardSource {
  raw: Uint8Array;
  contentType: string;
  contentEncoding?: string;
}

export interface ExportPipelineParts {
  queue: WriteQueue;
  spanOps: SpanOpsBuilder;
  spanMetrics: SpanMetrics;
  ingestMetrics: CollectorMetrics;
  forwarders: readonly Forwarder[];
  price: CostFunction;
  decodeLimits?: Partial<DecodeLimits>;
}

interface Decoded {
  ops: WriteOp[];
  accepted: number;
  rejected: number;
  errors: string[];
  after: () => void;
}

export class ExportPipeline {
  readonly stats: Record<OtlpSignal, SignalStats> = {
    traces: { requests: 0, accepted: 0, rejected: 0 },
    metrics: { requests: 0, accepted: 0, rejected: 0 },
    logs: { requests: 0, accepted: 0, rejected: 0 },
  };
  /** Requests refused because the write queue was full. */
  refused = 0;

  constructor(private readonly parts: ExportPipelineParts) {}

  /** Whether a request could be queued at all; checked before reading a body. */
  hasRoom(): boolean {
    return this.parts.queue.hasRoom(1);
  }

  /** Counts a request refused before its body was read (queue already full). */
  refuseEarly(signal: OtlpSignal): Extract<ExportOutcome, { kind: 'overloaded' }> {
    this.refused++;
    this.parts.ingestMetrics.dropped(signal, 'queue_full', 1);
    return { kind: 'overloaded', message: 'the collector is writing a backlog; retry later' };
  }

  /** Decodes `body`, queues its rows (all or none), forwards it. Never throws for bad input. */
  export(signal: OtlpSignal, body: Uint8Array, ct: OtlpContentType, source: ForwardSource): ExportOutcome {
    const { queue, ingestMetrics, forwarders } = this.parts;
    let result: Decoded;
    try {
      result = this.decode(signal, body, ct);
    } catch (err) {
      if (err instanceof OtlpDecodeError) {
        ingestMetrics.dropped(signal, 'bad_request', 1);
        return { kind: 'invalid', message: err.message };
      }
      throw err;
    }
    const committed = queue.hasRoom(result.ops.length) ? queue.enqueue(result.ops) : undefined;
    if (!committed) {
      this.refused++;
      ingestMetrics.dropped(signal, 'queue_full', result.accepted);
      return { kind: 'overloaded', message: 'the collector write queue is full; retry later' };
    }
    result.after();
    this.stats[signal].accepted += result.accepted;
    this.stats[signal].rejected += result.rejected;
    ingestMetrics.accepted(signal, result.accepted);
    ingestMetrics.rejected(signal, result.rejected);
    for (const f of forwarders) {
      const before = f.stats().dropped;
      f.enqueue({ signal, body: source.raw, contentType: source.contentType, contentEncoding: source.contentEncoding });
      if (f.stats().dropped > before) ingestMetrics.dropped(signal, 'forward', 1);
    }
    const message = result.rejected > 0 ? result.errors.join('; ') : undefined;
    return { kind: 'ok', accepted: result.accepted, rejected: result.rejected, committed, ...(message ? { message } : {}) };
  }

  private decode(signal: OtlpSignal, body: Uint8Array, ct: OtlpContentType): Decoded {
    const { spanOps, spanMetrics, price, decodeLimits } = this.parts;
    const limits = decodeLimits ? { limits: decodeLimits } : undefined;
    if (signal === 'traces') {
      const d = decodeTraces(body, ct, limits);
      const telemetry: (TelemetryRow | null | undefined)[] = [];
      return {
        ops: spanOps.build(d.spans, telemetry),
        accepted: d.spans.length,
        rejected: d.rejected,
        errors: d.errors,
        after: () =>
          spanMetrics.spansEnded(d.spans, (err) => warnOnce('collector-span-metrics', `collector: a span could not be counted in the metrics: ${err.message}`), telemetry),
      };
    }
    if (signal === 'metrics') {
      const d = decodeMetrics(body, ct, limits);
      const points = d.metrics.reduce((n, m) => n + m.points.length, 0);
      return { ops: codingAgentMetricOps(d.metrics), accepted: points, rejected: d.rejected, errors: d.errors, after: () => undefined };
    }
    const d = decodeLogs(body, ct, limits);
    return { ops: codingAgentLogOps(d.logs, price), accepted: d.logs.length, rejected: d.rejected, errors: d.errors, after: () => undefined };
  }
}
