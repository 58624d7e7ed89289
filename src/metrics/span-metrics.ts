import type { Attributes, Meter } from '@opentelemetry/api';
import * as A from '../semconv.js';
import { agentRowFromSpan, isAgentSpan, nsToMs, operationOf, telemetryFromSpan, type CostFunction } from '../spans/mapping.js';
import type { TelemetryRow } from '../spans/rows.js';
import type { SpanData } from '../spans/span-data.js';
import { createCounters, createInstruments, type AgentCounters, type AgentHistograms, type HistogramName } from './instruments.js';
import type { HistogramSink } from './keyed-histograms.js';

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** What one model call adds to the instruments. */
interface CallFacts {
  op: string;
  provider: string;
  requestModel: string;
  responseModel: string | undefined;
  /** Set for failed calls: the duration is recorded under it. */
  errorType: string | undefined;
  seconds: number | undefined;
  /** Usage counters' model label (the row's model, not the requested one). */
  model: string;
  agentName: string;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  reasoning: number;
  unpriced: boolean;
  cost: number;
}

/** Where SpanMetrics puts what a span adds: straight into the instruments, or summed over a request first. */
interface Recorder {
  /** `seconds` undefined: the end time is unknown (an OTLP span with end time 0); the run still counts. */
  agentEnded(name: string, agentType: string, status: string, seconds: number | undefined): void;
  toolCall(tool: string, approval: string, status: string, agentName: string, seconds: number | undefined): void;
  modelCall(c: CallFacts): void;
}

/** Attribute sets are written out whole: object spread plus extra keys is slow on Node 20. */
function semconvAttrs(c: CallFacts, key?: string, value?: string): Attributes {
  const attrs: Attributes = { [A.GEN_AI_OPERATION_NAME]: c.op, [A.GEN_AI_PROVIDER_NAME]: c.provider, [A.GEN_AI_REQUEST_MODEL]: c.requestModel };
  if (c.responseModel) attrs[A.GEN_AI_RESPONSE_MODEL] = c.responseModel;
  if (key !== undefined) attrs[key] = value;
  return attrs;
}

function usageAttrs(c: CallFacts, kind?: string): Attributes {
  const attrs: Attributes = { [A.GEN_AI_PROVIDER_NAME]: c.provider, [A.GEN_AI_REQUEST_MODEL]: c.model, [A.METRIC_ATTR_AGENT_NAME]: c.agentName };
  if (kind !== undefined) attrs[A.METRIC_ATTR_TOKEN_KIND] = kind;
  return attrs;
}

function agentAttrs(name: string, agentType: string, status: string): Attributes {
  return { [A.METRIC_ATTR_AGENT_NAME]: name, [A.AGENTLOUPE_AGENT_TYPE]: agentType, [A.METRIC_ATTR_STATUS]: status };
}

function toolAttrs(tool: string, approval: string, status: string, agentName: string): Attributes {
  return { [A.GEN_AI_TOOL_NAME]: tool, [A.METRIC_ATTR_APPROVAL]: approval, [A.METRIC_ATTR_STATUS]: status, [A.METRIC_ATTR_AGENT_NAME]: agentName };
}

/** One span at a time, into the SDK's instruments (the in-process path: spans end one by one). */
class RecordNow implements Recorder {
  constructor(private readonly i: AgentCounters & AgentHistograms) {}

  agentEnded(name: string, agentType: string, status: string, seconds: number | undefined): void {
    const attrs = agentAttrs(name, agentType, status);
    this.i.agentRuns.add(1, attrs);
    if (seconds !== undefined) this.i.agentDuration.record(seconds, attrs);
  }

  toolCall(tool: string, approval: string, status: string, agentName: string, seconds: number | undefined): void {
    this.i.toolCalls.add(1, toolAttrs(tool, approval, status, agentName));
    if (seconds !== undefined) this.i.toolDuration.record(seconds, { [A.GEN_AI_TOOL_NAME]: tool });
  }

