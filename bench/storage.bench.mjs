// Storage layout options for a model call (issue 12, "storage that costs what it must"): raw
// prepared-statement inserts, 1024 calls per transaction, of the rows each layout would write per
// call, all in one run on the same real SDK spans. Today a call is stored three times: a
// `telemetry` row, its `telemetry_calls` row and the whole span (JSON attributes) in `spans`.
//   STORAGE_LAYOUTS=0,6 npm run bench -- storage    only the layouts at those places in LAYOUTS_ALL
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { createMonitor, openDatabase } from '../dist/src/index.js';
import { SqliteWriter } from '../dist/src/store/writer.js';

const BATCH = 1024;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Attributes a span row need not repeat when its telemetry row holds them. */
const DERIVABLE = new Set([
  'gen_ai.usage.input_tokens', 'gen_ai.usage.output_tokens', 'gen_ai.usage.cache_read.input_tokens', 'gen_ai.usage.cache_creation.input_tokens',
  'gen_ai.usage.reasoning.output_tokens', 'agentloupe.cost.usd', 'gen_ai.response.model', 'gen_ai.request.model', 'gen_ai.provider.name',
  'gen_ai.operation.name', 'agentloupe.owner.agent_id',
]);

/** Real SDK spans of `n` model calls, 99 per agent run (a trace each), as agents record them. */
async function makeSpans(n) {
  const captured = [];
  const provider = new BasicTracerProvider({ spanProcessors: [{ onStart() {}, onEnd: (s) => captured.push(s), forceFlush: async () => {}, shutdown: async () => {} }] });
  const monitor = createMonitor({ tracerProvider: provider, registerGlobal: false, metricReaders: [] });
  for (let i = 0; i < n; i += 99) {
    const run = monitor.startAgent({ type: 'bench' });
    for (let j = i; j < Math.min(n, i + 99); j++) run.recordUsage({ provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 1000 + j, outputTokens: 200, cacheReadTokens: 300, durationMs: 5 });
    run.complete();
  }
  await monitor.shutdown();
  return captured.filter((s) => s.attributes['gen_ai.operation.name'] !== 'invoke_agent');
}

const ns = (t) => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

/** Schema 6's keys: spans unique by (trace_id, span_id), calls indexed by span_id; no trace numbers. */
const V6_KEYS = ['DROP INDEX idx_spans_trace', 'CREATE UNIQUE INDEX idx_spans_id ON spans(trace_id, span_id)',
  'DROP INDEX idx_telemetry_calls_trace', 'CREATE INDEX idx_telemetry_calls_span ON telemetry_calls(span_id)'];

const WIDE = ['parent_span_id TEXT', 'name TEXT', 'kind INTEGER', 'start_ns INTEGER', 'end_ns INTEGER', 'status_code INTEGER', 'status_message TEXT',
  'scope_name TEXT', 'attributes TEXT', 'events TEXT', 'links TEXT', 'resource_id INTEGER', 'service_name TEXT', 'resource TEXT'].map((c) => `ALTER TABLE telemetry_calls ADD COLUMN ${c}`);
/** What the readers of spans need on the calls' side: by service and name, by start time. */
const WIDE_INDEXES = [
  'CREATE INDEX idx_calls_service ON telemetry_calls(service_name, name) WHERE name IS NOT NULL',
  'CREATE INDEX idx_calls_start ON telemetry_calls(start_ns) WHERE start_ns IS NOT NULL',
];

