import { BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { warnOnce } from '../log.js';

/**
 * Span processors for `OTEL_TRACES_EXPORTER` (comma-separated: otlp, console, none). With the
 * variable unset the library adds none: the SQLite mirror alone needs no server. The OTLP
 * exporter reads its own `OTEL_EXPORTER_OTLP_*` variables.
 */
export function traceExportersFromEnv(env: NodeJS.ProcessEnv = process.env, fallback = 'none'): SpanProcessor[] {
  const names = (env.OTEL_TRACES_EXPORTER ?? fallback)
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  const out: SpanProcessor[] = [];
  for (const name of new Set(names)) {
    if (name === 'none') continue;
    if (name === 'otlp') out.push(new BatchSpanProcessor(new OTLPTraceExporter()));
    else if (name === 'console') out.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
    else warnOnce(`exporter:${name}`, `OTEL_TRACES_EXPORTER=${name} is not supported (use otlp, console or none); ignored`);
  }
  return out;
}
