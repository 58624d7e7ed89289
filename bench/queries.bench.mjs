// Issue 7 part 4: are the CLI's main queries interactive on a large database?
// Generates (once; cached under bench/.cache/ by schema version and size) a database with
// 100,000 agents in 2,000 plans of 50 and 1,000,000 telemetry rows (quick: a tenth), then times
// through MonitoringStore, median of a few runs:
//   stats, cost --by day, agents --status failed --limit 50, tree --plan <a 50-agent plan>
// against a baseline measured in the same run: one bare pass over telemetry
// (SELECT COUNT(*), SUM(total_tokens) FROM telemetry). The notes carry each query's
// EXPLAIN QUERY PLAN, captured from the statements MonitoringStore actually prepares.
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { MonitoringStore, openDatabase, SCHEMA_VERSION } from '../dist/src/index.js';
import { MIGRATIONS } from '../dist/src/store/schema.js';

const here = dirname(fileURLToPath(import.meta.url));
const DAY = 86_400;
const NS = 1_000_000_000n;
const MODELS = [
  ['anthropic', 'claude-sonnet-4-5', 3, 15],
  ['anthropic', 'claude-haiku-4-5', 1, 5],
  ['openai', 'gpt-4o', 2.5, 10],
  ['openai', 'gpt-4o-mini', 0.15, 0.6],
  ['gcp.gemini', 'gemini-2.5-flash', 0.3, 2.5],
  ['ollama', 'llama3.1', 0, 0],
];
const TOOLS = ['bash', 'read_file', 'write_file', 'web_search', 'grep'];
const TYPES = ['architect', 'developer', 'reviewer', 'tester', 'researcher', 'planner', 'writer', 'critic'];

/** A deterministic PRNG so the cached file and a fresh one are the same database. */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(path, agents, perAgent, log) {
  const tmp = `${path}.tmp`;
  rmSync(tmp, { force: true });
  rmSync(`${tmp}-wal`, { force: true });
  const db = openDatabase(tmp); // the real schema, all migrations
  db.pragma('synchronous = OFF');
  const rand = rng(7);
  const insAgent = db.prepare(
    'INSERT INTO agents (id, parent_id, plan_id, agent_type, status, process_id, start_time, end_time, exit_code, error_message, log_file) VALUES (?,?,?,?,?,?,?,?,?,?,NULL)',
  );
  const insRun = db.prepare('INSERT INTO agent_runs (agent_id, name, category, trace_id, span_id, service_name, start_ns, end_ns, last_seen) VALUES (?,?,?,?,?,?,?,?,?)');
  const insTel = db.prepare(
    `INSERT INTO telemetry (agent_id, timestamp, input_tokens, output_tokens, cached_tokens, cache_creation_tokens, cache_read_tokens, total_tokens,
      estimated_cost, model, provider, tool_name, tool_args, tool_approved, tool_approval_type, engine_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,NULL)`,
  );
  const insCall = db.prepare('INSERT INTO telemetry_calls (telemetry_id, trace_id, span_id, operation, unpriced, reasoning_tokens, duration_ms, partial) VALUES (?,?,?,?,?,?,?,0)');
  const now = 1_780_000_000;
  const PLAN = 50;
  const batch = 5_000;
  const t0 = performance.now();
  let telId = 0;
  for (let start = 0; start < agents; start += batch) {
    db.transaction(() => {
      for (let i = start; i < Math.min(agents, start + batch); i++) {
        const plan = Math.floor(i / PLAN);
        const k = i % PLAN;
        const id = `agent-${String(i).padStart(7, '0')}`;
        // plan root, then 7 leads under it, the rest under the leads
        const parent = k === 0 ? null : k <= 7 ? `agent-${String(plan * PLAN).padStart(7, '0')}` : `agent-${String(plan * PLAN + 1 + (k % 7)).padStart(7, '0')}`;
        const planStart = now - 90 * DAY + Math.floor((plan * 90 * DAY) / (agents / PLAN));
        const startTime = planStart + k * 5;
        const r = rand();
        const status = r < 0.85 ? 'completed' : r < 0.93 ? 'failed' : r < 0.98 ? 'terminated' : 'running';
        const durS = 5 + Math.floor(rand() * 600);
        const endTime = status === 'running' ? null : startTime + durS;
        const type = TYPES[(i * 7 + k) % TYPES.length];
        const trace = (plan + 1).toString(16).padStart(32, '0');
        insAgent.run(id, parent, `PLAN-${String(plan).padStart(5, '0')}`, type, status, 1000 + (i % 50_000), startTime, endTime,
          endTime === null ? null : status === 'completed' ? 0 : 1, status === 'failed' ? 'tool error: exit 1' : null);
        insRun.run(id, type, null, trace, i.toString(16).padStart(16, '0'), 'bench', BigInt(startTime) * NS,
          endTime === null ? null : BigInt(startTime) * NS + BigInt(durS) * NS + 123_456n, endTime ?? startTime);
        for (let j = 0; j < perAgent; j++) {
          telId++;
          const ts = startTime + Math.floor((j * durS) / perAgent);
          if (rand() < 0.7) {
            const [provider, model, pin, pout] = MODELS[Math.floor(rand() * MODELS.length)];
            const input = 200 + Math.floor(rand() * 20_000);
            const output = 50 + Math.floor(rand() * 2_000);
            const cacheRead = Math.floor(input * rand() * 0.5);
            const unpriced = provider === 'ollama' ? 1 : 0;
            const cost = ((input - cacheRead) * pin + cacheRead * pin * 0.1 + output * pout) / 1e6;
            insTel.run(id, ts, input, output, cacheRead, 0, cacheRead, input + output, cost, model, provider, null, null, null, null);
            insCall.run(telId, trace, null, 'chat', unpriced, 0, 200 + rand() * 5000);
          } else {
            const approved = rand() < 0.9 ? 1 : 0;
            insTel.run(id, ts, 0, 0, 0, 0, 0, 0, 0, null, null, TOOLS[Math.floor(rand() * TOOLS.length)], '{"cmd":"x"}', approved, rand() < 0.5 ? 'policy' : 'user');
            insCall.run(telId, trace, null, 'execute_tool', 0, 0, rand() * 2000);
          }
        }
      }
    })();
    if (start % 50_000 === 0) log?.(`generating: ${start.toLocaleString('en-US')} / ${agents.toLocaleString('en-US')} agents`);
  }
  for (const t of TYPES) {
    db.prepare('INSERT INTO agent_usage (agent_id, execution_count, total_duration, total_tokens, success_count, failure_count, last_used_at, category) VALUES (?,?,?,?,?,?,?,NULL)')
      .run(t, agents / TYPES.length, 1e9, 1e9, 1, 1, now);
  }
  db.exec('ANALYZE');
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  renameSync(tmp, path);
  return (performance.now() - t0) / 1000;
}

