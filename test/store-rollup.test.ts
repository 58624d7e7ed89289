import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, type SqliteDatabase } from '../src/store/database.js';
import { prune } from '../src/store/maintenance.js';
import { MonitoringStore, type SummaryGroup, type SummaryRow, type TimeRange } from '../src/store/reader.js';
import { HOUR, rebuildRollup, ROLLUP_BACKFILL, splitRange } from '../src/store/rollup.js';
import { SCHEMA_VERSION } from '../src/store/schema.js';
import type { WriteOp } from '../src/spans/rows.js';
import { SqliteWriter } from '../src/store/writer.js';
import { agentRow, telemetryRow } from './cli-fixture.js';
import { databaseAtVersion, rng, tempDir } from './helpers.js';


const GROUPS: SummaryGroup[] = ['model', 'provider', 'agent', 'type', 'plan', 'day'];
// 2026-05-28 00:00:00 UTC, a whole day; the data spans about two days from here.
const BASE = 1_779_926_400;
const MODELS: [string | null, string | null][] = [
  ['anthropic', 'claude-sonnet-4-5'],
  ['openai', 'gpt-4o'],
  ['openai', 'gpt-4o-mini'],
  [null, 'mystery-model'],
  ['ollama', null],
  ['ollama', ''],
];

// ---- the oracle: the plain GROUP BY queries over telemetry that the rollup must reproduce ----

const RAW_KEYS: Record<SummaryGroup, { select: string; join: string }> = {
  model: { select: 't.model', join: '' },
  provider: { select: 't.provider', join: '' },
  agent: { select: 'COALESCE(r.name, a.agent_type)', join: 'JOIN agents a ON a.id = t.agent_id LEFT JOIN agent_runs r ON r.agent_id = a.id' },
  type: { select: 'a.agent_type', join: 'JOIN agents a ON a.id = t.agent_id' },
  plan: { select: 'a.plan_id', join: 'JOIN agents a ON a.id = t.agent_id' },
  day: { select: "strftime('%Y-%m-%d', t.timestamp, 'unixepoch')", join: '' },
};

function rangeSql(range: TimeRange): { where: string; params: number[] } {
  const w: string[] = [];
  const params: number[] = [];
  if (range.since !== undefined) (w.push('t.timestamp >= ?'), params.push(range.since));
  if (range.until !== undefined) (w.push('t.timestamp <= ?'), params.push(range.until));
  return { where: w.length ? ` AND ${w.join(' AND ')}` : '', params };
}

function rawSummary(db: SqliteDatabase, groupBy: SummaryGroup, range: TimeRange): SummaryRow[] {
  const k = RAW_KEYS[groupBy];
  const { where, params } = rangeSql(range);
  return db
    .prepare(
      `SELECT ${k.select} AS key, COUNT(*) AS calls, SUM(t.input_tokens) AS inputTokens, SUM(t.output_tokens) AS outputTokens,
         SUM(t.cache_read_tokens) AS cacheReadTokens, SUM(t.cache_creation_tokens) AS cacheCreationTokens, SUM(t.total_tokens) AS totalTokens,
         SUM(t.estimated_cost) AS costUsd, COALESCE(SUM(c.unpriced = 1), 0) AS unpricedCalls
       FROM telemetry t LEFT JOIN telemetry_calls c ON c.telemetry_id = t.id ${k.join}
       WHERE t.tool_name IS NULL${where} GROUP BY 1 ORDER BY 1`,
    )
    .all(...params) as SummaryRow[];
}

interface RawStats {
  tokens: { input: number; output: number; total: number; cacheRead: number; cacheCreation: number; reasoning: number };
  costUsd: number;
  unpricedCalls: number;
  pricedCalls: number;
  toolCalls: number;
  models: { model: string; calls: number; totalTokens: number; costUsd: number; unpricedCalls: number }[];
}

