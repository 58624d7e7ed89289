/**
 * The reads the web UI needs beyond MonitoringStore's: a filtered, sorted, paged runs table, a
 * token/cost timeline, plan/trace/run views, coding-agent sessions and a live feed. Each is one
 * function over the same read-only connection, so the UI and the CLI answer from one read layer.
 */
import { AGENT_COLUMNS, AGENT_FROM, readAgents, toTelemetry, type AgentRecord, type MonitoringStore, type SpanRecord, type TelemetryEntry, type TimeRange, type TreeNode } from './reader.js';
import { HOUR } from './rollup.js';
import type { AgentStatus } from '../spans/rows.js';
import type { TokenUsage } from '../telemetry/types.js';

export type RunSort = 'start' | 'duration' | 'name' | 'type' | 'status' | 'plan';
export const RUN_SORTS: readonly RunSort[] = ['start', 'duration', 'name', 'type', 'status', 'plan'];

export interface RunQuery extends TimeRange {
  status?: AgentStatus[];
  type?: string;
  /** Exact agent name. */
  name?: string;
  plan?: string;
  /** Substring of id, name, type, plan or error message (case-insensitive for ASCII). */
  text?: string;
  sort?: RunSort;
  dir?: 'asc' | 'desc';
  offset?: number;
  limit?: number;
}

/** Model and tool calls of one agent run, tokens by type. */
export interface RunUsage extends Omit<TokenUsage, 'cacheCreation1hTokens'> {
  calls: number;
  toolCalls: number;
  costUsd: number;
  unpricedCalls: number;
  partialCalls: number;
  /** Epoch seconds of the first and last call; null with no calls. */
  firstCall: number | null;
  lastCall: number | null;
}

export interface RunRow extends AgentRecord {
  usage: RunUsage;
}

export interface RunPage {
  rows: RunRow[];
  /** Runs matching the filters (all pages). */
  total: number;
  offset: number;
  limit: number;
}

export interface TimelinePoint {
  /** Epoch seconds at the start of the bucket (UTC hour or day). */
  t: number;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  reasoningTokens: number;
  costUsd: number;
  unpricedCalls: number;
}

export interface Timeline {
  bucket: 'hour' | 'day';
  points: TimelinePoint[];
}

export type TraceSelector = { planId: string } | { traceId: string } | { agentId: string };

export interface TraceView {
  tree: TreeNode[];
  /** Every stored span of the traces the agents belong to (capped at MAX_VIEW_SPANS). */
  spans: SpanRecord[];
  /** Model and tool calls of the agents in the tree. */
  calls: TelemetryEntry[];
  truncated: boolean;
}

export interface SessionRow extends AgentRecord {
  usage: RunUsage;
}

export interface RecentCall extends TelemetryEntry {
  agentName: string;
}

/** Spans read into one view at most: a trace bigger than this is cut (and says so). */
export const MAX_VIEW_SPANS = 5000;
/** Calls read into one view at most. */
export const MAX_VIEW_CALLS = 20_000;
/** Agent types the collector gives coding-agent sessions (src/collector/coding-agents.ts). */
const CODING_AGENT_TYPES = ['claude-code', 'gemini-cli', 'codex'];
const CODING_AGENT_CATEGORY = 'coding-agent';

// Over `agents a` alone: the runs table filters and pages without joining agent_runs (a join
// per row doubled the count and made a deep OFFSET walk 50,000 joins).
const SORT_SQL: Record<RunSort, string> = {
  start: 'a.start_time',
  duration: 'COALESCE(a.end_time, unixepoch()) - a.start_time',
  name: 'COALESCE((SELECT r.name FROM agent_runs r WHERE r.agent_id = a.id), a.agent_type)',
  type: 'a.agent_type',
  status: 'a.status',
  plan: 'a.plan_id',
};

function clampInt(v: number | undefined, min: number, max: number, fallback: number): number {
  if (v === undefined || !Number.isFinite(v)) return fallback;
  return Math.min(max, Math.max(min, Math.floor(v)));
}

