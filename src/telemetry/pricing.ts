/**
 * Price table and cost, as DESIGN.md fixes them:
 *   USD = (input - cacheRead - cacheCreation) x input price + cacheRead x cache-read price
 *       + cacheCreation x cache-write price + output x output price, each per million tokens.
 * A missing cache price means those tokens cost the input price. An engine-specific price wins
 * over a model price; model prices match by the longest key that the model name starts with,
 * so dated and versioned names (claude-sonnet-4-5-20250929, gpt-4o-mini-2024-07-18) take their
 * base model's price. A model with no price is reported unpriced, never as a real $0.
 *
 * Override file (AGENTLOUPE_PRICING), merged over the built-in table entry by entry:
 *   { "models":  { "gpt-4o-mini": { "input": 0.15, "output": 0.6, "cacheRead": 0.075 } },
 *     "engines": { "my-gateway": { "input": 1, "output": 2, "cacheRead": 0.1, "cacheWrite": 1.25 } } }
 */
import { readFileSync } from 'node:fs';
import { BUILT_IN_ENGINE_PRICES, BUILT_IN_MODEL_PRICES } from './prices.js';
import type { Pricing } from './pricing-port.js';
import type { CostResult, Price, TokenUsage } from './types.js';

/** Environment variable naming the pricing override file (DESIGN.md contract). */
export const PRICING_ENV_VAR = 'AGENTLOUPE_PRICING';

export interface PricingOverride {
  models: Record<string, Price>;
  engines: Record<string, Price>;
}

export interface PriceMatch {
  price: Price;
  /** The engine id or model prefix that matched. */
  key: string;
  via: 'engine' | 'model';
}

export interface CostOptions {
  model?: string;
  engineId?: string;
}

/** A pricing file or price entry that cannot be used; `problems` lists every bad entry. */
export class PricingError extends Error {
  override readonly name = 'PricingError';
  readonly problems: readonly string[];

