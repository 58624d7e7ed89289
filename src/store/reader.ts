import { defaultDbPath, openDatabase, type SqliteDatabase } from './database.js';
import type { AgentRow, AgentStatus } from '../spans/rows.js';
import { splitRange, type RollupSplit } from './rollup.js';
import { traceSeqOf } from './schema.js';
import { GEN_AI_INPUT_MESSAGES, GEN_AI_OUTPUT_MESSAGES } from '../semconv.js';

/** A requested agent that is not in the database. */
export class AgentNotFoundError extends Error {
  constructor(readonly agentId: string) {
    super(`no agent with id "${agentId}" in this database (list them with: agentloupe agents)`);
    this.name = 'AgentNotFoundError';
  }
}

/** An agent run as read back: the `agents` row with its `agent_runs` details. */
export interface AgentRecord extends Omit<AgentRow, 'startNs' | 'endNs'> {
  /** Exact when the span times are known, else from the second-resolution columns; null while running. */
  durationMs: number | null;
}

export interface TelemetryEntry {
  id: number;
  agentId: string;
  timestamp: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
  totalTokens: number;
  estimatedCost: number;
  model: string | null;
  provider: string | null;
  toolName: string | null;
  toolArgs: string | null;
  toolApproved: boolean | null;
  toolApprovalType: string | null;
  engineId: string | null;
  unpriced: boolean;
  reasoningTokens: number;
  durationMs: number | null;
  partial: boolean;
  traceId: string | null;
  spanId: string | null;
}

export interface TokenTotals {
  input: number;
  output: number;
  total: number;
  cacheRead: number;
  cacheCreation: number;
  reasoning: number;
}

export type SummaryGroup = 'model' | 'provider' | 'agent' | 'type' | 'plan' | 'day';

export const SUMMARY_GROUPS: readonly SummaryGroup[] = ['model', 'provider', 'agent', 'type', 'plan', 'day'];

export interface SummaryRow {
  key: string | null;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  totalTokens: number;
  costUsd: number;
  /** Calls whose model had no known price; their cost is not in costUsd. */
  unpricedCalls: number;
}

export interface AgentFilter {
  status?: AgentStatus | AgentStatus[];
  type?: string;
  plan?: string;
  parent?: string;
  /** Epoch seconds, inclusive. */
  since?: number;
  until?: number;
  limit?: number;
  /** Newest first by default. */
  order?: 'newest' | 'oldest' | 'duration';
}

/** Finished runs up to which `stats` computes duration percentiles over every run. */
export const DURATION_SAMPLE_SIZE = 5_000;

export interface TimeRange {
  since?: number;
  until?: number;
}

export interface StatsSummary {
  agents: { total: number; byStatus: Record<string, number>; byType: { type: string; count: number }[]; failureRate: number | null };
  /**
   * Nearest-rank percentiles of finished runs' durations. Over more than DURATION_SAMPLE_SIZE
   * finished runs they come from a fixed sample of about that many, and `sampleSize` says how many.
   */
  durationMs: { p50: number | null; p95: number | null; p99: number | null; sampleSize?: number };
  tokens: TokenTotals;
  cost: { totalUsd: number; unpricedCalls: number; pricedCalls: number };
  toolCalls: number;
  topModels: { model: string; calls: number; totalTokens: number; costUsd: number; unpricedCalls: number }[];
  /** How many models were called in the range (topModels lists at most 5 of them). */
  modelCount: number;
  recent: AgentRecord[];
}

export interface TreeNode {
  agent: AgentRecord;
  /** This agent's own model calls and tokens. */
  own: { calls: number; tokens: number; costUsd: number; unpricedCalls: number };
  /** This agent and everything under it. */
  subtree: { agents: number; tokens: number; costUsd: number; unpricedCalls: number };
  children: TreeNode[];
}

export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  durationNs: bigint;
  statusCode: number;
  statusMessage: string | null;
  serviceName: string | null;
  scopeName: string | null;
  agentId: string | null;
  attributes: Record<string, unknown>;
  events: { name: string; timeUnixNano: string; attributes: Record<string, unknown> }[];
  links: { traceId: string; spanId: string; attributes: Record<string, unknown> }[];
  resource: Record<string, unknown>;
}

/** Tool calls of one tool name, with how they were approved. */
/** One model call's captured content (see getCallContents). */
export interface CallContent {
  spanId: string;
  name: string;
  startNs: bigint;
  /** `gen_ai.input.messages` JSON text, if captured. */
  input: string | null;
  /** `gen_ai.output.messages` JSON text, if captured. */
  output: string | null;
}

export interface ToolStatsRow {
  tool: string;
  calls: number;
  approved: number;
  denied: number;
  /** Calls recorded without an approval decision. */
  unrecorded: number;
  /** Calls per approval type (user, auto, policy, ...); "(none)" when no type was recorded. */
  byApprovalType: Record<string, number>;
  agents: number;
  /** Mean of the calls whose duration is known. */
  avgDurationMs: number | null;
  /** Epoch seconds of the latest call. */
  lastCall: number;
}

/** One plan: its agents, how they ended, how long it ran, what it used. */
export interface PlanSummary {
  planId: string;
  agents: number;
  byStatus: Record<AgentStatus, number>;
  /** running while any agent is still starting or running, failed when any failed or was terminated, else completed. */
  status: 'running' | 'failed' | 'completed';
  /** Epoch seconds of the first agent start and the last agent end (null while running). */
  startTime: number;
  endTime: number | null;
  durationMs: number | null;
  modelCalls: number;
  toolCalls: number;
  totalTokens: number;
  costUsd: number;
  unpricedCalls: number;
}

export interface ListRange extends TimeRange {
  limit?: number;
}

