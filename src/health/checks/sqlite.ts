import { statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { HealthStore } from '../../store/health-store.js';
import type { HealthCheckDefinition } from '../types.js';

export interface SqliteCheckOptions {
  name?: string;
  /** `SELECT 1` slower than this is degraded. Default 100 ms (seed 001). */
  degradedLatencyMs?: number;
  /** Database file larger than this is degraded. Default 100 MB (seed 003). */
  maxDbBytes?: number;
  /** WAL file larger than this is degraded (checkpoints are falling behind). Default 64 MB. */
  maxWalBytes?: number;
  intervalMs?: number;
  critical?: boolean;
}

function size(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The SQLite store: `SELECT 1` latency, and database and WAL size against limits. */
export function sqliteCheck(store: () => HealthStore | undefined, options: SqliteCheckOptions = {}): HealthCheckDefinition {
  const degradedLatencyMs = options.degradedLatencyMs ?? 100;
  const maxDbBytes = options.maxDbBytes ?? 100 * 1048576;
  const maxWalBytes = options.maxWalBytes ?? 64 * 1048576;
  return {
    name: options.name ?? 'sqlite',
    intervalMs: options.intervalMs ?? 30_000,
    critical: options.critical ?? true,
    check: () => {
      const s = store();
      if (!s) return { status: 'unhealthy', message: 'the database could not be opened (see the earlier warning)' };
      const started = performance.now();
      try {
        s.ping();
      } catch (err) {
        return { status: 'unhealthy', message: `SELECT 1 failed: ${(err as Error).message}` };
      }
      const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
      const dbBytes = size(s.db.name);
      const walBytes = size(`${s.db.name}-wal`);
      const metadata = { latencyMs, dbBytes, walBytes, path: s.db.name };
      const mb = (b: number): string => `${(b / 1048576).toFixed(1)} MB`;
      const problems: string[] = [];
      if (latencyMs > degradedLatencyMs) problems.push(`SELECT 1 took ${latencyMs} ms (> ${degradedLatencyMs} ms)`);
      if (dbBytes > maxDbBytes) problems.push(`database is ${mb(dbBytes)} (> ${mb(maxDbBytes)})`);
      if (walBytes > maxWalBytes) problems.push(`WAL is ${mb(walBytes)} (> ${mb(maxWalBytes)})`);
      return problems.length > 0 ? { status: 'degraded', message: problems.join('; '), metadata } : { status: 'healthy', metadata };
    },
  };
}
