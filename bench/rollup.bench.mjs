// Issue 7: what the hourly rollup's triggers (migration 4, src/store/rollup.ts) cost the writers.
// Same process, same rows, alternating runs with the triggers in place and with them dropped
// (the baseline), median of several runs each:
//  - telemetry rows/s through the SqliteSpanProcessor (model-call spans: telemetry, telemetry_calls,
//    spans) — what an instrumented agent pays;
//  - telemetry rows/s through SqliteWriter alone (telemetry + telemetry_calls, no spans) — the SQL
//    cost the triggers add, undiluted;
//  - prune of every run (deletes through the triggers).
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMonitor, openDatabase, SqliteSpanProcessor } from '../dist/src/index.js';
import { prune } from '../dist/src/store/maintenance.js';
import { ROLLUP_TRIGGERS } from '../dist/src/store/rollup.js';
import { SqliteWriter } from '../dist/src/store/writer.js';

const TRIGGERS = ROLLUP_TRIGGERS.map((sql) => /CREATE TRIGGER (\w+)/.exec(sql)[1]);
const MODELS = ['claude-sonnet-4-5', 'gpt-4o', 'gpt-4o-mini', 'gemini-2.5-flash'];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** A fresh, migrated database; without the rollup triggers when `triggers` is false. */
function freshDb(dir, triggers) {
  const path = join(dir, `rollup-${triggers ? 'on' : 'off'}-${Math.random().toString(36).slice(2)}.db`);
  const db = openDatabase(path);
  if (!triggers) for (const t of TRIGGERS) db.exec(`DROP TRIGGER ${t}`);
  return { db, path };
}

async function makeSpans(n) {
  const captured = [];
  const provider = new BasicTracerProvider({ spanProcessors: [{ onStart() {}, onEnd: (s) => captured.push(s), forceFlush: async () => {}, shutdown: async () => {} }] });
  const monitor = createMonitor({ tracerProvider: provider, registerGlobal: false, metricReaders: [] });
  const run = monitor.startAgent({ type: 'bench', planId: 'PLAN-1' });
  for (let i = 0; i < n; i++) {
    run.recordUsage({ provider: 'anthropic', model: MODELS[i % MODELS.length], inputTokens: 1000 + (i % 500), outputTokens: 200, cacheReadTokens: 300, durationMs: 5 });
  }
  run.complete();
  await monitor.shutdown();
  const agent = captured.find((s) => s.attributes['gen_ai.operation.name'] === 'invoke_agent');
  return { agent, calls: captured.filter((s) => s !== agent) };
}

function processorRate(dir, spans, triggers) {
  const { db, path } = freshDb(dir, triggers);
  db.close();
  const processor = new SqliteSpanProcessor({ path, maxQueueSize: spans.calls.length * 3 + 10 });
  processor.onStart(spans.agent, undefined);
  processor.forceFlush();
  const t0 = performance.now();
  for (const s of spans.calls) processor.onEnd(s);
  processor.forceFlush();
  const seconds = (performance.now() - t0) / 1000;
  const { dropped } = processor.stats();
  processor.shutdown();
  return { rate: spans.calls.length / seconds, dropped };
}

function telemetryOps(agents, perAgent, start) {
  const ops = [];
  for (let a = 0; a < agents; a++) {
    const id = `agent-${a}`;
    const startTime = start + a * 37;
    const row = {
      id, parentId: null, planId: `PLAN-${a % 40}`, agentType: ['developer', 'reviewer', 'tester'][a % 3], status: 'running', processId: 1,
      startTime, endTime: null, exitCode: null, errorMessage: null, logFile: null, name: `worker-${a % 5}`, category: null,
      traceId: null, spanId: null, serviceName: 'bench', startNs: null, endNs: null,
    };
    ops.push({ kind: 'agentStart', row });
    for (let j = 0; j < perAgent; j++) {
      const input = 1000 + ((a * 31 + j) % 700);
      ops.push({
        kind: 'telemetry', dedupe: false, agentLive: true,
        row: {
          agentId: id, timestamp: startTime + j * 11, inputTokens: input, outputTokens: 200, cachedTokens: 300, cacheCreationTokens: 0, cacheReadTokens: 300,
          totalTokens: input + 200, estimatedCost: input * 3e-6, model: MODELS[j % MODELS.length], provider: 'anthropic',
          toolName: null, toolArgs: null, toolApproved: null, toolApprovalType: null, engineId: null,
          traceId: null, spanId: null, operation: 'chat', unpriced: false, reasoningTokens: j % 10 === 0 ? 50 : 0, durationMs: 5, partial: false,
        },
      });
    }
    ops.push({ kind: 'agentEnd', row: { ...row, status: 'completed', endTime: startTime + perAgent * 11, exitCode: 0 }, durationMs: perAgent * 11_000 });
  }
  return ops;
}

function writerRate(dir, ops, rows, triggers) {
  const { db } = freshDb(dir, triggers);
  const writer = new SqliteWriter(db);
  const t0 = performance.now();
  for (let i = 0; i < ops.length; i += 256) writer.apply(ops.slice(i, i + 256));
  const seconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const pruned = prune(db, 4_000_000_000).telemetry;
  const pruneSeconds = (performance.now() - t1) / 1000;
  db.close();
  if (pruned !== rows) throw new Error(`prune removed ${pruned} of ${rows} rows`);
  return { rate: rows / seconds, pruneRate: rows / pruneSeconds };
}

export default async function ({ quick = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'agentloupe-rollup-bench-'));
  const n = quick ? 2_000 : 20_000;
  const reps = quick ? 3 : 7;
  try {
    const spans = await makeSpans(n);
    const agents = n / 20;
    const ops = telemetryOps(agents, 20, 1_780_000_000);
    const proc = { on: [], off: [] };
    const writer = { on: [], off: [] };
    const pruning = { on: [], off: [] };
    let dropped = 0;
    // Alternate on/off so load from elsewhere on the machine falls on both alike.
    for (let r = 0; r < reps; r++) {
      for (const triggers of r % 2 === 0 ? [true, false] : [false, true]) {
        const key = triggers ? 'on' : 'off';
        const p = processorRate(dir, spans, triggers);
        proc[key].push(p.rate);
        dropped += p.dropped;
        const w = writerRate(dir, ops, n, triggers);
        writer[key].push(w.rate);
        pruning[key].push(w.pruneRate);
      }
    }
    const ratio = (x) => Number((median(x.on) / median(x.off)).toFixed(3));
    return {
      name: 'rollup',
      results: {
        'processor telemetry rows/s (rollup triggers)': Math.round(median(proc.on)),
        'processor telemetry rows/s (no triggers: baseline)': Math.round(median(proc.off)),
        'ratio processor with / without triggers': ratio(proc),
        'writer telemetry rows/s (rollup triggers)': Math.round(median(writer.on)),
        'writer telemetry rows/s (no triggers: baseline)': Math.round(median(writer.off)),
        'ratio writer with / without triggers': ratio(writer),
        'prune telemetry rows/s (rollup triggers)': Math.round(median(pruning.on)),
        'prune telemetry rows/s (no triggers: baseline)': Math.round(median(pruning.off)),
        'ratio prune with / without triggers': ratio(pruning),
        'dropped writes': dropped,
      },
      notes: [
        `${n} model-call rows per run (${agents} agents of 20 calls for the writer), median of ${reps} runs each, runs alternating with and without the triggers`,
        'processor: telemetry + telemetry_calls + the span row per call; writer: telemetry + telemetry_calls only (SQL cost of the triggers undiluted)',
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