  modelCall(c: CallFacts): void {
    const i = this.i;
    i.tokenUsage.record(c.input, semconvAttrs(c, A.GEN_AI_TOKEN_TYPE, 'input'));
    i.tokenUsage.record(c.output, semconvAttrs(c, A.GEN_AI_TOKEN_TYPE, 'output'));
    if (c.seconds !== undefined) i.operationDuration.record(c.seconds, c.errorType ? semconvAttrs(c, A.ERROR_TYPE, c.errorType) : semconvAttrs(c));
    if (c.input > 0) i.tokens.add(c.input, usageAttrs(c, 'input'));
    if (c.output > 0) i.tokens.add(c.output, usageAttrs(c, 'output'));
    if (c.cacheRead > 0) i.tokens.add(c.cacheRead, usageAttrs(c, 'cache_read'));
    if (c.cacheWrite > 0) i.tokens.add(c.cacheWrite, usageAttrs(c, 'cache_write'));
    if (c.reasoning > 0) i.tokens.add(c.reasoning, usageAttrs(c, 'reasoning'));
    const base = usageAttrs(c);
    if (c.unpriced) i.unpricedCalls.add(1, base);
    else i.cost.add(c.cost, base);
  }
}

/** SDK histograms as sinks: every value recorded, with the group's one attribute object. */
function sdkSinks(h: AgentHistograms): Record<HistogramName, HistogramSink> {
  const sink = (histogram: AgentHistograms[HistogramName]): HistogramSink => ({
    record: (_key, attrs, values) => {
      for (const v of values) histogram.record(v, attrs);
    },
  });
  return { tokenUsage: sink(h.tokenUsage), operationDuration: sink(h.operationDuration), agentDuration: sink(h.agentDuration), toolDuration: sink(h.toolDuration) };
}

/** Histogram values of one attribute set, in arrival order (so float sums come out bit for bit the same). */
interface Values {
  attrs: Attributes;
  values: number[];
}

interface UsageSums {
  call: CallFacts;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  reasoning: number;
  unpriced: number;
  priced: number;
  cost: number;
}

/**
 * A map key for label values: each but the last with its length in front, so no values, whatever
 * characters they hold, give the key of other values.
 */
function key(...parts: string[]): string {
  let k = '';
  for (let n = 0; n < parts.length - 1; n++) k += `${parts[n]!.length}:${parts[n]!}`;
  return k + parts[parts.length - 1]!;
}

function valuesOf(map: Map<string, Values>, key: string, attrs: () => Attributes): Values {
  let v = map.get(key);
  if (v === undefined) map.set(key, (v = { attrs: attrs(), values: [] }));
  return v;
}

function pushValue(map: Map<string, Values>, key: string, attrs: () => Attributes, value: number): void {
  valuesOf(map, key, attrs).values.push(value);
}

/** Whether two calls fall in the same attribute sets (every label value the same). */
function sameGroups(a: CallFacts, b: CallFacts): boolean {
  return (
    a.op === b.op &&
    a.provider === b.provider &&
    a.requestModel === b.requestModel &&
    a.responseModel === b.responseModel &&
    a.errorType === b.errorType &&
    a.model === b.model &&
    a.agentName === b.agentName
  );
}

/**
 * Many spans received together (the collector's requests): counters are summed and histogram
 * values grouped per attribute set first, so each attribute object is built once per request
 * and each counter is added once per set. The SDK hashes the attribute set on every add and
 * record: summing saves those of the counters; histogram values go to a HistogramSink per group,
 * which for the collector is its own aggregation (keyed-histograms.ts), with no hashing at all.
 * The keys are the label values in a fixed order, cheaper than hashing the objects.
 */
class RecordPerRequest implements Recorder {
  private readonly agents = new Map<string, Values & { runs: number }>();
  private readonly tools = new Map<string, { attrs: Attributes; n: number }>();
  private readonly toolDurations = new Map<string, Values>();
  private readonly tokenUsage = new Map<string, Values>();
  private readonly durations = new Map<string, Values>();
  private readonly usage = new Map<string, UsageSums>();

  constructor(
    private readonly i: AgentCounters,
    private readonly h: Record<HistogramName, HistogramSink>,
  ) {}

  agentEnded(name: string, agentType: string, status: string, seconds: number | undefined): void {
    // Runs and durations share the attribute set: one entry holds both.
    const k = key(name, agentType, status);
    let a = this.agents.get(k);
    if (a === undefined) this.agents.set(k, (a = { attrs: agentAttrs(name, agentType, status), values: [], runs: 0 }));
    a.runs++;
    if (seconds !== undefined) a.values.push(seconds);
  }

