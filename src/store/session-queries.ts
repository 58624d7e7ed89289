/**
 * A coding-agent session as turns: one per user prompt, with its model calls (tokens by type,
 * cost), tool calls, errors and duration. Which prompt an event belongs to is the turn id the
 * tool sent, else the session's latest prompt at or before the event (the rule and its sources
 * are in src/collector/coding-agent-turns.ts). Placing events here, not at write time, keeps
 * that right when a prompt's events arrive in a different order across export requests.
 */
import type { TokenUsage } from '../telemetry/types.js';
import type { SqliteDatabase } from './database.js';

/** Rows of each kind read for one session at most; a bigger session is cut (and says so). */
export const MAX_SESSION_ROWS = 50_000;

export interface TurnTool {
  name: string;
  calls: number;
  errors: number;
}

/** A turn's tokens are TokenUsage's fields, summed over its calls. */
export interface SessionTurn extends Omit<TokenUsage, 'cacheCreation1hTokens'> {
  /** 1-based, in time order. */
  index: number;
  /** The tool's id for the prompt; null when the turn was found by time. */
  turnId: string | null;
  /** Whether the user-prompt event itself was received (else the turn starts at its first event). */
  prompted: boolean;
  /** Epoch seconds (fractional): the prompt's time, else the turn's first event. */
  start: number;
  /** Epoch seconds of the turn's last event. */
  end: number;
  durationMs: number;
  /** As the tool reported it; the text is never stored. */
  promptLength: number | null;
  calls: number;
  /** Sum over priced calls; `unpricedCalls` had no known price (not $0). */
  costUsd: number;
  unpricedCalls: number;
  models: string[];
  toolCalls: number;
  toolErrors: number;
  /** Summed tool execution time as the tools reported it. */
  toolDurationMs: number;
  tools: TurnTool[];
  apiErrors: number;
}

export interface SessionTurns {
  agentId: string;
  turns: SessionTurn[];
  /** More than MAX_SESSION_ROWS calls or events: the latest were left out. */
  truncated: boolean;
}

interface CallRow {
  turn_id: string | null;
  time_us: number;
  model: string | null;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_creation_tokens: number;
  reasoning_tokens: number | null;
  total_tokens: number;
  estimated_cost: number;
  unpriced: number | null;
}

interface EventRow {
  id: number;
  turn_id: string | null;
  kind: 'prompt' | 'tool' | 'api_error';
  name: string | null;
  ok: number | null;
  duration_ms: number | null;
  prompt_length: number | null;
  time_us: number;
}

function emptyTurn(turnId: string | null, prompted: boolean, timeUs: number): SessionTurn & { startUs: number; endUs: number; toolMap: Map<string, TurnTool> } {
  return {
    index: 0, turnId, prompted, start: 0, end: 0, durationMs: 0, promptLength: null,
    calls: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0, reasoningTokens: 0, totalTokens: 0,
    costUsd: 0, unpricedCalls: 0, models: [], toolCalls: 0, toolErrors: 0, toolDurationMs: 0, tools: [], apiErrors: 0,
    startUs: timeUs, endUs: timeUs, toolMap: new Map(),
  };
}

/** Per session: prompts, tool calls and errors from its events (the sessions list's columns). */
export interface SessionEventCounts {
  prompts: number;
  toolCalls: number;
  toolErrors: number;
  apiErrors: number;
}

export class SessionQueries {
  constructor(private readonly db: SqliteDatabase) {}

  /** Whether the file has schema 6's session tables (a read-only reader may open an older file). */
  private hasTurns(): boolean {
    return this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'session_events'").get() !== undefined;
  }

  /** Event counts of the given sessions (agent run ids); sessions with no events are absent. */
  eventCounts(agentIds: readonly string[]): Map<string, SessionEventCounts> {
    const out = new Map<string, SessionEventCounts>();
    if (agentIds.length === 0 || !this.hasTurns()) return out;
    for (let i = 0; i < agentIds.length; i += 500) {
      const chunk = agentIds.slice(i, i + 500);
      const rows = this.db
        .prepare(
          `SELECT agent_id AS id, SUM(kind = 'prompt') AS prompts, SUM(kind = 'tool') AS toolCalls, SUM(kind = 'tool' AND ok = 0) AS toolErrors,
             SUM(kind = 'api_error') AS apiErrors
           FROM session_events WHERE agent_id IN (${chunk.map(() => '?').join(',')}) GROUP BY agent_id`,
        )
        .all(...chunk) as ({ id: string } & SessionEventCounts)[];
      for (const { id, ...counts } of rows) out.set(id, counts);
    }
    return out;
  }

