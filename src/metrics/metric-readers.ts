import { createRequire } from 'node:module';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { ConsoleMetricExporter, PeriodicExportingMetricReader, type IMetricReader } from '@opentelemetry/sdk-metrics';
import { warnOnce } from '../log.js';
import { ExportGate, exporterNames, loopFree, otlpUrl, unrefAgent } from '../agents/otlp-export.js';

export const DEFAULT_PROMETHEUS_PORT = 9464;
export const DEFAULT_PROMETHEUS_HOST = 'localhost';

/** Exporter packages load only when asked for (start-up time of a local-first app; see trace-exporters.ts). */
const load = createRequire(import.meta.url);
const otlpMetricExporter = (): typeof import('@opentelemetry/exporter-metrics-otlp-http').OTLPMetricExporter =>
  (load('@opentelemetry/exporter-metrics-otlp-http') as typeof import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter;
const prometheusExporter = (): typeof import('@opentelemetry/exporter-prometheus').PrometheusExporter =>
  (load('@opentelemetry/exporter-prometheus') as typeof import('@opentelemetry/exporter-prometheus')).PrometheusExporter;

export interface EnvMetricReaders {
  readers: IMetricReader[];
  /** The Prometheus exporter, when one was configured (its `getMetricsRequestHandler` mounts on any server). */
  prometheus?: PrometheusExporter;
  /** One per OTLP exporter: whether its endpoint answered (for the exit message). */
  gates: ExportGate[];
}

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value);
  if (Number.isInteger(n) && n >= 0) return n;
  warnOnce(`env:${name}`, `${name}=${value} is not a whole number; using ${fallback}`);
  return fallback;
}

/**
 * Metric readers for `OTEL_METRICS_EXPORTER` (comma-separated: prometheus, otlp, console, none)
 * with the variables' documented defaults: the Prometheus endpoint on
 * `OTEL_EXPORTER_PROMETHEUS_HOST`:`OTEL_EXPORTER_PROMETHEUS_PORT` (localhost:9464) at /metrics,
 * OTLP/HTTP every `OTEL_METRIC_EXPORT_INTERVAL` ms (60000). Unset, OTLP is used only when an
 * OTLP endpoint is configured (local-first, see `exporterNames`).
 */
export function metricReadersFromEnv(env: NodeJS.ProcessEnv = process.env, fallback?: string): EnvMetricReaders {
  const names = exporterNames(env, 'metrics', fallback);
  const out: EnvMetricReaders = { readers: [], gates: [] };
  const interval = positiveInt(env.OTEL_METRIC_EXPORT_INTERVAL, 'OTEL_METRIC_EXPORT_INTERVAL', 60_000);
  for (const name of names) {
    if (name === 'none') continue;
    if (name === 'prometheus') {
      const port = positiveInt(env.OTEL_EXPORTER_PROMETHEUS_PORT, 'OTEL_EXPORTER_PROMETHEUS_PORT', DEFAULT_PROMETHEUS_PORT);
      const host = env.OTEL_EXPORTER_PROMETHEUS_HOST || DEFAULT_PROMETHEUS_HOST;
      out.prometheus = new (prometheusExporter())({ port, host }, (err) => {
        if (err) warnOnce(`prometheus:${port}`, `Prometheus endpoint could not listen on ${host}:${port}: ${String(err)}. Set OTEL_EXPORTER_PROMETHEUS_PORT to a free port.`);
      });
      out.readers.push(out.prometheus);
    } else if (name === 'otlp') {
      const gate = new ExportGate('metrics', otlpUrl(env, 'metrics'));
      out.gates.push(gate);
      const exporter = loopFree(new (otlpMetricExporter())({ httpAgentOptions: unrefAgent }), gate);
      out.readers.push(new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: Math.max(1, interval) }));
    } else if (name === 'console') {
      out.readers.push(new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: interval }));
    } else {
      warnOnce(`metrics-exporter:${name}`, `OTEL_METRICS_EXPORTER=${name} is not supported (use prometheus, otlp, console or none); ignored`);
    }
  }
  return out;
}
