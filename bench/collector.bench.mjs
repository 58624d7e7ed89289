// Issue 6 figures: `agentloupe collector` ingest.
//  - spans/s from OTLP request to SQLite rows, protobuf and JSON, with 8 concurrent senders;
//  - p50 / p99 export-request latency under that load;
//  - the collector process's peak RSS (it runs as its own process: `agentloupe collector`);
//  - baseline, same run, same client: a loopback HTTP server that only reads the body and
//    answers 200 (what HTTP alone costs), so the ratios show what decoding + mapping + SQLite add.
import grpc from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { createServer as createNetServer } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeTracesJson, encodeTracesProtobuf } from '../dist/src/collector/otlp/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '..', 'dist', 'src', 'cli', 'main.js');
const SPANS_PER_REQUEST = 100;
const CONCURRENCY = 8;

/** One request: an agent run with 99 model calls, as agentloupe's own SDK exports them. */
function requestSpans(r) {
  const traceId = (r + 1).toString(16).padStart(32, '0');
  const agentSpan = (r * 1000 + 1).toString(16).padStart(16, '0');
  const agentId = `bench-${r}`;
  const t0 = 1_760_000_000_000_000_000n + BigInt(r) * 1_000_000_000n;
  const resource = { 'service.name': 'bench-swarm', 'process.pid': 1 };
  const spans = [];
  for (let i = 0; i < SPANS_PER_REQUEST - 1; i++) {
    spans.push({
      traceId, spanId: (r * 1000 + 2 + i).toString(16).padStart(16, '0'), parentSpanId: agentSpan, name: 'chat claude-sonnet-4-5', kind: 2,
      startTimeUnixNano: t0 + BigInt(i) * 1000n, endTimeUnixNano: t0 + BigInt(i) * 1000n + 500n, statusCode: 0,
      attributes: {
        'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.model': 'claude-sonnet-4-5',
        'gen_ai.usage.input_tokens': 1200 + i, 'gen_ai.usage.output_tokens': 200, 'gen_ai.usage.cache_read.input_tokens': 300,
        'agentloupe.owner.agent_id': agentId, 'agentloupe.cost.usd': 0.0042,
      },
      events: [], links: [], resource,
    });
  }
  spans.push({
    traceId, spanId: agentSpan, name: 'invoke_agent worker', kind: 0, startTimeUnixNano: t0, endTimeUnixNano: t0 + 10_000_000n, statusCode: 1,
    attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.id': agentId, 'gen_ai.agent.name': 'worker', 'agentloupe.agent.type': 'worker' },
    events: [], links: [], resource,
  });
  return spans;
}

