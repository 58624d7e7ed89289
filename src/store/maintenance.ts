import { existsSync, statSync } from 'node:fs';
import type { SqliteDatabase } from './database.js';
import { traceSeqOf } from './schema.js';

/**
 * Retention and upkeep: prune old runs, vacuum. Kept apart from the writer because these are
 * whole-database operations a user runs by hand, never on the agent's path.
 */

/** The health tables (migration 2) and their time columns, in epoch milliseconds. */
export const TIME_PRUNED_TABLES: Record<string, string> = {
  health_checks: 'time_ms',
  worker_heartbeats: 'last_heartbeat_ms',
  alerts: 'time_ms',
};

export interface PruneCounts {
  /** Epoch seconds: runs that ended before this are pruned. */
  cutoff: number;
  agents: number;
  agentRuns: number;
  telemetry: number;
  telemetryCalls: number;
  spans: number;
  /** Surviving agents whose parent was pruned; their parent_id is set to NULL. */
  reparented: number;
  /** Rows removed from health tables, per table (only the tables that exist). */
  health: Record<string, number>;
  /** Log files of pruned runs that no remaining run names. */
  logFiles: string[];
  /** Ids of the pruned runs (for their conventional log files). */
  agentIds: string[];
}

const PRUNED = 'SELECT id FROM temp.prune_ids';

/** Agent runs removed per transaction: each transaction holds the write lock for milliseconds, not minutes. */
export const PRUNE_BATCH = 500;
/** Rows per transaction for the tables pruned by time alone (ownerless spans, health tables). */
const ROW_BATCH = 5000;