/** Calls per second for one layout, measured after `pre` calls are stored (index pages then outnumber a transaction's rows, as in use). */
function layoutRate(dir, pre, spans, layout) {
  const db = openDatabase(join(dir, `${layout.name.replace(/\W+/g, '-')}-${Math.random()}.db`));
  for (const sql of layout.setup ?? []) db.exec(sql);
  const agentId = 'bench-agent';
  db.prepare("INSERT INTO agents (id, agent_type, status, start_time) VALUES (?, 'bench', 'running', 0)").run(agentId);
  const seqCol = layout.v6 ? '' : ', trace_seq';
  const seqVal = layout.v6 ? '' : ', ?';
  const insT = db.prepare(`INSERT INTO telemetry (agent_id, timestamp, input_tokens, output_tokens, cached_tokens, cache_creation_tokens, cache_read_tokens,
    total_tokens, estimated_cost, model, provider) VALUES (?, ?, ?, ?, 300, 0, 300, ?, ?, ?, ?)`);
  const insC = db.prepare(`INSERT INTO telemetry_calls (telemetry_id, trace_id, span_id, operation, duration_ms${seqCol}) VALUES (?, ?, ?, ?, ?${seqVal})`);
  const insW = layout.wide ? db.prepare(`INSERT INTO telemetry_calls (telemetry_id, trace_id, span_id, operation, duration_ms, parent_span_id, name, kind, start_ns, end_ns,
    status_code, status_message, scope_name, attributes, events, links, resource_id, service_name, resource${seqCol}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, 'agentloupe', ?, '[]', '[]', 1, 'bench', ?${seqVal})`) : undefined;
  const insS = db.prepare(`INSERT OR REPLACE INTO spans (trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, duration_ns, service_name, scope_name,
    agent_id, attributes, resource${seqCol}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?${seqVal})`);
  const findTrace = db.prepare('SELECT seq FROM traces WHERE trace_id = ?').pluck();
  const addTrace = db.prepare('INSERT INTO traces (trace_id) VALUES (?) RETURNING seq').pluck();
  const resource = JSON.stringify(spans[0].resource.attributes);
  const batch = db.transaction((rows, offset) => {
    const seqs = new Map();
    for (const s of rows) {
      const a = s.attributes;
      const ctx = s.spanContext();
      // Pre-filled rows get their own ids: a copy of the measured spans under other traces.
      const traceId = offset === 0 ? ctx.traceId : `${offset.toString(16).padStart(8, '0')}${ctx.traceId.slice(8)}`;
      const seq = [];
      if (!layout.v6) seq.push(seqs.get(traceId) ?? seqs.set(traceId, findTrace.get(traceId) ?? addTrace.get(traceId)).get(traceId));
      let telemetryId;
      if (layout.telemetry) {
        telemetryId = insT.run(agentId, s.endTime[0], a['gen_ai.usage.input_tokens'], a['gen_ai.usage.output_tokens'],
          a['gen_ai.usage.input_tokens'] + a['gen_ai.usage.output_tokens'], a['agentloupe.cost.usd'], a['gen_ai.response.model'], a['gen_ai.provider.name']).lastInsertRowid;
      }
      if (layout.calls) insC.run(telemetryId, traceId, ctx.spanId, 'chat', 5, ...seq);
      if (layout.wide) {
        let rest = a;
        if (layout.wide !== 'full') {
          rest = {};
          for (const k in a) if (!DERIVABLE.has(k)) rest[k] = a[k];
        }
        insW.run(telemetryId, traceId, ctx.spanId, 'chat', 5, s.parentSpanContext?.spanId ?? null, s.name, s.kind, ns(s.startTime), ns(s.endTime), JSON.stringify(rest),
          layout.wide === 'full' ? resource : null, ...seq);
      }
      if (layout.spans) {
        const start = ns(s.startTime);
        const end = ns(s.endTime);
        let attrs = a;
        if (layout.spans === 'rest') {
          attrs = {};
          for (const k in a) if (!DERIVABLE.has(k)) attrs[k] = a[k];
        }
        insS.run(traceId, ctx.spanId, s.parentSpanContext?.spanId ?? null, s.name, s.kind, start, end, end - start, 'bench', 'agentloupe', agentId,
          layout.spans === 'empty' ? '{}' : JSON.stringify(attrs), layout.spans === 'rest' || layout.resourceOnce ? '{}' : resource, ...seq);
      }
    }
  });
  for (let done = 0, round = 1; done < pre; round++) {
    for (let i = 0; i < spans.length && done < pre; i += BATCH, done += BATCH) batch(spans.slice(i, i + BATCH), round);
  }
  const t0 = performance.now();
  for (let i = 0; i < spans.length; i += BATCH) batch(spans.slice(i, i + BATCH), 0);
  const seconds = (performance.now() - t0) / 1000;
  db.close();
  return spans.length / seconds;
}

const runRow = (id) => ({
  id, parentId: null, planId: null, agentType: 'worker', status: 'running', processId: null, startTime: 1_760_000_000, endTime: null, exitCode: null,
  errorMessage: null, logFile: null, name: 'worker', category: null, traceId: null, spanId: null, serviceName: null, startNs: null, endNs: null,
});

