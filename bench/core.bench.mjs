// Issue 2 figures: what the SQLite mirror costs the agent.
//  - spans/s through agentloupe's API with the SQLite processor, vs a bare OTel span with a
//    BatchSpanProcessor and a no-op exporter;
//  - telemetry rows/s through the processor, vs raw better-sqlite3 prepared-statement batch
//    inserts into the same schema (telemetry alone, and the same rows the processor writes);
//  - the worst event-loop delay while the processor writes, vs the same work with no database.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as tick } from 'node:timers/promises';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createMonitor, openDatabase, SqliteSpanProcessor } from '../dist/src/index.js';

/**
 * Rows per transaction for the raw baseline: the same as the processor's full flush, which writes
 * 8 x 256 operations (two per model call: telemetry and span) per transaction.
 */
const RAW_BATCH_ROWS = 1024;

const noopExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {}, forceFlush: async () => {} };

const usage = (i) => ({
  provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 1000 + (i % 500), outputTokens: 200, cacheReadTokens: 300, durationMs: 5,
});

/**
 * CPU time of this process's main thread in ns (Linux schedstat), or undefined elsewhere. Unlike
 * event-loop utilisation it does not count time the thread waited for a CPU, so it stays
 * meaningful on a loaded machine.
 */
function mainThreadCpuNs() {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function apiSpansPerSecond(dir, n, withDb) {
  const monitor = createMonitor({ db: withDb ? join(dir, `api-${Math.random()}.db`) : false, registerGlobal: false, metricReaders: [] });
  const run = monitor.startAgent({ type: 'bench' });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) run.recordUsage(usage(i));
  run.complete();
  await monitor.forceFlush();
  const seconds = (performance.now() - t0) / 1000;
  const dropped = monitor.sqlite?.stats().dropped ?? 0;
  await monitor.shutdown();
  return { rate: (n + 1) / seconds, dropped };
}

async function bareSpansPerSecond(n) {
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(noopExporter, { maxQueueSize: n + 10, maxExportBatchSize: 512 })] });
  const tracer = provider.getTracer('bench');
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const u = usage(i);
    tracer
      .startSpan('chat claude-sonnet-4-5', {
        attributes: {
          'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': u.provider, 'gen_ai.request.model': u.model,
          'gen_ai.usage.input_tokens': u.inputTokens, 'gen_ai.usage.output_tokens': u.outputTokens,
          'gen_ai.usage.cache_read.input_tokens': u.cacheReadTokens,
        },
      })
      .end();
  }
  await provider.forceFlush();
  const seconds = (performance.now() - t0) / 1000;
  await provider.shutdown();
  return n / seconds;
}

/**
 * Main-thread time per recorded model call: event-loop utilisation (active time) over n calls in
 * bursts of 100, one event-loop turn between bursts, flush included. `mode`: 'bare' (a bare OTel
 * span with the same gen_ai attributes, BatchSpanProcessor, no-op exporter), 'nodb' (createMonitor
 * with db: false), 'db' (createMonitor with the SQLite mirror).
 */
