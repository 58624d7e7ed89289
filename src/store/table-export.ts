import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

/**
 * Row streams for `agentloupe export` and `agentloupe sql`: statements run with `.iterate()` so a
 * table of millions of rows is never held in memory, and with safe integers so nanosecond span
 * times stay exact.
 */

/** A table asked for that the database does not have; the message lists the ones it has. */
export class UnknownTableError extends Error {
  constructor(readonly table: string, readonly available: string[]) {
    super(`no table "${table}" in this database; export one of: ${available.join(', ')}`);
    this.name = 'UnknownTableError';
  }
}

/** SQL that would change the database, given to the read-only query command. */
export class ReadOnlyQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReadOnlyQueryError';
  }
}

/** The time column of each exportable table and its unit, for --since / --until. */
const TIME_COLUMNS: Record<string, { column: string; unit: 's' | 'ms' | 'ns' }> = {
  agents: { column: 'start_time', unit: 's' },
  telemetry: { column: 'timestamp', unit: 's' },
  agent_usage: { column: 'last_used_at', unit: 's' },
  spans: { column: 'start_ns', unit: 'ns' },
  health_checks: { column: 'time_ms', unit: 'ms' },
  worker_heartbeats: { column: 'last_heartbeat_ms', unit: 'ms' },
  alerts: { column: 'time_ms', unit: 'ms' },
};

/** Preferred export order; other tables (health, ...) follow alphabetically. */
const ORDER: Record<string, string> = {
  agents: 'start_time, id',
  telemetry: 'id',
  agent_usage: 'agent_id',
  agent_runs: 'agent_id',
  telemetry_calls: 'telemetry_id',
  spans: 'start_ns, trace_id, span_id',
  health_checks: 'time_ms, id',
  worker_heartbeats: 'worker_id',
  alerts: 'time_ms, id',
};

export type RowValue = string | number | bigint | null | Buffer;

export interface RowStream {
  columns: string[];
  rows: IterableIterator<RowValue[]>;
}

/** User tables of the database (not SQLite's own), sorted. */
export function exportableTables(db: SqliteDatabase): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map(
    (r) => r.name,
  );
}

/** Whether --since/--until can filter this table. */
export function timeFilterable(table: string): boolean {
  return table in TIME_COLUMNS;
}

/** Streams a whole table (optionally a time range, at most `limit` rows), in a stable order. */
export function iterateTable(db: SqliteDatabase, table: string, options: { since?: number; until?: number; limit?: number } = {}): RowStream {
  const available = exportableTables(db);
  if (!available.includes(table)) throw new UnknownTableError(table, available);
  const where: string[] = [];
  const params: (number | bigint)[] = [];
  const time = TIME_COLUMNS[table];
  if (time && (options.since !== undefined || options.until !== undefined)) {
    const at = (s: number): number | bigint => (time.unit === 'ns' ? BigInt(Math.floor(s)) * 1_000_000_000n : time.unit === 'ms' ? s * 1000 : s);
    if (options.since !== undefined) (where.push(`"${time.column}" >= ?`), params.push(at(options.since)));
    if (options.until !== undefined) (where.push(`"${time.column}" <= ?`), params.push(at(options.until)));
  }
  // The name was checked against sqlite_master above, so quoting it is enough.
  const sql = `SELECT * FROM "${table}"${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${ORDER[table] ?? 'rowid'}${
    options.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(options.limit))}` : ''
  }`;
  let stmt: Statement;
  try {
    stmt = db.prepare(sql);
  } catch {
    // WITHOUT ROWID tables outside the known list have no rowid to order by.
    stmt = db.prepare(sql.replace(/ ORDER BY rowid/, ''));
  }
  return stream(stmt, params);
}

/**
 * Runs one read-only statement. The connection should itself be read-only; `stmt.readonly` is
 * checked too so that a write is refused with a clear message before SQLite is asked.
 */
export function readOnlyQuery(db: SqliteDatabase, sql: string, params: unknown[] = []): RowStream {
  let stmt: Statement;
  try {
    stmt = db.prepare(sql);
  } catch (err) {
    const message = (err as Error).message;
    if (/more than one statement/i.test(message)) throw new ReadOnlyQueryError('give one SQL statement at a time');
    throw new ReadOnlyQueryError(`SQL error: ${message}`);
  }
  if (!stmt.readonly) {
    throw new ReadOnlyQueryError(
      'refused: this statement would change the database, and `agentloupe sql` only runs read-only queries (the file is opened read-only). To delete old data use `agentloupe prune`; to change data, use the sqlite3 shell.',
    );
  }
  if (!stmt.reader) return { columns: [], rows: [][Symbol.iterator]() };
  return stream(stmt, params);
}

function stream(stmt: Statement, params: unknown[]): RowStream {
  stmt.safeIntegers(true).raw(true);
  const columns = stmt.columns().map((c) => c.name);
  const it = stmt.iterate(...params) as IterableIterator<RowValue[]>;
  return { columns, rows: it };
}