function rawStats(db: SqliteDatabase, range: TimeRange): RawStats {
  const { where, params } = rangeSql(range);
  const all = db
    .prepare(
      `SELECT COALESCE(SUM(t.input_tokens), 0) AS input, COALESCE(SUM(t.output_tokens), 0) AS output, COALESCE(SUM(t.total_tokens), 0) AS total,
         COALESCE(SUM(t.cache_read_tokens), 0) AS cacheRead, COALESCE(SUM(t.cache_creation_tokens), 0) AS cacheCreation,
         COALESCE(SUM(CASE WHEN t.tool_name IS NULL THEN c.reasoning_tokens END), 0) AS reasoning, TOTAL(t.estimated_cost) AS cost,
         COALESCE(SUM(t.tool_name IS NULL AND c.unpriced = 1), 0) AS unpriced, COALESCE(SUM(t.tool_name IS NULL), 0) AS modelCalls,
         COALESCE(SUM(t.tool_name IS NOT NULL), 0) AS tools
       FROM telemetry t LEFT JOIN telemetry_calls c ON c.telemetry_id = t.id WHERE 1 = 1${where}`,
    )
    .get(...params) as Record<string, number>;
  const models = db
    .prepare(
      `SELECT t.model AS model, COUNT(*) AS calls, SUM(t.total_tokens) AS totalTokens, SUM(t.estimated_cost) AS costUsd,
         COALESCE(SUM(c.unpriced = 1), 0) AS unpricedCalls
       FROM telemetry t LEFT JOIN telemetry_calls c ON c.telemetry_id = t.id
       WHERE t.tool_name IS NULL AND t.model IS NOT NULL${where} GROUP BY 1 ORDER BY 1`,
    )
    .all(...params) as RawStats['models'];
  return {
    tokens: { input: all.input!, output: all.output!, total: all.total!, cacheRead: all.cacheRead!, cacheCreation: all.cacheCreation!, reasoning: all.reasoning! },
    costUsd: all.cost!,
    unpricedCalls: all.unpriced!,
    pricedCalls: all.modelCalls! - all.unpriced!,
    toolCalls: all.tools!,
    models,
  };
}

