// The collector's HTTP-thread work per span, in process and stage by stage: what one OTLP/HTTP
// protobuf request costs between its body and the hand-over to the SQLite writer, without HTTP,
// sockets or a writer thread competing for the CPU. CPU time of this one thread
// (process.cpuUsage: no other thread runs here), so it moves far less with the machine's load
// than the end-to-end figures of collector.bench.mjs.
//   stages: decode (protobuf -> SpanData), ops (owners + span -> write ops), metrics (the span
//   instruments), encode (ops -> the flat array handed over), serialize (v8.serialize of that
//   array: the structured clone worker.postMessage makes).
// Used by collector.bench.mjs; also runnable alone against another build of the project, for
// before/after ratios in the same conditions:
//   node bench/collector-http-thread.mjs [project dir] [requests]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serialize } from 'node:v8';

const STAGES = ['decode', 'ops', 'metrics', 'encode', 'serialize'];

/**
 * Median over `rounds` rounds of `requests` requests each (fresh span ids per round, one
 * long-lived owner cache and meter, as in the collector); the first round only warms up.
 * Returns CPU µs per span by stage, and their total.
 */
export async function httpThreadStages({ projectDir, requestSpans, requests = 200, rounds = 4 }) {
  const dist = (p) => import(pathToFileURL(join(projectDir, 'dist', 'src', p)).href);
  const fromProject = (p) => import(pathToFileURL(join(projectDir, 'node_modules', p)).href);
  const { encodeTracesProtobuf, decodeTraces } = await dist('collector/otlp/index.js');
  const { SpanOpsBuilder } = await dist('collector/span-ops.js');
  const { SpanOwnerLookup } = await dist('store/span-owners.js');
  const { openDatabase } = await dist('store/database.js');
  const { SpanMetrics } = await dist('metrics/span-metrics.js');
  const { encodeOp } = await dist('store/op-codec.js');
  const { PriceTable } = await dist('telemetry/pricing.js');
  // Builds before keyed-histograms.ts recorded histograms through the SDK.
  const keyed = await dist('metrics/keyed-histograms.js').catch(() => undefined);
  const { MeterProvider } = await fromProject('@opentelemetry/sdk-metrics/build/src/index.js');
  const { PrometheusExporter } = await fromProject('@opentelemetry/exporter-prometheus/build/src/index.js');

  const dir = mkdtempSync(join(tmpdir(), 'agentloupe-bench-http-thread-'));
  try {
    const db = openDatabase(join(dir, 'owners.db'));
    const pricing = PriceTable.fromEnv();
    const price = (usage, model, engineId) => pricing.cost(usage, { model, engineId });
    // The collector's own set-up (server.ts).
    const histograms = keyed ? new keyed.KeyedHistograms({ name: 'agentloupe.collector' }) : undefined;
    const prometheus = new PrometheusExporter({ preventServerStart: true, ...(histograms ? { metricProducers: [histograms] } : {}) });
    const meter = new MeterProvider({ readers: [prometheus] }).getMeter('agentloupe.collector');
    const metrics = new SpanMetrics(meter, price, histograms);
    const builder = new SpanOpsBuilder({ lookup: new SpanOwnerLookup(db), price });
    const cpu = () => {
      const u = process.cpuUsage();
      return u.user + u.system;
    };
    const perRound = [];
    for (let round = 0; round <= rounds; round++) {
      const bodies = [];
      for (let r = 0; r < requests; r++) bodies.push(Buffer.from(encodeTracesProtobuf(requestSpans(round * requests + r))));
      const t = Object.fromEntries(STAGES.map((s) => [s, 0]));
      let spans = 0;
      for (const body of bodies) {
        let c = cpu();
        const decoded = decodeTraces(body, 'protobuf');
        let c2 = cpu();
        t.decode += c2 - c;
        c = c2;
        // As export-pipeline.ts does: the telemetry rows build maps are the metrics' too (older builds ignore the argument).
        const telemetry = [];
        const ops = builder.build(decoded.spans, telemetry);
        c2 = cpu();
        t.ops += c2 - c;
        c = c2;
        metrics.spansEnded(
          decoded.spans,
          (err) => {
            throw err;
          },
          telemetry,
        );
        c2 = cpu();
        t.metrics += c2 - c;
        c = c2;
        const out = [];
        for (const op of ops) encodeOp(op, out);
        c2 = cpu();
        t.encode += c2 - c;
        c = c2;
        serialize(out);
        c2 = cpu();
        t.serialize += c2 - c;
        spans += decoded.spans.length;
      }
      if (round > 0) perRound.push(Object.fromEntries(STAGES.map((s) => [s, t[s] / spans])));
    }
    db.close();
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const result = Object.fromEntries(STAGES.map((s) => [s, median(perRound.map((r) => r[s]))]));
    result.total = median(perRound.map((r) => STAGES.reduce((n, s) => n + r[s], 0)));
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const here = dirname(fileURLToPath(import.meta.url));
  const projectDir = resolve(process.argv[2] ?? join(here, '..'));
  const { requestSpans } = await import('./collector-requests.mjs');
  const result = await httpThreadStages({ projectDir, requestSpans, requests: Number(process.argv[3] ?? 200) });
  console.log(JSON.stringify(Object.fromEntries(Object.entries(result).map(([k, v]) => [k, Number(v.toFixed(2))]))));
}
