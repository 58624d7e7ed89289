import type { Attributes, Counter, Meter } from '@opentelemetry/api';
import * as A from '../semconv.js';
import { agentRowFromSpan, isAgentSpan, nsToMs, operationOf, telemetryFromSpan, type CostFunction } from '../spans/mapping.js';
import type { TelemetryRow } from '../spans/rows.js';
import type { SpanData } from '../spans/span-data.js';
import { createInstruments, type AgentInstruments } from './instruments.js';

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

type Add = (counter: Counter, value: number, attrs: Attributes) => void;

const addNow: Add = (counter, value, attrs) => counter.add(value, attrs);

/**
 * Counter increments of many spans, summed per counter and attribute set before they are
 * recorded: the SDK hashes the attribute set on every add, which was about a tenth of the
 * collector's request thread at 100 model calls per request.
 */
class CounterSums {
  private readonly sums = new Map<Counter, Map<string, { attrs: Attributes; value: number }>>();

  readonly add: Add = (counter, value, attrs) => {
    let byAttrs = this.sums.get(counter);
    if (byAttrs === undefined) this.sums.set(counter, (byAttrs = new Map()));
    let key = '';
    for (const k in attrs) key += `${k}\u0002${String(attrs[k])}\u0001`;
    const sum = byAttrs.get(key);
    if (sum === undefined) byAttrs.set(key, { attrs, value });
    else sum.value += value;
  };

  record(): void {
    for (const [counter, byAttrs] of this.sums) for (const { attrs, value } of byAttrs.values()) counter.add(value, attrs);
    this.sums.clear();
  }
}

/**
 * Turns spans into the metric instruments, through the same mapping that writes the SQLite
 * rows, so the numbers in Prometheus and in the database agree. Attributes are low-cardinality
 * only: provider, model, agent name, token kind, status, tool — never ids or prompts.
 */
export class SpanMetrics {
  private readonly i: AgentInstruments;

  constructor(meter: Meter, private readonly price?: CostFunction) {
    this.i = createInstruments(meter);
  }

  /** An agent span started: one more active run. */
  spanStarted(span: SpanData): void {
    if (!isAgentSpan(span)) return;
    this.i.activeAgents.add(1, { [A.METRIC_ATTR_AGENT_NAME]: agentRowFromSpan(span).name });
  }

  /**
   * Spans received together (the collector's requests): counters are summed over them first.
   * `onError` gets each span that could not be counted; the rest still are.
   */
  spansEnded(spans: readonly SpanData[], onError: (err: Error) => void): void {
    const sums = new CounterSums();
    for (const span of spans) {
      try {
        this.ended(span, false, undefined, sums.add);
      } catch (err) {
        onError(err as Error);
      }
    }
    sums.record();
  }

  /** `countActive` false for spans whose start this process never saw (the collector). */
  spanEnded(span: SpanData, countActive = true, telemetry?: TelemetryRow | null): void {
    this.ended(span, countActive, telemetry, addNow);
  }

  private ended(span: SpanData, countActive: boolean, telemetry: TelemetryRow | null | undefined, add: Add): void {
    if (isAgentSpan(span)) {
      const row = agentRowFromSpan(span);
      const name = { [A.METRIC_ATTR_AGENT_NAME]: row.name };
      if (countActive) this.i.activeAgents.add(-1, name);
      const attrs = { [A.METRIC_ATTR_AGENT_NAME]: row.name, [A.AGENTLOUPE_AGENT_TYPE]: row.agentType, [A.METRIC_ATTR_STATUS]: row.status };
      add(this.i.agentRuns, 1, attrs);
      this.i.agentDuration.record(nsToMs(span.endTimeUnixNano! - span.startTimeUnixNano) / 1000, attrs);
      return;
    }
    const row = telemetry === undefined ? telemetryFromSpan(span, '', this.price) : telemetry;
    if (!row) return;
    const agentName = text(span.attributes[A.GEN_AI_AGENT_NAME]) ?? 'unknown';
    const seconds = row.durationMs === null ? undefined : row.durationMs / 1000;
    if (row.toolName !== null) {
      const approval = row.toolApproved === null ? 'none' : row.toolApproved ? 'approved' : 'denied';
      const attrs: Attributes = {
        [A.GEN_AI_TOOL_NAME]: row.toolName,
        [A.METRIC_ATTR_APPROVAL]: approval,
        [A.METRIC_ATTR_STATUS]: span.statusCode === 2 ? 'error' : 'ok',
        [A.METRIC_ATTR_AGENT_NAME]: agentName,
      };
      add(this.i.toolCalls, 1, attrs);
      if (seconds !== undefined) this.i.toolDuration.record(seconds, { [A.GEN_AI_TOOL_NAME]: row.toolName });
      return;
    }
    const op = operationOf(span) ?? A.OP_CHAT;
    const provider = row.provider ?? 'unknown';
    const requestModel = text(span.attributes[A.GEN_AI_REQUEST_MODEL]) ?? row.model ?? 'unknown';
    const responseModel = text(span.attributes[A.GEN_AI_RESPONSE_MODEL]);
    // Attribute sets are written out whole: object spread plus extra keys is slow on Node 20.
    const semconv = (key?: string, value?: string): Attributes => {
      const attrs: Attributes = { [A.GEN_AI_OPERATION_NAME]: op, [A.GEN_AI_PROVIDER_NAME]: provider, [A.GEN_AI_REQUEST_MODEL]: requestModel };
      if (responseModel) attrs[A.GEN_AI_RESPONSE_MODEL] = responseModel;
      if (key !== undefined) attrs[key] = value;
      return attrs;
    };
    this.i.tokenUsage.record(row.inputTokens, semconv(A.GEN_AI_TOKEN_TYPE, 'input'));
    this.i.tokenUsage.record(row.outputTokens, semconv(A.GEN_AI_TOKEN_TYPE, 'output'));
    if (seconds !== undefined) {
      const errorType = span.statusCode === 2 ? text(span.attributes[A.ERROR_TYPE]) ?? '_OTHER' : undefined;
      this.i.operationDuration.record(seconds, errorType ? semconv(A.ERROR_TYPE, errorType) : semconv());
    }
    const model = row.model ?? 'unknown';
    const usageAttrs = (kind?: string): Attributes => {
      const attrs: Attributes = { [A.GEN_AI_PROVIDER_NAME]: provider, [A.GEN_AI_REQUEST_MODEL]: model, [A.METRIC_ATTR_AGENT_NAME]: agentName };
      if (kind !== undefined) attrs[A.METRIC_ATTR_TOKEN_KIND] = kind;
      return attrs;
    };
    if (row.inputTokens > 0) add(this.i.tokens, row.inputTokens, usageAttrs('input'));
    if (row.outputTokens > 0) add(this.i.tokens, row.outputTokens, usageAttrs('output'));
    if (row.cacheReadTokens > 0) add(this.i.tokens, row.cacheReadTokens, usageAttrs('cache_read'));
    if (row.cacheCreationTokens > 0) add(this.i.tokens, row.cacheCreationTokens, usageAttrs('cache_write'));
    if (row.reasoningTokens > 0) add(this.i.tokens, row.reasoningTokens, usageAttrs('reasoning'));
    const base = usageAttrs();
    if (row.unpriced) add(this.i.unpricedCalls, 1, base);
    else add(this.i.cost, row.estimatedCost, base);
  }
}