  /** The turns of the session whose agent run is `agentId` (`<tool>-<session id>`), oldest first. */
  sessionTurns(agentId: string): SessionTurns {
    if (!this.hasTurns()) return { agentId, turns: [], truncated: false };
    // Microseconds: ns since 1970 exceed a double's exact range; the order needs no finer step.
    const calls = this.db
      .prepare(
        `SELECT c.turn_id, COALESCE(c.time_ns / 1000, t.timestamp * 1000000) AS time_us, t.model, t.input_tokens, t.output_tokens,
           t.cache_read_tokens, t.cache_creation_tokens, c.reasoning_tokens, t.total_tokens, t.estimated_cost, c.unpriced
         FROM telemetry t LEFT JOIN telemetry_calls c ON c.telemetry_id = t.id
         WHERE t.agent_id = ? AND t.tool_name IS NULL ORDER BY time_us, t.id LIMIT ?`,
      )
      .all(agentId, MAX_SESSION_ROWS + 1) as CallRow[];
    const events = this.db
      .prepare(
        `SELECT id, turn_id, kind, name, ok, duration_ms, prompt_length, time_ns / 1000 AS time_us
         FROM session_events WHERE agent_id = ? ORDER BY time_ns, id LIMIT ?`,
      )
      .all(agentId, MAX_SESSION_ROWS + 1) as EventRow[];
    const truncated = calls.length > MAX_SESSION_ROWS || events.length > MAX_SESSION_ROWS;
    if (calls.length > MAX_SESSION_ROWS) calls.length = MAX_SESSION_ROWS;
    if (events.length > MAX_SESSION_ROWS) events.length = MAX_SESSION_ROWS;

    type Acc = ReturnType<typeof emptyTurn>;
    const turns = new Map<string, Acc>();
    // The prompts, in time order: each opens a turn, keyed by its id or (none sent) by itself.
    const prompts: { timeUs: number; key: string }[] = [];
    for (const e of events) {
      if (e.kind !== 'prompt') continue;
      const key = e.turn_id !== null ? `id:${e.turn_id}` : `prompt:${e.id}`;
      const prior = turns.get(key);
      if (prior) {
        // The same prompt id twice: one turn, from the first (events are in time order).
        prior.promptLength ??= e.prompt_length;
        continue;
      }
      const t = emptyTurn(e.turn_id, true, e.time_us);
      t.promptLength = e.prompt_length;
      turns.set(key, t);
      prompts.push({ timeUs: e.time_us, key });
    }
    prompts.sort((a, b) => a.timeUs - b.timeUs);
    const byTime = (timeUs: number): string => {
      let lo = 0;
      let hi = prompts.length - 1;
      let found = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (prompts[mid]!.timeUs <= timeUs) (found = mid), (lo = mid + 1);
        else hi = mid - 1;
      }
      return found < 0 ? 'before-first-prompt' : prompts[found]!.key;
    };
    const turnOf = (turnId: string | null, timeUs: number): Acc => {
      const key = turnId !== null ? `id:${turnId}` : byTime(timeUs);
      let t = turns.get(key);
      if (!t) turns.set(key, (t = emptyTurn(turnId, false, timeUs)));
      if (!t.prompted) t.startUs = Math.min(t.startUs, timeUs);
      t.endUs = Math.max(t.endUs, timeUs);
      return t;
    };

    for (const c of calls) {
      const t = turnOf(c.turn_id, c.time_us);
      t.calls++;
      t.inputTokens += c.input_tokens;
      t.outputTokens += c.output_tokens;
      t.cacheReadTokens += c.cache_read_tokens;
      t.cacheCreationTokens += c.cache_creation_tokens;
      t.reasoningTokens += c.reasoning_tokens ?? 0;
      t.totalTokens += c.total_tokens;
      if (c.unpriced) t.unpricedCalls++;
      else t.costUsd += c.estimated_cost;
      if (c.model !== null && !t.models.includes(c.model)) t.models.push(c.model);
    }
    for (const e of events) {
      if (e.kind === 'prompt') continue;
      const t = turnOf(e.turn_id, e.time_us);
      if (e.kind === 'api_error') {
        t.apiErrors++;
        continue;
      }
      const failed = e.ok === 0;
      t.toolCalls++;
      if (failed) t.toolErrors++;
      t.toolDurationMs += e.duration_ms ?? 0;
      const name = e.name ?? '(unnamed)';
      let tool = t.toolMap.get(name);
      if (!tool) t.toolMap.set(name, (tool = { name, calls: 0, errors: 0 }));
      tool.calls++;
      if (failed) tool.errors++;
    }

    const ordered = [...turns.values()].sort((a, b) => a.startUs - b.startUs);
    const out = ordered.map((t, i): SessionTurn => {
      const { startUs, endUs, toolMap, ...turn } = t;
      return {
        ...turn,
        index: i + 1,
        start: startUs / 1e6,
        end: endUs / 1e6,
        durationMs: Math.max(0, endUs - startUs) / 1000,
        // In the order they first ran.
        tools: [...toolMap.values()],
      };
    });
    return { agentId, turns: out, truncated };
  }
}