export const AGENT_COLUMNS = `a.id, a.parent_id, a.plan_id, a.agent_type, a.status, a.process_id, a.start_time, a.end_time, a.exit_code,
  a.error_message, a.log_file, r.name, r.category, r.trace_id, r.span_id, r.service_name, r.start_ns, r.end_ns`;
export const AGENT_FROM = 'agents a LEFT JOIN agent_runs r ON r.agent_id = a.id';

interface AgentSqlRow {
  id: string;
  parent_id: string | null;
  plan_id: string | null;
  agent_type: string;
  status: AgentStatus;
  process_id: number | null;
  start_time: number;
  end_time: number | null;
  exit_code: number | null;
  error_message: string | null;
  log_file: string | null;
  name: string | null;
  category: string | null;
  trace_id: string | null;
  span_id: string | null;
  service_name: string | null;
  start_ns: bigint | null;
  end_ns: bigint | null;
}

function toAgent(r: AgentSqlRow): AgentRecord {
  let durationMs: number | null = null;
  if (r.start_ns !== null && r.end_ns !== null) durationMs = Number(BigInt(r.end_ns) - BigInt(r.start_ns)) / 1e6;
  else if (r.end_time !== null) durationMs = (r.end_time - r.start_time) * 1000;
  return {
    id: r.id,
    parentId: r.parent_id,
    planId: r.plan_id,
    agentType: r.agent_type,
    status: r.status,
    processId: r.process_id,
    startTime: r.start_time,
    endTime: r.end_time,
    exitCode: r.exit_code,
    errorMessage: r.error_message,
    logFile: r.log_file,
    name: r.name ?? r.agent_type,
    category: r.category,
    traceId: r.trace_id,
    spanId: r.span_id,
    serviceName: r.service_name,
    durationMs,
  };
}

const SUMMARY_KEYS: Record<SummaryGroup, { select: string; join: string }> = {
  model: { select: 't.model', join: '' },
  provider: { select: 't.provider', join: '' },
  agent: { select: 'COALESCE(r.name, a.agent_type)', join: 'JOIN agents a ON a.id = t.agent_id LEFT JOIN agent_runs r ON r.agent_id = a.id' },
  type: { select: 'a.agent_type', join: 'JOIN agents a ON a.id = t.agent_id' },
  plan: { select: 'a.plan_id', join: 'JOIN agents a ON a.id = t.agent_id' },
  day: { select: "strftime('%Y-%m-%d', t.timestamp, 'unixepoch')", join: '' },
};

const MODEL_ROWS = 't.tool_name IS NULL';

/** A group key as SQLite returns it: text, a number (day numbers), or NULL. */
type SummaryKey = string | number | null;

type RawSummaryRow = Omit<SummaryRow, 'key'> & { key: SummaryKey };

/** Rollup columns per summary group (day: UTC day number, as telemetry.timestamp / 86400). */
const ROLLUP_KEYS: Record<SummaryGroup, string> = {
  model: 'model',
  provider: 'provider',
  agent: 'agent_name',
  type: 'agent_type',
  plan: 'plan_id',
  day: 'hour / 24',
};

/** One model (or the tool-call group) in `stats`. */
interface ModelGroup {
  model: SummaryKey;
  tool: number;
  calls: number;
  input: number;
  output: number;
  total: number;
  cacheRead: number;
  cacheCreation: number;
  cost: number;
  reasoning: number;
  unpriced: number;
}

function hourWhere(hours: NonNullable<RollupSplit['hours']>, where: string[]): { where: string[]; params: number[] } {
  const params: number[] = [];
  if (hours.from !== undefined) (where.push('hour >= ?'), params.push(hours.from));
  if (hours.to !== undefined) (where.push('hour <= ?'), params.push(hours.to));
  return { where, params };
}

/** SQLite's ORDER BY for group keys: NULL, then numbers, then text; so merged groups keep GROUP BY's order on ties. */
function compareKeys(a: SummaryKey, b: SummaryKey): number {
  const rank = (k: SummaryKey): number => (k === null ? 0 : typeof k === 'number' ? 1 : 2);
  const d = rank(a) - rank(b);
  if (d !== 0) return d;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return Buffer.compare(Buffer.from(String(a)), Buffer.from(String(b)));
}

/**
 * Read queries over an agentloupe database (the seed's MonitoringService and TelemetryTracking
 * reads). Opens read-only by default so it can run beside a live writer.
 */
/** An agent run's telemetry rows with their call details, oldest first. */
const AGENT_TELEMETRY = `SELECT t.*, c.unpriced, c.reasoning_tokens, c.duration_ms, c.partial, c.trace_id, c.span_id
  FROM telemetry t LEFT JOIN telemetry_calls c ON c.telemetry_id = t.id WHERE t.agent_id = ? ORDER BY t.timestamp, t.id`;

export class MonitoringStore {
  readonly db: SqliteDatabase;

  constructor(db: SqliteDatabase) {
    this.db = db;
    db.defaultSafeIntegers(false);
  }