/** Agent run starts per second through the writer, one per transaction, into a database already holding `stored` root runs. */
function agentStartRate(dir, stored, n) {
  const db = openDatabase(join(dir, `starts-${stored}-${Math.random()}.db`));
  const writer = new SqliteWriter(db);
  for (let i = 0; i < stored; i += 1000) writer.apply(Array.from({ length: Math.min(1000, stored - i) }, (_, k) => ({ kind: 'agentStart', row: runRow(`old-${i + k}`) })));
  const t0 = performance.now();
  for (let i = 0; i < n; i++) writer.apply([{ kind: 'agentStart', row: runRow(`new-${i}`) }]);
  const rate = n / ((performance.now() - t0) / 1000);
  db.close();
  return rate;
}

const LAYOUTS_ALL = [
  { name: 'today (schema 7): telemetry + telemetry_calls + full span row, keyed by trace number', telemetry: true, calls: true, spans: 'full' },
  { name: 'schema 6 keys: spans by (trace_id, span_id), calls by span_id', telemetry: true, calls: true, spans: 'full', v6: true, setup: V6_KEYS },
  { name: 'today, spans without their unique key', telemetry: true, calls: true, spans: 'full', setup: ['DROP INDEX idx_spans_trace'] },
  { name: 'telemetry + calls + span row without what telemetry holds', telemetry: true, calls: true, spans: 'rest' },
  { name: 'telemetry + full span row (no telemetry_calls)', telemetry: true, calls: false, spans: 'full' },
  { name: 'today, spans without their secondary indexes (agent, start time, service)', telemetry: true, calls: true, spans: 'full', setup: ['DROP INDEX idx_spans_agent', 'DROP INDEX idx_spans_start', 'DROP INDEX idx_spans_service'] },
  { name: 'today, the resource stored once (not per span)', telemetry: true, calls: true, spans: 'full', resourceOnce: true },
  { name: 'today, span row without attributes (nothing to make into JSON)', telemetry: true, calls: true, spans: 'empty' },
  { name: 'telemetry + telemetry_calls widened with the span remainder (no span row)', telemetry: true, wide: true, spans: false, setup: WIDE },
  { name: 'telemetry + telemetry_calls widened with the whole span and its read indexes (no span row)', telemetry: true, wide: 'full', spans: false, setup: [...WIDE, ...WIDE_INDEXES] },
  { name: 'telemetry + telemetry_calls (no span row)', telemetry: true, calls: true, spans: false },
  { name: 'telemetry only', telemetry: true, calls: false, spans: false },
];

const LAYOUTS = process.env.STORAGE_LAYOUTS ? process.env.STORAGE_LAYOUTS.split(',').map((i) => LAYOUTS_ALL[Number(i)]) : LAYOUTS_ALL;

export default async function storage({ quick, log }) {
  const dir = mkdtempSync(join(tmpdir(), 'agentloupe-bench-storage-'));
  const n = quick ? 4_000 : 30_000;
  const pre = quick ? 20_000 : 100_000;
  const reps = quick ? 1 : 3;
  try {
    log(`${LAYOUTS.length} layouts, ${n} model calls each after ${pre} stored, ${reps} interleaved rounds`);
    const spans = await makeSpans(n);
    const rates = LAYOUTS.map(() => []);
    for (let r = 0; r < reps; r++) LAYOUTS.forEach((l, i) => rates[i].push(layoutRate(dir, pre, spans, l)));
    const base = median(rates[0]);
    const results = {};
    LAYOUTS.forEach((l, i) => {
      results[`calls/s, ${l.name}`] = Math.round(median(rates[i]));
      if (i > 0) results[`  ratio to today, ${l.name}`] = Number((median(rates[i]) / base).toFixed(2));
    });
    // An agent run's start must not cost more as runs pile up (it once walked every root run).
    const starts = quick ? 200 : 1000;
    const small = median([0, 1, 2].map(() => agentStartRate(dir, 100, starts)));
    const large = median([0, 1, 2].map(() => agentStartRate(dir, quick ? 5_000 : 50_000, starts)));
    results['agent run starts/s, 100 runs stored'] = Math.round(small);
    results[`agent run starts/s, ${quick ? '5,000' : '50,000'} runs stored`] = Math.round(large);
    results['  ratio, many runs stored / few'] = Number((large / small).toFixed(2));
    return {
      name: 'storage',
      results,
      notes: [
        `calls in runs of 99 (a trace each), measured after ${pre} calls stored; raw better-sqlite3 prepared inserts, ${BATCH} calls per transaction, WAL with SQLite's automatic checkpoint, foreign keys on (openDatabase's settings); median of ${reps}`,
        'span row "without what telemetry holds": the attributes minus token counts, cost, model, provider, operation and owner (what a read would add back from telemetry)',
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