  toolCall(tool: string, approval: string, status: string, agentName: string, seconds: number | undefined): void {
    const k = key(tool, approval, status, agentName);
    const t = this.tools.get(k);
    if (t === undefined) this.tools.set(k, { attrs: toolAttrs(tool, approval, status, agentName), n: 1 });
    else t.n++;
    if (seconds !== undefined) pushValue(this.toolDurations, tool, () => ({ [A.GEN_AI_TOOL_NAME]: tool }), seconds);
  }

  /** The groups of the previous model call: consecutive calls of one request mostly share them. */
  private last: { c: CallFacts; input: Values; output: Values; duration: Values | undefined; usage: UsageSums } | undefined;

  modelCall(c: CallFacts): void {
    const last = this.last;
    let g: NonNullable<typeof last>;
    if (last !== undefined && sameGroups(last.c, c)) g = last;
    else this.last = g = this.groups(c);
    g.input.values.push(c.input);
    g.output.values.push(c.output);
    if (c.seconds !== undefined) {
      if (g.duration === undefined) {
        // responseModel '' and absent give the same attributes (an empty one is left out).
        const semconvKey = key(c.op, c.provider, c.requestModel, c.responseModel ?? '');
        const errorType = c.errorType;
        g.duration = valuesOf(this.durations, errorType ? `e${key(semconvKey, errorType)}` : `n${semconvKey}`, () => (errorType ? semconvAttrs(c, A.ERROR_TYPE, errorType) : semconvAttrs(c)));
      }
      g.duration.values.push(c.seconds);
    }
    const u = g.usage;
    // Only positive counts are added, as RecordNow does: a kind never used gets no series.
    if (c.input > 0) u.input += c.input;
    if (c.output > 0) u.output += c.output;
    if (c.cacheRead > 0) u.cacheRead += c.cacheRead;
    if (c.cacheWrite > 0) u.cacheWrite += c.cacheWrite;
    if (c.reasoning > 0) u.reasoning += c.reasoning;
    if (c.unpriced) u.unpriced++;
    else {
      u.priced++;
      u.cost += c.cost;
    }
  }

  private groups(c: CallFacts): NonNullable<RecordPerRequest['last']> {
    const semconvKey = key(c.op, c.provider, c.requestModel, c.responseModel ?? '');
    const usageKey = key(c.provider, c.model, c.agentName);
    let usage = this.usage.get(usageKey);
    if (usage === undefined) {
      usage = { call: c, input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0, unpriced: 0, priced: 0, cost: 0 };
      this.usage.set(usageKey, usage);
    }
    return {
      c,
      input: valuesOf(this.tokenUsage, `i${semconvKey}`, () => semconvAttrs(c, A.GEN_AI_TOKEN_TYPE, 'input')),
      output: valuesOf(this.tokenUsage, `o${semconvKey}`, () => semconvAttrs(c, A.GEN_AI_TOKEN_TYPE, 'output')),
      duration: undefined,
      usage,
    };
  }

  /** Into the instruments, once per attribute set. */
  record(): void {
    const { i, h } = this;
    for (const [k, { attrs, values, runs }] of this.agents) {
      i.agentRuns.add(runs, attrs);
      if (values.length > 0) h.agentDuration.record(k, attrs, values);
    }
    for (const { attrs, n } of this.tools.values()) i.toolCalls.add(n, attrs);
    for (const [k, { attrs, values }] of this.toolDurations) h.toolDuration.record(k, attrs, values);
    for (const [k, { attrs, values }] of this.tokenUsage) h.tokenUsage.record(k, attrs, values);
    for (const [k, { attrs, values }] of this.durations) h.operationDuration.record(k, attrs, values);
    for (const u of this.usage.values()) {
      const c = u.call;
      if (u.input > 0) i.tokens.add(u.input, usageAttrs(c, 'input'));
      if (u.output > 0) i.tokens.add(u.output, usageAttrs(c, 'output'));
      if (u.cacheRead > 0) i.tokens.add(u.cacheRead, usageAttrs(c, 'cache_read'));
      if (u.cacheWrite > 0) i.tokens.add(u.cacheWrite, usageAttrs(c, 'cache_write'));
      if (u.reasoning > 0) i.tokens.add(u.reasoning, usageAttrs(c, 'reasoning'));
      if (u.unpriced > 0) i.unpricedCalls.add(u.unpriced, usageAttrs(c));
      if (u.priced > 0) i.cost.add(u.cost, usageAttrs(c));
    }
  }
}

