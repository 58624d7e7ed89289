import type { Counter, Histogram, Meter, UpDownCounter } from '@opentelemetry/api';
import * as A from '../semconv.js';

/**
 * Bucket boundaries the GenAI semantic conventions recommend for `gen_ai.client.token.usage`
 * and `gen_ai.client.operation.duration`.
 */
export const TOKEN_USAGE_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
export const OPERATION_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
/** Agent runs last from seconds to hours. */
export const AGENT_DURATION_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200];

/** Instrument names: the OTel name; Prometheus shows dots as underscores and counters with `_total`. */
export const METRIC = {
  tokenUsage: A.METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
  operationDuration: A.METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
  tokens: 'agentloupe.tokens',
  cost: 'agentloupe.cost.usd',
  unpricedCalls: 'agentloupe.calls.unpriced',
  agentRuns: 'agentloupe.agent.runs',
  agentDuration: 'agentloupe.agent.duration',
  activeAgents: 'agentloupe.agents.active',
  toolCalls: 'agentloupe.tool.calls',
  toolDuration: 'agentloupe.tool.duration',
} as const;

/** A histogram's definition, shared by the SDK instrument and the collector's own aggregation (keyed-histograms.ts). */
export interface HistogramDefinition {
  name: string;
  description: string;
  unit: string;
  boundaries: readonly number[];
}

export const HISTOGRAMS = {
  tokenUsage: { name: METRIC.tokenUsage, description: 'Number of input and output tokens used per model call.', unit: '{token}', boundaries: TOKEN_USAGE_BUCKETS },
  operationDuration: { name: METRIC.operationDuration, description: 'Duration of model calls.', unit: 's', boundaries: OPERATION_DURATION_BUCKETS },
  agentDuration: { name: METRIC.agentDuration, description: 'Duration of agent runs.', unit: 's', boundaries: AGENT_DURATION_BUCKETS },
  toolDuration: { name: METRIC.toolDuration, description: 'Duration of tool calls.', unit: 's', boundaries: OPERATION_DURATION_BUCKETS },
} as const satisfies Record<string, HistogramDefinition>;

export type HistogramName = keyof typeof HISTOGRAMS;

/** The agentloupe counters on one Meter. */
export interface AgentCounters {
  tokens: Counter;
  cost: Counter;
  unpricedCalls: Counter;
  agentRuns: Counter;
  activeAgents: UpDownCounter;
  toolCalls: Counter;
}

/** The agentloupe histograms on one Meter. */
export type AgentHistograms = Record<HistogramName, Histogram>;

/** The agentloupe instruments on one Meter. */
export type AgentInstruments = AgentCounters & AgentHistograms;

function histogram(meter: Meter, h: HistogramDefinition): Histogram {
  return meter.createHistogram(h.name, { description: h.description, unit: h.unit, advice: { explicitBucketBoundaries: [...h.boundaries] } });
}

/**
 * The counters, and the histograms unless `histograms` is false (the collector aggregates its
 * own, see keyed-histograms.ts). Created in this order, which is the order Prometheus lists them.
 */
function create(meter: Meter): AgentCounters;
function create(meter: Meter, withHistograms: true): AgentInstruments;
function create(meter: Meter, withHistograms = false): AgentCounters | AgentInstruments {
  const tokenUsage = withHistograms ? histogram(meter, HISTOGRAMS.tokenUsage) : undefined;
  const operationDuration = withHistograms ? histogram(meter, HISTOGRAMS.operationDuration) : undefined;
  const tokens = meter.createCounter(METRIC.tokens, {
    description: 'Tokens by kind: input (all prompt tokens), output (reasoning included), cache_read and cache_write (subsets of input), reasoning (subset of output).',
    unit: '{token}',
  });
  const cost = meter.createCounter(METRIC.cost, { description: 'Estimated cost of model calls in US dollars (priced calls only).', unit: '{USD}' });
  const unpricedCalls = meter.createCounter(METRIC.unpricedCalls, { description: 'Model calls whose model has no known price (their cost is not counted).', unit: '{call}' });
  const agentRuns = meter.createCounter(METRIC.agentRuns, { description: 'Agent runs that ended, by final status.', unit: '{run}' });
  const agentDuration = withHistograms ? histogram(meter, HISTOGRAMS.agentDuration) : undefined;
  const activeAgents = meter.createUpDownCounter(METRIC.activeAgents, { description: 'Agent runs started and not yet ended.', unit: '{run}' });
  const toolCalls = meter.createCounter(METRIC.toolCalls, { description: 'Tool calls by tool, approval and outcome.', unit: '{call}' });
  const toolDuration = withHistograms ? histogram(meter, HISTOGRAMS.toolDuration) : undefined;
  const counters: AgentCounters = { tokens, cost, unpricedCalls, agentRuns, activeAgents, toolCalls };
  if (!withHistograms) return counters;
  return { ...counters, tokenUsage: tokenUsage!, operationDuration: operationDuration!, agentDuration: agentDuration!, toolDuration: toolDuration! };
}

/** The counters only: for a SpanMetrics whose histograms are aggregated elsewhere. */
export function createCounters(meter: Meter): AgentCounters {
  return create(meter);
}

export function createInstruments(meter: Meter): AgentInstruments {
  return create(meter, true);
}
