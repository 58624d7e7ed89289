/**
 * The spans a RED-metrics query needs (Jaeger's Monitor tab: latencies, call rates, error
 * rates per service and operation): one narrow row per span, read in start order from the
 * `spans` table. The aggregation over time buckets is done by the caller; this is the read.
 */
import type { SqliteDatabase } from './database.js';

export interface SpanSampleQuery {
  services: readonly string[];
  /** OTel API SpanKind numbers (0 INTERNAL, 1 SERVER, ...); empty means every kind. */
  kinds: readonly number[];
  /** Span start bounds, ns since the epoch: startNs > fromNs and startNs <= toNs. */
  fromNs: bigint;
  toNs: bigint;
  /** Most rows read; a query that would read more fails with SpanSampleLimitError. */
  maxRows: number;
}

export interface SpanSample {
  service: string;
  operation: string;
  startNs: bigint;
  durationNs: bigint;
  error: boolean;
}

export class SpanSampleLimitError extends Error {
  constructor(readonly maxRows: number) {
    super(`the query covers more than ${maxRows} spans; ask for a shorter lookback or fewer services`);
    this.name = 'SpanSampleLimitError';
  }
}

export class SpanRateQueries {
  constructor(private readonly db: SqliteDatabase) {}

  /** Spans of the given services and kinds that started in (fromNs, toNs], oldest first. */
  samples(q: SpanSampleQuery): SpanSample[] {
    if (q.services.length === 0) return [];
    const params: unknown[] = [...q.services];
    let where = `service_name IN (${q.services.map(() => '?').join(', ')}) AND start_ns > ? AND start_ns <= ?`;
    params.push(q.fromNs, q.toNs);
    if (q.kinds.length > 0) {
      where += ` AND kind IN (${q.kinds.map(() => '?').join(', ')})`;
      params.push(...q.kinds);
    }
    params.push(q.maxRows + 1);
    const rows = this.db
      .prepare(`SELECT service_name AS service, name AS operation, start_ns AS startNs, duration_ns AS durationNs, status_code = 2 AS error
        FROM spans WHERE ${where} ORDER BY start_ns LIMIT ?`)
      .safeIntegers(true)
      .all(...params) as { service: string; operation: string; startNs: bigint; durationNs: bigint; error: bigint }[];
    if (rows.length > q.maxRows) throw new SpanSampleLimitError(q.maxRows);
    return rows.map((r) => ({ service: r.service, operation: r.operation, startNs: r.startNs, durationNs: r.durationNs, error: r.error === 1n }));
  }
}
