// Issue 6 figures: `agentloupe collector` ingest.
//  - spans/s from OTLP request to SQLite rows, protobuf and JSON, with 8 concurrent senders;
//  - p50 / p99 export-request latency under that load;
//  - the collector process's peak RSS (it runs as its own process: `agentloupe collector`);
//  - baseline, same run, same client: a loopback HTTP server that only reads the body and
//    answers 200 (what HTTP alone costs), so the ratios show what decoding + mapping + SQLite add.
//  - issue 13: p50 / p99 with durable acknowledgement (200 once the rows are committed) beside the
//    behaviour before it (200 once queued), at the same offered load, interleaved (ackPhase below).
//  - issue 12: the HTTP thread's CPU per span stage by stage, in process (collector-http-thread.mjs).
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
import { httpThreadStages } from './collector-http-thread.mjs';
import { requestSpans, SPANS_PER_REQUEST } from './collector-requests.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '..', 'dist', 'src', 'cli', 'main.js');
const CONCURRENCY = 8;

/** Requests that warm a path (JIT) before it is measured. */
const WARM_REQUESTS = 50;

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
    // First, while nothing else of this bench runs: the HTTP thread's work in process, by stage.
    const stages = await httpThreadStages({ projectDir: join(here, '..'), requestSpans, requests: quick ? 40 : 200, rounds: quick ? 2 : 4 });
    for (const [stage, us] of Object.entries(stages)) results[`http_thread_in_process_us_per_span_${stage}`] = Number(us.toFixed(2));
    notes.push('http_thread_in_process_*: CPU µs per span of what the collector\'s HTTP thread does with a protobuf request, without HTTP, in this process (decode, ops = owners + mapping, metrics, encode = the op array, serialize = the structured clone postMessage makes); median of 4 rounds of 200 requests; `node bench/collector-http-thread.mjs <other checkout>` measures another build the same way');
    const baseline = await nullReceiver();
    const { child, url, grpcAddress } = await startCollector(join(dir, 'collector.db'), await freePort());
    try {
      let offset = 0;
      // A new process first: its first requests pay for the JIT and the writer thread starting.
      // The phases after it measure a collector that is running, as one serving agents is; each
      // encoding's path is warmed with requests of its own before it is measured.
      {
        const list = bodies(requests, 'protobuf', offset);
        offset += requests;
        const t0 = performance.now();
        await send(`${url}/v1/traces`, list, 'application/x-protobuf');
        await waitForRows(join(dir, 'collector.db'), offset * SPANS_PER_REQUEST, 120_000);
        results.protobuf_new_process_spans_per_s_into_sqlite = Math.round((requests * SPANS_PER_REQUEST) / ((performance.now() - t0) / 1000));
        const warm = bodies(WARM_REQUESTS, 'json', offset);
        offset += WARM_REQUESTS;
        await send(`${url}/v1/traces`, warm, 'application/json');
        await waitForRows(join(dir, 'collector.db'), offset * SPANS_PER_REQUEST, 120_000);
      }
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
    // --- durable acknowledgement vs acknowledge-once-queued (issue 13), each on a fresh collector ---
    const ackNotes = await ackPhase(results, results.protobuf_spans_per_s_into_sqlite / SPANS_PER_REQUEST, quick);
    notes.push(`${requests} requests x ${SPANS_PER_REQUEST} spans per encoding (1 agent span + 99 model calls each), ${CONCURRENCY} concurrent senders, collector in its own process`);
    notes.push('into_sqlite: from the first request sent until every span row is committed; http_accept: until the last 200');
    notes.push(`protobuf_new_process_*: the first ${requests} requests of the new collector process; the protobuf and JSON phases come after them and ${WARM_REQUESTS} JSON requests (a collector that is running)`);
    notes.push('cpu_us_per_span: CPU time of the collector\'s HTTP thread and of its SQLite writer thread over the phase, per span (/proc, 10 ms ticks): unlike spans/s it does not depend on what else the machine runs; 50,000 spans/s needs each under 20 µs');
    notes.push('baseline: the same client against a loopback server that only reads the body (HTTP cost alone)');
    notes.push('grpc: the same protobuf payloads (new ids) as TraceService/Export calls over one HTTP/2 connection, 8 in flight; grpc_vs_http_protobuf = grpc spans/s into SQLite / protobuf-over-HTTP spans/s into SQLite, same run');
    notes.push(...ackNotes);
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

// --- Durable acknowledgement (issue 13) -----------------------------------------------------

const ACK_MODES = ['queued', 'committed'];
const ACK_REPS = 3;

function startAckCollector(dbPath, ack) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'collector-child.mjs'), dbPath, ack], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AGENTLOUPE_LOG: 'silent' } });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`collector (${ack}) did not start: ${out}${err}`)), 15_000);
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    });
    child.on('exit', (code) => reject(new Error(`collector (${ack}) exited ${code}: ${out}${err}`)));
  });
}

/**
 * Open loop: request i is due at i / rps seconds whatever happened to the others, and its latency
 * counts from when it was due until its 200 (503s retried after 50 ms, as `send` does), so a slow
 * answer cannot lower the load it is measured under.
 */
