import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DOCUMENTED_TABLES, MIGRATIONS, SCHEMA_VERSION } from './schema.js';

export type SqliteDatabase = Database.Database;

export const DEFAULT_DB_PATH = '.agentloupe/monitoring.db';

/** A database problem the user can act on; the message says what to do. */
export class StoreError extends Error {
  constructor(message: string, readonly code: 'NOT_FOUND' | 'NEWER_SCHEMA' | 'FOREIGN_DATABASE' | 'OPEN_FAILED' | 'NOT_MIGRATED') {
    super(message);
    this.name = 'StoreError';
  }
}

/** `AGENTLOUPE_DB` when set, else `.agentloupe/monitoring.db` under the current directory. */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const fromEnv = env.AGENTLOUPE_DB;
  return resolve(cwd, fromEnv && fromEnv.trim() !== '' ? fromEnv : DEFAULT_DB_PATH);
}

export interface OpenOptions {
  readonly?: boolean;
  /** Milliseconds a statement waits on another writer's lock. Writers on the agent's thread keep this short. */
  busyTimeoutMs?: number;
}

/**
 * Opens (and for writers creates and migrates) an agentloupe database. Readers never migrate:
 * an old file gets a message saying how to upgrade it.
 */
export function openDatabase(path: string, options: OpenOptions = {}): SqliteDatabase {
  const readonly = options.readonly ?? false;
  if (readonly && !existsSync(path)) {
    throw new StoreError(
      `no agentloupe database at ${path}. Run an instrumented agent first (npm run demo writes one), or pass --db PATH / set AGENTLOUPE_DB.`,
      'NOT_FOUND',
    );
  }
  if (!readonly) {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (err) {
      throw new StoreError(`cannot open database ${path}: cannot create its directory (${(err as Error).message}). Set AGENTLOUPE_DB to a writable path.`, 'OPEN_FAILED');
    }
  }
  let db: SqliteDatabase;
  try {
    db = new Database(path, { readonly, fileMustExist: readonly });
  } catch (err) {
    throw new StoreError(`cannot open database ${path}: ${(err as Error).message}`, 'OPEN_FAILED');
  }
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    if (!readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('foreign_keys = ON');
    checkAndMigrate(db, path, readonly);
  } catch (err) {
    db.close();
    if (err instanceof StoreError) throw err;
    throw new StoreError(`cannot open database ${path}: ${(err as Error).message}`, 'OPEN_FAILED');
  }
  return db;
}

function tableNames(db: SqliteDatabase): Set<string> {
  const rows = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
  return new Set(rows.map((r) => r.name));
}

export function schemaVersion(db: SqliteDatabase): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function checkAndMigrate(db: SqliteDatabase, path: string, readonly: boolean): void {
  const version = schemaVersion(db);
  if (version > SCHEMA_VERSION) {
    throw new StoreError(
      `${path} has schema version ${version}, written by a newer agentloupe (this one knows up to ${SCHEMA_VERSION}). Upgrade agentloupe (npm install agentloupe@latest) to read it.`,
      'NEWER_SCHEMA',
    );
  }
  const tables = tableNames(db);
  const documentedExists = DOCUMENTED_TABLES.every((t) => tables.has(t));
  if (version === 0 && tables.size > 0 && !documentedExists) {
    throw new StoreError(
      `${path} is a SQLite database but not an agentloupe one (it has tables ${[...tables].slice(0, 5).join(', ')} and no agents/telemetry/agent_usage). Point --db / AGENTLOUPE_DB at another file.`,
      'FOREIGN_DATABASE',
    );
  }
  if (version === SCHEMA_VERSION) return;
  if (readonly) {
    throw new StoreError(
      `${path} has schema version ${version}; this agentloupe uses ${SCHEMA_VERSION}. Run \`agentloupe migrate --db ${path}\` (or any instrumented agent) once to upgrade it.`,
      'NOT_MIGRATED',
    );
  }
  const migrate = db.transaction(() => {
    for (const m of MIGRATIONS) {
      if (m.version <= version) continue;
      for (const sql of m.statements(version === 0 && documentedExists)) db.exec(sql);
      db.pragma(`user_version = ${m.version}`);
    }
  });
  migrate.immediate();
}
