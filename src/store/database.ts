import Database from 'better-sqlite3';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DOCUMENTED_TABLES, MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import { WAL_LIMITS } from './wal-keeper.js';

export type SqliteDatabase = Database.Database;

/** How long opening waits for another process that is creating or migrating the same file. */
const OPEN_BUSY_TIMEOUT_MS = 10_000;

export const DEFAULT_DB_PATH = '.agentloupe/monitoring.db';

/** A database problem the user can act on; the message says what to do. */
export class StoreError extends Error {
  constructor(message: string, readonly code: 'NOT_FOUND' | 'NEWER_SCHEMA' | 'FOREIGN_DATABASE' | 'OPEN_FAILED' | 'NOT_MIGRATED' | 'IS_DIRECTORY' | 'EMPTY') {
    super(message);
    this.name = 'StoreError';
  }
}

/** True for the `AGENTLOUPE_DB` values that turn the database off: off, false, none, 0. */
export function isDbOff(setting: string | undefined): boolean {
  return setting !== undefined && /^(off|false|none|0)$/i.test(setting.trim());
}

/** The database `AGENTLOUPE_DB` asks for: a path (default `.agentloupe/monitoring.db`), or false when it says off. */
export function dbFromEnv(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | false {
  return isDbOff(env.AGENTLOUPE_DB) ? false : defaultDbPath(env, cwd);
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
  /**
   * Leave a file that is only older unmigrated: its writer will migrate it on another thread
   * (a million spans take seconds to migrate, which the agent's thread must not wait for). New
   * files are still created; newer and foreign files still refused.
   */
  deferMigration?: boolean;
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
  if (isDirectory(path)) {
    // SQLite would only say "disk I/O error" or "unable to open database file".
    throw new StoreError(
      `${path} is a directory, not a database file: give the file's path (for example --db ${join(path, 'monitoring.db')}), or set AGENTLOUPE_DB to it.`,
      'IS_DIRECTORY',
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
    // Opening waits longer than the caller's writes do: several processes may create or migrate
    // the same file at once, and each must wait for the one that got there first, not give up.
    db.pragma(`busy_timeout = ${Math.max(options.busyTimeoutMs ?? 5000, OPEN_BUSY_TIMEOUT_MS)}`);
    db.pragma('foreign_keys = ON');
    // Switching a new file to WAL and reading a file another process is switching can answer
    // SQLITE_BUSY without calling the busy handler: those steps are retried until the deadline.
    retryWhileBusy(Date.now() + OPEN_BUSY_TIMEOUT_MS, () => {
      if (!readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        // Each writer trims the WAL back to this size when it restarts (wal-keeper.ts).
        db.pragma(`journal_size_limit = ${WAL_LIMITS.journalSizeLimit}`);
      }
      checkAndMigrate(db, path, readonly, options.deferMigration ?? false);
    });
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  } catch (err) {
    db.close();
    if (err instanceof StoreError) throw err;
    throw new StoreError(`cannot open database ${path}: ${(err as Error).message}`, 'OPEN_FAILED');
  }
  return db;
}

function isBusyError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

function retryWhileBusy(deadline: number, step: () => void): void {
  for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
    try {
      return step();
    } catch (err) {
      if (!isBusyError(err) || Date.now() + wait > deadline) throw err;
      // Opening is synchronous (better-sqlite3); a short blocking sleep keeps it so.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
    }
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function tableNames(db: SqliteDatabase): Set<string> {
  const rows = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
  return new Set(rows.map((r) => r.name));
}

export function schemaVersion(db: SqliteDatabase): number {
  return db.pragma('user_version', { simple: true }) as number;
}

interface FileState {
  version: number;
  tables: Set<string>;
  documentedExists: boolean;
}

function fileState(db: SqliteDatabase): FileState {
  const tables = tableNames(db);
  return { version: schemaVersion(db), tables, documentedExists: DOCUMENTED_TABLES.every((t) => tables.has(t)) };
}

/** Refuses a newer or a foreign file. */
function checkState(state: FileState, path: string): void {
  const { version, tables, documentedExists } = state;
  if (version > SCHEMA_VERSION) {
    throw new StoreError(
      `${path} has schema version ${version}, written by a newer agentloupe (this one knows up to ${SCHEMA_VERSION}). Upgrade agentloupe (npm install agentloupe@latest) to read it.`,
      'NEWER_SCHEMA',
    );
  }
  if (version === 0 && tables.size > 0 && !documentedExists) {
    throw new StoreError(
      `${path} is a SQLite database but not an agentloupe one (it has tables ${[...tables].slice(0, 5).join(', ')} and no agents/telemetry/agent_usage). Point --db / AGENTLOUPE_DB at another file.`,
      'FOREIGN_DATABASE',
    );
  }
}

/**
 * Creating and migrating is one immediate transaction that reads the version again inside it:
 * when several processes open a new file at once, the first creates the schema and the others,
 * having waited for its lock, find it done (a version read before the lock would be stale).
 */
function checkAndMigrate(db: SqliteDatabase, path: string, readonly: boolean, defer: boolean): void {
  const seen = fileState(db);
  checkState(seen, path);
  if (seen.version === SCHEMA_VERSION) return;
  if (defer && !readonly && seen.version > 0) return;
  if (readonly && seen.version === 0 && seen.tables.size === 0) {
    // A 0-byte file is a new database nobody has written yet; a writer would simply create the schema.
    throw new StoreError(
      `${path} holds no data yet: nothing has been recorded in it. Run an instrumented agent (or npm run demo) to fill it, or pass --db PATH to read another database.`,
      'EMPTY',
    );
  }
  if (readonly) {
    throw new StoreError(
      `${path} has schema version ${seen.version}; this agentloupe uses ${SCHEMA_VERSION}. Run \`agentloupe migrate --db ${path}\` (or any instrumented agent) once to upgrade it.`,
      'NOT_MIGRATED',
    );
  }
  const migrate = db.transaction(() => {
    const state = fileState(db);
    checkState(state, path);
    for (const m of MIGRATIONS) {
      if (m.version <= state.version) continue;
      for (const sql of m.statements(state.version === 0 && state.documentedExists)) db.exec(sql);
      db.pragma(`user_version = ${m.version}`);
    }
  });
  migrate.immediate();
}