async function mainThreadUsPerCall(dir, n, mode) {
  let record, flush, done;
  if (mode === 'bare') {
    const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(noopExporter, { maxQueueSize: 2048, maxExportBatchSize: 512 })] });
    const tracer = provider.getTracer('bench');
    record = (i) => {
      const u = usage(i);
      const span = tracer.startSpan('chat claude-sonnet-4-5', {
        kind: 2,
        attributes: {
          'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': u.provider, 'gen_ai.request.model': u.model, 'gen_ai.response.model': u.model,
          'gen_ai.usage.input_tokens': u.inputTokens, 'gen_ai.usage.output_tokens': u.outputTokens,
          'gen_ai.usage.cache_read.input_tokens': u.cacheReadTokens, 'gen_ai.usage.cache_creation.input_tokens': 0,
          'gen_ai.usage.reasoning.output_tokens': 0, 'agentloupe.cost.usd': 0.001, 'agentloupe.owner.agent_id': 'bench-0123456789ab', 'gen_ai.agent.name': 'bench',
        },
        startTime: Date.now() - 5,
      });
      span.end();
    };
    flush = () => provider.forceFlush();
    done = () => provider.shutdown();
  } else {
    const monitor = createMonitor({ db: mode === 'db' ? join(dir, `elu-${Math.random()}.db`) : false, registerGlobal: false, metricReaders: [] });
    const run = monitor.startAgent({ type: 'bench' });
    await monitor.forceFlush();
    record = (i) => run.recordUsage(usage(i));
    flush = () => monitor.forceFlush();
    done = async () => {
      run.complete();
      await monitor.shutdown();
    };
  }
  const start = performance.eventLoopUtilization();
  const cpu0 = mainThreadCpuNs();
  for (let i = 0; i < n; i += 100) {
    for (let j = i; j < Math.min(n, i + 100); j++) record(j);
    await tick();
  }
  await flush();
  const elu = performance.eventLoopUtilization(start);
  const cpu1 = mainThreadCpuNs();
  await done();
  return { elu: (elu.active * 1000) / n, cpu: cpu0 === undefined ? NaN : (cpu1 - cpu0) / 1000 / n };
}

/** Real ended SDK spans (an agent span and n model-call spans), made once, fed to each writer. */
async function makeSpans(n) {
  const captured = [];
  const provider = new BasicTracerProvider({ spanProcessors: [{ onStart() {}, onEnd: (s) => captured.push(s), forceFlush: async () => {}, shutdown: async () => {} }] });
  const monitor = createMonitor({ tracerProvider: provider, registerGlobal: false, metricReaders: [] });
  const run = monitor.startAgent({ type: 'bench' });
  for (let i = 0; i < n; i++) run.recordUsage(usage(i));
  run.complete();
  await monitor.shutdown();
  const agent = captured.find((s) => s.attributes['gen_ai.operation.name'] === 'invoke_agent');
  return { agent, calls: captured.filter((s) => s !== agent) };
}

async function processorRowsPerSecond(dir, spans) {
  const processor = new SqliteSpanProcessor({ path: join(dir, `proc-${Math.random()}.db`), maxQueueSize: spans.calls.length * 3 + 10 });
  processor.onStart(spans.agent, undefined);
  await processor.forceFlush();
  const t0 = performance.now();
  for (const s of spans.calls) processor.onEnd(s);
  await processor.forceFlush();
  const seconds = (performance.now() - t0) / 1000;
  const { dropped, written } = processor.stats();
  await processor.shutdown();
  return { rate: spans.calls.length / seconds, dropped, written };
}

