import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { ConsoleMetricExporter, PeriodicExportingMetricReader, type IMetricReader } from '@opentelemetry/sdk-metrics';
import { warnOnce } from '../log.js';

export const DEFAULT_PROMETHEUS_PORT = 9464;
export const DEFAULT_PROMETHEUS_HOST = 'localhost';

export interface EnvMetricReaders {
  readers: IMetricReader[];
  /** The Prometheus exporter, when one was configured (its `getMetricsRequestHandler` mounts on any server). */
  prometheus?: PrometheusExporter;
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
 * OTLP/HTTP every `OTEL_METRIC_EXPORT_INTERVAL` ms (60000).
 */
export function metricReadersFromEnv(env: NodeJS.ProcessEnv = process.env, fallback = 'none'): EnvMetricReaders {
  const names = (env.OTEL_METRICS_EXPORTER ?? fallback)
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  const out: EnvMetricReaders = { readers: [] };
  const interval = positiveInt(env.OTEL_METRIC_EXPORT_INTERVAL, 'OTEL_METRIC_EXPORT_INTERVAL', 60_000);
  for (const name of new Set(names)) {
    if (name === 'none') continue;
    if (name === 'prometheus') {
      const port = positiveInt(env.OTEL_EXPORTER_PROMETHEUS_PORT, 'OTEL_EXPORTER_PROMETHEUS_PORT', DEFAULT_PROMETHEUS_PORT);
      const host = env.OTEL_EXPORTER_PROMETHEUS_HOST || DEFAULT_PROMETHEUS_HOST;
      out.prometheus = new PrometheusExporter({ port, host }, (err) => {
        if (err) warnOnce(`prometheus:${port}`, `Prometheus endpoint could not listen on ${host}:${port}: ${String(err)}. Set OTEL_EXPORTER_PROMETHEUS_PORT to a free port.`);
      });
      out.readers.push(out.prometheus);
    } else if (name === 'otlp') {
      out.readers.push(new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter(), exportIntervalMillis: interval }));
    } else if (name === 'console') {
      out.readers.push(new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: interval }));
    } else {
      warnOnce(`metrics-exporter:${name}`, `OTEL_METRICS_EXPORTER=${name} is not supported (use prometheus, otlp, console or none); ignored`);
    }
  }
  return out;
}
