/**
 * Trace search over the `spans` table: what a Jaeger-style query API needs (services,
 * operations, trace search, service dependencies). Read-only; whole traces are read back with
 * MonitoringStore.getTrace.
 */
import * as A from '../semconv.js';
import { SPAN_KIND_NAMES } from '../spans/span-data.js';
import type { SqliteDatabase } from './database.js';

export interface TraceSearch {
  service?: string;
  operation?: string;
  /**
   * Tags that must all hold on one span: span attributes or resource attributes, plus the tags
   * Jaeger derives from span fields (`error`, `span.kind`, `otel.status_code`, `otel.scope.name`).
   */
  tags?: Readonly<Record<string, string>>;
  /** Span start bounds, ns since the epoch, inclusive. */
  startMinNs?: bigint;
  startMaxNs?: bigint;
  /** Span duration bounds, ns, inclusive. */
  durationMinNs?: bigint;
  durationMaxNs?: bigint;
  /** Traces returned, newest first (by their latest matching span). */
  limit: number;
}

export interface OperationRecord {
  name: string;
  /** OTel API SpanKind: 0 INTERNAL, 1 SERVER, 2 CLIENT, 3 PRODUCER, 4 CONSUMER. */
  kind: number;
}

export interface DependencyRecord {
  parent: string;
  child: string;
  callCount: number;
}

/** Hard cap on traces per search, whatever the caller asks: each trace is read back whole. */
export const MAX_TRACES_PER_SEARCH = 1000;

const STATUS_CODES: Record<string, number> = { UNSET: 0, OK: 1, ERROR: 2 };

/** A SQLite JSON path for one top-level key (keys contain dots, so the key is quoted: `$."a.b.c"`). */
function jsonPath(key: string): string | undefined {
  // A double quote cannot be escaped inside a SQLite JSON path label; such a key matches nothing.
  return key.includes('"') ? undefined : `$."${key}"`;
}

/** `col` (a JSON object column) has `key` equal to `value`, compared as Jaeger compares tags: as text. */
function jsonTagCondition(col: 'attributes' | 'resource', path: string, value: string, params: unknown[]): string {
  params.push(path, path, value, path, path, value, path, value);
  return `((json_type(s.${col}, ?) = 'text' AND json_extract(s.${col}, ?) = ?)
    OR (json_type(s.${col}, ?) IN ('integer', 'real') AND CAST(json_extract(s.${col}, ?) AS TEXT) = ?)
    OR json_type(s.${col}, ?) = ?)`;
}

function tagCondition(key: string, value: string, params: unknown[]): string {
  switch (key) {
    case A.JAEGER_TAG_ERROR:
      return value === 'true' ? 's.status_code = 2' : value === 'false' ? 's.status_code <> 2' : '0';
    case A.JAEGER_TAG_SPAN_KIND: {
      const kind = (SPAN_KIND_NAMES as readonly string[]).indexOf(value.toUpperCase());
      if (kind < 0) return '0';
      params.push(kind);
      return 's.kind = ?';
    }
    case A.JAEGER_TAG_STATUS_CODE: {
      const code = STATUS_CODES[value.toUpperCase()];
      if (code === undefined) return '0';
      params.push(code);
      return 's.status_code = ?';
    }
    case A.JAEGER_TAG_SCOPE_NAME:
      params.push(value);
      return 's.scope_name = ?';
    case A.SERVICE_NAME:
      params.push(value);
      return 's.service_name = ?';
    default: {
      const path = jsonPath(key);
      if (path === undefined) return '0';
      return `(${jsonTagCondition('attributes', path, value, params)} OR ${jsonTagCondition('resource', path, value, params)})`;
    }
  }
}

export class TraceQueries {
  constructor(private readonly db: SqliteDatabase) {}

  /** Service names that have spans, sorted. */
  services(): string[] {
    const rows = this.db
      .prepare('SELECT DISTINCT service_name AS s FROM spans WHERE service_name IS NOT NULL ORDER BY 1')
      .all() as { s: string }[];
    return rows.map((r) => r.s);
  }

  /** Distinct span names (with their kinds) of one service, or of all services. */
  operations(service?: string, kind?: number): OperationRecord[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (service !== undefined) (where.push('service_name = ?'), params.push(service));
    if (kind !== undefined) (where.push('kind = ?'), params.push(kind));
    return this.db
      .prepare(`SELECT DISTINCT name, kind FROM spans${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY name, kind`)
      .all(...params) as OperationRecord[];
  }

  /** Trace ids with at least one span matching every condition, newest first. */
  findTraceIds(q: TraceSearch): string[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.service !== undefined) (where.push('s.service_name = ?'), params.push(q.service));
    if (q.operation !== undefined) (where.push('s.name = ?'), params.push(q.operation));
    if (q.startMinNs !== undefined) (where.push('s.start_ns >= ?'), params.push(q.startMinNs));
    if (q.startMaxNs !== undefined) (where.push('s.start_ns <= ?'), params.push(q.startMaxNs));
    if (q.durationMinNs !== undefined) (where.push('s.duration_ns >= ?'), params.push(q.durationMinNs));
    if (q.durationMaxNs !== undefined) (where.push('s.duration_ns <= ?'), params.push(q.durationMaxNs));
    for (const [key, value] of Object.entries(q.tags ?? {})) where.push(tagCondition(key, value, params));
    const limit = Math.min(MAX_TRACES_PER_SEARCH, Math.max(1, Math.floor(q.limit)));
    params.push(limit);
    const rows = this.db
      .prepare(
        `SELECT s.trace_id AS t, MAX(s.start_ns) AS latest FROM spans s
         ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         GROUP BY s.trace_id ORDER BY latest DESC, s.trace_id LIMIT ?`,
      )
      .all(...params) as { t: string }[];
    return rows.map((r) => r.t);
  }

  /** Calls from one service to another: child spans whose parent span belongs to a different service. */
  dependencies(startNs: bigint, endNs: bigint): DependencyRecord[] {
    return this.db
      .prepare(
        `SELECT p.service_name AS parent, c.service_name AS child, COUNT(*) AS callCount
         FROM spans c JOIN spans p ON p.trace_seq = c.trace_seq AND p.span_id = c.parent_span_id
         WHERE c.start_ns >= ? AND c.start_ns <= ? AND p.service_name IS NOT NULL AND c.service_name IS NOT NULL
           AND p.service_name <> c.service_name
         GROUP BY 1, 2 ORDER BY 1, 2`,
      )
      .all(startNs, endNs) as DependencyRecord[];
  }
}
