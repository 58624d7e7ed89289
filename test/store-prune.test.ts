import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, type SqliteDatabase } from '../src/store/database.js';
import { prune } from '../src/store/maintenance.js';
import type { WriteOp } from '../src/spans/rows.js';
import { SqliteWriter } from '../src/store/writer.js';
import { agentRow, spanRow, telemetryRow } from './cli-fixture.js';
import { tempDir } from './helpers.js';

const BASE = 1_779_926_400;

/** Chains of parent → child runs, some ended long ago, some recent, some running, with calls and spans. */
function fill(db: SqliteDatabase): void {
  const ops: WriteOp[] = [];
  for (let chain = 0; chain < 40; chain++) {
    let parent: string | null = null;
    for (let depth = 0; depth < 4; depth++) {
      const id = `c${chain}-d${depth}`;
      const start = BASE + chain * 60 + depth;
      // Every third run is recent; the deepest of every fifth chain is still running.
      const end = chain % 5 === 0 && depth === 3 ? null : depth % 3 === 2 ? BASE + 100_000 : start + 30;
      const row = agentRow({ id, agentType: `t${depth}`, startTime: start, parentId: parent, logFile: `/logs/chain${chain % 7}.log`, spanId: id.padEnd(16, '0').slice(0, 16) });
      ops.push({ kind: 'agentStart', row });
      for (let i = 0; i < 3; i++) ops.push({ kind: 'telemetry', dedupe: false, row: telemetryRow({ agentId: id, timestamp: start + i, inputTokens: 10, outputTokens: 2 }) });
      if (end !== null) ops.push({ kind: 'agentEnd', row: { ...row, status: 'completed', endTime: end, exitCode: 0 }, durationMs: (end - start) * 1000 });
      parent = id;
    }
  }
  const result = new SqliteWriter(db).apply(ops);
  expect(result.failed).toBe(0);
  db.prepare("INSERT INTO health_checks (component, status, time_ms) VALUES ('db', 'healthy', ?)").run((BASE + 10) * 1000);
}

function contents(db: SqliteDatabase): string {
  const tables = ['agents', 'agent_runs', 'telemetry', 'telemetry_calls', 'spans', 'agent_usage', 'telemetry_hourly', 'health_checks'];
  return JSON.stringify(tables.map((t) => db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).all()));
}

describe('prune in bounded transactions', () => {
  it('removes the same rows, counts the same and keeps the same links whether it works in batches of 3 runs or in one', () => {
    const dir = tempDir();
    const a = join(dir, 'a.db');
    const dbA = openDatabase(a);
    fill(dbA);
    dbA.close();
    copyFileSync(a, join(dir, 'b.db'));
    const batched = openDatabase(a);
    const whole = openDatabase(join(dir, 'b.db'));
    const cutoff = BASE + 50_000;
    const planned = prune(batched, cutoff, { dryRun: true });
    const inBatches = prune(batched, cutoff, { batchSize: 3 });
    const inOne = prune(whole, cutoff, { batchSize: 1_000_000 });
    const norm = (c: typeof planned): unknown => ({ ...c, agentIds: [...c.agentIds].sort(), logFiles: [...c.logFiles].sort() });
    expect(norm(inBatches)).toEqual(norm(inOne));
    expect(norm(planned)).toEqual(norm(inOne));
    expect(inOne.agents).toBeGreaterThan(60);
    expect(inOne.reparented).toBeGreaterThan(0);
    expect(inOne.health).toEqual({ health_checks: 1, worker_heartbeats: 0, alerts: 0 });
    expect(contents(batched)).toEqual(contents(whole));
    // No run points at a missing parent, and the rollup still matches the telemetry left.
    expect(batched.pragma('foreign_key_check')).toEqual([]);
    expect(batched.prepare('SELECT COALESCE(SUM(calls), 0) FROM telemetry_hourly').pluck().get()).toBe(batched.prepare('SELECT COUNT(*) FROM telemetry').pluck().get());
    batched.close();
    whole.close();
  });
});

describe('prune and the collector state', () => {
  it('forgets a parent waited for once its trace has no span left, and keeps one whose trace still has spans', () => {
    const db = openDatabase(join(tempDir(), 'w.db'));
    const old = BASE;
    const recent = BASE + 100_000;
    const span = (traceId: string, spanId: string, atS: number): WriteOp => ({ kind: 'span', row: { ...spanRow(null, spanId, atS, atS + 1), traceId, parentSpanId: `p${spanId}` } });
    const result = new SqliteWriter(db).apply([
      span('1'.repeat(32), 'a'.repeat(16), old),
      { kind: 'waitFor', traceId: '1'.repeat(32), spanId: 'pa'.padEnd(16, 'a') },
      span('2'.repeat(32), 'b'.repeat(16), recent),
      { kind: 'waitFor', traceId: '2'.repeat(32), spanId: 'pb'.padEnd(16, 'b') },
    ]);
    expect(result.failed).toBe(0);
    prune(db, BASE + 50_000);
    expect(db.prepare('SELECT trace_id FROM span_waits').pluck().all()).toEqual(['2'.repeat(32)]);
    db.close();
  });
});