function tableExists(db: SqliteDatabase, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

function columnExists(db: SqliteDatabase, table: string, column: string): boolean {
  return db.prepare('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get(table, column) !== undefined;
}

/** Fills temp.prune_ids with (up to `limit`, -1 for all) runs that ended before `cutoff`. */
function choose(db: SqliteDatabase, cutoff: number, limit: number): void {
  db.exec('CREATE TEMP TABLE IF NOT EXISTS prune_ids (id TEXT PRIMARY KEY)');
  db.exec('DELETE FROM temp.prune_ids');
  db.prepare('INSERT INTO temp.prune_ids SELECT id FROM agents WHERE end_time IS NOT NULL AND end_time < ? LIMIT ?').run(cutoff, limit);
}

const SURVIVES = 'NOT (end_time IS NOT NULL AND end_time < @cutoff)';
const OWNERLESS_SPANS = 'SELECT rowid FROM spans WHERE agent_id IS NULL AND start_ns < @cutoffNs AND end_ns < @cutoffNs';
const LOG_FILES = `SELECT DISTINCT log_file AS f FROM agents WHERE id IN (${PRUNED}) AND log_file IS NOT NULL AND log_file <> ''`;

function healthTables(db: SqliteDatabase): [string, string][] {
  // An older file has no health tables; they are pruned only where they exist.
  return Object.entries(TIME_PRUNED_TABLES).filter(([table, column]) => tableExists(db, table) && columnExists(db, table, column));
}

function emptyCounts(cutoff: number): PruneCounts {
  return { cutoff, agentIds: [], agents: 0, agentRuns: 0, telemetry: 0, telemetryCalls: 0, spans: 0, reparented: 0, health: {}, logFiles: [] };
}

/** What a prune would remove, read without taking the write lock. */
function plan(db: SqliteDatabase, cutoff: number): PruneCounts {
  const cutoffNs = BigInt(Math.floor(cutoff)) * 1_000_000_000n;
  const count = (sql: string, params: Record<string, unknown> = {}): number => db.prepare(`SELECT COUNT(*) FROM (${sql})`).pluck().get(params) as number;
  return db.transaction(() => {
    choose(db, cutoff, -1);
    const counts = emptyCounts(cutoff);
    counts.agentIds = db.prepare(PRUNED).pluck().all() as string[];
    counts.logFiles = db.prepare(`${LOG_FILES} AND log_file NOT IN (SELECT log_file FROM agents WHERE log_file IS NOT NULL AND id NOT IN (${PRUNED}))`).pluck().all() as string[];
    counts.agents = counts.agentIds.length;
    counts.agentRuns = count(`SELECT 1 FROM agent_runs WHERE agent_id IN (${PRUNED})`);
    counts.telemetry = count(`SELECT 1 FROM telemetry WHERE agent_id IN (${PRUNED})`);
    counts.telemetryCalls = count(`SELECT 1 FROM telemetry_calls WHERE telemetry_id IN (SELECT id FROM telemetry WHERE agent_id IN (${PRUNED}))`);
    counts.spans = count(`SELECT 1 FROM spans WHERE agent_id IN (${PRUNED})`) + count(OWNERLESS_SPANS, { cutoffNs });
    counts.reparented = count(`SELECT 1 FROM agents WHERE parent_id IN (${PRUNED}) AND id NOT IN (${PRUNED})`);
    for (const [table, column] of healthTables(db)) counts.health[table] = count(`SELECT 1 FROM "${table}" WHERE "${column}" < @ms`, { ms: cutoff * 1000 });
    db.exec('DROP TABLE temp.prune_ids');
    return counts;
  })();
}

/**
 * Deletes every agent run that ended before `cutoff` (epoch seconds) with its telemetry,
 * telemetry_calls, agent_runs and spans. A surviving run whose parent is pruned keeps its plan
 * id and gets parent_id NULL (it becomes a root), so no row points at a missing parent. Spans
 * with no agent that ended before the cut-off go too. `agent_usage` is aggregate history and
 * stays. With `dryRun` nothing is changed and the counts say what would go.
 *
 * The work is split into transactions of `batchSize` runs (and a few thousand rows for the
 * tables pruned by time alone), so live agents writing beside a large prune wait milliseconds
 * for the lock, never the whole prune. Each transaction leaves the database consistent (the
 * rollup is kept exact by its triggers), so an interrupted prune is simply a smaller one.
 */
export function prune(db: SqliteDatabase, cutoff: number, options: { dryRun?: boolean; batchSize?: number } = {}): PruneCounts {
  if (options.dryRun) return plan(db, cutoff);
  const batchSize = Math.max(1, options.batchSize ?? PRUNE_BATCH);
  const cutoffNs = BigInt(Math.floor(cutoff)) * 1_000_000_000n;
  const counts = emptyCounts(cutoff);
  const logFiles = new Set<string>();
  const runs = db.transaction((): number => {
    choose(db, cutoff, batchSize);
    const ids = db.prepare(PRUNED).pluck().all() as string[];
    if (ids.length === 0) return 0;
    counts.agentIds.push(...ids);
    for (const f of db.prepare(LOG_FILES).pluck().all() as string[]) logFiles.add(f);
    counts.telemetryCalls += db
      .prepare(`DELETE FROM telemetry_calls WHERE telemetry_id IN (SELECT id FROM telemetry WHERE agent_id IN (${PRUNED}))`)
      .run().changes;
    counts.telemetry += db.prepare(`DELETE FROM telemetry WHERE agent_id IN (${PRUNED})`).run().changes;
    counts.spans += db.prepare(`DELETE FROM spans WHERE agent_id IN (${PRUNED})`).run().changes;
    // A coding-agent session's prompts, tool results and API errors go with its run.
    db.prepare(`DELETE FROM session_events WHERE agent_id IN (${PRUNED})`).run();
    // Children pruned in a later batch lose their parent link too (the foreign key needs it),
    // but only the runs that stay are counted as reparented.
    counts.reparented += db.prepare(`UPDATE agents SET parent_id = NULL WHERE parent_id IN (${PRUNED}) AND id NOT IN (${PRUNED}) AND ${SURVIVES}`).run({ cutoff }).changes;
    db.prepare(`UPDATE agents SET parent_id = NULL WHERE parent_id IN (${PRUNED}) AND id NOT IN (${PRUNED})`).run();
    counts.agentRuns += db.prepare(`DELETE FROM agent_runs WHERE agent_id IN (${PRUNED})`).run().changes;
    counts.agents += db.prepare(`DELETE FROM agents WHERE id IN (${PRUNED})`).run().changes;
    return ids.length;
  });
  while (runs.immediate() >= batchSize) {
    /* next batch */
  }
  const byRows = db.transaction((sql: string, params: Record<string, unknown>): number => db.prepare(sql).run(params).changes);
  const inBatches = (sql: string, params: Record<string, unknown>): number => {
    let total = 0;
    for (let n = ROW_BATCH; n >= ROW_BATCH; total += n) n = byRows.immediate(sql, params);
    return total;
  };
  counts.spans += inBatches(`DELETE FROM spans WHERE rowid IN (${OWNERLESS_SPANS} LIMIT ${ROW_BATCH})`, { cutoffNs });
  // A parent the collector still waits for, in a trace with no span left: nothing remains for it to re-own.
  if (tableExists(db, 'span_waits')) {
    inBatches(
      `DELETE FROM span_waits WHERE (trace_id, span_id) IN (SELECT trace_id, span_id FROM span_waits w
         WHERE NOT EXISTS (SELECT 1 FROM spans s WHERE s.trace_seq = ${traceSeqOf('w.trace_id')}) LIMIT ${ROW_BATCH})`,
      {},
    );
  }
  // Trace numbers (schema 7) with no span and no call left.
  if (tableExists(db, 'traces')) {
    inBatches(
      `DELETE FROM traces WHERE seq IN (SELECT t.seq FROM traces t WHERE NOT EXISTS (SELECT 1 FROM spans s WHERE s.trace_seq = t.seq)
         AND NOT EXISTS (SELECT 1 FROM telemetry_calls c WHERE c.trace_seq = t.seq) LIMIT ${ROW_BATCH})`,
      {},
    );
  }
  for (const [table, column] of healthTables(db)) {
    counts.health[table] = inBatches(`DELETE FROM "${table}" WHERE rowid IN (SELECT rowid FROM "${table}" WHERE "${column}" < @ms LIMIT ${ROW_BATCH})`, { ms: cutoff * 1000 });
  }
  // A log file shared with a run that stays is kept.
  const named = new Set(db.prepare('SELECT DISTINCT log_file FROM agents WHERE log_file IS NOT NULL').pluck().all() as string[]);
  counts.logFiles = [...logFiles].filter((f) => !named.has(f));
  db.exec('DROP TABLE IF EXISTS temp.prune_ids');
  return counts;
}

export interface FileSizes {
  db: number;
  wal: number;
  total: number;
}

export function fileSizes(path: string): FileSizes {
  const size = (p: string): number => (existsSync(p) ? statSync(p).size : 0);
  const db = size(path);
  const wal = size(`${path}-wal`);
  return { db, wal, total: db + wal };
}

export interface VacuumResult {
  before: FileSizes;
  after: FileSizes;
  /** From wal_checkpoint(TRUNCATE): busy is 1 when a reader kept the WAL from being emptied. */
  checkpoint: { busy: number; log: number; checkpointed: number };
}

/** VACUUM, then a truncating WAL checkpoint, with the file sizes before and after. */
export function vacuum(db: SqliteDatabase, path: string): VacuumResult {
  const before = fileSizes(path);
  db.exec('VACUUM');
  const cp = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number; checkpointed: number }[];
  const checkpoint = cp[0] ?? { busy: 0, log: 0, checkpointed: 0 };
  return { before, after: fileSizes(path), checkpoint };
}
