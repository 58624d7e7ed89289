import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { telemetryFromSpan, type CostFunction } from './mapping.js';
import { fromReadableSpan } from './readable-span.js';
import type { TelemetryRow } from './rows.js';
import type { SpanData } from './span-data.js';

/**
 * One conversion per ended span on the agent's thread, shared by the processors that read it
 * (the SQLite mirror, then the metric instruments): the span's data and its telemetry row are
 * built once. The SDK calls its processors one after the other for the same span, so the last
 * span is all that needs remembering.
 */
export class SpanConversion {
  private span: ReadableSpan | undefined;
  private data: SpanData | undefined;
  private row: TelemetryRow | null | undefined;

  constructor(private readonly price?: CostFunction) {}

  /** The ended span as the mapping reads it. */
  ended(span: ReadableSpan): SpanData {
    if (span !== this.span || this.data === undefined) {
      this.span = span;
      this.data = fromReadableSpan(span, true);
      this.row = undefined;
    }
    return this.data;
  }

  /** The ended span's telemetry row (agent id not yet set), or null when it is not a model or tool call. */
  telemetry(span: ReadableSpan): TelemetryRow | null {
    const data = this.ended(span);
    if (this.row === undefined) this.row = telemetryFromSpan(data, '', this.price) ?? null;
    return this.row;
  }
}