function rawRowsPerSecond(dir, spans, sameRows, autoCheckpoint = true) {
  const db = openDatabase(join(dir, `raw-${Math.random()}.db`));
  if (!autoCheckpoint) db.pragma('wal_autocheckpoint = 0');
  const agentId = spans.agent.attributes['gen_ai.agent.id'];
  db.prepare("INSERT INTO agents (id, agent_type, status, start_time) VALUES (?, 'bench', 'running', ?)").run(agentId, Math.floor(Date.now() / 1000));
  const insT = db.prepare(`INSERT INTO telemetry (agent_id, timestamp, input_tokens, output_tokens, cached_tokens, cache_creation_tokens, cache_read_tokens,
    total_tokens, estimated_cost, model, provider, tool_name, tool_args, tool_approved, tool_approval_type, engine_id)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, NULL)`);
  const insC = db.prepare('INSERT INTO telemetry_calls (telemetry_id, trace_id, span_id, operation, unpriced, reasoning_tokens, duration_ms, partial, trace_seq) VALUES (?, ?, ?, ?, 0, 0, ?, 0, ?)');
  const insS = db.prepare(`INSERT OR REPLACE INTO spans (trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, duration_ns, status_code, status_message,
    service_name, scope_name, agent_id, attributes, events, links, resource, trace_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, ?, ?, ?, ?, '[]', '[]', ?, ?)`);
  // Rows are keyed by their trace's number (schema 7), looked up once per trace per transaction as the writer does.
  const findTrace = db.prepare('SELECT seq FROM traces WHERE trace_id = ?').pluck();
  const addTrace = db.prepare('INSERT INTO traces (trace_id) VALUES (?) RETURNING seq').pluck();
  const batch = db.transaction((rows) => {
    const seqs = new Map();
    const seqOf = (t) => seqs.get(t) ?? seqs.set(t, findTrace.get(t) ?? addTrace.get(t)).get(t);
    for (const s of rows) {
      const a = s.attributes;
      const ctx = s.spanContext();
      const info = insT.run(agentId, s.endTime[0], a['gen_ai.usage.input_tokens'], a['gen_ai.usage.output_tokens'], 300, 0, 300,
        a['gen_ai.usage.input_tokens'] + a['gen_ai.usage.output_tokens'], a['agentloupe.cost.usd'], a['gen_ai.response.model'], a['gen_ai.provider.name']);
      if (sameRows) {
        const seq = seqOf(ctx.traceId);
        insC.run(info.lastInsertRowid, ctx.traceId, ctx.spanId, 'chat', 5, seq);
        const start = BigInt(s.startTime[0]) * 1_000_000_000n + BigInt(s.startTime[1]);
        const end = BigInt(s.endTime[0]) * 1_000_000_000n + BigInt(s.endTime[1]);
        insS.run(ctx.traceId, ctx.spanId, s.parentSpanContext?.spanId ?? null, s.name, s.kind, start, end, end - start,
          'bench', 'agentloupe', agentId, JSON.stringify(a), JSON.stringify(s.resource.attributes), seq);
      }
    }
  });
  const t0 = performance.now();
  for (let i = 0; i < spans.calls.length; i += RAW_BATCH_ROWS) batch(spans.calls.slice(i, i + RAW_BATCH_ROWS));
  const seconds = (performance.now() - t0) / 1000;
  db.close();
  return spans.calls.length / seconds;
}

