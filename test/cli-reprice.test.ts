import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createMonitor } from '../src/index.js';
import { cli } from './cli-fixture.js';
import { tempDir } from './helpers.js';

/** Two unpriced qwen calls, one priced gpt-4o-mini call, and one call whose cost its caller reported. */
async function recorded(): Promise<{ dir: string; db: string; prices: string }> {
  const dir = tempDir();
  const db = join(dir, 'monitoring.db');
  const monitor = createMonitor({ db, registerGlobal: false, serviceName: 'reprice-test' });
  await monitor.withAgent({ type: 'coder', planId: 'P-1' }, async (run) => {
    run.recordUsage({ provider: 'vllm', model: 'qwen3-coder-30b', inputTokens: 2_000_000, outputTokens: 500_000 });
    run.recordUsage({ provider: 'vllm', model: 'qwen3-coder-30b', inputTokens: 1_000_000, outputTokens: 0 });
    run.recordUsage({ provider: 'openai', model: 'gpt-4o-mini', inputTokens: 1000, outputTokens: 100 });
    run.recordUsage({ provider: 'acme', model: 'house-model', inputTokens: 10, outputTokens: 10, costUsd: 0.5 });
  });
  await monitor.shutdown();
  const prices = join(dir, 'prices.json');
  writeFileSync(prices, JSON.stringify({ models: { 'qwen3-coder': { input: 0.2, output: 0.8 } } }));
  return { dir, db, prices };
}

interface CallState {
  model: string;
  cost: number;
  unpriced: number;
  spanCost: unknown;
  spanUnpriced: unknown;
}

function calls(db: string): CallState[] {
  const conn = new Database(db, { readonly: true });
  try {
    return conn
      .prepare(
        `SELECT t.model, t.estimated_cost AS cost, c.unpriced,
                json_extract(s.attributes, '$."agentloupe.cost.usd"') AS spanCost,
                json_extract(s.attributes, '$."agentloupe.cost.unpriced"') AS spanUnpriced
           FROM telemetry t JOIN telemetry_calls c ON c.telemetry_id = t.id
           LEFT JOIN spans s ON s.trace_id = c.trace_id AND s.span_id = c.span_id
          WHERE t.tool_name IS NULL ORDER BY t.id`,
      )
      .all() as CallState[];
  } finally {
    conn.close();
  }
}

/** The rollup against the rows it sums: they must agree exactly after a reprice. */
function rollupAgrees(db: string): { rollup: unknown[]; raw: unknown[] } {
  const conn = new Database(db, { readonly: true });
  try {
    const rollup = conn
      .prepare("SELECT NULLIF(model, X'') AS model, SUM(cost) + SUM(cost_error) AS cost, SUM(unpriced_calls) AS unpriced FROM telemetry_hourly WHERE tool = 0 GROUP BY 1 ORDER BY 1")
      .all() as { model: string; cost: number; unpriced: number }[];
    const raw = conn
      .prepare('SELECT t.model, SUM(t.estimated_cost) AS cost, SUM(c.unpriced) AS unpriced FROM telemetry t JOIN telemetry_calls c ON c.telemetry_id = t.id WHERE t.tool_name IS NULL GROUP BY 1 ORDER BY 1')
      .all() as { model: string; cost: number; unpriced: number }[];
    const round = (rows: { model: string; cost: number; unpriced: number }[]): unknown[] => rows.map((r) => ({ ...r, cost: Math.round(r.cost * 1e9) / 1e9 }));
    return { rollup: round(rollup), raw: round(raw) };
  } finally {
    conn.close();
  }
}

