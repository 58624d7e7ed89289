// Issue 15, "one HTTP routing layer": does routing OTLP ingest through the Hono app slow it?
// The same export route (read the body with the collector's own readBody, answer an empty
// ExportTraceServiceResponse) three ways, on loopback, same bodies, same client, same run:
//  - raw:                 a node:http listener calling the route (what the collector does);
//  - hono_node_passthrough: a Hono app (node adapter) routing to it with node's req/res;
//  - hono_response:       a Hono route reading node's request and answering with a Response.
// The figures behind the comment in src/collector/server.ts that keeps this one path raw.
import { getRequestListener } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import { createServer } from 'node:http';
import { readBody } from '../dist/src/collector/body.js';
import { encodeTracesProtobuf } from '../dist/src/collector/otlp/index.js';

const CONCURRENCY = 8;
const MAX = 16 * 1024 * 1024;

function body() {
  const spans = Array.from({ length: 100 }, (_, i) => ({
    traceId: '1'.repeat(32), spanId: (i + 1).toString(16).padStart(16, '0'), name: 'chat claude-sonnet-4-5', kind: 2,
    startTimeUnixNano: 1_760_000_000_000_000_000n, endTimeUnixNano: 1_760_000_000_500_000_000n, statusCode: 0,
    attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'claude-sonnet-4-5', 'gen_ai.usage.input_tokens': 1200 + i, 'gen_ai.usage.output_tokens': 200 },
    events: [], links: [], resource: { 'service.name': 'bench-routing' },
  }));
  return Buffer.from(encodeTracesProtobuf(spans));
}

const EMPTY = new Uint8Array(0);
async function exportRoute(req, res) {
  await readBody(req, MAX);
  res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 });
  res.end();
}

function apps() {
  const raw = (req, res) => {
    if (req.url === '/v1/traces') void exportRoute(req, res);
    else res.writeHead(404).end();
  };
  // Both Hono apps carry the collector's other routes too, so routing is not a one-entry table.
  const withRoutes = (app) =>
    app.get('/healthz', (c) => c.json({ status: 'ok' })).get('/readyz', (c) => c.json({ ready: true })).get('/metrics', (c) => c.text('')).all('/api/*', (c) => c.json({})).notFound((c) => c.json({ code: 12 }, 404));
  const passthrough = withRoutes(new Hono().post('/v1/traces', (c) => {
    void exportRoute(c.env.incoming, c.env.outgoing);
    return RESPONSE_ALREADY_SENT;
  }));
  const response = withRoutes(new Hono().post('/v1/traces', async (c) => {
    await readBody(c.env.incoming, MAX);
    return c.body(EMPTY, 200, { 'content-type': 'application/x-protobuf' });
  }));
  return {
    raw,
    hono_node_passthrough: getRequestListener(passthrough.fetch, { overrideGlobalObjects: false }),
    hono_response: getRequestListener(response.fetch, { overrideGlobalObjects: false }),
  };
}

async function send(url, payload, n) {
  const latencies = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next++ < n) {
      const s = performance.now();
      const res = await fetch(url, { method: 'POST', body: payload, headers: { 'content-type': 'application/x-protobuf' } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      latencies.push(performance.now() - s);
    }
  }));
  latencies.sort((a, b) => a - b);
  return { perSecond: n / ((performance.now() - t0) / 1000), p50: latencies[Math.floor(latencies.length / 2)] };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export default async function ({ quick }) {
  const n = quick ? 200 : 1500;
  const rounds = quick ? 1 : 5;
  const payload = body();
  const servers = [];
  const urls = {};
  for (const [name, listener] of Object.entries(apps())) {
    const server = createServer(listener);
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    urls[name] = `http://127.0.0.1:${server.address().port}/v1/traces`;
  }
  const runs = {};
  try {
    for (const url of Object.values(urls)) await send(url, payload, Math.min(n, 300)); // warm-up
    // Interleaved rounds: a burst of load from elsewhere hits every arm alike.
    for (let r = 0; r < rounds; r++) for (const [name, url] of Object.entries(urls)) (runs[name] ??= []).push(await send(url, payload, n));
  } finally {
    for (const s of servers) s.close();
  }
  const results = {};
  for (const [name, list] of Object.entries(runs)) {
    results[`${name}_requests_per_s`] = Math.round(median(list.map((x) => x.perSecond)));
    results[`${name}_p50_ms`] = Number(median(list.map((x) => x.p50)).toFixed(3));
  }
  for (const name of ['hono_node_passthrough', 'hono_response']) results[`${name}_vs_raw`] = Number((results[`${name}_requests_per_s`] / results.raw_requests_per_s).toFixed(3));
  return {
    name: 'routing',
    results,
    notes: [
      `${n} requests of ${payload.length} bytes (100 spans, protobuf) per arm and round, ${CONCURRENCY} concurrent senders, median of ${rounds} interleaved rounds; client and servers in this one process`,
      'the route only reads the body and answers: decoding, mapping and SQLite (the same in every arm) are left out, so the ratio is the routing cost alone',
    ],
  };
}
