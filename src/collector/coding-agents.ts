/**
 * Coding-agent telemetry -> write ops. Claude Code, Gemini CLI and Codex CLI export no agent
 * spans by default, only OTLP log events (one per model request) and metrics. Each session
 * becomes one agent run (`<tool>-<session id>`, status running, refreshed as events arrive),
 * each model-request event one telemetry row with the turn (user prompt) it belongs to, and each
 * user prompt, tool result and API error one session event (coding-agent-turns.ts).
 *
 * Tokens follow DESIGN.md's rule (input includes cache): Claude Code reports Anthropic's
 * `input_tokens`, which excludes cache, so its cache reads and writes are added; Gemini's
 * `input_token_count` already includes cached content, and its thinking tokens are output;
 * Codex reports the Responses API's counts, whose input includes cached tokens and whose output
 * includes reasoning.
 *
 * Metrics (`claude_code.token.usage`, `claude_code.cost.usage`, `gemini_cli.token.usage`, delta or
 * cumulative) are not stored as rows — the events already carry every request, and adding both
 * would count tokens twice; a data point with a session id refreshes that session's run.
 */
import { createHash } from 'node:crypto';
import * as A from '../semconv.js';
import { modelCallRow, nsToMs, nsToSeconds, priceOrUnpriced, toJson, usageFromAttributes, type CostFunction } from '../spans/mapping.js';
import type { AgentRow, CallPair, TelemetryRow, WriteOp } from '../spans/rows.js';
import type { Attributes, SpanData } from '../spans/span-data.js';
import type { TokenUsage } from '../telemetry/types.js';
import type { LogData, MetricData } from './otlp/index.js';
import { sessionEventFields, sessionEventOf, turnIdOf } from './coding-agent-turns.js';

export type CodingAgent = 'claude-code' | 'gemini-cli' | 'codex';

const PROVIDERS: Record<CodingAgent, string> = { 'claude-code': 'anthropic', 'gemini-cli': 'gcp.gemini', codex: 'openai' };
const SESSION_METRICS: ReadonlyMap<string, CodingAgent> = new Map([
  [A.CC_METRIC_TOKEN_USAGE, 'claude-code'],
  [A.CC_METRIC_COST_USAGE, 'claude-code'],
  [A.GEMINI_METRIC_TOKEN_USAGE, 'gemini-cli'],
]);

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
}