async function sendAtRate(url, list, rps) {
  const latencies = [];
  let retried = 0;
  const t0 = performance.now();
  const one = async (body, due) => {
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${url}/v1/traces`, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
      await res.arrayBuffer();
      if (res.status === 200) break;
      if ((res.status !== 503 && res.status !== 429) || attempt >= 50) throw new Error(`HTTP ${res.status}`);
      retried++;
      await new Promise((r) => setTimeout(r, 50));
    }
    latencies.push(performance.now() - due);
  };
  await Promise.all(list.map((body, i) => one(body, t0 + (i * 1000) / rps)));
  return { latencies, retried };
}

const median = (xs) => pct(xs, 50);

/**
 * The same open-loop load against a collector that answers 200 once the rows are committed (now)
 * and one that answers once they are queued (before), at half the measured max rate and at the
 * max, ACK_REPS times each, interleaved (the order of the modes alternates); medians are reported.
 */
async function ackPhase(results, maxRps, quick) {
  const perRun = quick ? 20 : 100;
  const list = bodies(perRun, 'protobuf', 0);
  // The same collector goes on with twice as many requests (new ids): its latencies once it has
  // run for a while, without the first second of a new process (JIT, the writer thread starting).
  const warmList = bodies(perRun * 2, 'protobuf', perRun);
  const loads = { half: maxRps / 2, max: maxRps };
  const runs = {};
  for (let rep = 0; rep < ACK_REPS; rep++) {
    for (const [load, rps] of Object.entries(loads)) {
      for (const ack of rep % 2 === 0 ? ACK_MODES : [...ACK_MODES].reverse()) {
        const dir = mkdtempSync(join(tmpdir(), 'agentloupe-bench-ack-'));
        const dbPath = join(dir, 'ack.db');
        const { child, url } = await startAckCollector(dbPath, ack);
        try {
          const sent = await sendAtRate(url, list, rps);
          const lastAck = performance.now();
          await waitForRows(dbPath, perRun * SPANS_PER_REQUEST, 120_000);
          const lag = performance.now() - lastAck;
          const warm = await sendAtRate(url, warmList, rps);
          await waitForRows(dbPath, (perRun + warmList.length) * SPANS_PER_REQUEST, 120_000);
          const run = {
            p50: pct(sent.latencies, 50), p99: pct(sent.latencies, 99), lag, retried: sent.retried + warm.retried,
            warmP50: pct(warm.latencies, 50), warmP99: pct(warm.latencies, 99),
          };
          (runs[`${load}_${ack}`] ??= []).push(run);
        } finally {
          child.kill('SIGTERM');
          await new Promise((r) => child.once('exit', r));
          rmSync(dir, { recursive: true, force: true });
        }
      }
    }
  }
  for (const [load, rps] of Object.entries(loads)) {
    results[`ack_${load}_load_requests_per_s`] = Number(rps.toFixed(1));
    for (const ack of ACK_MODES) {
      const r = runs[`${load}_${ack}`];
      results[`ack_${load}_${ack}_p50_ms`] = Number(median(r.map((x) => x.p50)).toFixed(2));
      results[`ack_${load}_${ack}_p99_ms`] = Number(median(r.map((x) => x.p99)).toFixed(2));
      // Every run's figures, in run order: on a shared machine the spread says how far to trust the medians.
      results[`ack_${load}_${ack}_p50_p99_ms_runs`] = r.map((x) => `${Math.round(x.p50)}/${Math.round(x.p99)}`).join(' ');
      results[`ack_${load}_${ack}_running_p50_ms`] = Number(median(r.map((x) => x.warmP50)).toFixed(2));
      results[`ack_${load}_${ack}_running_p99_ms`] = Number(median(r.map((x) => x.warmP99)).toFixed(2));
      results[`ack_${load}_${ack}_running_p50_p99_ms_runs`] = r.map((x) => `${Math.round(x.warmP50)}/${Math.round(x.warmP99)}`).join(' ');
      results[`ack_${load}_${ack}_unstored_after_last_200_ms`] = Math.round(median(r.map((x) => x.lag)));
      results[`ack_${load}_${ack}_retried_503`] = r.reduce((n, x) => n + x.retried, 0);
    }
  }
  return [
    `ack_*: durable acknowledgement (committed: 200 once the rows are in SQLite, the default) beside the behaviour before it (queued: 200 once queued in memory); ${perRun} requests of ${SPANS_PER_REQUEST} spans per run, open loop (each request due at a fixed rate, latency counted from when it was due), a fresh collector process and database per run, ${ACK_REPS} runs per mode and load, modes interleaved; figures are medians of the runs`,
    'ack load: max = protobuf_spans_per_s_into_sqlite above / spans per request (the max rate measured in this run), half = half of it',
    `ack_*_running_*: the same collector, right after, for ${perRun * 2} more requests at the same rate: the latencies of a collector that has been running, where the plain figures are those of its first ${perRun} requests`,
    'ack_*_unstored_after_last_200_ms: how long after the last 200 the last rows were committed, i.e. how long acknowledged data was in memory only (a kill -9 then loses it); the bench sees a commit only by polling the database, so about 10-20 ms is its measuring floor',
  ];
}
