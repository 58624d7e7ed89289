import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { diag } from '@opentelemetry/api';
import * as A from '../semconv.js';
import type { AgentStatus } from '../spans/rows.js';
import type { TelemetryHooks, TelemetryRecord } from '../telemetry/hooks.js';
import type { Pricing } from '../telemetry/pricing-port.js';
import { writeUsageAttributes } from '../spans/usage-attributes.js';
import { nowMs } from './clock.js';
import { redactArgs } from './redact.js';

export interface UsageInput {
  /** `gen_ai.provider.name`: openai, anthropic, gcp.gemini, ollama, ... */
  provider: string;
  model: string;
  /** Every prompt token, cache reads and writes included (the GenAI conventions' definition). */
  inputTokens: number;
  /** Output tokens, reasoning included. */
  outputTokens: number;
  cacheReadTokens?: number;
  cacheCreationTokens?: number;
  reasoningTokens?: number;
  /** Model actually used, when the response names another than the one asked for. */
  responseModel?: string;
  /** Execution engine or gateway; its price comes before the model's. */
  engineId?: string;
  /** A cost known from elsewhere (USD); skips the price table. */
  costUsd?: number;
  /**
   * How long the call took; the span is back-dated by this much, but never to before its agent
   * run started (then the figure is kept as `agentloupe.call.reported_duration_ms`).
   */
  durationMs?: number;
  /** The call was cut off before its usage arrived. */
  partial?: boolean;
  /** `gen_ai.operation.name`: chat (default), text_completion, embeddings, generate_content. */
  operation?: string;
  attributes?: Attributes;
}

export interface ToolInput {
  name: string;
  /** Tool arguments; secrets are redacted and the JSON is capped before storing. */
  args?: unknown;
  approved?: boolean;
  /** How it was approved: user, auto, policy, ... */
  approvalType?: string;
  callId?: string;
  /** Execution engine that ran the tool. */
  engineId?: string;
  /** `gen_ai.tool.type`: function, extension, datastore. */
  type?: string;
  /** How long the tool ran; bounded by the run's start as for `UsageInput.durationMs`. */
  durationMs?: number;
  /** The tool failed: message or error. */
  error?: unknown;
  attributes?: Attributes;
}

/** What AgentRun needs from its monitor. */
export interface RunServices {
  tracer: Tracer;
  pricing: Pricing;
  hooks: TelemetryHooks;
  /** Keeps hook work visible to shutdown. */
  track(work: Promise<unknown>): void;
}

/** What a model call is known to be before its answer arrives (see `AgentRun.beginModelCall`). */
export interface ModelCallRequest {
  provider: string;
  model: string;
  operation?: string;
}

/**
 * A model call whose span is open while the request is in flight, so that the request can carry
 * the call's own trace context. `end` records it exactly as `recordUsage` would; `abandon` drops
 * it (a call that returned no usage leaves no span and no row).
 */
export interface ModelCallHandle {
  /** The context whose active span is the call's span (inject it into the request). */
  readonly context: Context;
  end(usage: UsageInput): void;
  abandon(): void;
}

const AGENT_RUN_KEY = Symbol.for('agentloupe.agent-run');

/** The agent run active in a context, if any. */
export function agentRunFromContext(ctx: Context): AgentRun | undefined {
  return ctx.getValue(AGENT_RUN_KEY) as AgentRun | undefined;
}