/**
 * Turns spans into the metric instruments, through the same mapping that writes the SQLite
 * rows, so the numbers in Prometheus and in the database agree. Attributes are low-cardinality
 * only: provider, model, agent name, token kind, status, tool — never ids or prompts.
 */
export class SpanMetrics {
  private readonly i: AgentCounters;
  private readonly histograms: Record<HistogramName, HistogramSink>;
  private readonly now: Recorder | undefined;

  /**
   * `histograms`: where the histograms' values go instead of SDK instruments on `meter` (the
   * collector's KeyedHistograms, read by its MetricReader as a producer).
   */
  constructor(meter: Meter, private readonly price?: CostFunction, histograms?: Record<HistogramName, HistogramSink>) {
    if (histograms === undefined) {
      const all = createInstruments(meter);
      this.i = all;
      this.histograms = sdkSinks(all);
      this.now = new RecordNow(all);
    } else {
      this.i = createCounters(meter);
      this.histograms = histograms;
      this.now = undefined;
    }
  }

  /** An agent span started: one more active run. */
  spanStarted(span: SpanData): void {
    if (!isAgentSpan(span)) return;
    this.i.activeAgents.add(1, { [A.METRIC_ATTR_AGENT_NAME]: agentRowFromSpan(span).name });
  }

  /**
   * Spans received together (the collector's requests), summed per attribute set first.
   * `onError` gets each span that could not be counted; the rest still are. `telemetry[n]`, when
   * not undefined, is spans[n]'s telemetry row already mapped (SpanOpsBuilder.build).
   */
  spansEnded(spans: readonly SpanData[], onError: (err: Error) => void, telemetry?: readonly (TelemetryRow | null | undefined)[]): void {
    const sums = new RecordPerRequest(this.i, this.histograms);
    for (let n = 0; n < spans.length; n++) {
      const span = spans[n]!;
      try {
        this.ended(span, false, telemetry?.[n], sums);
      } catch (err) {
        onError(err as Error);
      }
    }
    sums.record();
  }

  /** `countActive` false for spans whose start this process never saw (the collector). */
  spanEnded(span: SpanData, countActive = true, telemetry?: TelemetryRow | null): void {
    if (this.now !== undefined) return this.ended(span, countActive, telemetry, this.now);
    const one = new RecordPerRequest(this.i, this.histograms);
    this.ended(span, countActive, telemetry, one);
    one.record();
  }

  private ended(span: SpanData, countActive: boolean, telemetry: TelemetryRow | null | undefined, out: Recorder): void {
    if (isAgentSpan(span)) {
      const row = agentRowFromSpan(span);
      if (countActive) this.i.activeAgents.add(-1, { [A.METRIC_ATTR_AGENT_NAME]: row.name });
      const end = span.endTimeUnixNano;
      out.agentEnded(row.name, row.agentType, row.status, end === undefined ? undefined : nsToMs(end - span.startTimeUnixNano) / 1000);
      return;
    }
    const row = telemetry === undefined ? telemetryFromSpan(span, '', this.price) : telemetry;
    if (!row) return;
    const agentName = text(span.attributes[A.GEN_AI_AGENT_NAME]) ?? 'unknown';
    const seconds = row.durationMs === null ? undefined : row.durationMs / 1000;
    if (row.toolName !== null) {
      const approval = row.toolApproved === null ? 'none' : row.toolApproved ? 'approved' : 'denied';
      out.toolCall(row.toolName, approval, span.statusCode === 2 ? 'error' : 'ok', agentName, seconds);
      return;
    }
    out.modelCall({
      op: operationOf(span) ?? A.OP_CHAT,
      provider: row.provider ?? 'unknown',
      requestModel: text(span.attributes[A.GEN_AI_REQUEST_MODEL]) ?? row.model ?? 'unknown',
      responseModel: text(span.attributes[A.GEN_AI_RESPONSE_MODEL]),
      errorType: span.statusCode === 2 ? text(span.attributes[A.ERROR_TYPE]) ?? '_OTHER' : undefined,
      seconds,
      model: row.model ?? 'unknown',
      agentName,
      input: row.inputTokens,
      output: row.outputTokens,
      cacheRead: row.cacheReadTokens,
      cacheWrite: row.cacheCreationTokens,
      reasoning: row.reasoningTokens,
      unpriced: row.unpriced,
      cost: row.estimatedCost,
    });
  }
}