/** Records every statement MonitoringStore prepares and runs, with its arguments. */
function capture(store) {
  const calls = [];
  const db = store.db;
  const prepare = db.prepare.bind(db);
  db.prepare = (sql) => {
    const stmt = prepare(sql);
    const proxy = new Proxy(stmt, {
      get(target, prop) {
        const v = target[prop];
        if (typeof v !== 'function') return v;
        return (...args) => {
          if (prop === 'get' || prop === 'all' || prop === 'iterate') calls.push({ sql, args });
          const out = v.apply(target, args);
          return out === target ? proxy : out;
        };
      },
    });
    return proxy;
  };
  return { calls, restore: () => delete db.prepare };
}

function plan(db, sql, args) {
  const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args);
  const depth = new Map([[0, -1]]);
  return rows.map((r) => {
    const d = (depth.get(r.parent) ?? -1) + 1;
    depth.set(r.id, d);
    return `${'  '.repeat(d)}${r.detail}`;
  });
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * The large database (100k agents, 1M telemetry rows; quick: a tenth), generated once and cached.
 * Also used by bench/ui.bench.mjs.
 */
export function largeDatabase({ quick = false, log } = {}) {
  const agents = quick ? 10_000 : 100_000;
  const perAgent = 10;
  const dir = join(here, '.cache');
  mkdirSync(dir, { recursive: true });
  // Keyed by the migrations' text too: a changed migration must not reuse a stale file.
  const schemaHash = createHash('sha256').update(MIGRATIONS.map((m) => m.statements(false).join(';')).join('|')).digest('hex').slice(0, 8);
  const path = join(dir, `queries-v${SCHEMA_VERSION}-${schemaHash}-${agents}.db`);
  let note = `reused ${path}`;
  if (!existsSync(path)) {
    const s = generate(path, agents, perAgent, log);
    note = `generated ${path} in ${s.toFixed(1)}s`;
  }
  return { path, agents, perAgent, note };
}

export default async function ({ quick = false, log } = {}) {
  const { path, agents, perAgent, note } = largeDatabase({ quick, log });
  const notes = [note];
  const results = {};
  results.agents = agents;
  results.telemetryRows = agents * perAgent;
  results.fileMiB = Number((statSync(path).size / 1048576).toFixed(1));

  const store = MonitoringStore.open(path, { readonly: true });
  const runs = quick ? 3 : 5;
  const treePlan = `PLAN-${String(Math.floor(agents / 50 / 2)).padStart(5, '0')}`;
  const queries = {
    stats: () => store.stats(),
    'cost --by day': () => store.getTelemetrySummary('day'),
    'agents --status failed --limit 50': () => store.listAgents({ status: 'failed', limit: 50 }),
    [`tree --plan ${treePlan}`]: () => store.tree({ planId: treePlan }),
  };
  const time = (fn) => {
    fn(); // warm the page cache
    const xs = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      fn();
      xs.push(performance.now() - t);
    }
    return median(xs);
  };
  const baseline = time(() => store.db.prepare('SELECT COUNT(*) AS n, SUM(total_tokens) AS t FROM telemetry').get());
  results['baseline: one pass over telemetry (ms)'] = Number(baseline.toFixed(1));
  for (const [name, fn] of Object.entries(queries)) {
    const ms = time(fn);
    results[`${name} (ms)`] = Number(ms.toFixed(1));
    results[`${name} (x baseline)`] = Number((ms / baseline).toPrecision(2));
  }
  const tree = store.tree({ planId: treePlan });
  const count = (nodes) => nodes.reduce((n, x) => n + 1 + count(x.children), 0);
  notes.push(`tree --plan ${treePlan} has ${count(tree)} agents; median of ${runs} runs after one warm-up; page cache warm`);

  for (const [name, fn] of Object.entries(queries)) {
    const { calls, restore } = capture(store);
    fn();
    restore();
    const seen = new Set();
    for (const c of calls) {
      if (seen.has(c.sql)) continue;
      seen.add(c.sql);
      const sqlOneLine = c.sql.replace(/\s+/g, ' ').trim();
      notes.push(`${name}: ${sqlOneLine.length > 140 ? `${sqlOneLine.slice(0, 140)}…` : sqlOneLine}\n      ${plan(store.db, c.sql, c.args).join('\n      ')}`);
    }
  }
  store.close();
  return { name: 'queries', results, notes };
}