/** An agent producing model calls in bursts while the processor writes on its timer. */
async function worstLoopDelay(dir, n, withDb) {
  const monitor = createMonitor({ db: withDb ? join(dir, `loop-${Math.random()}.db`) : false, registerGlobal: false, metricReaders: [] });
  const run = monitor.startAgent({ type: 'bench' });
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  for (let i = 0; i < n; i += 100) {
    for (let j = i; j < Math.min(n, i + 100); j++) run.recordUsage(usage(j));
    await tick();
  }
  const deadline = Date.now() + 30_000;
  while ((monitor.sqlite?.stats().queued ?? 0) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  h.disable();
  const out = { maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6, dropped: monitor.sqlite?.stats().dropped ?? 0 };
  run.complete();
  await monitor.shutdown();
  return out;
}

export default async function core({ quick, log }) {
  const dir = mkdtempSync(join(tmpdir(), 'agentloupe-bench-'));
  const n = quick ? 2_000 : 20_000;
  const reps = quick ? 1 : 3;
  try {
    log(`spans through the API, ${n} per run, ${reps} runs`);
    log(`main-thread time per model call (event-loop utilisation, bursts of 100, flush included), ${n} per run`);
    const eluBare = [], eluNoDb = [], eluDb = [], cpuBare = [], cpuNoDb = [], cpuDb = [];
    // Five interleaved rounds: this is the figure most sensitive to what else the machine runs.
    for (let r = 0; r < reps + 2; r++) {
      for (const [mode, elu, cpu] of [['bare', eluBare, cpuBare], ['nodb', eluNoDb, cpuNoDb], ['db', eluDb, cpuDb]]) {
        const m = await mainThreadUsPerCall(dir, n, mode);
        elu.push(m.elu);
        cpu.push(m.cpu);
      }
    }
    const api = [], apiNoDb = [], bare = [];
    let apiDropped = 0;
    for (let r = 0; r < reps; r++) {
      const a = await apiSpansPerSecond(dir, n, true);
      api.push(a.rate);
      apiDropped += a.dropped;
      apiNoDb.push((await apiSpansPerSecond(dir, n, false)).rate);
      bare.push(await bareSpansPerSecond(n));
    }
    log(`telemetry rows through the processor vs raw inserts, ${n} rows`);
    const spans = await makeSpans(n);
    const proc = [], rawT = [], rawSame = [], rawSameNoCkpt = [];
    let procDropped = 0;
    for (let r = 0; r < reps; r++) {
      const p = await processorRowsPerSecond(dir, spans);
      proc.push(p.rate);
      procDropped += p.dropped;
      rawT.push(rawRowsPerSecond(dir, spans, false));
      rawSame.push(rawRowsPerSecond(dir, spans, true));
      rawSameNoCkpt.push(rawRowsPerSecond(dir, spans, true, false));
    }
    log('event-loop delay while writing');
    const loopN = quick ? 2_000 : 8_000;
    const withDb = await worstLoopDelay(dir, loopN, true);
    const noDb = await worstLoopDelay(dir, loopN, false);
    const results = {
      'main-thread µs per model call, bare otel span': median(eluBare),
      'main-thread µs per model call, createMonitor db:false': median(eluNoDb),
      'main-thread µs per model call, createMonitor + sqlite mirror': median(eluDb),
      'ratio main-thread time mirror / bare otel span': median(eluDb) / median(eluBare),
      'main-thread CPU µs per model call, bare otel span': median(cpuBare),
      'main-thread CPU µs per model call, createMonitor + sqlite mirror': median(cpuDb),
      'ratio main-thread CPU mirror / bare otel span': median(cpuDb) / median(cpuBare),
      'api spans/s (sqlite processor)': median(api),
      'api spans/s (no database)': median(apiNoDb),
      'bare otel spans/s (batch + noop exporter)': median(bare),
      'ratio api+sqlite / bare otel': median(api) / median(bare),
      'processor telemetry rows/s': median(proc),
      'raw insert rows/s (telemetry only)': median(rawT),
      'raw insert rows/s (same rows: telemetry + calls + spans)': median(rawSame),
      'raw insert rows/s (same rows, no WAL checkpoint during the run)': median(rawSameNoCkpt),
      'ratio processor / raw same rows': median(proc) / median(rawSame),
      'ratio processor / raw same rows without checkpoints': median(proc) / median(rawSameNoCkpt),
      'ratio processor / raw telemetry only': median(proc) / median(rawT),
      'worst event-loop delay ms (processor writing)': withDb.maxMs,
      'p99 event-loop delay ms (processor writing)': withDb.p99Ms,
      'worst event-loop delay ms (same work, no database)': noDb.maxMs,
      'dropped writes': apiDropped + procDropped + withDb.dropped,
    };
    return {
      name: 'core',
      results,
      notes: [
        `${n} spans/rows per run, median of ${reps}; event-loop run: ${loopN} model calls in bursts of 100 per tick`,
        'the processor writes, per model call: one telemetry row, its telemetry_calls row and the span into spans (JSON attributes)',
        `the processor hands each ended span over as one string and maps and writes it in its writer thread, up to 2048 operations per transaction; the raw baseline writes ${RAW_BATCH_ROWS} rows per transaction on one thread`,
        'the writer thread checkpoints the WAL every second; the raw baseline leaves SQLite\'s automatic checkpoint on (and, in the second figure, off)',
        `main-thread time: performance.eventLoopUtilization() active time over the run divided by calls, median of ${reps + 2} interleaved rounds; main-thread CPU: the same runs' CPU time of the main thread (/proc schedstat), which does not count waiting for a CPU`,
        'the CPU is shared with other processes (2 cores): compare the ratios, which are measured within one run',
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
