/**
 * Coding-agent telemetry -> write ops. Claude Code, Gemini CLI and Codex CLI export no agent
 * spans by default, only OTLP log events (one per model request) and metrics. Each session
 * becomes one agent run (`<tool>-<session id>`, status running, refreshed as events arrive) and
 * each model-request event one telemetry row.
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
import { modelCallRow, nsToSeconds, priceOrUnpriced, toJson, type CostFunction } from '../spans/mapping.js';
import type { AgentRow, WriteOp } from '../spans/rows.js';
import type { Attributes } from '../spans/span-data.js';
import type { TokenUsage } from '../telemetry/types.js';
import type { LogData, MetricData } from './otlp/index.js';

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

function sessionAgentRow(tool: CodingAgent, session: string, resource: Attributes, timeNs: bigint): AgentRow {
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

/** Ops for the coding-agent events among `logs`; other records are ignored. */
export function codingAgentLogOps(logs: readonly LogData[], price?: CostFunction): WriteOp[] {
  const ops: WriteOp[] = [];
  for (const log of logs) {
    const tool = codingAgentEventOf(log);
    if (tool === undefined) continue;
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
    ops.push({ kind: 'agentStart', row: agent }, { kind: 'telemetry', row, dedupe: true });
  }
  return ops;
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