  constructor(problems: readonly string[], options?: { cause?: unknown }) {
    super(
      problems.length === 1
        ? (problems[0] ?? 'invalid pricing')
        : `${problems.length} problems in pricing:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      options,
    );
    this.problems = problems;
  }
}

const PRICE_NUMBER_FIELDS = ['input', 'output', 'cacheRead', 'cacheWrite', 'cacheWrite1h'] as const;
const PRICE_TEXT_FIELDS = ['source', 'date'] as const;
const PRICE_FIELDS: readonly string[] = [...PRICE_NUMBER_FIELDS, ...PRICE_TEXT_FIELDS];
const REQUIRED_FIELDS = new Set(['input', 'output']);
const TOP_LEVEL_KEYS = ['models', 'engines'] as const;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Checks one price entry, appending a message per problem; returns the clean Price when there are none. */
function validatePrice(value: unknown, where: string, problems: string[]): Price | undefined {
  if (!isPlainObject(value)) {
    problems.push(`${where} must be an object like {"input": 1, "output": 2} (got ${show(value)})`);
    return undefined;
  }
  const before = problems.length;
  for (const key of Object.keys(value)) {
    if (!PRICE_FIELDS.includes(key)) {
      problems.push(`${where} has unknown key ${JSON.stringify(key)} (allowed: ${PRICE_FIELDS.join(', ')})`);
    }
  }
  const price: Partial<Price> = {};
  for (const field of PRICE_NUMBER_FIELDS) {
    const v = value[field];
    if (v === undefined) {
      if (REQUIRED_FIELDS.has(field)) problems.push(`${where}.${field} is required (USD per million tokens)`);
      continue;
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      problems.push(`${where}.${field} must be a non-negative number (got ${show(v)})`);
      continue;
    }
    price[field] = v;
  }
  for (const field of PRICE_TEXT_FIELDS) {
    const v = value[field];
    if (v === undefined) continue;
    if (typeof v !== 'string') {
      problems.push(`${where}.${field} must be a string (got ${show(v)})`);
      continue;
    }
    price[field] = v;
  }
  return problems.length === before ? (price as Price) : undefined;
}

/**
 * Validates a parsed pricing override. Every problem is reported at once, each naming the entry
 * and what is wrong, e.g. `prices.json: models["gpt-x"].input must be a non-negative number (got "abc")`.
 */
export function parsePricingOverride(json: unknown, sourceName: string): PricingOverride {
  const problems: string[] = [];
  const override: PricingOverride = { models: {}, engines: {} };
  if (!isPlainObject(json)) {
    throw new PricingError([`${sourceName}: must be a JSON object with "models" and/or "engines" (got ${show(json)})`]);
  }
  for (const key of Object.keys(json)) {
    if (!(TOP_LEVEL_KEYS as readonly string[]).includes(key)) {
      problems.push(`${sourceName}: unknown top-level key ${JSON.stringify(key)} (allowed: "models", "engines")`);
    }
  }
  for (const section of TOP_LEVEL_KEYS) {
    const entries = json[section];
    if (entries === undefined) continue;
    const what = section === 'models' ? 'model prefixes' : 'engine ids';
    if (!isPlainObject(entries)) {
      problems.push(`${sourceName}: ${section} must be an object mapping ${what} to prices (got ${show(entries)})`);
      continue;
    }
    for (const [key, value] of Object.entries(entries)) {
      const where = `${sourceName}: ${section}[${JSON.stringify(key)}]`;
      if (key.trim().length === 0) {
        problems.push(`${where}: the key must not be empty`);
        continue;
      }
      const price = validatePrice(value, where, problems);
      if (price !== undefined) override[section][key] = price;
    }
  }
  if (problems.length > 0) throw new PricingError(problems);
  return override;
}

/** Reads and validates a pricing override file; any failure is a PricingError naming the file. */
export function loadPricingFile(path: string): PricingOverride {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PricingError([`${path}: cannot read pricing file (${code ?? (err as Error).message})`], { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch (err) {
    throw new PricingError([`${path}: not valid JSON (${(err as Error).message})`], { cause: err });
  }
  return parsePricingOverride(json, path);
}

/**
 * The form model names are compared in: lower case; provider or path prefixes dropped
 * (`models/gemini-2.5-flash`, `openai/gpt-4o`, Bedrock's `us.anthropic.`); Vertex's `@date`
 * dropped; dots in Claude versions written as dashes (`claude-sonnet-4.5` -> `claude-sonnet-4-5`).
 * Dated suffixes are kept: prefix matching ignores them, and a dated key can then still be priced
 * on its own.
 */
export function normalizeModelName(model: string): string {
  let name = model.trim().toLowerCase();
  const slash = name.lastIndexOf('/');
  if (slash >= 0) name = name.slice(slash + 1);
  name = name.replace(/^(?:[a-z]{2,6}\.)?anthropic\./, '');
  const at = name.indexOf('@');
  if (at >= 0) name = name.slice(0, at);
  if (name.startsWith('claude-')) name = name.replace(/(\d)\.(\d)/g, '$1-$2');
  return name;
}

function normalizeEngineId(id: string): string {
  return id.trim().toLowerCase();
}

function nonNegative(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : 0;
}

/** USD for one call at one price, by DESIGN.md's formula. */
export function computeCost(usage: TokenUsage, price: Price): number {
  const input = nonNegative(usage.inputTokens);
  const cacheRead = nonNegative(usage.cacheReadTokens);
  const cacheCreation = nonNegative(usage.cacheCreationTokens);
  const cacheCreation1h = Math.min(nonNegative(usage.cacheCreation1hTokens), cacheCreation);
  const output = nonNegative(usage.outputTokens);
  // Counts that contradict each other (cache larger than input) must not produce a refund.
  const uncached = Math.max(0, input - cacheRead - cacheCreation);
  const readPrice = price.cacheRead ?? price.input;
  const writePrice = price.cacheWrite ?? price.input;
  const write1hPrice = price.cacheWrite1h ?? writePrice;
  return (
    (uncached * price.input +
      cacheRead * readPrice +
      (cacheCreation - cacheCreation1h) * writePrice +
      cacheCreation1h * write1hPrice +
      output * price.output) /
    1_000_000
  );
}

function checkedPrice(price: Price, where: string): Price {
  const problems: string[] = [];
  const clean = validatePrice(price, where, problems);
  if (clean === undefined) throw new PricingError(problems);
  return clean;
}

export class PriceTable implements Pricing {
  private readonly models = new Map<string, Price>();
  private readonly engines = new Map<string, Price>();
  /** Resolved lookups: an agent calls a handful of models, each thousands of times. Cleared on any price change. */
  private readonly matches = new Map<string, PriceMatch | null>();

  constructor(init: Partial<PricingOverride> = {}) {
    for (const [key, price] of Object.entries(init.models ?? {})) this.setModelPrice(key, price);
    for (const [id, price] of Object.entries(init.engines ?? {})) this.setEnginePrice(id, price);
  }

  /** A fresh table holding the built-in prices (see prices.ts for sources and dates). */
  static builtIn(): PriceTable {
    return new PriceTable({ models: BUILT_IN_MODEL_PRICES, engines: BUILT_IN_ENGINE_PRICES });
  }

  /**
   * The built-in table merged with the file named by AGENTLOUPE_PRICING, when set. A bad file is a
   * PricingError: a price list that silently failed to load would mean silently wrong costs.
   */
  static fromEnv(env: Readonly<Record<string, string | undefined>> = process.env): PriceTable {
    const table = PriceTable.builtIn();
    const path = env[PRICING_ENV_VAR]?.trim();
    if (path) table.merge(loadPricingFile(path));
    return table;
  }

  /** Sets the price of every model whose name starts with `prefix` (at a "-" boundary). */
  setModelPrice(prefix: string, price: Price): this {
    const key = normalizeModelName(prefix);
    if (key.length === 0) throw new PricingError(['setModelPrice: the model prefix must not be empty']);
    this.models.set(key, checkedPrice(price, `models[${JSON.stringify(prefix)}]`));
    this.matches.clear();
    return this;
  }

  /** Sets the price of one engine (a gateway, a local server), which wins over any model price. */
  setEnginePrice(id: string, price: Price): this {
    const key = normalizeEngineId(id);
    if (key.length === 0) throw new PricingError(['setEnginePrice: the engine id must not be empty']);
    this.engines.set(key, checkedPrice(price, `engines[${JSON.stringify(id)}]`));
    this.matches.clear();
    return this;
  }

  /** Merges an override entry by entry: an entry replaces the whole entry it names. */
  merge(override: Partial<PricingOverride>): this {
    for (const [key, price] of Object.entries(override.models ?? {})) this.setModelPrice(key, price);
    for (const [id, price] of Object.entries(override.engines ?? {})) this.setEnginePrice(id, price);
    return this;
  }

  /**
   * The price for a call: the engine's own price first, then the longest model prefix that the
   * model name equals or extends at a "-" boundary. The boundary keeps `gpt-5.4` from taking
   * `gpt-5`'s price, while `gpt-4o-mini-2024-07-18` still finds `gpt-4o-mini` before `gpt-4o`.
   */
  lookup(model?: string, engineId?: string): PriceMatch | undefined {
    const cacheKey = engineId === undefined ? model ?? '' : `${model ?? ''}\u0000${engineId}`;
    const cached = this.matches.get(cacheKey);
    if (cached !== undefined) return cached ?? undefined;
    const match = this.resolve(model, engineId);
    // Bounded: model names come from responses and foreign spans.
    if (this.matches.size >= 1024) this.matches.clear();
    this.matches.set(cacheKey, match ?? null);
    return match;
  }

  private resolve(model: string | undefined, engineId: string | undefined): PriceMatch | undefined {
    if (engineId !== undefined) {
      const key = normalizeEngineId(engineId);
      const price = this.engines.get(key);
      if (price !== undefined) return { price, key, via: 'engine' };
    }
    if (model === undefined) return undefined;
    const name = normalizeModelName(model);
    if (name.length === 0) return undefined;
    let best: string | undefined;
    for (const key of this.models.keys()) {
      if (name !== key && !name.startsWith(`${key}-`)) continue;
      if (best === undefined || key.length > best.length) best = key;
    }
    if (best === undefined) return undefined;
    const price = this.models.get(best);
    return price === undefined ? undefined : { price, key: best, via: 'model' };
  }

  /** Cost of one call; `priced: false` (and 0) when neither engine nor model has a price. */
  cost(usage: TokenUsage, options: CostOptions = {}): CostResult {
    const match = this.lookup(options.model, options.engineId);
    if (match === undefined) return { costUsd: 0, priced: false };
    return { costUsd: computeCost(usage, match.price), priced: true, matchedKey: match.key, via: match.via };
  }

  /** Model prefix -> price, as currently held. */
  modelPrices(): ReadonlyMap<string, Price> {
    return new Map(this.models);
  }

  /** Engine id -> price, as currently held. */
  enginePrices(): ReadonlyMap<string, Price> {
    return new Map(this.engines);
  }
}
