import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DEFAULT_DB_PATH, openDatabase, StoreError, type SqliteDatabase } from '../store/database.js';
import { MonitoringStore } from '../store/reader.js';

/** Options every read command takes. */
export interface ReadOptions {
  db?: string;
  json?: boolean;
}

/** A command that could not do what was asked (exit code 1); the message says what to do. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** A problem with the command line: exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * The database a command reads: --db, else AGENTLOUPE_DB, else the nearest
 * `.agentloupe/monitoring.db` walking up from the current directory (as git finds `.git`),
 * else the default path here (which then does not exist, and the command says so).
 */
export function resolveDbPath(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  if (explicit) return resolve(cwd, explicit);
  if (env.AGENTLOUPE_DB && env.AGENTLOUPE_DB.trim() !== '') return resolve(cwd, env.AGENTLOUPE_DB);
  let dir = resolve(cwd);
  for (;;) {
    const candidate = join(dir, DEFAULT_DB_PATH);
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return resolve(cwd, DEFAULT_DB_PATH);
}

export function openStore(options: ReadOptions): MonitoringStore {
  return MonitoringStore.open(resolveDbPath(options.db), { readonly: true });
}

export function withStore<T>(options: ReadOptions, fn: (store: MonitoringStore) => T): T {
  const store = openStore(options);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

/** withStore for commands that stream: the store stays open until `fn` settles. */
export async function withStoreAsync<T>(options: ReadOptions, fn: (store: MonitoringStore) => Promise<T>): Promise<T> {
  const store = openStore(options);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

/**
 * A writable connection for the maintenance commands (prune, vacuum, migrate). Opening for write
 * migrates an older file. A missing file is an error here: maintenance never creates a database.
 */
export function withWritableDb<T>(options: { db?: string }, fn: (db: SqliteDatabase, path: string) => T): T {
  const path = resolveDbPath(options.db);
  if (!existsSync(path)) {
    throw new StoreError(`no agentloupe database at ${path}. Pass --db PATH or set AGENTLOUPE_DB.`, 'NOT_FOUND');
  }
  const db = openDatabase(path, { readonly: false });
  try {
    return fn(db, path);
  } finally {
    db.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/**
 * A point in time as epoch seconds: a duration back from now (30m, 24h, 7d, 2w), a date or
 * date-time (2026-11-01, 2026-11-01T12:00:00Z), or epoch seconds.
 */
export function parseTime(text: string, now = Date.now()): number {
  const t = text.trim();
  const rel = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(t);
  if (rel) return Math.floor(now / 1000 - Number(rel[1]) * UNITS[rel[2]!.toLowerCase()]!);
  if (/^\d{9,11}$/.test(t)) return Number(t);
  const ms = Date.parse(t);
  if (!Number.isNaN(ms)) return Math.floor(ms / 1000);
  throw new UsageError(`cannot read "${text}" as a time: use a duration back from now (30m, 24h, 7d), a date (2026-11-01) or epoch seconds`);
}

/** A duration in seconds: 30d, 12h, 90m. */
/** --since / --until as epoch seconds, refusing a range that ends before it starts. */
export function parseRange(opts: { since?: string; until?: string }, now = Date.now()): { since?: number; until?: number } {
  const since = opts.since !== undefined ? parseTime(opts.since, now) : undefined;
  const until = opts.until !== undefined ? parseTime(opts.until, now) : undefined;
  if (since !== undefined && until !== undefined && until < since) {
    throw new UsageError(`--until (${opts.until}) is before --since (${opts.since}); swap them`);
  }
  return { since, until };
}

export function parseDuration(text: string): number {
  const rel = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(text.trim());
  if (!rel) throw new UsageError(`cannot read "${text}" as a duration: use a number and a unit, like 30d, 12h or 90m`);
  return Number(rel[1]) * UNITS[rel[2]!.toLowerCase()]!;
}

/**
 * A count given on the command line. `zero` says what 0 means where 0 is allowed (`sql --limit 0`:
 * every row); elsewhere the count must be positive.
 */
export function parseLimit(text: string, flag = '--limit', options: { zero?: string } = {}): number {
  const n = Number(text.trim() === '' ? NaN : text);
  const min = options.zero !== undefined ? 0 : 1;
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(
      options.zero !== undefined
        ? `${flag} must be a whole number, 0 or more (0: ${options.zero}), got "${text}"`
        : `${flag} must be a positive whole number (1, 2, 3 ...), got "${text}"`,
    );
  }
  return n;
}
