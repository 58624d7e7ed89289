import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { fileSizes, type FileSizes } from './maintenance.js';
import { DOCUMENTED_TABLES, SCHEMA_VERSION } from './schema.js';

/**
 * What `agentloupe doctor` learns about a database file. The file is opened read-only and
 * without the version check, so an old, newer or broken file can still be looked at.
 */
export interface DatabaseReport {
  path: string;
  exists: boolean;
  /** The path names a directory, not a file. */
  isDirectory: boolean;
  /** Set when the file could not be opened or read as SQLite. */
  openError?: string;
  isAgentloupe: boolean;
  tables: string[];
  schemaVersion: number | null;
  expectedVersion: number;
  journalMode: string | null;
  /** "ok", or the first problems PRAGMA integrity_check found. */
  integrity: string[];
  /** Rows whose foreign key points at a missing row, counted per table. */
  foreignKeyViolations: Record<string, number>;
  sizes: FileSizes;
  sqliteVersion: string | null;
  agents: number | null;
  telemetry: number | null;
  /** Model calls stored as unpriced (no price was known when they were written). */
  unpricedCalls: number | null;
}

export function inspectDatabase(path: string, options: { busyTimeoutMs?: number; integrityLimit?: number } = {}): DatabaseReport {
  const report: DatabaseReport = {
    path,
    exists: existsSync(path),
    isDirectory: existsSync(path) && statSync(path).isDirectory(),
    isAgentloupe: false,
    tables: [],
    schemaVersion: null,
    expectedVersion: SCHEMA_VERSION,
    journalMode: null,
    integrity: [],
    foreignKeyViolations: {},
    sizes: fileSizes(path),
    sqliteVersion: null,
    agents: null,
    telemetry: null,
    unpricedCalls: null,
  };
  if (!report.exists || report.isDirectory) return report;
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    report.sqliteVersion = (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
    report.tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    report.isAgentloupe = DOCUMENTED_TABLES.every((t) => report.tables.includes(t));
    report.schemaVersion = db.pragma('user_version', { simple: true }) as number;
    report.journalMode = String(db.pragma('journal_mode', { simple: true }));
    report.integrity = (db.pragma(`integrity_check(${options.integrityLimit ?? 10})`) as { integrity_check: string }[]).map((r) => r.integrity_check);
    for (const r of db.pragma('foreign_key_check') as { table: string }[]) {
      report.foreignKeyViolations[r.table] = (report.foreignKeyViolations[r.table] ?? 0) + 1;
    }
    if (report.isAgentloupe) {
      report.agents = (db.prepare('SELECT COUNT(*) AS n FROM agents').get() as { n: number }).n;
      report.telemetry = (db.prepare('SELECT COUNT(*) AS n FROM telemetry').get() as { n: number }).n;
      if (report.tables.includes('telemetry_calls')) {
        report.unpricedCalls = (db.prepare('SELECT COUNT(*) AS n FROM telemetry_calls WHERE unpriced = 1').get() as { n: number }).n;
      }
    }
  } catch (err) {
    report.openError = (err as Error).message;
  } finally {
    db?.close();
  }
  return report;
}

/** The SQLite library version better-sqlite3 was built with (proves the native module loads). */
export function sqliteLibraryVersion(): string {
  const db = new Database(':memory:');
  try {
    return (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  } finally {
    db.close();
  }
}

/** The schema version of a file without migrating or judging it; null when it is not there. */
export function readSchemaVersion(path: string): number | null {
  if (!existsSync(path)) return null;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}
