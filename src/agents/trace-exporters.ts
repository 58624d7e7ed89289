import { BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { warnOnce } from '../log.js';
import { ExportGate, exporterNames, loopFree, otlpUrl, unrefAgent } from './otlp-export.js';

export interface EnvTraceExporters {
  processors: SpanProcessor[];
  /** One per OTLP exporter: whether its endpoint answered (for the exit message). */
  gates: ExportGate[];
}

/**
 * Span processors for `OTEL_TRACES_EXPORTER` (comma-separated: otlp, console, none). Unset, OTLP
 * is used only when an OTLP endpoint is configured (see `exporterNames`): the SQLite mirror alone
 * needs no server. The OTLP exporter reads its own `OTEL_EXPORTER_OTLP_*` variables.
 */
export function traceExportersFromEnv(env: NodeJS.ProcessEnv = process.env, fallback?: string): EnvTraceExporters {
  const out: EnvTraceExporters = { processors: [], gates: [] };
  for (const name of exporterNames(env, 'traces', fallback)) {
    if (name === 'none') continue;
    if (name === 'otlp') {
      const gate = new ExportGate('traces', otlpUrl(env, 'traces'));
      out.gates.push(gate);
      out.processors.push(new BatchSpanProcessor(loopFree(new OTLPTraceExporter({ httpAgentOptions: unrefAgent }), gate)));
    } else if (name === 'console') out.processors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
    else warnOnce(`exporter:${name}`, `OTEL_TRACES_EXPORTER=${name} is not supported (use otlp, console or none); ignored`);
  }
  return out;
}