describe('agentloupe reprice', () => {
  it('prices the calls a new price file covers: cost, unpriced flag, span attributes and rollup move together', async () => {
    const { db, prices } = await recorded();
    const before = calls(db);
    expect(before.map((c) => [c.model, c.unpriced])).toEqual([['qwen3-coder-30b', 1], ['qwen3-coder-30b', 1], ['gpt-4o-mini', 0], ['house-model', 0]]);
    expect(cli(['doctor', '--db', db]).stdout).toMatch(/warn +prices +2 model calls are unpriced[^\n]*\n[^\n]*agentloupe reprice/);

    const dry = cli(['reprice', '--dry-run', '--json', '--db', db], { env: { AGENTLOUPE_PRICING: prices } });
    expect(dry.status, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, examined: 4, changed: 2, nowPriced: 2, stillUnpriced: 0 });
    expect(calls(db)).toEqual(before);

    const r = cli(['reprice', '--db', db], { env: { AGENTLOUPE_PRICING: prices } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('4 model calls examined; changed 2 (2 newly priced)');
    expect(r.stdout).toMatch(/qwen3-coder-30b +2 +2 +unpriced +\$1\.00/);

    const after = calls(db);
    // 2M x $0.2 + 0.5M x $0.8 per million; then 1M x $0.2.
    expect(after[0]).toMatchObject({ model: 'qwen3-coder-30b', unpriced: 0, spanUnpriced: null });
    expect(after[0]!.cost).toBeCloseTo(0.8, 12);
    expect(after[0]!.spanCost).toBeCloseTo(0.8, 12);
    expect(after[1]!.cost).toBeCloseTo(0.2, 12);
    expect(after[1]!.spanCost).toBeCloseTo(0.2, 12);
    expect(after.slice(2)).toEqual(before.slice(2)); // gpt-4o-mini already right; house-model has no price: kept
    const { rollup, raw } = rollupAgrees(db);
    expect(rollup).toEqual(raw);
    expect(cli(['cost', '--by', 'model', '--json', '--db', db]).stdout).not.toContain('"unpricedCalls": 1');
    expect(cli(['doctor', '--db', db]).stdout).toMatch(/ok +prices +every stored model call is priced/);

    // Nothing left to do: a second run changes nothing.
    expect(cli(['reprice', '--db', db], { env: { AGENTLOUPE_PRICING: prices } }).stdout).toContain('changed 0 (0 newly priced)');
  }, 120_000);

  it('--model and --since narrow what is priced; a price change applies to priced calls too', async () => {
    const { db, prices } = await recorded();
    writeFileSync(prices, JSON.stringify({ models: { 'qwen3-coder': { input: 0.2, output: 0.8 }, 'gpt-4o-mini': { input: 1, output: 1 } } }));
    const other = cli(['reprice', '--model', 'gpt-4o', '--json', '--db', db], { env: { AGENTLOUPE_PRICING: prices } });
    expect(JSON.parse(other.stdout)).toMatchObject({ examined: 1, changed: 1, nowPriced: 0 });
    expect(calls(db)[2]!.cost).toBeCloseTo(1100 / 1e6, 12);
    expect(calls(db)[0]!.unpriced).toBe(1);
    const future = cli(['reprice', '--since', '2999-01-01', '--json', '--db', db], { env: { AGENTLOUPE_PRICING: prices } });
    expect(JSON.parse(future.stdout)).toMatchObject({ examined: 0, changed: 0 });
    const unpricedOnly = cli(['reprice', '--unpriced-only', '--json', '--db', db], { env: { AGENTLOUPE_PRICING: prices } });
    expect(JSON.parse(unpricedOnly.stdout)).toMatchObject({ examined: 2, changed: 2, nowPriced: 2 });
    const { rollup, raw } = rollupAgrees(db);
    expect(rollup).toEqual(raw);
  }, 120_000);

  it('a broken price file changes nothing and says what to fix', async () => {
    const { db, prices } = await recorded();
    writeFileSync(prices, JSON.stringify({ models: { 'qwen3-coder': { input: 'cheap', output: 1 } } }));
    const before = calls(db);
    const r = cli(['reprice', '--db', db], { env: { AGENTLOUPE_PRICING: prices } });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('models["qwen3-coder"].input must be a non-negative number');
    expect(r.stderr).toContain('nothing was changed');
    expect(calls(db)).toEqual(before);
  }, 60_000);
});