function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function emptyUsage(): RunUsage {
  return { calls: 0, toolCalls: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0, reasoningTokens: 0, totalTokens: 0, costUsd: 0, unpricedCalls: 0, partialCalls: 0, firstCall: null, lastCall: null };
}

function chunks<T>(items: readonly T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class UiQueries {
  constructor(private readonly store: MonitoringStore) {}

  private get db(): MonitoringStore['db'] {
    return this.store.db;
  }

  /**
   * The runs table: filters, a sort, one page, and the count of all matches. The page is picked
   * by agent id over `agents` and its indexes (a deep OFFSET walks index entries only), then its
   * rows are read with their agent_runs columns.
   */
  runs(q: RunQuery = {}): RunPage {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.status && q.status.length > 0) (where.push(`a.status IN (${q.status.map(() => '?').join(', ')})`), params.push(...q.status));
    if (q.type) (where.push('a.agent_type = ?'), params.push(q.type));
    if (q.name) (where.push('a.id IN (SELECT agent_id FROM agent_runs WHERE name = ?)'), params.push(q.name));
    if (q.plan) (where.push('a.plan_id = ?'), params.push(q.plan));
    if (q.since !== undefined) (where.push('a.start_time >= ?'), params.push(q.since));
    if (q.until !== undefined) (where.push('a.start_time <= ?'), params.push(q.until));
    if (q.text) {
      const p = likePattern(q.text);
      where.push(
        "(a.id LIKE ? ESCAPE '\\' OR a.agent_type LIKE ? ESCAPE '\\' OR a.plan_id LIKE ? ESCAPE '\\' OR a.error_message LIKE ? ESCAPE '\\' OR a.id IN (SELECT agent_id FROM agent_runs WHERE name LIKE ? ESCAPE '\\'))",
      );
      params.push(p, p, p, p, p);
    }
    const w = where.length ? ` WHERE ${where.join(' AND ')}` : '';
    const limit = clampInt(q.limit, 1, 500, 50);
    const offset = clampInt(q.offset, 0, Number.MAX_SAFE_INTEGER, 0);
    const dir = q.dir === 'asc' ? 'ASC' : 'DESC';
    const sort = SORT_SQL[q.sort ?? 'start'] ?? SORT_SQL.start;
    let total: number | undefined;
    let ids: string[];
    if (q.text) {
      // Free text reads every row anyway: count and page in that one pass. The unary + keeps
      // SQLite from walking the sort's index and fetching each row out of order (~1.5x slower).
      const page = this.db
        .prepare(`SELECT a.id AS id, COUNT(*) OVER () AS total FROM agents a${w} ORDER BY +(${sort}) ${dir}, a.rowid ${dir} LIMIT ? OFFSET ?`)
        .all(...params, limit, offset) as { id: string; total: number }[];
      ids = page.map((r) => r.id);
      total = page[0]?.total;
    } else {
      ids = this.db.prepare(`SELECT a.id FROM agents a${w} ORDER BY ${sort} ${dir}, a.rowid ${dir} LIMIT ? OFFSET ?`).pluck().all(...params, limit, offset) as string[];
    }
    total ??= (this.db.prepare(`SELECT COUNT(*) AS n FROM agents a${w}`).get(...params) as { n: number }).n;
    const byId = new Map(
      ids.length === 0 ? [] : readAgents(this.db, `SELECT ${AGENT_COLUMNS} FROM ${AGENT_FROM} WHERE a.id IN (${ids.map(() => '?').join(',')})`, ids).map((a) => [a.id, a]),
    );
    const agents = ids.map((id) => byId.get(id)).filter((a): a is AgentRecord => a !== undefined);
    const usage = this.usageOf(ids);
    return { rows: agents.map((a) => ({ ...a, usage: usage.get(a.id) ?? emptyUsage() })), total, offset, limit };
  }

  /** Agent types present, for the runs filter. */
  agentTypes(): string[] {
    return this.db.prepare('SELECT DISTINCT agent_type FROM agents ORDER BY 1').pluck().all() as string[];
  }

  /** Per-run usage of the given agents (one indexed pass per 500 ids). */
  usageOf(ids: readonly string[]): Map<string, RunUsage> {
    const out = new Map<string, RunUsage>();
    for (const chunk of chunks(ids)) {
      const rows = this.db
        .prepare(
          `SELECT t.agent_id AS id, SUM(t.tool_name IS NULL) AS calls, SUM(t.tool_name IS NOT NULL) AS toolCalls,
             SUM(t.input_tokens) AS inputTokens, SUM(t.output_tokens) AS outputTokens, SUM(t.cache_read_tokens) AS cacheReadTokens,
             SUM(t.cache_creation_tokens) AS cacheCreationTokens, COALESCE(SUM(c.reasoning_tokens), 0) AS reasoningTokens,
             SUM(t.total_tokens) AS totalTokens, SUM(t.estimated_cost) AS costUsd, COALESCE(SUM(c.unpriced), 0) AS unpricedCalls,
             COALESCE(SUM(c.partial), 0) AS partialCalls, MIN(t.timestamp) AS firstCall, MAX(t.timestamp) AS lastCall
           FROM telemetry t LEFT JOIN telemetry_calls c ON c.telemetry_id = t.id
           WHERE t.agent_id IN (${chunk.map(() => '?').join(',')}) GROUP BY t.agent_id`,
        )
        .all(...chunk) as ({ id: string } & RunUsage)[];
      for (const { id, ...u } of rows) out.set(id, u);
    }
    return out;
  }

  /**
   * Model-call tokens and cost per UTC hour (or day, for ranges over 3 days), from the hourly
   * rollup: buckets are whole hours, so a range is widened to the hours it touches.
   */
  timeline(range: TimeRange = {}, nowSeconds = Math.floor(Date.now() / 1000)): Timeline {
    const bounds = this.db.prepare('SELECT MIN(hour) AS lo, MAX(hour) AS hi FROM telemetry_hourly WHERE tool = 0').get() as { lo: number | null; hi: number | null };
    if (bounds.lo === null || bounds.hi === null) return { bucket: 'hour', points: [] };
    const from = range.since !== undefined ? Math.floor(range.since / HOUR) : bounds.lo;
    const to = range.until !== undefined ? Math.floor(range.until / HOUR) : Math.max(bounds.hi, Math.floor(nowSeconds / HOUR));
    const lo = Math.max(from, bounds.lo);
    const hi = Math.min(to, bounds.hi);
    const bucket: Timeline['bucket'] = hi - lo > 72 ? 'day' : 'hour';
    const per = bucket === 'day' ? 24 : 1;
    const rows = this.db
      .prepare(
        `SELECT hour / ${per} AS b, SUM(calls) AS calls, SUM(input_tokens) AS inputTokens, SUM(output_tokens) AS outputTokens,
           SUM(cache_read_tokens) AS cacheReadTokens, SUM(cache_creation_tokens) AS cacheCreationTokens, SUM(reasoning_tokens) AS reasoningTokens,
           SUM(cost) + SUM(cost_error) AS costUsd, SUM(unpriced_calls) AS unpricedCalls
         FROM telemetry_hourly WHERE tool = 0 AND hour >= ? AND hour <= ? GROUP BY 1 ORDER BY 1`,
      )
      .all(from, to) as ({ b: number } & Omit<TimelinePoint, 't'>)[];
    return { bucket, points: rows.map(({ b, ...r }) => ({ t: b * per * HOUR, ...r })) };
  }

  /** An agent tree (a plan, a trace or a run's subtree) with every span and call under it. */
  traceView(selector: TraceSelector): TraceView {
    const tree = this.store.tree(selector);
    const agents: AgentRecord[] = [];
    const walk = (nodes: TreeNode[]): void => {
      for (const n of nodes) {
        agents.push(n.agent);
        walk(n.children);
      }
    };
    walk(tree);
    const traceIds = 'traceId' in selector ? [selector.traceId.toLowerCase()] : [...new Set(agents.map((a) => a.traceId).filter((t): t is string => t !== null))];
    let spans: SpanRecord[] = [];
    let truncated = false;
    for (const id of traceIds) {
      if (spans.length >= MAX_VIEW_SPANS) {
        truncated = true;
        break;
      }
      spans = spans.concat(this.store.getTrace(id));
    }
    if ('agentId' in selector) {
      // A run's view: the spans of its subtree, not of the whole trace around it.
      const ids = new Set(agents.map((a) => a.id));
      spans = spans.filter((s) => s.agentId !== null && ids.has(s.agentId));
    }
    if (spans.length > MAX_VIEW_SPANS) (spans = spans.slice(0, MAX_VIEW_SPANS)), (truncated = true);
    const calls: TelemetryEntry[] = [];
    for (const a of agents) {
      if (calls.length >= MAX_VIEW_CALLS) {
        truncated = true;
        break;
      }
      calls.push(...this.store.getAgentTelemetry(a.id));
    }
    return { tree, spans, calls, truncated };
  }

  /** Coding-agent sessions received by the collector (Claude Code, Gemini CLI, Codex), newest first. */
  sessions(range: TimeRange & { offset?: number; limit?: number } = {}): { rows: SessionRow[]; total: number } {
    const where = [`a.agent_type IN (${CODING_AGENT_TYPES.map(() => '?').join(', ')})`, 'r.category = ?'];
    const params: unknown[] = [...CODING_AGENT_TYPES, CODING_AGENT_CATEGORY];
    if (range.since !== undefined) (where.push('a.start_time >= ?'), params.push(range.since));
    if (range.until !== undefined) (where.push('a.start_time <= ?'), params.push(range.until));
    const w = where.join(' AND ');
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM ${AGENT_FROM} WHERE ${w}`).get(...params) as { n: number }).n;
    const limit = clampInt(range.limit, 1, 500, 50);
    const offset = clampInt(range.offset, 0, Number.MAX_SAFE_INTEGER, 0);
    const agents = readAgents(this.db, `SELECT ${AGENT_COLUMNS} FROM ${AGENT_FROM} WHERE ${w} ORDER BY a.start_time DESC, a.rowid DESC LIMIT ? OFFSET ?`, [...params, limit, offset]);
    const usage = this.usageOf(agents.map((a) => a.id));
    return { rows: agents.map((a) => ({ ...a, usage: usage.get(a.id) ?? emptyUsage() })), total };
  }

  /** The latest model and tool calls, newest first, with their agent's name. */
  recentCalls(limit = 50): RecentCall[] {
    const rows = this.db
      .prepare('SELECT t.id FROM telemetry t ORDER BY t.id DESC LIMIT ?')
      .pluck()
      .all(clampInt(limit, 1, 500, 50)) as number[];
    if (rows.length === 0) return [];
    const entries = this.db
      .prepare(
        `SELECT t.*, c.unpriced, c.reasoning_tokens, c.duration_ms, c.partial, c.trace_id, c.span_id, COALESCE(r.name, a.agent_type, t.agent_id) AS agent_name
         FROM telemetry t LEFT JOIN telemetry_calls c ON c.telemetry_id = t.id LEFT JOIN agents a ON a.id = t.agent_id LEFT JOIN agent_runs r ON r.agent_id = t.agent_id
         WHERE t.id IN (${rows.map(() => '?').join(',')}) ORDER BY t.id DESC`,
      )
      .all(...rows) as Record<string, unknown>[];
    return entries.map((r) => ({ ...toTelemetry(r), agentName: r.agent_name as string }));
  }

  /** Changes whenever another connection commits to the file: the UI's cue to refetch. */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }
}
