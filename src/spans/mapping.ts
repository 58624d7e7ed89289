/**
 * The one mapping from spans to rows. The in-process SqliteSpanProcessor and the OTLP
 * collector both feed SpanData through these functions, so a span means the same rows whichever
 * way it arrived.
 */
import * as A from '../semconv.js';
import type { CostResult, TokenUsage } from '../telemetry/types.js';
import type { AttributeValue, Attributes, SpanData } from './span-data.js';
import {
  isAgentStatus,
  type AgentRow,
  type AgentStatus,
  type AgentStatusChange,
  type SpanRow,
  type TelemetryRow,
} from './rows.js';

/** Prices a model call that carries no cost of its own (spans from other instrumentations). */
export type CostFunction = (usage: TokenUsage, model: string | undefined, engineId: string | undefined) => CostResult;

/** Tool arguments are kept to this many characters in telemetry.tool_args. */
export const MAX_TOOL_ARGS_CHARS = 4096;

const NS_PER_SECOND = 1_000_000_000n;

export function nsToSeconds(ns: bigint): number {
  return Number(ns / NS_PER_SECOND);
}

export function nsToMs(ns: bigint): number {
  return Number(ns / 1000n) / 1000;
}

function str(attrs: Attributes, key: string): string | undefined {
  const v = attrs[key];
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function num(attrs: Attributes, key: string): number | undefined {
  const v = attrs[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

function bool(attrs: Attributes, key: string): boolean | undefined {
  const v = attrs[key];
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return undefined;
}

function firstNum(attrs: Attributes, ...keys: string[]): number | undefined {
  for (const k of keys) {
    const v = num(attrs, k);
    if (v !== undefined) return v;
  }
  return undefined;
}

/**
 * The GenAI operation of a span: `gen_ai.operation.name`, else the operation other
 * instrumentations' own span kinds stand for (OpenInference `openinference.span.kind`,
 * OpenLLMetry `traceloop.span.kind` / `llm.request.type`).
 */
export function operationOf(span: SpanData): string | undefined {
  const a = span.attributes;
  const op = str(a, A.GEN_AI_OPERATION_NAME);
  if (op !== undefined) return op;
  const oi = str(a, A.OPENINFERENCE_SPAN_KIND);
  if (oi !== undefined) return OPENINFERENCE_OPERATIONS[oi.toUpperCase()];
  const tl = str(a, A.TRACELOOP_SPAN_KIND);
  if (tl === A.TRACELOOP_KIND_AGENT) return A.OP_INVOKE_AGENT;
  if (tl === A.TRACELOOP_KIND_TOOL) return A.OP_EXECUTE_TOOL;
  const requestType = str(a, A.LLM_REQUEST_TYPE);
  return requestType === undefined ? undefined : LLM_REQUEST_TYPE_OPERATIONS[requestType];
}

const OPENINFERENCE_OPERATIONS: Record<string, string> = {
  [A.OI_KIND_AGENT]: A.OP_INVOKE_AGENT,
  [A.OI_KIND_TOOL]: A.OP_EXECUTE_TOOL,
  [A.OI_KIND_LLM]: A.OP_CHAT,
  [A.OI_KIND_EMBEDDING]: A.OP_EMBEDDINGS,
};

const LLM_REQUEST_TYPE_OPERATIONS: Record<string, string> = {
  chat: A.OP_CHAT,
  completion: A.OP_TEXT_COMPLETION,
  embedding: A.OP_EMBEDDINGS,
};

/** An agent run: `invoke_agent` spans (and OpenInference / OpenLLMetry agent spans). */
export function isAgentSpan(span: SpanData): boolean {
  return operationOf(span) === A.OP_INVOKE_AGENT;
}

/** Spans written by agentloupe's own API carry the agent type; their ids are run ids. */
function isOwnAgentSpan(span: SpanData): boolean {
  return str(span.attributes, A.AGENTLOUPE_AGENT_TYPE) !== undefined;
}

/**
 * The run id of an agent span. agentloupe's own spans carry it in `gen_ai.agent.id`; for other
 * instrumentations `gen_ai.agent.id` names the agent, not the run, so the span id is the run.
 */
export function agentIdOf(span: SpanData): string {
  if (isOwnAgentSpan(span)) return str(span.attributes, A.GEN_AI_AGENT_ID) ?? span.spanId;
  return span.spanId;
}

export function serviceNameOf(span: SpanData): string | null {
  return str(span.resource, A.SERVICE_NAME) ?? null;
}

function exceptionMessage(span: SpanData): string | undefined {
  for (let i = span.events.length - 1; i >= 0; i--) {
    const e = span.events[i]!;
    if (e.name === A.EXCEPTION_EVENT) return str(e.attributes, 'exception.message') ?? str(e.attributes, 'exception.type');
  }
  return undefined;
}

/** The status an ended agent span stands for. */
export function finalStatusOf(span: SpanData): AgentStatus {
  const explicit = span.attributes[A.AGENTLOUPE_AGENT_STATUS];
  if (isAgentStatus(explicit)) return explicit;
  return span.statusCode === 2 ? 'failed' : 'completed';
}

/**
 * The agents row for an agent span, as at its start (`endTimeUnixNano` unset) or at its end.
 * `parentAgentId` is the resolved parent run when the span does not carry one itself.
 */
export function agentRowFromSpan(span: SpanData, parentAgentId?: string | null): AgentRow {
  const a = span.attributes;
  const id = agentIdOf(span);
  const name = str(a, A.GEN_AI_AGENT_NAME) ?? str(a, A.AGENTLOUPE_AGENT_TYPE) ?? str(a, A.OI_AGENT_NAME) ?? str(a, A.TRACELOOP_ENTITY_NAME) ?? span.name;
  const ended = span.endTimeUnixNano !== undefined;
  const status: AgentStatus = ended ? finalStatusOf(span) : 'starting';
  const exitCode = num(a, A.AGENTLOUPE_EXIT_CODE);
  const errorMessage = status === 'completed' ? undefined : str(a, A.AGENTLOUPE_ERROR_MESSAGE) ?? span.statusMessage ?? exceptionMessage(span);
  return {
    id,
    parentId: str(a, A.AGENTLOUPE_PARENT_AGENT_ID) ?? parentAgentId ?? null,
    planId: str(a, A.AGENTLOUPE_PLAN_ID) ?? null,
    agentType: str(a, A.AGENTLOUPE_AGENT_TYPE) ?? name,
    status,
    processId: num(a, A.PROCESS_PID) ?? num(span.resource, A.PROCESS_PID) ?? null,
    startTime: nsToSeconds(span.startTimeUnixNano),
    endTime: ended ? nsToSeconds(span.endTimeUnixNano!) : null,
    exitCode: ended ? exitCode ?? (status === 'completed' ? 0 : null) : null,
    errorMessage: ended ? errorMessage ?? null : null,
    logFile: str(a, A.AGENTLOUPE_LOG_FILE) ?? null,
    name,
    category: str(a, A.AGENTLOUPE_AGENT_CATEGORY) ?? null,
    traceId: span.traceId,
    spanId: span.spanId,
    serviceName: serviceNameOf(span),
    startNs: span.startTimeUnixNano,
    endNs: span.endTimeUnixNano ?? null,
  };
}

/**
 * The type of the run a model or tool call belongs to, as the call names it (agentloupe's own
 * calls carry the run's name, which is its type unless given apart), or undefined.
 */
export function ownerTypeOf(span: SpanData): string | undefined {
  return str(span.attributes, A.AGENTLOUPE_AGENT_TYPE) ?? str(span.attributes, A.GEN_AI_AGENT_NAME);
}

/** Status-change events on an agent span, from event index `from` on. */
export function statusChangesFromSpan(span: SpanData, from = 0): AgentStatusChange[] {
  const out: AgentStatusChange[] = [];
  const id = agentIdOf(span);
  for (let i = from; i < span.events.length; i++) {
    const e = span.events[i]!;
    if (e.name !== A.STATUS_EVENT) continue;
    const status = e.attributes[A.AGENTLOUPE_AGENT_STATUS];
    if (isAgentStatus(status)) out.push({ id, status, time: nsToSeconds(e.timeUnixNano) });
  }
  return out;
}

/** The provider a model-call span names, in any of the instrumentations' spellings. */
export function providerOf(a: Attributes): string | undefined {
  return str(a, A.GEN_AI_PROVIDER_NAME) ?? str(a, A.GEN_AI_SYSTEM) ?? str(a, A.OI_LLM_PROVIDER) ?? str(a, A.OI_LLM_SYSTEM);
}

/** The model a model-call span names: the response's model first, then the request's. */
export function modelOf(a: Attributes): string | undefined {
  return (
    str(a, A.GEN_AI_RESPONSE_MODEL) ??
    str(a, A.GEN_AI_REQUEST_MODEL) ??
    str(a, A.OI_LLM_RESPONSE_MODEL_NAME) ??
    str(a, A.OI_LLM_MODEL_NAME) ??
    str(a, A.OI_LLM_REQUEST_MODEL_NAME)
  );
}

/**
 * Usage carried by a model-call span, reading current and deprecated GenAI names and the
 * OpenLLMetry (`gen_ai.usage.prompt_tokens`, `llm.usage.*`, `*_input_tokens`) and OpenInference
 * (`llm.token_count.*`) variants; cache writes as `cache_creation` or `cache_write`.
 *
 * Input is normalised to DESIGN.md's rule (input includes cache reads and writes). The GenAI
 * conventions, OpenLLMetry and OpenInference all count cache inside input already; an Anthropic
 * span whose input is smaller than its cache tokens was recorded with Anthropic's own meaning
 * (`input_tokens` excludes cache), so the cache is added to it.
 */
export function usageFromAttributes(a: Attributes): TokenUsage | undefined {
  const input = firstNum(a, A.GEN_AI_USAGE_INPUT_TOKENS, A.GEN_AI_USAGE_PROMPT_TOKENS, A.OI_TOKEN_COUNT_PROMPT, A.LLM_USAGE_PROMPT_TOKENS);
  const output = firstNum(a, A.GEN_AI_USAGE_OUTPUT_TOKENS, A.GEN_AI_USAGE_COMPLETION_TOKENS, A.OI_TOKEN_COUNT_COMPLETION, A.LLM_USAGE_COMPLETION_TOKENS);
  if (input === undefined && output === undefined) return undefined;
  const cacheRead = firstNum(a, A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, A.GEN_AI_USAGE_CACHE_READ_TOKENS_ALT, A.OI_TOKEN_COUNT_CACHE_READ) ?? 0;
  const cacheCreation =
    firstNum(
      a,
      A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
      A.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS_ANTHROPIC_SDK,
      A.GEN_AI_USAGE_CACHE_CREATION_TOKENS_ALT,
      A.OI_TOKEN_COUNT_CACHE_WRITE,
    ) ?? 0;
  const reasoning = firstNum(a, A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, A.OI_TOKEN_COUNT_REASONING, A.GEN_AI_USAGE_REASONING_TOKENS_ALT) ?? 0;
  let inputTokens = input ?? 0;
  if (inputTokens < cacheRead + cacheCreation && providerOf(a)?.toLowerCase().startsWith('anthropic')) inputTokens += cacheRead + cacheCreation;
  const outputTokens = output ?? 0;
  return {
    inputTokens,
    outputTokens,
    cacheReadTokens: cacheRead,
    cacheCreationTokens: cacheCreation,
    reasoningTokens: reasoning,
    totalTokens: inputTokens + outputTokens,
  };
}

export function isModelCallSpan(span: SpanData): boolean {
  const op = operationOf(span);
  if (op !== undefined) return A.MODEL_CALL_OPERATIONS.has(op);
  return usageFromAttributes(span.attributes) !== undefined;
}

export function isToolSpan(span: SpanData): boolean {
  const op = operationOf(span);
  return op === A.OP_EXECUTE_TOOL || (op === undefined && str(span.attributes, A.GEN_AI_TOOL_NAME) !== undefined);
}

function toolNameOf(span: SpanData): string {
  const a = span.attributes;
  return str(a, A.GEN_AI_TOOL_NAME) ?? str(a, A.OI_TOOL_NAME) ?? str(a, A.TRACELOOP_ENTITY_NAME) ?? span.name;
}

function toolArgs(a: Attributes): string | null {
  const v = a[A.GEN_AI_TOOL_CALL_ARGUMENTS];
  if (v === undefined || v === null) return null;
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > MAX_TOOL_ARGS_CHARS ? `${text.slice(0, MAX_TOOL_ARGS_CHARS - 1)}…` : text;
}

function durationMsOf(span: SpanData): number | null {
  return span.endTimeUnixNano !== undefined ? nsToMs(span.endTimeUnixNano - span.startTimeUnixNano) : null;
}

/**
 * The telemetry row of a model-call or tool span, or undefined for any other span.
 * `price` costs a model call that carries no `agentloupe.cost.usd` of its own.
 */
export function telemetryFromSpan(span: SpanData, agentId: string, price?: CostFunction): TelemetryRow | undefined {
  const a = span.attributes;
  // Rows are built field by field: on Node 20, `{ ...base, many more }` costs tens of microseconds per call.
  if (isModelCallSpan(span)) {
    const usage = usageFromAttributes(a) ?? NO_USAGE;
    const model = modelOf(a);
    const engineId = str(a, A.AGENTLOUPE_ENGINE_ID);
    const known = num(a, A.AGENTLOUPE_COST_USD);
    return modelCallRow({
      agentId,
      timestamp: nsToSeconds(span.endTimeUnixNano ?? span.startTimeUnixNano),
      usage,
      cost: known !== undefined ? { costUsd: known, priced: !(bool(a, A.AGENTLOUPE_COST_UNPRICED) ?? false) } : priceOrUnpriced(price, usage, model, engineId),
      model,
      provider: providerOf(a),
      engineId,
      traceId: span.traceId,
      spanId: span.spanId,
      operation: operationOf(span),
      durationMs: durationMsOf(span),
      partial: bool(a, A.AGENTLOUPE_CALL_PARTIAL) ?? false,
    });
  }
  if (isToolSpan(span)) {
    return {
      agentId,
      timestamp: nsToSeconds(span.endTimeUnixNano ?? span.startTimeUnixNano),
      inputTokens: 0,
      outputTokens: 0,
      cachedTokens: 0,
      cacheCreationTokens: 0,
      cacheReadTokens: 0,
      totalTokens: 0,
      estimatedCost: 0,
      model: null,
      provider: null,
      toolName: toolNameOf(span),
      toolArgs: toolArgs(a),
      toolApproved: bool(a, A.AGENTLOUPE_TOOL_APPROVED) ?? null,
      toolApprovalType: str(a, A.AGENTLOUPE_TOOL_APPROVAL_TYPE) ?? null,
      engineId: str(a, A.AGENTLOUPE_ENGINE_ID) ?? null,
      traceId: span.traceId,
      spanId: span.spanId,
      operation: operationOf(span) ?? null,
      unpriced: false,
      reasoningTokens: 0,
      durationMs: durationMsOf(span),
      partial: false,
    };
  }
  return undefined;
}

/** What one model call is, from whichever source (a span, a coding agent's log event). */
export interface ModelCall {
  agentId: string;
  /** Epoch seconds. */
  timestamp: number;
  usage: TokenUsage;
  cost: CostResult;
  model?: string;
  provider?: string;
  engineId?: string;
  traceId?: string;
  spanId?: string;
  operation?: string;
  durationMs?: number | null;
  partial?: boolean;
}

/** The cost of a call from the price table; unpriced (not a real $0) when there is no table or no price. */
export function priceOrUnpriced(price: CostFunction | undefined, usage: TokenUsage, model: string | undefined, engineId: string | undefined): CostResult {
  return price?.(usage, model, engineId) ?? { costUsd: 0, priced: false };
}

/** The telemetry row of one model call. Built field by field: see telemetryFromSpan. */
export function modelCallRow(c: ModelCall): TelemetryRow {
  return {
    agentId: c.agentId,
    timestamp: c.timestamp,
    inputTokens: c.usage.inputTokens,
    outputTokens: c.usage.outputTokens,
    cachedTokens: c.usage.cacheReadTokens,
    cacheCreationTokens: c.usage.cacheCreationTokens,
    cacheReadTokens: c.usage.cacheReadTokens,
    totalTokens: c.usage.totalTokens,
    estimatedCost: c.cost.costUsd,
    model: c.model ?? null,
    provider: c.provider ?? null,
    toolName: null,
    toolArgs: null,
    toolApproved: null,
    toolApprovalType: null,
    engineId: c.engineId ?? null,
    traceId: c.traceId ?? null,
    spanId: c.spanId ?? null,
    operation: c.operation ?? null,
    unpriced: !c.cost.priced,
    reasoningTokens: c.usage.reasoningTokens,
    durationMs: c.durationMs ?? null,
    partial: c.partial ?? false,
  };
}

const NO_USAGE: TokenUsage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0, reasoningTokens: 0, totalTokens: 0 };

/** JSON that keeps bigints (as decimal strings) instead of throwing on them. */
export function toJson(value: unknown): string {
  try {
    // Without a replacer JSON.stringify is several times faster; bigints (event times) make it throw.
    return JSON.stringify(value);
  } catch {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  }
}

export function spanRowFromSpan(span: SpanData, agentId: string | null): SpanRow {
  const end = span.endTimeUnixNano ?? span.startTimeUnixNano;
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId ?? null,
    name: span.name,
    kind: span.kind,
    startNs: span.startTimeUnixNano,
    endNs: end,
    durationNs: end - span.startTimeUnixNano,
    statusCode: span.statusCode,
    statusMessage: span.statusMessage ?? null,
    serviceName: serviceNameOf(span),
    scopeName: span.scopeName ?? null,
    agentId,
    attributes: toJson(span.attributes),
    events: span.events.length === 0 ? '[]' : toJson(span.events),
    links: span.links.length === 0 ? '[]' : toJson(span.links),
    resource: resourceJson(span.resource),
  };
}

/** Spans of one process share one resource object: serialise it once. */
const resourceJsonCache = new WeakMap<Attributes, string>();

export function resourceJson(resource: Attributes): string {
  let json = resourceJsonCache.get(resource);
  if (json === undefined) {
    json = toJson(resource);
    resourceJsonCache.set(resource, json);
  }
  return json;
}

/** The owning agent run a span names itself (agentloupe's own model and tool spans do). */
export function ownerAgentIdOf(span: SpanData): string | undefined {
  if (isAgentSpan(span)) return agentIdOf(span);
  return str(span.attributes, A.AGENTLOUPE_OWNER_AGENT_ID);
}

/** The synthetic agent run of a trace: it owns the trace's model calls that have no agent span above them. */
export function syntheticAgentId(traceId: string): string {
  return `trace-${traceId}`;
}

/**
 * The synthetic agent that owns model calls with no agent span above them: one per trace,
 * id `trace-<traceId>`, typed by the service that sent them. (Documented in the README.)
 */
export function syntheticAgentRow(span: SpanData): AgentRow {
  const service = serviceNameOf(span) ?? 'unknown_service';
  return {
    id: syntheticAgentId(span.traceId),
    parentId: null,
    planId: null,
    agentType: service,
    status: 'completed',
    processId: num(span.resource, A.PROCESS_PID) ?? null,
    startTime: nsToSeconds(span.startTimeUnixNano),
    endTime: nsToSeconds(span.endTimeUnixNano ?? span.startTimeUnixNano),
    exitCode: null,
    errorMessage: null,
    logFile: null,
    name: service,
    category: 'synthetic',
    traceId: span.traceId,
    spanId: null,
    serviceName: service,
    startNs: span.startTimeUnixNano,
    endNs: span.endTimeUnixNano ?? span.startTimeUnixNano,
  };
}

export type { AttributeValue };
