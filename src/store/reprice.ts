/**
 * Prices stored model calls again from the current price table, for example after a price file
 * added a model that was unpriced when its calls were recorded.
 *
 * Everything that holds a call's cost moves together, in one transaction: `telemetry.estimated_cost`,
 * the `telemetry_calls.unpriced` flag, and the cost attributes of the call's row in `spans`. The
 * hourly rollup (`telemetry_hourly`: cost and unpriced counts) follows through its triggers.
 * `agent_usage` holds no cost, so it has nothing to change.
 */
import { AGENTLOUPE_COST_UNPRICED, AGENTLOUPE_COST_USD } from '../semconv.js';
import type { Pricing } from '../telemetry/pricing-port.js';
import type { SqliteDatabase } from './database.js';
import { traceSeqOf } from './schema.js';

export interface RepriceOptions {
  /** Only models whose name starts with this. */
  modelPrefix?: string;
  /** Only calls at or after this time (epoch seconds). */
  since?: number;
  /** Only calls stored as unpriced: a cost recorded some other way (a hook, a coding agent) stays. */
  unpricedOnly?: boolean;
  /** Count what would change and change nothing. */
  dryRun?: boolean;
}

export interface RepriceModelChange {
  model: string | null;
  /** Calls whose cost changed (newly priced ones included). */
  calls: number;
  /** Calls that were unpriced and now have a price. */
  nowPriced: number;
  costBefore: number;
  costAfter: number;
}

export interface RepriceResult {
  dryRun: boolean;
  /** Model calls that matched the filters. */
  examined: number;
  /** Of those, calls the table still has no price for: left as they are. */
  stillUnpriced: number;
  changed: number;
  nowPriced: number;
  costBefore: number;
  costAfter: number;
  byModel: RepriceModelChange[];
}

interface CallRow {
  id: number;
  model: string | null;
  engineId: string | null;
  input: number;
  output: number;
  cacheRead: number;
  cacheCreation: number;
  total: number;
  reasoning: number;
  cost: number;
  unpriced: number;
  traceId: string | null;
  spanId: string | null;
}

/** Costs closer than this are the same cost (float noise from summing prices). */
const SAME_COST = 1e-12;

export function reprice(db: SqliteDatabase, pricing: Pricing, options: RepriceOptions = {}): RepriceResult {
  const where = ['t.tool_name IS NULL', '(t.model IS NOT NULL OR t.engine_id IS NOT NULL)'];
  const params: (string | number)[] = [];
  if (options.modelPrefix !== undefined) {
    where.push("t.model LIKE ? ESCAPE '\\'");
    params.push(`${options.modelPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  }
  if (options.since !== undefined) {
    where.push('t.timestamp >= ?');
    params.push(options.since);
  }
  if (options.unpricedOnly) where.push('c.unpriced = 1');
  const select = db.prepare(
    `SELECT t.id, t.model, t.engine_id AS engineId, t.input_tokens AS input, t.output_tokens AS output,
            t.cache_read_tokens AS cacheRead, t.cache_creation_tokens AS cacheCreation, t.total_tokens AS total,
            COALESCE(c.reasoning_tokens, 0) AS reasoning, t.estimated_cost AS cost, COALESCE(c.unpriced, 0) AS unpriced,
            c.trace_id AS traceId, c.span_id AS spanId
       FROM telemetry t LEFT JOIN telemetry_calls c ON c.telemetry_id = t.id
      WHERE ${where.join(' AND ')}
      ORDER BY t.id`,
  );
  const setCost = db.prepare('UPDATE telemetry SET estimated_cost = ? WHERE id = ?');
  const setPriced = db.prepare('UPDATE telemetry_calls SET unpriced = 0 WHERE telemetry_id = ? AND unpriced = 1');
  const unpricedPath = `$."${AGENTLOUPE_COST_UNPRICED}"`;
  const costPath = `$."${AGENTLOUPE_COST_USD}"`;
  const setSpan = db.prepare(
    `UPDATE spans SET attributes = json_set(json_remove(attributes, '${unpricedPath}'), '${costPath}', ?)
      WHERE trace_seq = ${traceSeqOf('?')} AND span_id = ? AND json_valid(attributes)`,
  );

  const run = (): RepriceResult => {
    const result: RepriceResult = { dryRun: options.dryRun === true, examined: 0, stillUnpriced: 0, changed: 0, nowPriced: 0, costBefore: 0, costAfter: 0, byModel: [] };
    const byModel = new Map<string | null, RepriceModelChange>();
    // SQLite cannot write on a connection while a statement reads: collect, then write.
    const writes: { id: number; cost: number; wasUnpriced: boolean; traceId: string | null; spanId: string | null }[] = [];
    for (const row of select.iterate(...params) as IterableIterator<CallRow>) {
      result.examined++;
      const priced = pricing.cost(
        { inputTokens: row.input, outputTokens: row.output, cacheReadTokens: row.cacheRead, cacheCreationTokens: row.cacheCreation, reasoningTokens: row.reasoning, totalTokens: row.total },
        { model: row.model ?? undefined, engineId: row.engineId ?? undefined },
      );
      // No price now: a call is never made unpriced, nor a cost recorded some other way dropped.
      if (!priced.priced) {
        if (row.unpriced === 1) result.stillUnpriced++;
        continue;
      }
      const wasUnpriced = row.unpriced === 1;
      if (!wasUnpriced && Math.abs(priced.costUsd - row.cost) <= SAME_COST) continue;
      const m = byModel.get(row.model) ?? { model: row.model, calls: 0, nowPriced: 0, costBefore: 0, costAfter: 0 };
      byModel.set(row.model, m);
      m.calls++;
      m.costBefore += row.cost;
      m.costAfter += priced.costUsd;
      if (wasUnpriced) m.nowPriced++;
      if (!options.dryRun) writes.push({ id: row.id, cost: priced.costUsd, wasUnpriced, traceId: row.traceId, spanId: row.spanId });
    }
    for (const w of writes) {
      setCost.run(w.cost, w.id);
      if (w.wasUnpriced) setPriced.run(w.id);
      if (w.traceId !== null && w.spanId !== null) setSpan.run(w.cost, w.traceId, w.spanId);
    }
    result.byModel = [...byModel.values()].sort((a, b) => b.calls - a.calls || String(a.model).localeCompare(String(b.model)));
    for (const m of result.byModel) {
      result.changed += m.calls;
      result.nowPriced += m.nowPriced;
      result.costBefore += m.costBefore;
      result.costAfter += m.costAfter;
    }
    return result;
  };
  // A dry run reads only; a real one holds the write lock from its first read to its commit, so the
  // rows it prices are the rows it changes.
  return options.dryRun ? run() : db.transaction(run).immediate();
}