function count(a: Attributes, k: string): number {
  const v = a[k];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

function optionalNumber(a: Attributes, k: string): number | undefined {
  const v = a[k];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** Which coding agent's model-request event a log record is, if any. */
export function codingAgentEventOf(log: LogData): CodingAgent | undefined {
  const attrName = text(log.attributes[A.EVENT_NAME]);
  const body = typeof log.body === 'string' ? log.body : undefined;
  const names = [log.eventName, attrName, body];
  if (names.includes(A.CC_EVENT_API_REQUEST)) return 'claude-code';
  if (names.includes(A.GEMINI_EVENT_API_RESPONSE)) return 'gemini-cli';
  if (names.includes(A.CODEX_EVENT_SSE) && text(log.attributes[A.EVENT_KIND]) === A.CODEX_KIND_COMPLETED) {
    // A failed completion carries an error and no counts.
    return log.attributes[A.CODEX_INPUT_TOKEN_COUNT] !== undefined ? 'codex' : undefined;
  }
  return undefined;
}

function usageOf(tool: CodingAgent, a: Attributes): TokenUsage {
  let input: number;
  let output: number;
  let cacheRead = 0;
  let cacheCreation = 0;
  let reasoning = 0;
  if (tool === 'claude-code') {
    cacheRead = count(a, A.CC_CACHE_READ_TOKENS);
    cacheCreation = count(a, A.CC_CACHE_CREATION_TOKENS);
    input = count(a, A.CC_INPUT_TOKENS) + cacheRead + cacheCreation;
    output = count(a, A.CC_OUTPUT_TOKENS);
  } else if (tool === 'gemini-cli') {
    cacheRead = count(a, A.GEMINI_CACHED_TOKEN_COUNT);
    input = count(a, A.GEMINI_INPUT_TOKEN_COUNT);
    reasoning = count(a, A.GEMINI_THOUGHTS_TOKEN_COUNT);
    output = count(a, A.GEMINI_OUTPUT_TOKEN_COUNT) + reasoning;
  } else {
    cacheRead = count(a, A.CODEX_CACHED_TOKEN_COUNT);
    input = count(a, A.CODEX_INPUT_TOKEN_COUNT);
    reasoning = count(a, A.CODEX_REASONING_TOKEN_COUNT);
    output = count(a, A.CODEX_OUTPUT_TOKEN_COUNT);
  }
  return { inputTokens: input, outputTokens: output, cacheReadTokens: cacheRead, cacheCreationTokens: cacheCreation, reasoningTokens: reasoning, totalTokens: input + output };
}

function sessionOf(tool: CodingAgent, a: Attributes, resource: Attributes): string {
  const id = tool === 'codex' ? text(a[A.CONVERSATION_ID]) ?? text(a[A.SESSION_ID]) : text(a[A.SESSION_ID]) ?? text(a[A.CONVERSATION_ID]);
  return id ?? text(resource[A.SESSION_ID]) ?? 'unknown-session';
}

/** The agent run of one coding-agent session: `<tool>-<session id>`. */
export function sessionAgentRow(tool: CodingAgent, session: string, resource: Attributes, timeNs: bigint): AgentRow {
  const pid = optionalNumber(resource, A.PROCESS_PID);
  return {
    id: `${tool}-${session}`,
    parentId: null,
    planId: null,
    agentType: tool,
    status: 'running',
    processId: pid ?? null,
    startTime: nsToSeconds(timeNs),
    endTime: null,
    exitCode: null,
    errorMessage: null,
    logFile: null,
    name: tool,
    category: 'coding-agent',
    traceId: null,
    spanId: null,
    serviceName: text(resource[A.SERVICE_NAME]) ?? null,
    startNs: timeNs,
    endNs: null,
  };
}

function timeOf(log: LogData): bigint {
  if (log.timeUnixNano > 0n) return log.timeUnixNano;
  if (log.observedTimeUnixNano > 0n) return log.observedTimeUnixNano;
  return BigInt(Date.now()) * 1_000_000n;
}

/**
 * The telemetry row's span id: log records have none of their own that is unique per request,
 * so a hash of the record stands in. A retried export then dedupes instead of counting twice.
 */
function recordId(log: LogData): string {
  return `log-${createHash('sha1').update(`${log.timeUnixNano}|${toJson(log.attributes)}|${toJson(log.resource)}`).digest('hex').slice(0, 16)}`;
}

/**
 * What identifies one model call across a coding agent's two reports of it (its log event and
 * its span), under the same session agent: the prompt size and the cached part of it, both
 * normalised (DESIGN.md: input includes cache). Within a session every call re-sends a growing
 * context, so two calls rarely share it; pairing also requires the other source and the
 * nearest time, and pairs each report once, so two equal calls with two reports each stay two.
 * Output is left out: Gemini's log counts thinking in it and its spans may not.
 */
export function callPairKey(tool: CodingAgent, usage: TokenUsage): string {
  return `${tool}:${usage.inputTokens}:${usage.cacheReadTokens}`;
}

/** Ops for the coding-agent events among `logs`; other records are ignored. */
export function codingAgentLogOps(logs: readonly LogData[], price?: CostFunction): WriteOp[] {
  const ops: WriteOp[] = [];
  for (const log of logs) {
    const tool = codingAgentEventOf(log);
    if (tool === undefined) {
      sessionEventOps(log, ops);
      continue;
    }
    const a = log.attributes;
    const time = timeOf(log);
    const agent = sessionAgentRow(tool, sessionOf(tool, a, log.resource), log.resource, time);
    const usage = usageOf(tool, a);
    const model = text(a[A.CC_MODEL]);
    const reported = tool === 'claude-code' ? optionalNumber(a, A.CC_COST_USD) : undefined;
    const row = modelCallRow({
      agentId: agent.id,
      timestamp: nsToSeconds(time),
      usage,
      cost: reported !== undefined ? { costUsd: reported, priced: true } : priceOrUnpriced(price, usage, model, undefined),
      model,
      provider: PROVIDERS[tool],
      traceId: log.traceId,
      spanId: recordId(log),
      operation: A.OP_CHAT,
      durationMs: optionalNumber(a, A.CC_DURATION_MS),
    });
    row.turnId = turnIdOf(tool, a);
    row.timeNs = time;
    const pair: CallPair = { key: callPairKey(tool, usage), source: 'log' };
    if (log.traceId && log.spanId) pair.link = { traceId: log.traceId, spanId: log.spanId };
    ops.push({ kind: 'agentStart', row: agent }, { kind: 'telemetry', row, dedupe: true, pair });
  }
  return ops;
}

/** A user prompt, tool result or API error of a session (coding-agent-turns.ts), with its session's run. */
function sessionEventOps(log: LogData, ops: WriteOp[]): void {
  const event = sessionEventOf(log);
  if (event === undefined) return;
  const a = log.attributes;
  const time = timeOf(log);
  const agent = sessionAgentRow(event.tool, sessionOf(event.tool, a, log.resource), log.resource, time);
  ops.push(
    { kind: 'agentStart', row: agent },
    {
      kind: 'sessionEvent',
      row: { recordId: recordId(log), agentId: agent.id, turnId: turnIdOf(event.tool, a), kind: event.kind, ...sessionEventFields(event.tool, event.kind, a), timeNs: time },
    },
  );
}

/** The coding agent that sent a span, by its service name. */
function codingAgentOfResource(resource: Attributes): CodingAgent | undefined {
  const service = text(resource[A.SERVICE_NAME]);
  if (service === undefined) return undefined;
  if (service === A.CC_SERVICE_NAME) return 'claude-code';
  if (service === A.GEMINI_SERVICE_NAME) return 'gemini-cli';
  if (service.toLowerCase().startsWith(A.CODEX_SERVICE_PREFIX)) return 'codex';
  return undefined;
}

/**
 * The session a coding agent's span names, so its spans (and the calls under them) belong to the
 * session's agent run rather than a synthetic one: Codex names it as `conversation.id` on its
 * turn spans (`run_turn`, `codex.sampling`, `codex.turn_input`); Claude Code as `session.id`;
 * Gemini CLI as `gen_ai.conversation.id` / `session.id` (also on its resource).
 */
export function codingAgentSessionOf(span: SpanData): { tool: CodingAgent; session: string } | undefined {
  const tool = codingAgentOfResource(span.resource);
  if (tool === undefined) return undefined;
  const a = span.attributes;
  const session =
    tool === 'codex'
      ? text(a[A.CONVERSATION_ID])
      : tool === 'claude-code'
        ? text(a[A.SESSION_ID]) ?? text(span.resource[A.SESSION_ID])
        : text(a[A.GEN_AI_CONVERSATION_ID]) ?? text(a[A.SESSION_ID]) ?? text(span.resource[A.SESSION_ID]);
  return session === undefined ? undefined : { tool, session };
}

/**
 * A coding agent's model-call span as a telemetry row plus its pairing identity, or undefined for
 * any other span. Codex: a span with `gen_ai.usage.*` (`handle_responses`; its
 * `session_task.turn` repeats the turn's total as `codex.turn.token_usage.*`, which is not a
 * call and is not counted). Claude Code: `claude_code.llm_request`, with the same attribute
 * names and meaning as its api_request event. Gemini CLI: an `llm_call` span if it carries
 * `gen_ai.usage.*` (0.61 does not; its api_response event carries the call).
 */
export function codingAgentSpanCall(span: SpanData, agentId: string, price?: CostFunction): { row: TelemetryRow; pair: CallPair } | undefined {
  const tool = codingAgentOfResource(span.resource);
  if (tool === undefined) return undefined;
  const a = span.attributes;
  let usage: TokenUsage | undefined;
  if (tool === 'claude-code') usage = span.name === A.CC_SPAN_LLM_REQUEST ? usageOf('claude-code', a) : undefined;
  else usage = usageFromAttributes(a);
  if (usage === undefined) return undefined;
  const model = text(a[A.GEN_AI_RESPONSE_MODEL]) ?? text(a[A.GEN_AI_REQUEST_MODEL]) ?? text(a[A.CC_MODEL]);
  const reported = tool === 'claude-code' ? optionalNumber(a, A.CC_COST_USD) : undefined;
  const end = span.endTimeUnixNano ?? span.startTimeUnixNano;
  const row = modelCallRow({
    agentId,
    timestamp: nsToSeconds(end),
    usage,
    cost: reported !== undefined ? { costUsd: reported, priced: true } : priceOrUnpriced(price, usage, model, undefined),
    model,
    provider: PROVIDERS[tool],
    traceId: span.traceId,
    spanId: span.spanId,
    operation: A.OP_CHAT,
    durationMs: span.endTimeUnixNano !== undefined ? nsToMs(span.endTimeUnixNano - span.startTimeUnixNano) : undefined,
  });
  return { row, pair: { key: callPairKey(tool, usage), source: 'span' } };
}

/** Ops for coding-agent metrics: each session seen in a data point is (still) running. */
export function codingAgentMetricOps(metrics: readonly MetricData[]): WriteOp[] {
  const seen = new Map<string, AgentRow>();
  for (const m of metrics) {
    const tool = SESSION_METRICS.get(m.name);
    if (tool === undefined) continue;
    for (const p of m.points) {
      const session = text(p.attributes[A.SESSION_ID]) ?? text(m.resource[A.SESSION_ID]);
      if (session === undefined) continue;
      const start = p.startTimeUnixNano > 0n ? p.startTimeUnixNano : p.timeUnixNano;
      const row = sessionAgentRow(tool, session, m.resource, start);
      const prior = seen.get(row.id);
      if (!prior || (prior.startNs ?? 0n) > start) seen.set(row.id, row);
    }
  }
  return [...seen.values()].map((row) => ({ kind: 'agentStart', row }));
}
