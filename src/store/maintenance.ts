import { existsSync, statSync } from 'node:fs';
import type { SqliteDatabase } from './database.js';

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

function tableExists(db: SqliteDatabase, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

function columnExists(db: SqliteDatabase, table: string, column: string): boolean {
  return db.prepare('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get(table, column) !== undefined;
}

/**
 * Deletes every agent run that ended before `cutoff` (epoch seconds) with its telemetry,
 * telemetry_calls, agent_runs and spans, in one transaction. A surviving run whose parent is
 * pruned keeps its plan id and gets parent_id NULL (it becomes a root), so no row points at a
 * missing parent. Spans with no agent that ended before the cut-off go too. `agent_usage` is
 * aggregate history and stays. With `dryRun` nothing is changed and the counts say what would go.
 */
export function prune(db: SqliteDatabase, cutoff: number, options: { dryRun?: boolean } = {}): PruneCounts {
  const cutoffNs = BigInt(Math.floor(cutoff)) * 1_000_000_000n;
  const run = (): PruneCounts => {
    db.exec('CREATE TEMP TABLE IF NOT EXISTS prune_ids (id TEXT PRIMARY KEY)');
    db.exec('DELETE FROM temp.prune_ids');
    db.prepare('INSERT INTO temp.prune_ids SELECT id FROM agents WHERE end_time IS NOT NULL AND end_time < ?').run(cutoff);
    const logFiles = (
      db
        .prepare(
          `SELECT DISTINCT log_file AS f FROM agents WHERE id IN (${PRUNED}) AND log_file IS NOT NULL AND log_file <> ''
             AND log_file NOT IN (SELECT log_file FROM agents WHERE log_file IS NOT NULL AND id NOT IN (${PRUNED}))`,
        )
        .all() as { f: string }[]
    ).map((r) => r.f);
    const agentIds = (db.prepare(PRUNED).all() as { id: string }[]).map((r) => r.id);
    const counts: PruneCounts = {
      cutoff,
      agentIds,
      agents: 0,
      agentRuns: 0,
      telemetry: 0,
      telemetryCalls: 0,
      spans: 0,
      reparented: 0,
      health: {},
      logFiles,
    };
    counts.telemetryCalls = db
      .prepare(`DELETE FROM telemetry_calls WHERE telemetry_id IN (SELECT id FROM telemetry WHERE agent_id IN (${PRUNED}))`)
      .run().changes;
    counts.telemetry = db.prepare(`DELETE FROM telemetry WHERE agent_id IN (${PRUNED})`).run().changes;
    counts.spans =
      db.prepare(`DELETE FROM spans WHERE agent_id IN (${PRUNED})`).run().changes +
      db.prepare('DELETE FROM spans WHERE agent_id IS NULL AND start_ns < ? AND end_ns < ?').run(cutoffNs, cutoffNs).changes;
    counts.reparented = db.prepare(`UPDATE agents SET parent_id = NULL WHERE parent_id IN (${PRUNED}) AND id NOT IN (${PRUNED})`).run().changes;
    counts.agentRuns = db.prepare(`DELETE FROM agent_runs WHERE agent_id IN (${PRUNED})`).run().changes;
    counts.agents = db.prepare(`DELETE FROM agents WHERE id IN (${PRUNED})`).run().changes;
    for (const [table, column] of Object.entries(TIME_PRUNED_TABLES)) {
      // An older file has no health tables; they are pruned only where they exist.
      if (!tableExists(db, table) || !columnExists(db, table, column)) continue;
      counts.health[table] = db.prepare(`DELETE FROM "${table}" WHERE "${column}" < ?`).run(cutoff * 1000).changes;
    }
    db.exec('DROP TABLE temp.prune_ids');
    return counts;
  };
  let result: PruneCounts | undefined;
  const DRY = Symbol('dry-run');
  const tx = db.transaction(() => {
    result = run();
    // A dry run does the same work and rolls it back, so its counts are exactly what a real run would do.
    if (options.dryRun) throw DRY;
  });
  try {
    tx.immediate();
  } catch (err) {
    if (err !== DRY) throw err;
  }
  return result!;
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
