import { BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createRequire } from 'node:module';
import { warnOnce } from '../log.js';
import { ExportGate, exporterNames, loopFree, otlpUrl, unrefAgent } from './otlp-export.js';

/**
 * The OTLP exporter package is loaded only when an OTLP exporter is asked for: with its protobuf
 * layer it is a large share of the hook's start-up, which a local-first app should not pay.
 */
function otlpTraceExporter(): typeof import('@opentelemetry/exporter-trace-otlp-http').OTLPTraceExporter {
  return (createRequire(import.meta.url)('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter;
}

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
      out.processors.push(new BatchSpanProcessor(loopFree(new (otlpTraceExporter())({ httpAgentOptions: unrefAgent }), gate)));
    } else if (name === 'console') out.processors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
    else warnOnce(`exporter:${name}`, `OTEL_TRACES_EXPORTER=${name} is not supported (use otlp, console or none); ignored`);
  }
  return out;
}