export function contextWithAgentRun(ctx: Context, run: AgentRun): Context {
  return trace.setSpan(ctx, run.span).setValue(AGENT_RUN_KEY, run);
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

/**
 * One agent run: an `invoke_agent` span, and a row in `agents`. Lifecycle
 * starting -> running -> completed | failed | terminated; an illegal transition is ignored with a
 * diagnostic, never thrown into the agent.
 */
export class AgentRun {
  readonly span: Span;
  private currentStatus: AgentStatus = 'starting';
  private lastActive: Context | undefined;
  private lastChild: Context | undefined;

  /**
   * `startedMs`: when the run's span started (epoch ms, `nowMs()` clock); records are never
   * back-dated before it. Undefined for a run another process records (`attachAgent`).
   */
  constructor(
    readonly id: string,
    readonly name: string,
    readonly type: string,
    readonly planId: string | undefined,
    readonly parentId: string | undefined,
    span: Span,
    private readonly services: RunServices,
    readonly startedMs?: number,
  ) {
    this.span = span;
  }

  get status(): AgentStatus {
    return this.currentStatus;
  }

  get ended(): boolean {
    return this.currentStatus === 'completed' || this.currentStatus === 'failed' || this.currentStatus === 'terminated';
  }

  /** The context in which this run is the active agent (for spans and nested agents). */
  context(base: Context = context.active()): Context {
    return contextWithAgentRun(base, this);
  }

  running(): this {
    if (this.currentStatus !== 'starting') {
      diag.warn(`agentloupe: agent ${this.id} is ${this.currentStatus}; running() ignored`);
      return this;
    }
    this.setStatus('running');
    return this;
  }

  complete(exitCode = 0): void {
    if (!this.canEnd('complete')) return;
    this.span.setAttribute(A.AGENTLOUPE_EXIT_CODE, exitCode);
    this.span.setStatus({ code: SpanStatusCode.OK });
    this.finish('completed');
  }

  fail(error: unknown, exitCode?: number): void {
    if (!this.canEnd('fail')) return;
    const message = errorMessage(error);
    if (error instanceof Error) this.span.recordException(error);
    if (exitCode !== undefined) this.span.setAttribute(A.AGENTLOUPE_EXIT_CODE, exitCode);
    this.span.setAttribute(A.AGENTLOUPE_ERROR_MESSAGE, message);
    this.span.setAttribute(A.ERROR_TYPE, error instanceof Error ? error.name : 'agent_failed');
    this.span.setStatus({ code: SpanStatusCode.ERROR, message });
    this.finish('failed');
  }

  terminate(reason: string, exitCode?: number): void {
    if (!this.canEnd('terminate')) return;
    if (exitCode !== undefined) this.span.setAttribute(A.AGENTLOUPE_EXIT_CODE, exitCode);
    this.span.setAttribute(A.AGENTLOUPE_ERROR_MESSAGE, reason);
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: `terminated: ${reason}` });
    this.finish('terminated');
  }

  /** Records one model call: a `chat` span under this run and a telemetry row. */
  recordUsage(usage: UsageInput): void {
    try {
      const record = this.usageRecord(usage);
      this.emit(record, usage.durationMs, (r, times) => {
        const span = this.services.tracer.startSpan(
          `${modelOperation(usage.operation)} ${r.model ?? usage.model}`,
          { kind: SpanKind.CLIENT, startTime: times.start, attributes: this.usageAttributes(r, usage, times) },
          this.childContext(),
        );
        span.end(times.end);
      });
    } catch (err) {
      diag.warn(`agentloupe: recordUsage failed: ${errorMessage(err)}`);
    }
  }

  /**
   * Records one model call onto the span a provider SDK started for it (one call, one span):
   * the same record, price and hooks as recordUsage, written as that span's attributes. A hook
   * that settles after the SDK ended its span cannot change it any more: the span then keeps the
   * values from before the hook.
   */
  recordUsageOn(span: Span, usage: UsageInput): void {
    try {
      const record = this.usageRecord(usage);
      const write = (r: TelemetryRecord): void => {
        if (span.isRecording()) span.setAttributes(writeUsageAttributes(r, { ...usage.attributes }));
      };
      const outcome = this.services.hooks.runTelemetry(record);
      if (outcome instanceof Promise) {
        write(record);
        this.services.track(outcome.then(write));
      } else {
        write(outcome);
      }
    } catch (err) {
      diag.warn(`agentloupe: recordUsage failed: ${errorMessage(err)}`);
    }
  }

  /**
   * Opens a model call's span now, before its request is sent, so that the request's
   * `traceparent` names the call (a provider's or proxy's server span then hangs off the call,
   * not off the agent). Never throws.
   */
  beginModelCall(request: ModelCallRequest): ModelCallHandle {
    const operation = modelOperation(request.operation);
    const start = nowMs();
    const span = this.services.tracer.startSpan(
      `${operation} ${request.model}`,
      { kind: SpanKind.CLIENT, startTime: start, attributes: { [A.GEN_AI_OPERATION_NAME]: operation, [A.GEN_AI_PROVIDER_NAME]: request.provider, [A.GEN_AI_REQUEST_MODEL]: request.model } },
      this.childContext(),
    );
    let settled = false;
    return {
      context: trace.setSpan(this.childContext(), span),
      end: (usage) => {
        if (settled) return;
        settled = true;
        try {
          this.emit(this.usageRecord(usage), undefined, (r, times) => {
            span.setAttributes(this.usageAttributes(r, usage, times));
            span.updateName(`${modelOperation(usage.operation)} ${r.model ?? usage.model}`);
            span.end(times.end);
          }, start);
        } catch (err) {
          diag.warn(`agentloupe: recording a model call failed: ${errorMessage(err)}`);
        }
      },
      abandon: () => {
        // Never ended, so never exported or stored: the SDK keeps no reference to it.
        settled = true;
      },
    };
  }

  /** Records one tool call: an `execute_tool` span under this run and a telemetry row. */
  recordTool(tool: ToolInput): void {
    try {
      const record: TelemetryRecord = {
        agentId: this.id,
        kind: 'tool',
        toolName: tool.name,
        toolArgs: tool.args === undefined ? undefined : redactArgs(tool.args),
        toolApproved: tool.approved,
        toolApprovalType: tool.approvalType,
        engineId: tool.engineId,
        inputTokens: 0,
        outputTokens: 0,
        cacheReadTokens: 0,
        cacheCreationTokens: 0,
        reasoningTokens: 0,
        totalTokens: 0,
        costUsd: 0,
        priced: true,
      };
      this.emit(record, tool.durationMs, (r, times) => this.writeToolSpan(r, tool, times));
    } catch (err) {
      diag.warn(`agentloupe: recordTool failed: ${errorMessage(err)}`);
    }
  }

  /** Runs `fn` as a timed tool call; a throw marks the call failed and is rethrown. */
  async withTool<T>(tool: Omit<ToolInput, 'durationMs' | 'error'>, fn: () => Promise<T> | T): Promise<T> {
    const started = nowMs();
    try {
      const result = await fn();
      this.recordTool({ ...tool, durationMs: nowMs() - started });
      return result;
    } catch (err) {
      this.recordTool({ ...tool, durationMs: nowMs() - started, error: err });
      throw err;
    }
  }

  private usageRecord(u: UsageInput): TelemetryRecord {
    const cacheRead = u.cacheReadTokens ?? 0;
    const cacheCreation = u.cacheCreationTokens ?? 0;
    const tokens = {
      inputTokens: u.inputTokens,
      outputTokens: u.outputTokens,
      cacheReadTokens: cacheRead,
      cacheCreationTokens: cacheCreation,
      reasoningTokens: u.reasoningTokens ?? 0,
      totalTokens: u.inputTokens + u.outputTokens,
    };
    const model = u.responseModel ?? u.model;
    const cost = u.costUsd !== undefined ? { costUsd: u.costUsd, priced: true } : this.services.pricing.cost(tokens, { model, engineId: u.engineId });
    // Field by field: a spread inside a literal costs a slow object clone on every call (Node 20).
    return {
      agentId: this.id,
      kind: 'model',
      provider: u.provider,
      model,
      engineId: u.engineId,
      inputTokens: tokens.inputTokens,
      outputTokens: tokens.outputTokens,
      cacheReadTokens: tokens.cacheReadTokens,
      cacheCreationTokens: tokens.cacheCreationTokens,
      reasoningTokens: tokens.reasoningTokens,
      totalTokens: tokens.totalTokens,
      costUsd: cost.costUsd,
      priced: cost.priced,
      partial: u.partial ?? false,
    };
  }

  /**
   * Runs the telemetry hooks (which may change the record), then writes it. The record ends now
   * and starts `durationMs` earlier, but never before this run started: a caller's duration that
   * would cross the run's start is clamped, and kept in `times.reportedMs`.
   */
  private emit(record: TelemetryRecord, durationMs: number | undefined, write: (r: TelemetryRecord, times: RecordTimes) => void, startMs?: number): void {
    const end = nowMs();
    const requested = Number.isFinite(durationMs) ? Math.max(0, durationMs!) : 0;
    let start = startMs ?? end - requested;
    const times: RecordTimes = { start, end };
    if (this.startedMs !== undefined && start < this.startedMs) {
      start = Math.min(this.startedMs, end);
      times.start = start;
      if (durationMs !== undefined) times.reportedMs = requested;
    }
    const outcome = this.services.hooks.runTelemetry(record);
    if (outcome instanceof Promise) {
      this.services.track(outcome.then((r) => write(r, times)));
    } else {
      write(outcome, times);
    }
  }

  /**
   * The active context with this run's span set in it. Contexts are immutable, so the last one
   * made serves again while the active context stays the same object (a run's model calls
   * usually are made from one context): setSpan copies the context's whole map each time.
   */
  private childContext(): Context {
    const active = context.active();
    if (active !== this.lastActive || this.lastChild === undefined) {
      this.lastActive = active;
      this.lastChild = trace.setSpan(active, this.span);
    }
    return this.lastChild;
  }

  private usageAttributes(r: TelemetryRecord, u: UsageInput, times: RecordTimes): Attributes {
    const operation = modelOperation(u.operation);
    // The caller's attributes first (ours override them); with none, no spread (see usageRecord).
    const attributes: Attributes = u.attributes === undefined ? {} : { ...u.attributes };
    attributes[A.GEN_AI_OPERATION_NAME] = operation;
    attributes[A.GEN_AI_PROVIDER_NAME] = u.provider;
    attributes[A.GEN_AI_REQUEST_MODEL] = u.model;
    attributes[A.GEN_AI_RESPONSE_MODEL] = u.model;
    attributes[A.AGENTLOUPE_OWNER_AGENT_ID] = this.id;
    attributes[A.GEN_AI_AGENT_NAME] = this.name;
    writeUsageAttributes(r, attributes);
    if (times.reportedMs !== undefined) attributes[A.AGENTLOUPE_REPORTED_DURATION_MS] = times.reportedMs;
    return attributes;
  }

  private writeToolSpan(r: TelemetryRecord, t: ToolInput, times: RecordTimes): void {
    const attributes: Attributes = {
      ...t.attributes,
      [A.GEN_AI_OPERATION_NAME]: A.OP_EXECUTE_TOOL,
      [A.GEN_AI_TOOL_NAME]: r.toolName ?? t.name,
      [A.AGENTLOUPE_OWNER_AGENT_ID]: this.id,
      [A.GEN_AI_AGENT_NAME]: this.name,
    };
    if (t.callId) attributes[A.GEN_AI_TOOL_CALL_ID] = t.callId;
    if (t.type) attributes[A.GEN_AI_TOOL_TYPE] = t.type;
    if (r.toolArgs !== undefined) attributes[A.GEN_AI_TOOL_CALL_ARGUMENTS] = r.toolArgs;
    if (r.toolApproved !== undefined) attributes[A.AGENTLOUPE_TOOL_APPROVED] = r.toolApproved;
    if (r.toolApprovalType) attributes[A.AGENTLOUPE_TOOL_APPROVAL_TYPE] = r.toolApprovalType;
    if (r.engineId) attributes[A.AGENTLOUPE_ENGINE_ID] = r.engineId;
    if (times.reportedMs !== undefined) attributes[A.AGENTLOUPE_REPORTED_DURATION_MS] = times.reportedMs;
    const span = this.services.tracer.startSpan(`${A.OP_EXECUTE_TOOL} ${t.name}`, { kind: SpanKind.INTERNAL, attributes, startTime: times.start }, this.childContext());
    if (t.error !== undefined) {
      const message = errorMessage(t.error);
      if (t.error instanceof Error) span.recordException(t.error);
      span.setAttribute(A.ERROR_TYPE, t.error instanceof Error ? t.error.name : 'tool_error');
      span.setStatus({ code: SpanStatusCode.ERROR, message });
    }
    span.end(times.end);
  }

  private canEnd(action: string): boolean {
    if (this.ended) {
      diag.warn(`agentloupe: agent ${this.id} is already ${this.currentStatus}; ${action}() ignored`);
      return false;
    }
    return true;
  }

  private setStatus(status: AgentStatus, at = nowMs()): void {
    this.currentStatus = status;
    this.span.addEvent(A.STATUS_EVENT, { [A.AGENTLOUPE_AGENT_STATUS]: status }, at);
  }

  private finish(status: AgentStatus): void {
    const at = nowMs();
    this.setStatus(status, at);
    this.span.setAttribute(A.AGENTLOUPE_AGENT_STATUS, status);
    this.services.hooks.runLifecycle(status === 'completed' ? 'agentComplete' : 'agentFail', this);
    this.span.end(at);
  }
}

interface RecordTimes {
  /** Epoch ms (`nowMs()` clock). */
  start: number;
  end: number;
  /** The caller's duration, when it was clamped to the run's start. */
  reportedMs?: number;
}

/** Only the model-call operations: anything else would not be read back as a model call. */
function modelOperation(operation: string | undefined): string {
  return operation !== undefined && A.MODEL_CALL_OPERATIONS.has(operation) ? operation : A.OP_CHAT;
}
