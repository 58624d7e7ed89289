import type { Context, Meter } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { warnOnce } from '../log.js';
import * as A from '../semconv.js';
import type { CostFunction } from '../spans/mapping.js';
import { fromReadableSpan } from '../spans/readable-span.js';
import { SpanConversion } from '../spans/span-conversion.js';
import { SpanMetrics } from './span-metrics.js';

/**
 * A SpanProcessor that records agentloupe's metric instruments from spans: agent runs, model
 * calls (tokens, cost, duration) and tool calls. Recording is in-memory aggregation; the
 * meter provider's readers export it.
 */
export class MetricsSpanProcessor implements SpanProcessor {
  private readonly metrics: SpanMetrics;
  private readonly conversion: SpanConversion;

  /** `conversion`: shared with the SQLite mirror, so each span is converted once. */
  constructor(meter: Meter, price?: CostFunction, conversion?: SpanConversion) {
    this.metrics = new SpanMetrics(meter, price);
    this.conversion = conversion ?? new SpanConversion(price);
  }

  onStart(span: Span, _ctx: Context): void {
    if (span.attributes[A.GEN_AI_OPERATION_NAME] !== A.OP_INVOKE_AGENT) return;
    try {
      this.metrics.spanStarted(fromReadableSpan(span, false));
    } catch (err) {
      warnOnce('metrics:start', `could not record metrics for a span: ${(err as Error).message}`);
    }
  }

  onEnd(span: ReadableSpan): void {
    try {
      this.metrics.spanEnded(this.conversion.ended(span), true, this.conversion.telemetry(span));
    } catch (err) {
      warnOnce('metrics:end', `could not record metrics for a span: ${(err as Error).message}`);
    }
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