/** Nearest-rank p50/p95/p99 of finished runs started in the range, sorted by SQLite. */
function rawPercentiles(db: SqliteDatabase, range: TimeRange): { p50: number | null; p95: number | null; p99: number | null } {
  const w = ['a.end_time IS NOT NULL'];
  const params: number[] = [];
  if (range.since !== undefined) (w.push('a.start_time >= ?'), params.push(range.since));
  if (range.until !== undefined) (w.push('a.start_time <= ?'), params.push(range.until));
  const ds = db
    .prepare(`SELECT COALESCE((r.end_ns - r.start_ns) / 1e6, (a.end_time - a.start_time) * 1000.0) AS d FROM agents a
      LEFT JOIN agent_runs r ON r.agent_id = a.id WHERE ${w.join(' AND ')} ORDER BY d`)
    .pluck()
    .all(...params) as number[];
  const at = (q: number): number | null => (ds.length ? ds[Math.min(ds.length - 1, Math.max(0, Math.ceil(q * ds.length) - 1))]! : null);
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

/** Compares the store's answers with the oracle's for every group and the given ranges; returns what differs. */
function differences(db: SqliteDatabase, ranges: TimeRange[]): string[] {
  const store = new MonitoringStore(db);
  const out: string[] = [];
  for (const range of ranges) {
    for (const g of GROUPS) {
      const want = rawSummary(db, g, range);
      const got = [...store.getTelemetrySummary(g, range)].sort((a, b) => (String(a.key) < String(b.key) ? -1 : String(a.key) > String(b.key) ? 1 : 0));
      want.sort((a, b) => (String(a.key) < String(b.key) ? -1 : String(a.key) > String(b.key) ? 1 : 0));
      const strip = (r: SummaryRow): Omit<SummaryRow, 'costUsd'> => {
        const { costUsd: _c, ...rest } = r;
        return rest;
      };
      if (JSON.stringify(got.map(strip)) !== JSON.stringify(want.map(strip))) {
        out.push(`${g} ${JSON.stringify(range)}: got ${JSON.stringify(got.map(strip))}\n want ${JSON.stringify(want.map(strip))}`);
      } else {
        got.forEach((r, i) => {
          if (!close(r.costUsd, want[i]!.costUsd)) out.push(`${g} ${JSON.stringify(range)} ${r.key}: cost ${r.costUsd} vs ${want[i]!.costUsd}`);
        });
      }
    }
    const s = store.stats(range);
    const w = rawStats(db, range);
    const got = { tokens: s.tokens, unpricedCalls: s.cost.unpricedCalls, pricedCalls: s.cost.pricedCalls, toolCalls: s.toolCalls };
    const want = { tokens: w.tokens, unpricedCalls: w.unpricedCalls, pricedCalls: w.pricedCalls, toolCalls: w.toolCalls };
    if (JSON.stringify(got) !== JSON.stringify(want)) out.push(`stats ${JSON.stringify(range)}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
    if (!close(s.cost.totalUsd, w.costUsd)) out.push(`stats ${JSON.stringify(range)}: cost ${s.cost.totalUsd} vs ${w.costUsd}`);
    if (JSON.stringify(s.durationMs) !== JSON.stringify(rawPercentiles(db, range))) {
      out.push(`durations ${JSON.stringify(range)}: ${JSON.stringify(s.durationMs)} vs ${JSON.stringify(rawPercentiles(db, range))}`);
    }
    const top = [...w.models].sort((a, b) => b.calls - a.calls || b.totalTokens - a.totalTokens).slice(0, 5);
    const strip = (m: RawStats['models'][number]): unknown => ({ ...m, costUsd: Number(m.costUsd.toPrecision(9)) });
    if (JSON.stringify(s.topModels.map(strip)) !== JSON.stringify(top.map(strip))) {
      out.push(`topModels ${JSON.stringify(range)}: ${JSON.stringify(s.topModels)} vs ${JSON.stringify(top)}`);
    }
  }
  return out;
}

/** The rollup table as it is, against the same rollup computed from scratch by GROUP BY. */
function rollupDrift(db: SqliteDatabase): string[] {
  db.exec('DROP TABLE IF EXISTS temp.expected; CREATE TEMP TABLE expected AS SELECT * FROM telemetry_hourly WHERE 0');
  db.exec(ROLLUP_BACKFILL.replace('INSERT INTO telemetry_hourly', 'INSERT INTO temp.expected'));
  const cols = `hour, tool, quote(model) AS model, quote(provider) AS provider, quote(agent_name) AS agent_name, quote(agent_type) AS agent_type,
    quote(plan_id) AS plan_id, calls, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, total_tokens, reasoning_tokens, unpriced_calls`;
  const order = 'ORDER BY hour, tool, model, provider, agent_name, agent_type, plan_id';
  const have = db.prepare(`SELECT ${cols}, cost + cost_error AS cost FROM telemetry_hourly ${order}`).all() as Record<string, unknown>[];
  const want = db.prepare(`SELECT ${cols}, cost FROM temp.expected ${order}`).all() as Record<string, unknown>[];
  const key = (r: Record<string, unknown>): string => JSON.stringify({ ...r, cost: undefined });
  const out: string[] = [];
  if (have.length !== want.length) out.push(`rollup has ${have.length} rows, expected ${want.length}`);
  const wantBy = new Map(want.map((r) => [key(r), r]));
  for (const r of have) {
    const w = wantBy.get(key(r));
    if (!w) out.push(`unexpected rollup row ${key(r)}`);
    else if (!close(r.cost as number, w.cost as number)) out.push(`cost ${String(r.cost)} vs ${String(w.cost)} in ${key(r)}`);
  }
  db.exec('DROP TABLE temp.expected');
  return out;
}

/** Ranges with edges inside hours, on hour boundaries, inside one hour, and near the epoch (raw only). */
function ranges(rand: () => number): TimeRange[] {
  const t = (): number => BASE + Math.floor(rand() * 50 * HOUR);
  const out: TimeRange[] = [{}, { since: BASE + 5 * HOUR }, { until: BASE + 20 * HOUR - 1 }, { since: BASE + 3 * HOUR, until: BASE + 30 * HOUR - 1 }];
  out.push({ since: BASE + 7 * HOUR + 10, until: BASE + 7 * HOUR + 3000 }, { since: 0, until: BASE + 10 * HOUR + 17 }, { since: 100 });
  for (let i = 0; i < 6; i++) {
    const a = t();
    const b = t();
    out.push({ since: Math.min(a, b), until: Math.max(a, b) }, { since: a }, { until: b });
  }
  return out;
}

function randomOps(rand: () => number, agents: number, prefix: string): WriteOp[] {
  const ops: WriteOp[] = [];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  for (let i = 0; i < agents; i++) {
    const id = `${prefix}-${i}`;
    const type = pick(['developer', 'reviewer', 'planner']);
    const start = BASE + Math.floor(rand() * 48 * HOUR);
    const plan = rand() < 0.2 ? null : `PLAN-${Math.floor(rand() * 6)}`;
    const name = rand() < 0.3 ? `${type}-named` : type;
    const row = agentRow({ id, agentType: type, startTime: start, planId: plan, name });
    // The collector sees a run's model calls before the run itself (spans export when they end).
    const callsFirst = rand() < 0.3;
    // Such calls make a placeholder run, typed as the calls name their run (right, or not) or 'unknown'.
    const stub = callsFirst ? pick([{ stubType: name }, { stubType: type }, { stubType: 'misnamed' }, {}]) : {};
    if (!callsFirst) ops.push({ kind: 'agentStart', row });
    const n = Math.floor(rand() * 12);
    for (let j = 0; j < n; j++) {
      const ts = start + Math.floor(rand() * 2 * HOUR);
      if (rand() < 0.25) {
        ops.push({ kind: 'telemetry', dedupe: false, ...stub, row: telemetryRow({ agentId: id, timestamp: ts, toolName: pick(['bash', 'grep']), inputTokens: rand() < 0.1 ? 5 : 0 }) });
        continue;
      }
      const [provider, model] = pick(MODELS);
      const input = Math.floor(rand() * 5000);
      const unpriced = model === 'mystery-model' || provider === 'ollama';
      ops.push({
        kind: 'telemetry',
        dedupe: false,
        ...stub,
        row: telemetryRow({
          agentId: id, timestamp: ts, model, provider, inputTokens: input, outputTokens: Math.floor(rand() * 900),
          cacheReadTokens: Math.floor(input * rand() * 0.3), cacheCreationTokens: rand() < 0.2 ? Math.floor(rand() * 100) : 0,
          estimatedCost: unpriced ? 0 : rand() * 0.05, unpriced, reasoningTokens: rand() < 0.2 ? Math.floor(rand() * 300) : 0,
        }),
      });
    }
    const end = start + Math.floor(rand() * 3 * HOUR);
    if (callsFirst) ops.push({ kind: 'agentStart', row });
    // Some runs have exact span times, the rest only the second-resolution columns.
    const endNs = rand() < 0.5 ? BigInt(end) * 1_000_000_000n + BigInt(Math.floor(rand() * 1e9)) : null;
    if (rand() < 0.8) ops.push({ kind: 'agentEnd', row: { ...row, status: rand() < 0.8 ? 'completed' : 'failed', endTime: end, endNs, exitCode: 0 }, durationMs: (end - start) * 1000 });
  }
  return ops;
}

/** What other tools may do to the documented tables (and what agentloupe's own maintenance does). */
function foreignEdits(db: SqliteDatabase, rand: () => number, rounds: number): void {
  const ids = (sql: string): (string | number)[] => (db.prepare(sql).pluck().all() as (string | number)[]);
  const pick = <T>(xs: readonly T[]): T | undefined => (xs.length ? xs[Math.floor(rand() * xs.length)] : undefined);
  for (let i = 0; i < rounds; i++) {
    const tel = pick(ids('SELECT id FROM telemetry'));
    const agent = pick(ids('SELECT id FROM agents'));
    switch (Math.floor(rand() * 12)) {
      case 0: // a plain documented-schema insert, no telemetry_calls row
        if (agent !== undefined) {
          db.prepare(`INSERT INTO telemetry (agent_id, timestamp, input_tokens, output_tokens, total_tokens, estimated_cost, model, provider)
            VALUES (?, ?, 100, 50, 150, 0.25, 'gpt-4o', 'openai')`).run(agent, BASE + Math.floor(rand() * 48 * HOUR));
        }
        break;
      case 1: // a call moves to another hour (possibly another day) and model
        if (tel !== undefined) db.prepare("UPDATE telemetry SET timestamp = timestamp + ?, model = 'claude-haiku-4-5' WHERE id = ?").run(Math.floor(rand() * 30 * HOUR), tel);
        break;
      case 2:
        if (tel !== undefined) db.prepare('UPDATE telemetry SET input_tokens = input_tokens + 7, total_tokens = total_tokens + 7, estimated_cost = estimated_cost * 2 WHERE id = ?').run(tel);
        break;
      case 3: // cascades to telemetry_calls
        if (tel !== undefined) db.prepare('DELETE FROM telemetry WHERE id = ?').run(tel);
        break;
      case 4:
        if (tel !== undefined) db.prepare('UPDATE telemetry_calls SET unpriced = 1 - unpriced, reasoning_tokens = reasoning_tokens + 3 WHERE telemetry_id = ?').run(tel);
        break;
      case 5:
        if (tel !== undefined) db.prepare('DELETE FROM telemetry_calls WHERE telemetry_id = ?').run(tel);
        break;
      case 6: // re-owned to another agent (the writer's reown does this)
        if (tel !== undefined && agent !== undefined) db.prepare('UPDATE telemetry SET agent_id = ? WHERE id = ?').run(agent, tel);
        break;
      case 7:
        if (agent !== undefined) db.prepare('UPDATE agents SET plan_id = ?, agent_type = ? WHERE id = ?').run(rand() < 0.3 ? null : `PLAN-${Math.floor(rand() * 9)}`, pick(['tester', 'developer']), agent);
        break;
      case 8:
        if (agent !== undefined) db.prepare('UPDATE agent_runs SET name = ? WHERE agent_id = ?').run(`renamed-${Math.floor(rand() * 3)}`, agent);
        break;
      case 9:
        if (agent !== undefined) db.prepare('DELETE FROM agent_runs WHERE agent_id = ?').run(agent);
        break;
      case 10:
        if (agent !== undefined) {
          db.prepare("INSERT INTO agent_runs (agent_id, name) VALUES (?, 'late-name') ON CONFLICT(agent_id) DO UPDATE SET name = excluded.name").run(agent);
        }
        break;
      case 11: // a tool that "upserts" by replacing the row: no delete trigger runs for the old one
        if (agent !== undefined) {
          db.prepare(`INSERT OR REPLACE INTO agents (id, parent_id, plan_id, agent_type, status, process_id, start_time, end_time, exit_code, error_message, log_file)
            SELECT id, parent_id, ?, 'replaced', status, process_id, start_time, end_time, exit_code, error_message, log_file FROM agents WHERE id = ?`).run(`PLAN-R${Math.floor(rand() * 2)}`, agent);
        }
        break;
    }
  }
}

function freshDb(): SqliteDatabase {
  return openDatabase(join(tempDir(), 'monitoring.db'));
}

describe('splitRange', () => {
  it('reads whole hours from the rollup and the partial hours at the edges from telemetry', () => {
    const h = 500_000;
    expect(splitRange({})).toEqual({ hours: { from: undefined, to: undefined }, raw: [] });
    expect(splitRange({ since: h * HOUR, until: (h + 3) * HOUR - 1 })).toEqual({ hours: { from: h, to: h + 2 }, raw: [] });
    expect(splitRange({ since: h * HOUR + 10, until: (h + 3) * HOUR + 5 })).toEqual({
      hours: { from: h + 1, to: h + 2 },
      raw: [{ since: h * HOUR + 10, until: (h + 1) * HOUR - 1 }, { since: (h + 3) * HOUR, until: (h + 3) * HOUR + 5 }],
    });
    expect(splitRange({ since: h * HOUR + 1 })).toEqual({ hours: { from: h + 1, to: undefined }, raw: [{ since: h * HOUR + 1, until: (h + 1) * HOUR - 1 }] });
    expect(splitRange({ until: h * HOUR })).toEqual({ hours: { from: undefined, to: h - 1 }, raw: [{ since: h * HOUR, until: h * HOUR }] });
    // Inside one hour, or touching the epoch's first hour (where integer division lumps -3599..3599 together): raw only.
    expect(splitRange({ since: h * HOUR + 1, until: h * HOUR + 99 })).toEqual({ hours: null, raw: [{ since: h * HOUR + 1, until: h * HOUR + 99 }] });
    expect(splitRange({ since: 0, until: h * HOUR })).toEqual({ hours: null, raw: [{ since: 0, until: h * HOUR }] });
    expect(splitRange({ until: 10 })).toEqual({ hours: null, raw: [{ until: 10 }] });
  });
});

describe('telemetry_hourly rollup', () => {
  it('answers stats and cost --by every group exactly as the raw GROUP BY does, on a randomized database', () => {
    const db = freshDb();
    const rand = rng(42);
    const r = new SqliteWriter(db).apply(randomOps(rand, 150, 'a'));
    expect(r.failed).toBe(0);
    expect((db.prepare('SELECT COUNT(*) FROM telemetry').pluck().get() as number)).toBeGreaterThan(500);
    // Both kinds of missing key are there: NULL model and provider, and the empty string.
    expect(db.prepare("SELECT COUNT(*) FROM telemetry WHERE model IS NULL").pluck().get()).not.toBe(0);
    expect(db.prepare("SELECT COUNT(*) FROM telemetry WHERE model = ''").pluck().get()).not.toBe(0);
    expect(rollupDrift(db)).toEqual([]);
    expect(differences(db, ranges(rand))).toEqual([]);
    db.close();
  });

  it('stays exact through other tools\' inserts, updates and deletes, re-keyed agents, and prune', () => {
    const db = freshDb();
    const rand = rng(7);
    new SqliteWriter(db).apply(randomOps(rand, 120, 'b'));
    foreignEdits(db, rand, 400);
    expect(rollupDrift(db)).toEqual([]);
    expect(differences(db, ranges(rand))).toEqual([]);

    const before = db.prepare('SELECT COUNT(*) FROM telemetry_hourly').pluck().get() as number;
    const counts = prune(db, BASE + 30 * HOUR);
    expect(counts.telemetry).toBeGreaterThan(0);
    expect(db.prepare('SELECT COUNT(*) FROM telemetry_hourly').pluck().get()).toBeLessThan(before);
    expect(rollupDrift(db)).toEqual([]);
    expect(differences(db, ranges(rand))).toEqual([]);
    // A dry run changes nothing, the rollup included.
    const snapshot = JSON.stringify(db.prepare('SELECT * FROM telemetry_hourly ORDER BY 1, 2, 3, 4, 5, 6, 7').all());
    prune(db, BASE + 60 * HOUR, { dryRun: true });
    expect(JSON.stringify(db.prepare('SELECT * FROM telemetry_hourly ORDER BY 1, 2, 3, 4, 5, 6, 7').all())).toBe(snapshot);
    // Everything pruned: no bucket is left behind, not even a rounding residue.
    prune(db, BASE + 1000 * HOUR);
    db.exec('DELETE FROM telemetry');
    expect(db.prepare('SELECT COUNT(*) FROM telemetry_hourly').pluck().get()).toBe(0);
    db.close();
  });

  it('adding and removing costs leaves no floating-point residue in the sums', () => {
    const db = freshDb();
    const w = new SqliteWriter(db);
    w.apply([{ kind: 'agentStart', row: agentRow({ id: 'x', agentType: 'dev', startTime: BASE }) }]);
    const costs = [0.1, 0.2, 0.3, 1e-9, 12345.678, 0.7];
    w.apply(costs.map((c) => ({ kind: 'telemetry' as const, dedupe: false, row: telemetryRow({ agentId: 'x', timestamp: BASE + 60, model: 'm', estimatedCost: c }) })));
    db.prepare('DELETE FROM telemetry WHERE estimated_cost NOT IN (0.1, 0.2)').run();
    const [row] = new MonitoringStore(db).getTelemetrySummary('model');
    expect(row!.costUsd).toBe(db.prepare('SELECT SUM(estimated_cost) FROM telemetry').pluck().get());
    expect(row!.costUsd).toBe(0.30000000000000004); // 0.1 + 0.2 in doubles, as SUM() gives it
    db.close();
  });

  it('handles calls stored before their agent row and agents deleted under their calls (foreign keys off)', () => {
    const db = freshDb();
    db.pragma('foreign_keys = OFF');
    const ins = db.prepare(`INSERT INTO telemetry (agent_id, timestamp, input_tokens, output_tokens, total_tokens, estimated_cost, model, provider)
      VALUES (?, ?, 10, 5, 15, 0.5, 'gpt-4o', 'openai')`);
    ins.run('ghost', BASE + 10);
    ins.run('ghost', BASE + HOUR + 10);
    db.prepare('INSERT INTO telemetry_calls (telemetry_id, unpriced, reasoning_tokens) VALUES (?, 1, 4)').run(1);
    const store = new MonitoringStore(db);
    // An orphan call counts by model and day, but not by agent, type or plan (the raw query joins agents).
    expect(store.getTelemetrySummary('model')).toMatchObject([{ key: 'gpt-4o', calls: 2, unpricedCalls: 1 }]);
    expect(store.getTelemetrySummary('type')).toEqual([]);
    expect(differences(db, [{}])).toEqual([]);
    db.prepare("INSERT INTO agents (id, agent_type, status, start_time, plan_id) VALUES ('ghost', 'late', 'running', ?, 'P')").run(BASE);
    expect(store.getTelemetrySummary('plan')).toMatchObject([{ key: 'P', calls: 2, unpricedCalls: 1 }]);
    db.prepare("INSERT INTO agent_runs (agent_id, name) VALUES ('ghost', 'Ghost')").run();
    expect(store.getTelemetrySummary('agent')).toMatchObject([{ key: 'Ghost', calls: 2 }]);
    expect(rollupDrift(db)).toEqual([]);
    db.prepare("DELETE FROM agents WHERE id = 'ghost'").run();
    expect(store.getTelemetrySummary('agent')).toEqual([]);
    expect(store.getTelemetrySummary('model')).toMatchObject([{ key: 'gpt-4o', calls: 2 }]);
    expect(rollupDrift(db)).toEqual([]);
    expect(differences(db, [{}, { since: BASE + 5, until: BASE + HOUR + 20 }])).toEqual([]);
    db.close();
  });

  it('migration 4 backfills the rollup from a version 3 database', () => {
    const path = join(tempDir(), 'v3.db');
    const raw = databaseAtVersion(path, 3);
    // The version-3 writer's rows, through the same writer code path (no triggers exist yet).
    new SqliteWriter(raw).apply(randomOps(rng(3), 60, 'c'));
    expect(raw.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'telemetry_hourly'").pluck().get()).toBe(0);
    raw.close();
    const db = openDatabase(path);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.prepare('SELECT COUNT(*) FROM telemetry_hourly').pluck().get()).toBeGreaterThan(0);
    expect(rollupDrift(db)).toEqual([]);
    expect(differences(db, ranges(rng(4)))).toEqual([]);
    // And the triggers are live from then on.
    new SqliteWriter(db).apply(randomOps(rng(5), 30, 'd'));
    expect(rollupDrift(db)).toEqual([]);
    db.close();
  });

  it('rebuildRollup recomputes the table after a write the triggers cannot see', () => {
    const db = freshDb();
    new SqliteWriter(db).apply(randomOps(rng(11), 40, 'e'));
    // INSERT OR REPLACE over an existing id runs no delete trigger for the replaced row.
    const id = db.prepare('SELECT id FROM telemetry WHERE tool_name IS NULL LIMIT 1').pluck().get() as number;
    db.prepare(`INSERT OR REPLACE INTO telemetry (id, agent_id, timestamp, model, provider) SELECT id, agent_id, timestamp, model, provider FROM telemetry WHERE id = ?`).run(id);
    expect(rollupDrift(db)).not.toEqual([]);
    expect(rebuildRollup(db)).toBeGreaterThan(0);
    expect(rollupDrift(db)).toEqual([]);
    expect(differences(db, [{}])).toEqual([]);
    db.close();
  });

  it('reads whole hours from the rollup only: no statement over telemetry unless the range cuts an hour', () => {
    const db = freshDb();
    new SqliteWriter(db).apply(randomOps(rng(13), 20, 'f'));
    const store = new MonitoringStore(db);
    const seen: string[] = [];
    const prepare = db.prepare.bind(db);
    db.prepare = ((sql: string) => (seen.push(sql), prepare(sql))) as typeof db.prepare;
    const overTelemetry = (): string[] => seen.filter((s) => /\bFROM telemetry\b/.test(s) || /JOIN telemetry\b/.test(s));
    store.stats();
    for (const g of GROUPS) store.getTelemetrySummary(g, { since: BASE, until: BASE + 24 * HOUR - 1 });
    expect(overTelemetry()).toEqual([]);
    for (const sql of seen.filter((s) => /telemetry_hourly/.test(s))) {
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...sql.split('?').slice(1).map(() => BASE)) as { detail: string }[]).map((p) => p.detail).join('; ');
      expect(plan).toMatch(/telemetry_hourly/);
      expect(plan).not.toMatch(/\btelemetry\b(?!_hourly)/);
    }
    store.getTelemetrySummary('day', { since: BASE + 10, until: BASE + 24 * HOUR - 1 });
    expect(overTelemetry().length).toBeGreaterThan(0);
    db.close();
  });
});
