/**
 * Normalised token usage of one model call, in the units DESIGN.md fixes once:
 * - `inputTokens` counts every prompt token the model processed, cache reads and writes included;
 * - `cacheReadTokens` and `cacheCreationTokens` are subsets of `inputTokens`;
 * - `outputTokens` includes `reasoningTokens`;
 * - `totalTokens = inputTokens + outputTokens`.
 */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  reasoningTokens: number;
  totalTokens: number;
  /**
   * Part of `cacheCreationTokens` written with Anthropic's 1-hour TTL, which is billed at a higher
   * rate than the default 5-minute write. Absent when the provider does not split writes by TTL.
   */
  cacheCreation1hTokens?: number;
}

/** What a usage parser extracts from one provider response (or a whole stream). */
export interface ParsedUsage extends TokenUsage {
  /** `gen_ai.provider.name` value: openai, anthropic, gcp.gemini, ollama, ... */
  provider: string;
  /** Model named in the response, when it names one. */
  model?: string;
  /** True when a stream ended before its usage arrived: counts are what was seen, maybe zero. */
  partial: boolean;
  /** Provider's id for the response (`gen_ai.response.id`), when it sends one. */
  responseId?: string;
  /** Finish / stop reasons as the provider spells them (`gen_ai.response.finish_reasons`). */
  finishReasons?: string[];
}

/** Prices in USD per million tokens. A missing cache price means those tokens cost the input price. */
export interface Price {
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
  /** Anthropic 1-hour cache writes; a missing value means they cost `cacheWrite` (then input). */
  cacheWrite1h?: number;
  /** Where the figure comes from (URL or document) and the day it was read. */
  source?: string;
  date?: string;
}

export interface CostResult {
  /** USD; 0 when unpriced. */
  costUsd: number;
  /** False when no price is known for the model or engine: the 0 is not a real $0. */
  priced: boolean;
  /** The table key that matched (engine id or model prefix). */
  matchedKey?: string;
  /** Whether the engine table or the model table supplied the price. */
  via?: 'engine' | 'model';
}

export function emptyUsage(): TokenUsage {
  return { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0, reasoningTokens: 0, totalTokens: 0 };
}
