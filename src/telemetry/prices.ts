/**
 * Built-in price table: USD per million tokens, standard (non-batch, non-priority) tier.
 *
 * Every figure was looked up, none derived or guessed; a model whose price could not be
 * confirmed is left out so it shows as unpriced instead of as a made-up number. Keys are model
 * prefixes matched at "-" boundaries (see PriceTable.lookup), which is why some variants with a
 * different price (o1-mini, o3-pro, gpt-5.4-mini, gemini-2.5-flash-lite, ...) have their own
 * entry: without it they would silently take their base model's price.
 *
 * Known gaps, all under-counting: long-prompt tiers (Gemini 2.5 Pro above 200k prompt tokens
 * costs $2.50 in / $15 out / $0.25 cached; GPT-5.4 and later above 272k), Gemini audio input,
 * Gemini explicit-cache storage per hour, and OpenAI/Anthropic batch and priority tiers.
 */
import type { Price } from './types.js';

/** The day these figures were read. */
export const BUILT_IN_PRICES_DATE = '2026-11-29';

const ANTHROPIC_SOURCE =
  'https://platform.claude.com/docs/en/docs/about-claude/pricing (Model pricing: base input, 5m cache writes, 1h cache writes, cache hits, output)';

// OpenAI's pricing page itself was not in the reference store; each figure agrees across models.dev
// (anomalyco/models.dev providers/openai/models/*.toml) and two independent transcriptions of it.
const OPENAI_SOURCE = 'https://platform.openai.com/docs/pricing (Standard; cross-checked with models.dev and 2 transcriptions)';

// Gemini cache reads: the 2.5 Pro figure is quoted from the pricing page in
// https://discuss.ai.google.dev/t/question-about-gemini-api-caching-pricing/107349; all figures agree
// with models.dev (anomalyco/models.dev providers/google/models/*.toml). Prompts <= 200k tokens.
const GEMINI_SOURCE = 'https://ai.google.dev/gemini-api/docs/pricing (Paid tier, prompts <= 200k; cross-checked with models.dev)';

function anthropic(input: number, cacheWrite: number, cacheWrite1h: number, cacheRead: number, output: number): Price {
  return { input, output, cacheRead, cacheWrite, cacheWrite1h, source: ANTHROPIC_SOURCE, date: BUILT_IN_PRICES_DATE };
}

function openai(input: number, cacheRead: number | undefined, output: number): Price {
  const price: Price = { input, output, source: OPENAI_SOURCE, date: BUILT_IN_PRICES_DATE };
  // Models without a cached-input price (the -pro models) get no cache discount at all.
  if (cacheRead !== undefined) price.cacheRead = cacheRead;
  return price;
}

function gemini(input: number, cacheRead: number | undefined, output: number): Price {
  const price: Price = { input, output, source: GEMINI_SOURCE, date: BUILT_IN_PRICES_DATE };
  if (cacheRead !== undefined) price.cacheRead = cacheRead;
  return price;
}

/** Model prefix -> price. */
export const BUILT_IN_MODEL_PRICES: Readonly<Record<string, Price>> = Object.freeze({
  // --- Anthropic: input, 5-minute cache write (1.25x input), 1-hour cache write (2x), cache read (0.1x), output
  'claude-opus-4-8': anthropic(5, 6.25, 10, 0.5, 25),
  'claude-opus-4-7': anthropic(5, 6.25, 10, 0.5, 25),
  'claude-opus-4-6': anthropic(5, 6.25, 10, 0.5, 25),
  'claude-opus-4-5': anthropic(5, 6.25, 10, 0.5, 25),
  'claude-opus-4-1': anthropic(15, 18.75, 30, 1.5, 75),
  'claude-opus-4': anthropic(15, 18.75, 30, 1.5, 75),
  'claude-sonnet-4-6': anthropic(3, 3.75, 6, 0.3, 15),
  'claude-sonnet-4-5': anthropic(3, 3.75, 6, 0.3, 15),
  'claude-sonnet-4': anthropic(3, 3.75, 6, 0.3, 15),
  'claude-3-7-sonnet': anthropic(3, 3.75, 6, 0.3, 15),
  'claude-3-5-sonnet': anthropic(3, 3.75, 6, 0.3, 15),
  'claude-haiku-4-5': anthropic(1, 1.25, 2, 0.1, 5),
  'claude-3-5-haiku': anthropic(0.8, 1, 1.6, 0.08, 4),
  'claude-3-haiku': anthropic(0.25, 0.3, 0.5, 0.03, 1.25),
  'claude-3-opus': anthropic(15, 18.75, 30, 1.5, 75),

  // --- OpenAI: input, cached input, output. OpenAI reports no cache writes for these models.
  'gpt-4o': openai(2.5, 1.25, 10),
  'gpt-4o-mini': openai(0.15, 0.075, 0.6),
  'gpt-4.1': openai(2, 0.5, 8),
  'gpt-4.1-mini': openai(0.4, 0.1, 1.6),
  'gpt-4.1-nano': openai(0.1, 0.025, 0.4),
  o1: openai(15, 7.5, 60),
  'o1-mini': openai(1.1, 0.55, 4.4),
  'o1-pro': openai(150, undefined, 600),
  o3: openai(2, 0.5, 8),
  'o3-mini': openai(1.1, 0.55, 4.4),
  'o3-pro': openai(20, undefined, 80),
  'o4-mini': openai(1.1, 0.275, 4.4),
  'gpt-5': openai(1.25, 0.125, 10),
  'gpt-5-mini': openai(0.25, 0.025, 2),
  'gpt-5-nano': openai(0.05, 0.005, 0.4),
  'gpt-5-pro': openai(15, undefined, 120),
  'gpt-5.1': openai(1.25, 0.125, 10),
  'gpt-5.1-codex-mini': openai(0.25, 0.025, 2),
  'gpt-5.2': openai(1.75, 0.175, 14),
  'gpt-5.2-pro': openai(21, undefined, 168),
  'gpt-5.4': openai(2.5, 0.25, 15),
  'gpt-5.4-mini': openai(0.75, 0.075, 4.5),
  'gpt-5.4-nano': openai(0.2, 0.02, 1.25),
  'gpt-5.4-pro': openai(30, undefined, 180),
  'gpt-5.5': openai(5, 0.5, 30),
  'gpt-5.5-pro': openai(30, undefined, 180),

  // --- Google Gemini API: input (text/image/video), cached input, output (thinking included)
  'gemini-2.5-pro': gemini(1.25, 0.125, 10),
  'gemini-2.5-flash': gemini(0.3, 0.03, 2.5),
  'gemini-2.5-flash-lite': gemini(0.1, 0.01, 0.4),
  'gemini-2.0-flash': gemini(0.1, 0.025, 0.4),
  'gemini-2.0-flash-lite': gemini(0.075, undefined, 0.3),
});

/**
 * Engine id -> price. A local engine has no per-token charge: it is priced at a real, known $0
 * so its calls count as priced, unlike a model nobody knows the price of.
 */
export const BUILT_IN_ENGINE_PRICES: Readonly<Record<string, Price>> = Object.freeze({
  ollama: {
    input: 0,
    output: 0,
    cacheRead: 0,
    cacheWrite: 0,
    source: 'local inference (Ollama): no per-token charge',
    date: BUILT_IN_PRICES_DATE,
  },
});