  static open(path: string = defaultDbPath(), options: { readonly?: boolean } = {}): MonitoringStore {
    return new MonitoringStore(openDatabase(path, { readonly: options.readonly ?? true }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  getAgent(id: string): AgentRecord {
    const row = this.db.prepare(`SELECT ${AGENT_COLUMNS} FROM ${AGENT_FROM} WHERE a.id = ?`).safeIntegers(true).get(id) as AgentSqlRow | undefined;
    if (!row) throw new AgentNotFoundError(id);
    return toAgent(numberize(row));
  }

  findAgent(id: string): AgentRecord | undefined {
    try {
      return this.getAgent(id);
    } catch (err) {
      if (err instanceof AgentNotFoundError) return undefined;
      throw err;
    }
  }

  getChildren(id: string): AgentRecord[] {
    return this.agents(`SELECT ${AGENT_COLUMNS} FROM ${AGENT_FROM} WHERE a.parent_id = ? ORDER BY a.start_time, a.id`, [id]);
  }

  getPlanAgents(planId: string): AgentRecord[] {
    return this.agents(`SELECT ${AGENT_COLUMNS} FROM ${AGENT_FROM} WHERE a.plan_id = ? ORDER BY a.start_time, a.id`, [planId]);
  }

  listAgents(filter: AgentFilter = {}): AgentRecord[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.status !== undefined) {
      const statuses = Array.isArray(filter.status) ? filter.status : [filter.status];
      where.push(`a.status IN (${statuses.map(() => '?').join(', ')})`);
      params.push(...statuses);
    }
    if (filter.type !== undefined) (where.push('a.agent_type = ?'), params.push(filter.type));
    if (filter.plan !== undefined) (where.push('a.plan_id = ?'), params.push(filter.plan));
    if (filter.parent !== undefined) (where.push('a.parent_id = ?'), params.push(filter.parent));
    if (filter.since !== undefined) (where.push('a.start_time >= ?'), params.push(filter.since));
    if (filter.until !== undefined) (where.push('a.start_time <= ?'), params.push(filter.until));
    const order =
      filter.order === 'oldest'
        ? 'a.start_time ASC, a.rowid ASC'
        : filter.order === 'duration'
          ? 'COALESCE(a.end_time, a.start_time) - a.start_time DESC, a.rowid DESC'
          : 'a.start_time DESC, a.rowid DESC';
    const w = where.length ? ` WHERE ${where.join(' AND ')}` : '';
    if (filter.limit === undefined) return this.agents(`SELECT ${AGENT_COLUMNS} FROM ${AGENT_FROM}${w} ORDER BY ${order}`, params);
    // The page is picked over agents and its indexes, and only its rows joined to agent_runs:
    // joining first joined every match (2,000 running agents for the 50 newest: 6.7 ms, now 0.6).
    return this.agents(
      `SELECT ${AGENT_COLUMNS} FROM ${AGENT_FROM} WHERE a.rowid IN (SELECT a.rowid FROM agents a${w} ORDER BY ${order} LIMIT ${Math.max(0, Math.floor(filter.limit))}) ORDER BY ${order}`,
      params,
    );
  }

  getAgentTelemetry(agentId: string): TelemetryEntry[] {
    return (this.db.prepare(AGENT_TELEMETRY).all(agentId) as Record<string, unknown>[]).map(toTelemetry);
  }

  /**
   * One page of an agent run's telemetry in the same order as getAgentTelemetry, and how many
   * rows the run has: a coding agent's session can hold tens of thousands of requests.
   */
  getAgentTelemetryPage(agentId: string, offset: number, limit: number): { rows: TelemetryEntry[]; total: number } {
    const rows = this.db.prepare(`${AGENT_TELEMETRY} LIMIT ? OFFSET ?`).all(agentId, limit, offset) as Record<string, unknown>[];
    const { n } = this.db.prepare('SELECT COUNT(*) AS n FROM telemetry WHERE agent_id = ?').get(agentId) as { n: number };
    return { rows: rows.map(toTelemetry), total: n };
  }

  /** Input, output and total tokens of one agent run (the seed's get_total_tokens), with cache detail. */
  getTotalTokens(agentId: string): TokenTotals {
    const r = this.db
      .prepare(
        `SELECT COALESCE(SUM(t.input_tokens),0) AS input, COALESCE(SUM(t.output_tokens),0) AS output, COALESCE(SUM(t.total_tokens),0) AS total,
           COALESCE(SUM(t.cache_read_tokens),0) AS cacheRead, COALESCE(SUM(t.cache_creation_tokens),0) AS cacheCreation,
           COALESCE(SUM(c.reasoning_tokens),0) AS reasoning
         FROM telemetry t LEFT JOIN telemetry_calls c ON c.telemetry_id = t.id WHERE t.agent_id = ?`,
      )
      .get(agentId) as TokenTotals;
    return r;
  }

  getTotalCost(agentId: string): number {
    return (this.db.prepare('SELECT COALESCE(SUM(estimated_cost), 0) AS c FROM telemetry WHERE agent_id = ?').get(agentId) as { c: number }).c;
  }

  /**
   * Model-call totals grouped by model, provider, agent name, agent type, plan or UTC day.
   * Whole hours come from the rollup (telemetry_hourly), the partial hours at the ends of the
   * range from telemetry, so the result is what one GROUP BY over telemetry gives.
   */
  getTelemetrySummary(groupBy: SummaryGroup, range: TimeRange = {}): SummaryRow[] {
    const split = splitRange(range);
    const acc = new Map<SummaryKey, Omit<SummaryRow, 'key'>>();
    const add = (r: RawSummaryRow): void => {
      const a = acc.get(r.key);
      if (!a) {
        const { key: _key, ...sums } = r;
        acc.set(r.key, sums);
        return;
      }
      addSums(a, r);
    };
    // One read transaction: the rollup and the edges come from the same snapshot of a live file.
    this.db.transaction(() => {
      if (split.hours) for (const r of this.rollupSummary(groupBy, split.hours)) add(r);
      for (const part of split.raw) for (const r of this.rawSummary(groupBy, part)) add(r);
    })();
    const out: SummaryRow[] = [...acc]
      .sort(([a], [b]) => compareKeys(a, b))
      .map(([key, sums]) => ({
        key: groupBy === 'day' && key !== null ? new Date(Number(key) * 86_400_000).toISOString().slice(0, 10) : (key as string | null),
        ...sums,
      }));
    return groupBy === 'day' ? out : out.sort((a, b) => b.costUsd - a.costUsd || b.totalTokens - a.totalTokens);
  }

  /** Summary rows of whole hours, from the rollup. Day keys are day numbers (epoch days, UTC). */
  private rollupSummary(groupBy: SummaryGroup, hours: NonNullable<RollupSplit['hours']>): RawSummaryRow[] {
    const { where, params } = hourWhere(hours, ['tool = 0']);
    // X'' in agent_type marks calls whose agent is missing: the raw query's JOIN agents drops them.
    if (groupBy === 'agent' || groupBy === 'type' || groupBy === 'plan') where.push("agent_type IS NOT X''");
    const col = ROLLUP_KEYS[groupBy];
    const key = groupBy === 'day' ? col : `NULLIF(${col}, X'')`;
    return this.db
      .prepare(
        `SELECT ${key} AS key, SUM(calls) AS calls, SUM(input_tokens) AS inputTokens, SUM(output_tokens) AS outputTokens,
           SUM(cache_read_tokens) AS cacheReadTokens, SUM(cache_creation_tokens) AS cacheCreationTokens, SUM(total_tokens) AS totalTokens,
           SUM(cost) + SUM(cost_error) AS costUsd, SUM(unpriced_calls) AS unpricedCalls
         FROM telemetry_hourly WHERE ${where.join(' AND ')} GROUP BY ${col}`,
      )
      .all(...params) as RawSummaryRow[];
  }

  /** Summary rows straight from telemetry (the partial hours at the ends of a range). */
  private rawSummary(groupBy: SummaryGroup, range: TimeRange): RawSummaryRow[] {
    const key = SUMMARY_KEYS[groupBy];
    // Days group on integer division (cheap) and are spelled out once per group by the caller.
    const select = groupBy === 'day' ? 't.timestamp / 86400' : key.select;
    const where = [MODEL_ROWS];
    const params: unknown[] = [];
    if (range.since !== undefined) (where.push('t.timestamp >= ?'), params.push(range.since));
    if (range.until !== undefined) (where.push('t.timestamp <= ?'), params.push(range.until));
    const rows = this.db
      .prepare(
        `SELECT ${select} AS key, COUNT(*) AS calls, SUM(t.input_tokens) AS inputTokens, SUM(t.output_tokens) AS outputTokens,
           SUM(t.cache_read_tokens) AS cacheReadTokens, SUM(t.cache_creation_tokens) AS cacheCreationTokens,
           SUM(t.total_tokens) AS totalTokens, SUM(t.estimated_cost) AS costUsd
         FROM telemetry t ${key.join} WHERE ${where.join(' AND ')} GROUP BY 1`,
      )
      .all(...params) as Omit<RawSummaryRow, 'unpricedCalls'>[];
    // Unpriced calls are few: find them from telemetry_calls instead of joining every row.
    const unpriced = new Map<SummaryKey, number>();
    for (const r of this.db
      .prepare(
        `SELECT ${select} AS key, COUNT(*) AS n FROM telemetry_calls c JOIN telemetry t ON t.id = c.telemetry_id ${key.join}
         WHERE c.unpriced = 1 AND ${where.join(' AND ')} GROUP BY 1`,
      )
      .all(...params) as { key: SummaryKey; n: number }[]) {
      unpriced.set(r.key, r.n);
    }
    return rows.map((r) => ({ ...r, unpricedCalls: unpriced.get(r.key) ?? 0 }));
  }

  stats(options: { recent?: number } & TimeRange = {}): StatsSummary {
    const range: string[] = [];
    const params: unknown[] = [];
    if (options.since !== undefined) (range.push('start_time >= ?'), params.push(options.since));
    if (options.until !== undefined) (range.push('start_time <= ?'), params.push(options.until));
    const aw = range.length ? `WHERE ${range.join(' AND ')}` : '';
    const byStatusRows = this.db.prepare(`SELECT status, COUNT(*) AS n FROM agents ${aw} GROUP BY status`).all(...params) as { status: string; n: number }[];
    const byStatus: Record<string, number> = { starting: 0, running: 0, completed: 0, failed: 0, terminated: 0 };
    let total = 0;
    for (const r of byStatusRows) {
      byStatus[r.status] = r.n;
      total += r.n;
    }
    const byType = this.db
      .prepare(`SELECT agent_type AS type, COUNT(*) AS count FROM agents ${aw} GROUP BY agent_type ORDER BY count DESC, type LIMIT 20`)
      .all(...params) as { type: string; count: number }[];
    const finished = (byStatus.completed ?? 0) + (byStatus.failed ?? 0) + (byStatus.terminated ?? 0);
    const failureRate = finished === 0 ? null : ((byStatus.failed ?? 0) + (byStatus.terminated ?? 0)) / finished;

    // Per model and call kind (tool calls are the tool group): whole hours from the rollup, edges raw.
    const split = splitRange(options);
    const byGroup = new Map<string, ModelGroup>();
    const addGroup = (g: ModelGroup): void => {
      const k = JSON.stringify([g.tool, g.model]);
      const a = byGroup.get(k);
      if (!a) return void byGroup.set(k, { ...g });
      a.calls += g.calls;
      a.input += g.input;
      a.output += g.output;
      a.total += g.total;
      a.cacheRead += g.cacheRead;
      a.cacheCreation += g.cacheCreation;
      a.cost += g.cost;
      a.reasoning += g.reasoning;
      a.unpriced += g.unpriced;
    };
    this.db.transaction(() => {
      if (split.hours) {
        const { where, params: hp } = hourWhere(split.hours, ['true']);
        for (const g of this.db
          .prepare(
            `SELECT NULLIF(model, X'') AS model, tool, SUM(calls) AS calls, SUM(input_tokens) AS input, SUM(output_tokens) AS output,
               SUM(total_tokens) AS total, SUM(cache_read_tokens) AS cacheRead, SUM(cache_creation_tokens) AS cacheCreation,
               SUM(cost) + SUM(cost_error) AS cost, SUM(reasoning_tokens) AS reasoning, SUM(unpriced_calls) AS unpriced
             FROM telemetry_hourly WHERE ${where.join(' AND ')} GROUP BY model, tool`,
          )
          .all(...hp) as ModelGroup[]) {
          // Reasoning tokens and unpriced calls are counted for model calls only.
          addGroup(g.tool ? { ...g, reasoning: 0, unpriced: 0 } : g);
        }
      }
      for (const part of split.raw) for (const g of this.rawModelGroups(part)) addGroup(g);
    })();
    const groups = [...byGroup.values()].sort((a, b) => a.tool - b.tool || compareKeys(a.model, b.model));
    const tok = { input: 0, output: 0, total: 0, cacheRead: 0, cacheCreation: 0, reasoning: 0, cost: 0, unpriced: 0, modelCalls: 0, tools: 0 };
    for (const g of groups) {
      tok.input += g.input;
      tok.output += g.output;
      tok.total += g.total;
      tok.cacheRead += g.cacheRead;
      tok.cacheCreation += g.cacheCreation;
      tok.cost += g.cost;
      tok.reasoning += g.reasoning;
      tok.unpriced += g.unpriced;
      if (g.tool) tok.tools += g.calls;
      else tok.modelCalls += g.calls;
    }
    const models: StatsSummary['topModels'] = groups
      .filter((g) => !g.tool && g.model !== null)
      .map((g) => ({ model: g.model as string, calls: g.calls, totalTokens: g.total, costUsd: g.cost, unpricedCalls: g.unpriced }))
      .sort((a, b) => b.calls - a.calls || b.totalTokens - a.totalTokens);
    const topModels = models.slice(0, 5);
    const tokPriced = tok.modelCalls - tok.unpriced;
    return {
      agents: { total, byStatus, byType, failureRate },
      durationMs: this.durationPercentiles(options, finished),
      tokens: { input: tok.input, output: tok.output, total: tok.total, cacheRead: tok.cacheRead, cacheCreation: tok.cacheCreation, reasoning: tok.reasoning },
      cost: { totalUsd: tok.cost, unpricedCalls: tok.unpriced, pricedCalls: tokPriced },
      toolCalls: tok.tools,
      topModels,
      modelCount: models.length,
      recent: this.listAgents({ limit: options.recent ?? 10, since: options.since, until: options.until }),
    };
  }

  /** Per model and call kind, straight from telemetry (the partial hours at the ends of a range). */
  private rawModelGroups(range: TimeRange): ModelGroup[] {
    const tw: string[] = [];
    const tparams: unknown[] = [];
    if (range.since !== undefined) (tw.push('t.timestamp >= ?'), tparams.push(range.since));
    if (range.until !== undefined) (tw.push('t.timestamp <= ?'), tparams.push(range.until));
    const twAnd = tw.length ? `AND ${tw.join(' AND ')}` : '';
    const groups = this.db
      .prepare(
        `SELECT t.model AS model, t.tool_name IS NOT NULL AS tool, COUNT(*) AS calls,
           SUM(t.input_tokens) AS input, SUM(t.output_tokens) AS output, SUM(t.total_tokens) AS total,
           SUM(t.cache_read_tokens) AS cacheRead, SUM(t.cache_creation_tokens) AS cacheCreation, SUM(t.estimated_cost) AS cost
         FROM telemetry t WHERE 1 = 1 ${twAnd} GROUP BY 1, 2`,
      )
      .all(...tparams) as Omit<ModelGroup, 'reasoning' | 'unpriced'>[];
    // Reasoning tokens and unpriced calls live in telemetry_calls and are rare: visit only those rows.
    const extra = new Map(
      (
        this.db
          .prepare(
            `SELECT t.model AS model, SUM(c.reasoning_tokens) AS reasoning, SUM(c.unpriced) AS unpriced
             FROM telemetry_calls c JOIN telemetry t ON t.id = c.telemetry_id
             WHERE (c.reasoning_tokens > 0 OR c.unpriced = 1) AND t.tool_name IS NULL ${twAnd} GROUP BY 1`,
          )
          .all(...tparams) as { model: SummaryKey; reasoning: number; unpriced: number }[]
      ).map((e) => [e.model, e]),
    );
    return groups.map((g) => ({ ...g, reasoning: g.tool ? 0 : (extra.get(g.model)?.reasoning ?? 0), unpriced: g.tool ? 0 : (extra.get(g.model)?.unpriced ?? 0) }));
  }

  /** `finished`: runs with a final status in the range (the sample size follows from it). */
  private durationPercentiles(range: TimeRange, finished: number): StatsSummary['durationMs'] {
    const where = ['a.end_time IS NOT NULL'];
    const params: unknown[] = [];
    if (range.since !== undefined) (where.push('a.start_time >= ?'), params.push(range.since));
    if (range.until !== undefined) (where.push('a.start_time <= ?'), params.push(range.until));
    // Every run's duration is a lookup into agent_runs: ~45 ms of the ~70 ms this took at 100k
    // runs (bench/ui.bench.mjs), most of the UI overview. Past DURATION_SAMPLE_SIZE runs, a fixed
    // sample of about that many (~10 ms there): the rows whose rowid times the golden ratio falls
    // in the first 1/step of [0, 1) (Fibonacci hashing). Unlike rowid % step it does not alias
    // with periodic ids (a plan's k-th agent), and the same data always gives the same figures.
    const step = finished > DURATION_SAMPLE_SIZE ? finished / DURATION_SAMPLE_SIZE : 1;
    if (step > 1) (where.push('(a.rowid * 2654435769) % 4294967296 < ?'), params.push(Math.floor(4294967296 / step)));
    // Exact durations come from the span times when present; second resolution otherwise.
    // Sorted here, not by ORDER BY: at 100k agents SQLite's sorter cost more than reading the
    // values out (~50 ms against ~10 ms); idx_agent_runs_duration makes the join index-only.
    const ds = Float64Array.from(
      this.db
        .prepare(
          `SELECT COALESCE((r.end_ns - r.start_ns) / 1e6, (a.end_time - a.start_time) * 1000.0) AS d
           FROM agents a LEFT JOIN agent_runs r ON r.agent_id = a.id WHERE ${where.join(' AND ')}`,
        )
        .pluck()
        .all(...params) as number[],
    ).sort();
    const n = ds.length;
    if (n === 0) return { p50: null, p95: null, p99: null };
    // Nearest rank.
    const at = (q: number): number => ds[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
    return { p50: at(0.5), p95: at(0.95), p99: at(0.99), ...(step > 1 ? { sampleSize: n } : {}) };
  }

  /** Hierarchy under the given roots, with own and rolled-up tokens and cost per node. */
  tree(selector: { agentId: string } | { planId: string } | { traceId: string }): TreeNode[] {
    let agents: AgentRecord[];
    if ('agentId' in selector) {
      this.getAgent(selector.agentId);
      agents = this.agents(
        `WITH RECURSIVE sub(id) AS (SELECT ? UNION SELECT a.id FROM agents a JOIN sub ON a.parent_id = sub.id)
         SELECT ${AGENT_COLUMNS} FROM ${AGENT_FROM} WHERE a.id IN (SELECT id FROM sub) ORDER BY a.start_time, a.id`,
        [selector.agentId],
      );
    } else if ('planId' in selector) {
      agents = this.getPlanAgents(selector.planId);
    } else {
      agents = this.agents(`SELECT ${AGENT_COLUMNS} FROM ${AGENT_FROM} WHERE r.trace_id = ? ORDER BY a.start_time, a.id`, [selector.traceId]);
    }
    const own = new Map<string, TreeNode['own']>();
    if (agents.length > 0) {
      const ids = agents.map((a) => a.id);
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const rows = this.db
          .prepare(
            `SELECT t.agent_id AS id, SUM(CASE WHEN t.tool_name IS NULL THEN 1 ELSE 0 END) AS calls, SUM(t.total_tokens) AS tokens,
               SUM(t.estimated_cost) AS costUsd, COALESCE(SUM(c.unpriced),0) AS unpricedCalls
             FROM telemetry t LEFT JOIN telemetry_calls c ON c.telemetry_id = t.id
             WHERE t.agent_id IN (${chunk.map(() => '?').join(',')}) GROUP BY t.agent_id`,
          )
          .all(...chunk) as ({ id: string } & TreeNode['own'])[];
        for (const r of rows) own.set(r.id, { calls: r.calls, tokens: r.tokens, costUsd: r.costUsd, unpricedCalls: r.unpricedCalls });
      }
    }
    const nodes = new Map<string, TreeNode>();
    for (const agent of agents) {
      const o = own.get(agent.id) ?? { calls: 0, tokens: 0, costUsd: 0, unpricedCalls: 0 };
      nodes.set(agent.id, { agent, own: o, subtree: { agents: 1, tokens: o.tokens, costUsd: o.costUsd, unpricedCalls: o.unpricedCalls }, children: [] });
    }
    const roots: TreeNode[] = [];
    for (const node of nodes.values()) {
      const parent = node.agent.parentId ? nodes.get(node.agent.parentId) : undefined;
      if (parent && parent !== node) parent.children.push(node);
      else roots.push(node);
    }
    const roll = (node: TreeNode, depth: number): void => {
      if (depth > 10_000) return;
      for (const child of node.children) {
        roll(child, depth + 1);
        node.subtree.agents += child.subtree.agents;
        node.subtree.tokens += child.subtree.tokens;
        node.subtree.costUsd += child.subtree.costUsd;
        node.subtree.unpricedCalls += child.subtree.unpricedCalls;
      }
    };
    for (const root of roots) roll(root, 0);
    return roots;
  }

  /** Tool calls grouped by tool name with approval counts (the seed's tool approval tracking). */
  toolStats(range: ListRange = {}): ToolStatsRow[] {
    const where = ['t.tool_name IS NOT NULL'];
    const params: unknown[] = [];
    if (range.since !== undefined) (where.push('t.timestamp >= ?'), params.push(range.since));
    if (range.until !== undefined) (where.push('t.timestamp <= ?'), params.push(range.until));
    const rows = this.db
      .prepare(
        `SELECT t.tool_name AS tool, t.tool_approval_type AS approvalType, COUNT(*) AS calls,
           SUM(CASE WHEN t.tool_approved = 1 THEN 1 ELSE 0 END) AS approved,
           SUM(CASE WHEN t.tool_approved = 0 THEN 1 ELSE 0 END) AS denied,
           SUM(CASE WHEN t.tool_approved IS NULL THEN 1 ELSE 0 END) AS unrecorded,
           SUM(c.duration_ms) AS durSum, COUNT(c.duration_ms) AS durCount, MAX(t.timestamp) AS lastCall
         FROM telemetry t LEFT JOIN telemetry_calls c ON c.telemetry_id = t.id
         WHERE ${where.join(' AND ')} GROUP BY t.tool_name, t.tool_approval_type`,
      )
      .all(...params) as { tool: string; approvalType: string | null; calls: number; approved: number; denied: number; unrecorded: number; durSum: number | null; durCount: number; lastCall: number }[];
    const agentCounts = new Map(
      (
        this.db
          .prepare(`SELECT t.tool_name AS tool, COUNT(DISTINCT t.agent_id) AS agents FROM telemetry t WHERE ${where.join(' AND ')} GROUP BY t.tool_name`)
          .all(...params) as { tool: string; agents: number }[]
      ).map((r) => [r.tool, r.agents]),
    );
    const byTool = new Map<string, ToolStatsRow & { durSum: number; durCount: number }>();
    for (const r of rows) {
      let t = byTool.get(r.tool);
      if (!t) {
        t = { tool: r.tool, calls: 0, approved: 0, denied: 0, unrecorded: 0, byApprovalType: {}, agents: agentCounts.get(r.tool) ?? 0, avgDurationMs: null, lastCall: r.lastCall, durSum: 0, durCount: 0 };
        byTool.set(r.tool, t);
      }
      t.calls += r.calls;
      t.approved += r.approved;
      t.denied += r.denied;
      t.unrecorded += r.unrecorded;
      t.byApprovalType[r.approvalType ?? '(none)'] = (t.byApprovalType[r.approvalType ?? '(none)'] ?? 0) + r.calls;
      t.durSum += r.durSum ?? 0;
      t.durCount += r.durCount;
      t.lastCall = Math.max(t.lastCall, r.lastCall);
    }
    const out = [...byTool.values()]
      .map(({ durSum, durCount, ...t }) => ({ ...t, avgDurationMs: durCount > 0 ? durSum / durCount : null }))
      .sort((a, b) => b.calls - a.calls || a.tool.localeCompare(b.tool));
    return range.limit !== undefined ? out.slice(0, Math.max(0, Math.floor(range.limit))) : out;
  }

  /** One summary per plan, newest plan first (by its first agent's start). */
  plans(range: ListRange = {}): PlanSummary[] {
    const where = ['a.plan_id IS NOT NULL'];
    const params: unknown[] = [];
    if (range.since !== undefined) (where.push('a.start_time >= ?'), params.push(range.since));
    if (range.until !== undefined) (where.push('a.start_time <= ?'), params.push(range.until));
    const limit = range.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(range.limit))}` : '';
    const rows = this.db
      .prepare(
        `SELECT a.plan_id AS planId, COUNT(*) AS agents,
           SUM(a.status = 'starting') AS starting, SUM(a.status = 'running') AS running, SUM(a.status = 'completed') AS completed,
           SUM(a.status = 'failed') AS failed, SUM(a.status = 'terminated') AS terminated,
           MIN(a.start_time) AS startTime, MAX(a.end_time) AS endTime, SUM(a.end_time IS NULL) AS open,
           (MAX(r.end_ns) - MIN(r.start_ns)) / 1e6 AS exactMs, COUNT(r.end_ns) AS exactCount
         FROM agents a LEFT JOIN agent_runs r ON r.agent_id = a.id
         WHERE ${where.join(' AND ')} GROUP BY a.plan_id ORDER BY startTime DESC, planId${limit}`,
      )
      .all(...params) as ({ planId: string; agents: number; startTime: number; endTime: number | null; open: number; exactMs: number | null; exactCount: number } & Record<AgentStatus, number>)[];
    if (rows.length === 0) return [];
    // Usage only for the plans on this page: the plan index finds their agents, the agent index their calls.
    const usage = new Map<string, { modelCalls: number; toolCalls: number; totalTokens: number; costUsd: number; unpricedCalls: number }>();
    const ids = rows.map((r) => r.planId);
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const u = this.db
        .prepare(
          `SELECT a.plan_id AS planId, SUM(t.tool_name IS NULL) AS modelCalls, SUM(t.tool_name IS NOT NULL) AS toolCalls,
             SUM(t.total_tokens) AS totalTokens, SUM(t.estimated_cost) AS costUsd, COALESCE(SUM(c.unpriced), 0) AS unpricedCalls
           FROM agents a JOIN telemetry t ON t.agent_id = a.id LEFT JOIN telemetry_calls c ON c.telemetry_id = t.id
           WHERE a.plan_id IN (${chunk.map(() => '?').join(',')}) GROUP BY a.plan_id`,
        )
        .all(...chunk) as ({ planId: string } & { modelCalls: number; toolCalls: number; totalTokens: number; costUsd: number; unpricedCalls: number })[];
      for (const r of u) usage.set(r.planId, r);
    }
    return rows.map((r) => {
      const byStatus: Record<AgentStatus, number> = { starting: r.starting, running: r.running, completed: r.completed, failed: r.failed, terminated: r.terminated };
      const ended = r.open === 0;
      const u = usage.get(r.planId) ?? { modelCalls: 0, toolCalls: 0, totalTokens: 0, costUsd: 0, unpricedCalls: 0 };
      return {
        planId: r.planId,
        agents: r.agents,
        byStatus,
        status: r.starting + r.running > 0 ? 'running' : r.failed + r.terminated > 0 ? 'failed' : 'completed',
        startTime: r.startTime,
        endTime: ended ? r.endTime : null,
        // Span times when every run has them; the second-resolution columns otherwise.
        durationMs: !ended || r.endTime === null ? null : r.exactCount === r.agents && r.exactMs !== null ? r.exactMs : (r.endTime - r.startTime) * 1000,
        modelCalls: u.modelCalls,
        toolCalls: u.toolCalls,
        totalTokens: u.totalTokens,
        costUsd: u.costUsd,
        unpricedCalls: u.unpricedCalls,
      };
    });
  }

  /**
   * The captured conversation of an agent run's model calls, in call order: each call's
   * `gen_ai.input.messages` / `gen_ai.output.messages` JSON text (present only when the calls were
   * recorded with AGENTLOUPE_CAPTURE_CONTENT=true).
   */
  getCallContents(agentId: string): CallContent[] {
    const rows = this.db
      .prepare(
        `SELECT span_id, name, CAST(start_ns AS TEXT) AS start_ns,
                json_extract(attributes, @input) AS input,
                json_extract(attributes, @output) AS output
           FROM spans
          WHERE agent_id = @agentId AND (json_extract(attributes, @input) IS NOT NULL OR json_extract(attributes, @output) IS NOT NULL)
          ORDER BY start_ns, span_id`,
      )
      .all({ agentId, input: `$."${GEN_AI_INPUT_MESSAGES}"`, output: `$."${GEN_AI_OUTPUT_MESSAGES}"` }) as { span_id: string; name: string; start_ns: string; input: unknown; output: unknown }[];
    return rows.map((r) => ({
      spanId: r.span_id,
      name: r.name,
      startNs: BigInt(r.start_ns),
      input: typeof r.input === 'string' ? r.input : null,
      output: typeof r.output === 'string' ? r.output : null,
    }));
  }

  /** Every stored span of a trace, parents before children where times allow. */
  getTrace(traceId: string): SpanRecord[] {
    const rows = this.db
      .prepare(`SELECT * FROM spans WHERE trace_seq = ${traceSeqOf('?')} ORDER BY start_ns, span_id`)
      .safeIntegers(true)
      .all(traceId.toLowerCase()) as Record<string, unknown>[];
    const spans: SpanRecord[] = rows.map((r) => ({
      traceId: r.trace_id as string,
      spanId: r.span_id as string,
      parentSpanId: r.parent_span_id as string | null,
      name: r.name as string,
      kind: Number(r.kind),
      startNs: BigInt(r.start_ns as bigint),
      endNs: BigInt(r.end_ns as bigint),
      durationNs: BigInt(r.duration_ns as bigint),
      statusCode: Number(r.status_code),
      statusMessage: r.status_message as string | null,
      serviceName: r.service_name as string | null,
      scopeName: r.scope_name as string | null,
      agentId: r.agent_id as string | null,
      attributes: JSON.parse(r.attributes as string) as Record<string, unknown>,
      events: JSON.parse(r.events as string) as SpanRecord['events'],
      links: JSON.parse(r.links as string) as SpanRecord['links'],
      resource: JSON.parse(r.resource as string) as Record<string, unknown>,
    }));
    // Span clocks can tie (millisecond resolution); a parent still comes before its children.
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const depth = new Map<string, number>();
    const depthOf = (s: SpanRecord, guard = 0): number => {
      const known = depth.get(s.spanId);
      if (known !== undefined) return known;
      const parent = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
      const d = parent && guard < 1000 ? depthOf(parent, guard + 1) + 1 : 0;
      depth.set(s.spanId, d);
      return d;
    };
    return spans.sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : depthOf(a) - depthOf(b)));
  }

  private agents(sql: string, params: unknown[]): AgentRecord[] {
    return readAgents(this.db, sql, params);
  }
}

/** Agent records from a query that selects AGENT_COLUMNS FROM AGENT_FROM (the UI's queries build on it). */
export function readAgents(db: SqliteDatabase, sql: string, params: readonly unknown[]): AgentRecord[] {
  const rows = db.prepare(sql).safeIntegers(true).all(...params) as AgentSqlRow[];
  return rows.map((r) => toAgent(numberize(r)));
}

/** The total row of a grouped summary (what `agentloupe cost --json` prints as `total`). */
export function summaryTotal(rows: readonly SummaryRow[]): Omit<SummaryRow, 'key'> {
  const t = { calls: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0, totalTokens: 0, costUsd: 0, unpricedCalls: 0 };
  for (const r of rows) addSums(t, r);
  return t;
}

function addSums(a: Omit<SummaryRow, 'key'>, r: Omit<SummaryRow, 'key'>): void {
  a.calls += r.calls;
  a.inputTokens += r.inputTokens;
  a.outputTokens += r.outputTokens;
  a.cacheReadTokens += r.cacheReadTokens;
  a.cacheCreationTokens += r.cacheCreationTokens;
  a.totalTokens += r.totalTokens;
  a.costUsd += r.costUsd;
  a.unpricedCalls += r.unpricedCalls;
}

/** Safe-integer reads keep the nanosecond columns exact; everything else goes back to numbers. */
function numberize(r: AgentSqlRow): AgentSqlRow {
  const n = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
  return {
    ...r,
    process_id: n(r.process_id),
    start_time: Number(r.start_time),
    end_time: n(r.end_time),
    exit_code: n(r.exit_code),
    start_ns: r.start_ns === null ? null : BigInt(r.start_ns),
    end_ns: r.end_ns === null ? null : BigInt(r.end_ns),
  };
}

/** A telemetry row joined with its telemetry_calls row (`t.*, c.unpriced, ...`) -> an entry. */
export function toTelemetry(r: Record<string, unknown>): TelemetryEntry {
  const nb = (v: unknown): boolean | null => (v === null || v === undefined ? null : Number(v) !== 0);
  return {
    id: r.id as number,
    agentId: r.agent_id as string,
    timestamp: r.timestamp as number,
    inputTokens: r.input_tokens as number,
    outputTokens: r.output_tokens as number,
    cachedTokens: r.cached_tokens as number,
    cacheCreationTokens: r.cache_creation_tokens as number,
    cacheReadTokens: r.cache_read_tokens as number,
    totalTokens: r.total_tokens as number,
    estimatedCost: r.estimated_cost as number,
    model: r.model as string | null,
    provider: r.provider as string | null,
    toolName: r.tool_name as string | null,
    toolArgs: r.tool_args as string | null,
    toolApproved: nb(r.tool_approved),
    toolApprovalType: r.tool_approval_type as string | null,
    engineId: r.engine_id as string | null,
    unpriced: Number(r.unpriced ?? 0) !== 0,
    reasoningTokens: (r.reasoning_tokens as number | null) ?? 0,
    durationMs: r.duration_ms as number | null,
    partial: Number(r.partial ?? 0) !== 0,
    traceId: r.trace_id as string | null,
    spanId: r.span_id as string | null,
  };
}
