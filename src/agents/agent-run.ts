import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { diag } from '@opentelemetry/api';
import * as A from '../semconv.js';
import type { AgentStatus } from '../spans/rows.js';
import type { TelemetryHooks, TelemetryRecord } from '../telemetry/hooks.js';
import type { Pricing } from '../telemetry/pricing-port.js';
import { writeUsageAttributes } from '../spans/usage-attributes.js';
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
  /** How long the call took; the span is back-dated by this much. */
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

  constructor(
    readonly id: string,
    readonly name: string,
    readonly type: string,
    readonly planId: string | undefined,
    readonly parentId: string | undefined,
    span: Span,
    private readonly services: RunServices,
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
      this.emit(record, usage.durationMs, (r, start, end) => this.writeUsageSpan(r, usage, start, end));
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
      this.emit(record, tool.durationMs, (r, start, end) => this.writeToolSpan(r, tool, start, end));
    } catch (err) {
      diag.warn(`agentloupe: recordTool failed: ${errorMessage(err)}`);
    }
  }

  /** Runs `fn` as a timed tool call; a throw marks the call failed and is rethrown. */
  async withTool<T>(tool: Omit<ToolInput, 'durationMs' | 'error'>, fn: () => Promise<T> | T): Promise<T> {
    const started = performance.now();
    try {
      const result = await fn();
      this.recordTool({ ...tool, durationMs: performance.now() - started });
      return result;
    } catch (err) {
      this.recordTool({ ...tool, durationMs: performance.now() - started, error: err });
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
    return {
      agentId: this.id,
      kind: 'model',
      provider: u.provider,
      model,
      engineId: u.engineId,
      ...tokens,
      costUsd: cost.costUsd,
      priced: cost.priced,
      partial: u.partial ?? false,
    };
  }

  /** Runs the telemetry hooks (which may change the record), then writes it. */
  private emit(record: TelemetryRecord, durationMs: number | undefined, write: (r: TelemetryRecord, start: number, end: number) => void): void {
    const end = Date.now();
    const start = end - Math.max(0, durationMs ?? 0);
    const outcome = this.services.hooks.runTelemetry(record);
    if (outcome instanceof Promise) {
      this.services.track(outcome.then((r) => write(r, start, end)));
    } else {
      write(outcome, start, end);
    }
  }

  private childContext(): Context {
    return trace.setSpan(context.active(), this.span);
  }

  private writeUsageSpan(r: TelemetryRecord, u: UsageInput, start: number, end: number): void {
    // Only the model-call operations: anything else would not be read back as a model call.
    const operation = u.operation !== undefined && A.MODEL_CALL_OPERATIONS.has(u.operation) ? u.operation : A.OP_CHAT;
    const attributes: Attributes = {
      ...u.attributes,
      [A.GEN_AI_OPERATION_NAME]: operation,
      [A.GEN_AI_PROVIDER_NAME]: u.provider,
      [A.GEN_AI_REQUEST_MODEL]: u.model,
      [A.GEN_AI_RESPONSE_MODEL]: u.model,
      [A.AGENTLOUPE_OWNER_AGENT_ID]: this.id,
      [A.GEN_AI_AGENT_NAME]: this.name,
    };
    writeUsageAttributes(r, attributes);
    const span = this.services.tracer.startSpan(
      `${operation} ${r.model ?? u.model}`,
      { kind: SpanKind.CLIENT, attributes, startTime: start },
      this.childContext(),
    );
    span.end(end);
  }

  private writeToolSpan(r: TelemetryRecord, t: ToolInput, start: number, end: number): void {
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
    const span = this.services.tracer.startSpan(`${A.OP_EXECUTE_TOOL} ${t.name}`, { kind: SpanKind.INTERNAL, attributes, startTime: start }, this.childContext());
    if (t.error !== undefined) {
      const message = errorMessage(t.error);
      if (t.error instanceof Error) span.recordException(t.error);
      span.setAttribute(A.ERROR_TYPE, t.error instanceof Error ? t.error.name : 'tool_error');
      span.setStatus({ code: SpanStatusCode.ERROR, message });
    }
    span.end(end);
  }

  private canEnd(action: string): boolean {
    if (this.ended) {
      diag.warn(`agentloupe: agent ${this.id} is already ${this.currentStatus}; ${action}() ignored`);
      return false;
    }
    return true;
  }

  private setStatus(status: AgentStatus): void {
    this.currentStatus = status;
    this.span.addEvent(A.STATUS_EVENT, { [A.AGENTLOUPE_AGENT_STATUS]: status });
  }

  private finish(status: AgentStatus): void {
    this.setStatus(status);
    this.span.setAttribute(A.AGENTLOUPE_AGENT_STATUS, status);
    this.services.hooks.runLifecycle(status === 'completed' ? 'agentComplete' : 'agentFail', this);
    this.span.end();
  }
}
