/**
 * GET /metrics from a PrometheusExporter built with `preventServerStart`, as a fetch-style answer
 * so it mounts in a Hono app. The exporter's own getMetricsRequestHandler writes to a node
 * response; this does what it does (collect, serialize, text/plain, 200 even when collection
 * failed) with a serializer configured as the exporter's defaults, so the text is the same.
 */
import { diag } from '@opentelemetry/api';
import { PrometheusSerializer, type PrometheusExporter } from '@opentelemetry/exporter-prometheus';

/** `exporter` must use the default options apart from `preventServerStart` (prefix, timestamps, labels). */
export function prometheusText(exporter: PrometheusExporter): () => Promise<Response> {
  const serializer = new PrometheusSerializer();
  const text = (body: string): Response => new Response(body, { status: 200, headers: { 'content-type': 'text/plain' } });
  return async () => {
    try {
      const { resourceMetrics, errors } = await exporter.collect();
      if (errors.length > 0) diag.error('PrometheusExporter: metrics collection errors', ...errors);
      return text(serializer.serialize(resourceMetrics));
    } catch (err) {
      return text(`# failed to export metrics: ${String(err)}`);
    }
  };
}
