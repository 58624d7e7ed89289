/** The rows the span-to-row mapping produces and the writer stores. */

export type AgentStatus = 'starting' | 'running' | 'completed' | 'failed' | 'terminated';

export const AGENT_STATUSES: readonly AgentStatus[] = ['starting', 'running', 'completed', 'failed', 'terminated'];
export const TERMINAL_STATUSES: ReadonlySet<AgentStatus> = new Set(['completed', 'failed', 'terminated']);

export function isAgentStatus(value: unknown): value is AgentStatus {
  return typeof value === 'string' && (AGENT_STATUSES as readonly string[]).includes(value);
}

/** An `agents` row plus its `agent_runs` details. Times in the documented table are epoch seconds. */
export interface AgentRow {
  id: string;
  parentId: string | null;
  planId: string | null;
  agentType: string;
  status: AgentStatus;
  processId: number | null;
  startTime: number;
  endTime: number | null;
  exitCode: number | null;
  errorMessage: string | null;
  logFile: string | null;
  // agent_runs
  name: string;
  category: string | null;
  traceId: string | null;
  spanId: string | null;
  serviceName: string | null;
  startNs: bigint | null;
  endNs: bigint | null;
}

export interface AgentStatusChange {
  id: string;
  status: AgentStatus;
  /** Epoch seconds. */
  time: number;
}

/** A `telemetry` row plus its `telemetry_calls` details. */
export interface TelemetryRow {
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
  // telemetry_calls
  traceId: string | null;
  spanId: string | null;
  operation: string | null;
  unpriced: boolean;
  reasoningTokens: number;
  durationMs: number | null;
  partial: boolean;
  /**
   * Coding agents only: the user prompt (turn) the call belongs to, as the tool named it, and
   * the event's own time in ns. Absent for every other call.
   */
  turnId?: string | null;
  timeNs?: bigint | null;
}

export type SessionEventKind = 'prompt' | 'tool' | 'api_error';

/** A coding agent's log event that is not a model call: a user prompt, a tool result, an API error. */
export interface SessionEventRow {
  /** Hash of the log record: a retried export is stored once. */
  recordId: string;
  /** The session's agent run. */
  agentId: string;
  turnId: string | null;
  kind: SessionEventKind;
  /** Tool name for tools; the model for API errors. */
  name: string | null;
  /** Whether a tool succeeded; null when not reported (and for prompts). */
  ok: boolean | null;
  durationMs: number | null;
  /** Prompts: the length the tool reported (the text is never stored). */
  promptLength: number | null;
  timeNs: bigint;
}

export interface SpanRow {
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
  attributes: string;
  events: string;
  links: string;
  resource: string;
}

/**
 * How one model call reported by two sources (a coding agent's log event and its span) is
 * recognised: the same `key` under the same agent, from the other source, within
 * CALL_PAIR_WINDOW_SECONDS; or, for a log event emitted inside the call's span, `link`.
 */
export interface CallPair {
  key: string;
  source: 'log' | 'span';
  /** The span the log record was emitted in, when it carries one. */
  link?: { traceId: string; spanId: string };
}

/** One unit of work for the writer, in the order it must be applied. */
export type WriteOp =
  | { kind: 'agentStart'; row: AgentRow }
  /** The per-trace stand-in agent for model calls with no agent span above them. */
  | { kind: 'syntheticAgent'; row: AgentRow }
  | { kind: 'agentStatus'; change: AgentStatusChange }
  | { kind: 'agentEnd'; row: AgentRow; durationMs: number }
  /**
   * `dedupe`: skip a row already stored for the same span (the collector's retries).
   * `agentLive`: the writer knows the agent row exists and has not ended, and skips the lookup.
   */
  | {
      kind: 'telemetry';
      row: TelemetryRow;
      dedupe: boolean;
      agentLive?: boolean;
      pair?: CallPair;
      /**
       * The owning run's type as the call itself names it. A call stored before its run's own
       * span (always so in the collector: a parent span ends, and is exported, last) makes a
       * placeholder run of this type, so the hourly rollup need not move the call when the run
       * arrives with the same type; 'unknown' when absent.
       */
      stubType?: string;
    }
  | { kind: 'span'; row: SpanRow }
  /** A coding agent's user prompt, tool result or API error (schema 6). */
  | { kind: 'sessionEvent'; row: SessionEventRow }
  /**
   * The collector learnt that span `spanId` belongs to agent run `agentId`: its stored descendants
   * that were waiting for an owner (no agent yet, or the trace's synthetic agent) move to it.
   */
  | { kind: 'reown'; traceId: string; spanId: string; agentId: string }
  /** A stored span's parent has not arrived: remember it (durably) so its arrival re-owns the child. */
  | { kind: 'waitFor'; traceId: string; spanId: string }
  /** A waited-for span arrived. */
  | { kind: 'waitDone'; traceId: string; spanId: string };
