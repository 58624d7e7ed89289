import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { HealthCheckDefinition } from '../types.js';

/** Cumulative export outcomes of one exporter or processor. */
export interface ExportStats {
  succeeded: number;
  failed: number;
  lastError?: string;
}

/** Anything that can say how its exports went: an ExportCounter, a SqliteSpanProcessor (via sqliteProcessorSource), ... */
export interface ExportStatsSource {
  readonly name: string;
  stats(): ExportStats;
}

/** The small counter API exporters and processors feed. */
export class ExportCounter implements ExportStatsSource {
  private succeeded = 0;
  private failed = 0;
  private lastError: string | undefined;

  constructor(readonly name: string) {}

  success(count = 1): void {
    this.succeeded += count;
  }

  failure(error?: unknown, count = 1): void {
    this.failed += count;
    if (error !== undefined) this.lastError = error instanceof Error ? error.message : String(error);
  }

  stats(): ExportStats {
    return { succeeded: this.succeeded, failed: this.failed, lastError: this.lastError };
  }
}

/**
 * Wraps a SpanExporter (an OTLP exporter, say) so every export result feeds `counter`. Put the
 * wrapped exporter in your BatchSpanProcessor.
 */
export function countExports(exporter: SpanExporter, counter: ExportCounter): SpanExporter {
  return {
    export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
      exporter.export(spans, (result) => {
        if (result.code === ExportResultCode.SUCCESS) counter.success(spans.length);
        else counter.failure(result.error ?? 'export failed', spans.length);
        resultCallback(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: exporter.forceFlush ? () => exporter.forceFlush!() : undefined,
  };
}

/** A SqliteSpanProcessor (or anything with its stats()) as an export source: written rows succeed, dropped rows fail. */
export function sqliteProcessorSource(processor: { stats(): { written: number; dropped: number; lastError?: string } }, name = 'sqlite-mirror'): ExportStatsSource {
  return {
    name,
    stats: () => {
      const s = processor.stats();
      return { succeeded: s.written, failed: s.dropped, lastError: s.lastError };
    },
  };
}

export interface ExporterCheckOptions {
  name?: string;
  intervalMs?: number;
  critical?: boolean;
}

/**
 * Recent export failures: compares each source's counts with the previous run. Some failures
 * are degraded; failures with no success at all are unhealthy.
 */
export function exporterCheck(sources: readonly ExportStatsSource[], options: ExporterCheckOptions = {}): HealthCheckDefinition {
  const previous = new Map<string, ExportStats>();
  return {
    name: options.name ?? 'exporters',
    intervalMs: options.intervalMs ?? 30_000,
    critical: options.critical ?? false,
    check: () => {
      const metadata: Record<string, unknown> = {};
      const failing: string[] = [];
      const degraded: string[] = [];
      for (const source of sources) {
        const now = source.stats();
        const before = previous.get(source.name) ?? { succeeded: 0, failed: 0 };
        previous.set(source.name, now);
        const failed = Math.max(0, now.failed - before.failed);
        const succeeded = Math.max(0, now.succeeded - before.succeeded);
        metadata[source.name] = { succeeded, failed, ...(now.lastError ? { lastError: now.lastError } : {}) };
        if (failed === 0) continue;
        const text = `${source.name}: ${failed} failed${succeeded > 0 ? `, ${succeeded} ok` : ''}${now.lastError ? ` (${now.lastError})` : ''}`;
        (succeeded === 0 ? failing : degraded).push(text);
      }
      if (failing.length > 0) return { status: 'unhealthy', message: [...failing, ...degraded].join('; '), metadata };
      if (degraded.length > 0) return { status: 'degraded', message: degraded.join('; '), metadata };
      return { status: 'healthy', metadata };
    },
  };
}