function bodies(n, encoding, offset) {
  const out = [];
  for (let r = 0; r < n; r++) {
    const spans = requestSpans(offset + r);
    out.push(encoding === 'protobuf' ? Buffer.from(encodeTracesProtobuf(spans)) : Buffer.from(JSON.stringify(encodeTracesJson(spans))));
  }
  return out;
}

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** Sends every body with CONCURRENCY senders; returns per-request latencies (ms) and the wall time. */
async function send(url, list, contentType) {
  const latencies = [];
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < list.length) {
      const body = list[next++];
      for (let attempt = 0; attempt < 50; attempt++) {
        const s = performance.now();
        const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': contentType } });
        await res.arrayBuffer();
        latencies.push(performance.now() - s);
        if (res.status === 200) break;
        if (res.status !== 503 && res.status !== 429) throw new Error(`HTTP ${res.status}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { latencies, ms: performance.now() - t0 };
}

function startCollector(dbPath, grpcPort) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(process.env.BENCH_COLLECTOR_NODE_ARGS ?? '').split(' ').filter(Boolean), CLI, 'collector', '--port', '0', '--grpc-port', String(grpcPort), '--db', dbPath], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AGENTLOUPE_LOG: 'silent' } });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`collector did not start: ${out}`)), 15_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      const g = /OTLP\/gRPC:\s+http:\/\/(\S+)/.exec(out);
      if (m && (g || grpcPort === 0)) {
        clearTimeout(timer);
        resolve({ child, url: m[1], grpcAddress: g?.[1] });
      }
    });
    child.on('exit', (code) => reject(new Error(`collector exited ${code}: ${out}`)));
  });
}

function peakRssMb(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds used by the collector's HTTP (main) thread and by its busiest other thread, the
 * SQLite writer (threads have no names to tell them apart; V8's helpers use far less): a
 * load-independent view of where its time goes. Linux /proc; zeros elsewhere.
 */
function threadCpu(pid) {
  const byTid = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byTid[tid] = (Number(f[11]) + Number(f[12])) / 100; // utime + stime, USER_HZ ticks
    }
  } catch {
    /* not Linux */
  }
  return byTid;
}

function cpuDelta(before, after, pid) {
  let main = 0;
  let writer = 0;
  for (const [tid, s] of Object.entries(after)) {
    const d = s - (before[tid] ?? 0);
    if (tid === String(pid)) main = d;
    else writer = Math.max(writer, d);
  }
  return { main, writer };
}

async function waitForRows(dbPath, expected, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let n = 0;
    try {
      const db = new Database(dbPath, { readonly: true, fileMustExist: true });
      n = db.prepare('SELECT COUNT(*) AS n FROM spans').get().n;
      db.close();
    } catch {
      /* not created yet */
    }
    if (n >= expected) return;
    if (Date.now() > deadline) throw new Error(`only ${n}/${expected} spans stored after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function nullReceiver() {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${server.address().port}/v1/traces` };
}

export default async function ({ quick }) {
  const requests = quick ? 20 : 200;
  const dir = mkdtempSync(join(tmpdir(), 'agentloupe-bench-collector-'));
  const results = {};
  const notes = [];
  try {
    const baseline = await nullReceiver();
    const { child, url, grpcAddress } = await startCollector(join(dir, 'collector.db'), await freePort());
    try {
      let offset = 0;
      for (const [encoding, contentType] of [['protobuf', 'application/x-protobuf'], ['json', 'application/json']]) {
        const list = bodies(requests, encoding, offset);
        offset += requests;
        const bytes = list.reduce((n, b) => n + b.length, 0);
        const base = await send(baseline.url, list, contentType);
        const cpu0 = threadCpu(child.pid);
        const t0 = performance.now();
        const sent = await send(`${url}/v1/traces`, list, contentType);
        await waitForRows(join(dir, 'collector.db'), offset * SPANS_PER_REQUEST, 120_000);
        const intoSqliteMs = performance.now() - t0;
        const cpu = cpuDelta(cpu0, threadCpu(child.pid), child.pid);
        const spans = requests * SPANS_PER_REQUEST;
        results[`${encoding}_cpu_us_per_span_http_thread`] = Number(((cpu.main * 1e6) / spans).toFixed(1));
        results[`${encoding}_cpu_us_per_span_writer_thread`] = Number(((cpu.writer * 1e6) / spans).toFixed(1));
        results[`${encoding}_spans_per_s_into_sqlite`] = Math.round(spans / (intoSqliteMs / 1000));
        results[`${encoding}_spans_per_s_http_accept`] = Math.round(spans / (sent.ms / 1000));
        results[`${encoding}_p50_request_ms`] = Number(pct(sent.latencies, 50).toFixed(2));
        results[`${encoding}_p99_request_ms`] = Number(pct(sent.latencies, 99).toFixed(2));
        results[`${encoding}_baseline_p99_request_ms`] = Number(pct(base.latencies, 99).toFixed(2));
        results[`${encoding}_p99_vs_http_only`] = Number((pct(sent.latencies, 99) / pct(base.latencies, 99)).toFixed(1));
        results[`${encoding}_request_kb`] = Math.round(bytes / list.length / 1024);
        results[`${encoding}_retried_503`] = sent.latencies.length - list.length;
      }
      // --- OTLP/gRPC (issue 14): the same kind of protobuf payloads, same process, same run ---
      offset = await grpcPhase(results, grpcAddress, join(dir, 'collector.db'), requests, offset);
      results.collector_peak_rss_mb = Number((peakRssMb(child.pid) ?? NaN).toFixed(1));
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      baseline.server.close();
    }
    notes.push(`${requests} requests x ${SPANS_PER_REQUEST} spans per encoding (1 agent span + 99 model calls each), ${CONCURRENCY} concurrent senders, collector in its own process`);
    notes.push('into_sqlite: from the first request sent until every span row is committed; http_accept: until the last 200');
    notes.push('cpu_us_per_span: CPU time of the collector\'s HTTP thread and of its SQLite writer thread over the phase, per span (/proc, 10 ms ticks): unlike spans/s it does not depend on what else the machine runs; 50,000 spans/s needs each under 20 µs');
    notes.push('baseline: the same client against a loopback server that only reads the body (HTTP cost alone)');
    notes.push('grpc: the same protobuf payloads (new ids) as TraceService/Export calls over one HTTP/2 connection, 8 in flight; grpc_vs_http_protobuf = grpc spans/s into SQLite / protobuf-over-HTTP spans/s into SQLite, same run');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { name: 'collector', results, notes };
}

// --- OTLP/gRPC section (issue 14) -------------------------------------------------------------

/** A port nothing listens on now (the collector's gRPC port must be named up front: 0 turns it off). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Sends every body as an Export call with CONCURRENCY calls in flight; UNAVAILABLE is retried, as exporters do. */
async function sendGrpc(address, list) {
  const identity = (b) => b;
  const Client = grpc.makeGenericClientConstructor(
    { Export: { path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
    'TraceService',
  );
  const client = new Client(address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 });
  const call = (body) => new Promise((resolve) => client.Export(body, (err) => resolve(err ? err.code : 0)));
  const latencies = [];
  let next = 0;
  let retried = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < list.length) {
      const body = list[next++];
      for (let attempt = 0; ; attempt++) {
        const s = performance.now();
        const code = await call(body);
        latencies.push(performance.now() - s);
        if (code === 0) break;
        if (code !== grpc.status.UNAVAILABLE || attempt >= 50) throw new Error(`gRPC status ${code}`);
        retried++;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const ms = performance.now() - t0;
  client.close();
  return { latencies, ms, retried };
}

async function grpcPhase(results, address, dbPath, requests, offset) {
  const list = bodies(requests, 'protobuf', offset);
  const t0 = performance.now();
  const sent = await sendGrpc(address, list);
  await waitForRows(dbPath, (offset + requests) * SPANS_PER_REQUEST, 120_000);
  const intoSqliteMs = performance.now() - t0;
  const spans = requests * SPANS_PER_REQUEST;
  results.grpc_spans_per_s_into_sqlite = Math.round(spans / (intoSqliteMs / 1000));
  results.grpc_spans_per_s_accept = Math.round(spans / (sent.ms / 1000));
  results.grpc_p50_request_ms = Number(pct(sent.latencies, 50).toFixed(2));
  results.grpc_p99_request_ms = Number(pct(sent.latencies, 99).toFixed(2));
  results.grpc_retried_unavailable = sent.retried;
  results.grpc_vs_http_protobuf = Number((results.grpc_spans_per_s_into_sqlite / results.protobuf_spans_per_s_into_sqlite).toFixed(2));
  return offset + requests;
}
