import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseUsage } from '../src/telemetry/parsers.js';
import { BUILT_IN_ENGINE_PRICES, BUILT_IN_MODEL_PRICES } from '../src/telemetry/prices.js';
import {
  PRICING_ENV_VAR,
  PriceTable,
  PricingError,
  computeCost,
  loadPricingFile,
  normalizeModelName,
  parsePricingOverride,
} from '../src/telemetry/pricing.js';
import type { TokenUsage } from '../src/telemetry/types.js';

function usage(parts: Partial<TokenUsage> & { inputTokens: number; outputTokens: number }): TokenUsage {
  const u: TokenUsage = { cacheReadTokens: 0, cacheCreationTokens: 0, reasoningTokens: 0, totalTokens: 0, ...parts };
  u.totalTokens = u.inputTokens + u.outputTokens;
  return u;
}

/** Whole cents, the way a bill shows them. */
const cents = (usd: number): number => Math.round(usd * 100);

const table = PriceTable.builtIn();

describe('cost per provider, priced by hand from each price sheet', () => {
  it('Anthropic Claude Sonnet 4.5: uncached input, cache reads, cache writes and output', () => {
    // 2,000 fresh + 50,000 read from cache + 10,000 written to cache, 1,500 out.
    const u = parseUsage({
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5-20250929',
      content: [],
      stop_reason: 'end_turn',
      usage: { input_tokens: 2000, cache_creation_input_tokens: 10000, cache_read_input_tokens: 50000, output_tokens: 1500 },
    });
    expect(u.inputTokens).toBe(62000);
    const result = table.cost(u, { model: u.model });
    // $3/MTok in, $3.75 5m write, $0.30 read, $15 out:
    //   2,000 x 3 = 6,000; 50,000 x 0.30 = 15,000; 10,000 x 3.75 = 37,500; 1,500 x 15 = 22,500
    //   = 81,000 / 1e6 = $0.081
    expect(result).toEqual({ costUsd: expect.closeTo(0.081, 12), priced: true, matchedKey: 'claude-sonnet-4-5', via: 'model' });
    expect(cents(result.costUsd)).toBe(8);
  });

  it('Anthropic Claude Haiku 4.5: 1-hour cache writes at 2x input, 5-minute ones at 1.25x', () => {
    const u = parseUsage({
      id: 'msg_2',
      type: 'message',
      role: 'assistant',
      model: 'claude-haiku-4-5-20251001',
      content: [],
      stop_reason: 'end_turn',
      usage: {
        input_tokens: 100_000,
        cache_creation_input_tokens: 3_000_000,
        cache_read_input_tokens: 4_000_000,
        cache_creation: { ephemeral_5m_input_tokens: 1_000_000, ephemeral_1h_input_tokens: 2_000_000 },
        output_tokens: 200_000,
      },
    });
    // $1 in, $1.25 5m write, $2 1h write, $0.10 read, $5 out:
    //   0.1M x 1 = 0.10; 1M x 1.25 = 1.25; 2M x 2 = 4.00; 4M x 0.10 = 0.40; 0.2M x 5 = 1.00 -> $6.75
    expect(table.cost(u, { model: u.model }).costUsd).toBeCloseTo(6.75, 10);
  });

  it('OpenAI gpt-4.1: cached input at the cached price, the rest at the input price', () => {
    const u = parseUsage({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      model: 'gpt-4.1-2025-04-14',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1_200_000, completion_tokens: 300_000, total_tokens: 1_500_000, prompt_tokens_details: { cached_tokens: 1_000_000 } },
    });
    // $2 in, $0.50 cached, $8 out: 0.2M x 2 = 0.40; 1M x 0.50 = 0.50; 0.3M x 8 = 2.40 -> $3.30
    const result = table.cost(u, { model: u.model });
    expect(result.costUsd).toBeCloseTo(3.3, 10);
    expect(result.matchedKey).toBe('gpt-4.1');
    expect(cents(result.costUsd)).toBe(330);
  });

  it('OpenAI Responses usage with cache reads and cache writes, through a gateway engine price', () => {
    // OpenAI's built-in models report no cache writes; a gateway that prices them shows the write term.
    const u = parseUsage({
      id: 'resp_1',
      object: 'response',
      status: 'completed',
      model: 'gpt-5-2025-08-07',
      output: [],
      usage: {
        input_tokens: 2_000_000,
        input_tokens_details: { cached_tokens: 1_000_000, cache_write_tokens: 500_000 },
        output_tokens: 400_000,
        output_tokens_details: { reasoning_tokens: 300_000 },
        total_tokens: 2_400_000,
      },
    });
    expect(u.cacheCreationTokens).toBe(500_000);
    const gateway = PriceTable.builtIn().setEnginePrice('my-gateway', { input: 1, output: 2, cacheRead: 0.1, cacheWrite: 1.25 });
    // 0.5M uncached x 1 = 0.50; 1M read x 0.10 = 0.10; 0.5M write x 1.25 = 0.625; 0.4M out x 2 = 0.80 -> $2.025
    expect(gateway.cost(u, { model: u.model, engineId: 'my-gateway' })).toEqual({
      costUsd: expect.closeTo(2.025, 12),
      priced: true,
      matchedKey: 'my-gateway',
      via: 'engine',
    });
    // Without the gateway, gpt-5's own sheet: no write price, so writes cost input ($1.25):
    //   0.5M x 1.25 = 0.625; 1M x 0.125 = 0.125; 0.5M x 1.25 = 0.625; 0.4M x 10 = 4.00 -> $5.375
    expect(table.cost(u, { model: u.model }).costUsd).toBeCloseTo(5.375, 10);
  });

  it('Gemini 2.5 Pro: cached content at the caching price, thinking at the output price', () => {
    // usageMetadata quoted on discuss.ai.google.dev: prompt 11,500 (10,000 cached), candidates 1,000, thoughts 10,000.
    const u = parseUsage({
      candidates: [{ content: { parts: [{ text: 'x' }], role: 'model' }, finishReason: 'STOP' }],
      usageMetadata: { promptTokenCount: 11500, candidatesTokenCount: 1000, totalTokenCount: 22500, cachedContentTokenCount: 10000, thoughtsTokenCount: 10000 },
      modelVersion: 'gemini-2.5-pro',
    });
    // $1.25 in, $0.125 cached, $10 out: 1,500 x 1.25 = 1,875; 10,000 x 0.125 = 1,250; 11,000 x 10 = 110,000
    //   = 113,125 / 1e6 = $0.113125. Gemini reports no cache writes, so there is no write term.
    const result = table.cost(u, { model: u.model });
    expect(result.costUsd).toBeCloseTo(0.113125, 12);
    expect(cents(result.costUsd)).toBe(11);
  });

  it('Gemini 2.5 Flash named with the API resource prefix', () => {
    const u = usage({ inputTokens: 1_000_000, cacheReadTokens: 600_000, outputTokens: 100_000 });
    // $0.30 in, $0.03 cached, $2.50 out: 0.4M x 0.30 = 0.12; 0.6M x 0.03 = 0.018; 0.1M x 2.5 = 0.25 -> $0.388
    expect(table.cost(u, { model: 'models/gemini-2.5-flash' }).costUsd).toBeCloseTo(0.388, 12);
  });

  it('Ollama: a real, known $0, priced (not unpriced) whatever the model is called', () => {
    const u = parseUsage({ model: 'llama3.2', created_at: '2024-01-01T00:00:00Z', done: true, prompt_eval_count: 26, eval_count: 298 });
    expect(table.cost(u, { model: u.model, engineId: 'ollama' })).toEqual({ costUsd: 0, priced: true, matchedKey: 'ollama', via: 'engine' });
    // A local model that happens to share a paid model's name is still free on the local engine.
    expect(table.cost(u, { model: 'gpt-4o', engineId: 'ollama' }).costUsd).toBe(0);
  });

  it('same token picture, OpenAI vs Anthropic: each costs what its own sheet says', () => {
    // 62,000 prompt tokens of which 50,000 from cache, 1,500 out — as each API reports it.
    const openai = parseUsage({
      id: 'chatcmpl-2',
      object: 'chat.completion',
      model: 'gpt-4.1',
      choices: [],
      usage: { prompt_tokens: 62000, completion_tokens: 1500, total_tokens: 63500, prompt_tokens_details: { cached_tokens: 50000 } },
    });
    const anthropic = parseUsage({
      id: 'msg_3',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [],
      usage: { input_tokens: 12000, cache_creation_input_tokens: 0, cache_read_input_tokens: 50000, output_tokens: 1500 },
    });
    const picture = (u: TokenUsage) => [u.inputTokens, u.cacheReadTokens, u.cacheCreationTokens, u.outputTokens, u.totalTokens];
    expect(picture(anthropic)).toEqual(picture(openai));
    // gpt-4.1: 12,000 x 2 + 50,000 x 0.50 + 1,500 x 8 = 24,000 + 25,000 + 12,000 = $0.061
    expect(table.cost(openai, { model: openai.model }).costUsd).toBeCloseTo(0.061, 12);
    // Sonnet 4.5: 12,000 x 3 + 50,000 x 0.30 + 1,500 x 15 = 36,000 + 15,000 + 22,500 = $0.0735
    expect(table.cost(anthropic, { model: anthropic.model }).costUsd).toBeCloseTo(0.0735, 12);
  });
});

describe('formula details', () => {
  it('missing cache prices mean cache tokens cost the input price', () => {
    const t = new PriceTable().setModelPrice('house-model', { input: 4, output: 8 });
    const u = usage({ inputTokens: 1_000_000, cacheReadTokens: 300_000, cacheCreationTokens: 200_000, outputTokens: 100_000 });
    // Everything in at $4: 1M x 4 = 4.00; 0.1M out x 8 = 0.80 -> $4.80
    expect(t.cost(u, { model: 'house-model-v2' }).costUsd).toBeCloseTo(4.8, 12);
  });

  it('a 1-hour price defaults to the write price, then to input', () => {
    const u = usage({ inputTokens: 1_000_000, cacheCreationTokens: 1_000_000, cacheCreation1hTokens: 1_000_000, outputTokens: 0 });
    expect(computeCost(u, { input: 1, output: 1, cacheWrite: 1.25 })).toBeCloseTo(1.25, 12);
    expect(computeCost(u, { input: 1, output: 1 })).toBeCloseTo(1, 12);
  });

  it('contradictory counts (cache larger than input) never produce a negative cost', () => {
    const u = usage({ inputTokens: 100, cacheReadTokens: 1000, outputTokens: 0 });
    expect(computeCost(u, { input: 1, output: 1, cacheRead: 0.1 })).toBeCloseTo((1000 * 0.1) / 1e6, 15);
  });
});

describe('unpriced models', () => {
  it('an unknown model is unpriced, visibly, not a real $0', () => {
    const u = usage({ inputTokens: 1000, outputTokens: 1000 });
    expect(table.cost(u, { model: 'mystery-model-9000' })).toEqual({ costUsd: 0, priced: false });
    expect(table.cost(u, {})).toEqual({ costUsd: 0, priced: false });
    expect(table.cost(u, { engineId: 'unknown-engine' })).toEqual({ costUsd: 0, priced: false });
  });

  it('a newer version does not silently take an older family member’s price', () => {
    // gpt-5.3 extends "gpt-5" only after a ".", not at a "-" boundary.
    expect(table.lookup('gpt-5.3-codex')).toBeUndefined();
    expect(table.lookup('gpt-4o:extended')).toBeUndefined();
    expect(table.lookup('ft:gpt-4o-mini-2024-07-18:acme::abc123')).toBeUndefined();
  });
});

describe('model name matching', () => {
  const key = (model: string) => table.lookup(model)?.key;

  it('dated suffixes are ignored; the longest matching prefix wins', () => {
    expect(key('claude-sonnet-4-5-20250929')).toBe('claude-sonnet-4-5');
    expect(key('gpt-4o-2024-08-06')).toBe('gpt-4o');
    expect(key('gpt-4o-mini-2024-07-18')).toBe('gpt-4o-mini');
    expect(key('gpt-4.1-mini-2025-04-14')).toBe('gpt-4.1-mini');
    expect(key('o3-mini-2025-01-31')).toBe('o3-mini');
    expect(key('o1-2024-12-17')).toBe('o1');
    expect(key('o3-pro-2025-06-10')).toBe('o3-pro');
    expect(key('gpt-5-mini-2025-08-07')).toBe('gpt-5-mini');
    expect(key('gpt-5.4-2026-03-05')).toBe('gpt-5.4');
    expect(key('gpt-5.4-mini-2026-03-17')).toBe('gpt-5.4-mini');
    expect(key('claude-opus-4-1-20250805')).toBe('claude-opus-4-1');
    expect(key('claude-opus-4-20250514')).toBe('claude-opus-4');
    expect(key('claude-3-5-haiku-20241022')).toBe('claude-3-5-haiku');
    expect(key('claude-3-7-sonnet-latest')).toBe('claude-3-7-sonnet');
    expect(key('gemini-2.0-flash-001')).toBe('gemini-2.0-flash');
    expect(key('gemini-2.0-flash-lite-001')).toBe('gemini-2.0-flash-lite');
    expect(key('gemini-2.5-flash-lite-preview-06-17')).toBe('gemini-2.5-flash-lite');
    expect(key('gemini-2.5-flash-preview-09-2025')).toBe('gemini-2.5-flash');
  });

  it('provider prefixes and platform spellings are stripped', () => {
    expect(key('models/gemini-2.5-flash')).toBe('gemini-2.5-flash');
    expect(key('openai/gpt-4o')).toBe('gpt-4o');
    expect(key('anthropic/claude-sonnet-4.5')).toBe('claude-sonnet-4-5');
    expect(key('anthropic.claude-3-5-haiku-20241022-v1:0')).toBe('claude-3-5-haiku');
    expect(key('us.anthropic.claude-sonnet-4-5-20250929-v1:0')).toBe('claude-sonnet-4-5');
    expect(key('claude-sonnet-4-5@20250929')).toBe('claude-sonnet-4-5');
    expect(key('projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro')).toBe('gemini-2.5-pro');
    expect(key('GPT-4O-Mini')).toBe('gpt-4o-mini');
    expect(normalizeModelName('  Anthropic/Claude-3.5-Sonnet ')).toBe('claude-3-5-sonnet');
  });

  it('the Opus generations keep their own prices', () => {
    expect(table.lookup('claude-opus-4-1')?.price.input).toBe(15);
    expect(table.lookup('claude-opus-4-5-20251101')?.price.input).toBe(5);
    expect(table.lookup('claude-opus-4-6')?.price.input).toBe(5);
  });
});

describe('engine before model', () => {
  it('an engine price wins over the model price; an unknown engine falls back to the model', () => {
    const t = PriceTable.builtIn().setEnginePrice('corp-proxy', { input: 0.5, output: 1 });
    const u = usage({ inputTokens: 1_000_000, outputTokens: 1_000_000 });
    expect(t.lookup('gpt-4o', 'corp-proxy')).toMatchObject({ key: 'corp-proxy', via: 'engine' });
    expect(t.cost(u, { model: 'gpt-4o', engineId: 'corp-proxy' }).costUsd).toBeCloseTo(1.5, 12);
    expect(t.lookup('gpt-4o', 'Corp-Proxy ')?.key).toBe('corp-proxy');
    expect(t.cost(u, { model: 'gpt-4o', engineId: 'elsewhere' })).toMatchObject({ costUsd: expect.closeTo(12.5, 12), via: 'model', matchedKey: 'gpt-4o' });
  });

  it('setModelPrice adds and replaces prefixes; merge replaces whole entries', () => {
    const t = PriceTable.builtIn();
    t.setModelPrice('gpt-4o-2024-05-13', { input: 5, output: 15 });
    expect(t.lookup('gpt-4o-2024-05-13')?.price.input).toBe(5);
    expect(t.lookup('gpt-4o-2024-08-06')?.price.input).toBe(2.5);
    t.merge({ models: { 'gpt-4o-mini': { input: 0.2, output: 0.8 } }, engines: {} });
    expect(t.lookup('gpt-4o-mini')?.price).toEqual({ input: 0.2, output: 0.8 });
    // The built-in table a fresh call returns is untouched.
    expect(PriceTable.builtIn().lookup('gpt-4o-mini')?.price.input).toBe(0.15);
  });

  it('programmatic prices are validated too', () => {
    expect(() => new PriceTable().setModelPrice('x', { input: -1, output: 1 })).toThrow(PricingError);
    expect(() => new PriceTable().setEnginePrice('', { input: 1, output: 1 })).toThrow(/must not be empty/);
  });
});

describe('built-in table', () => {
  it('every entry says where its figure comes from and when it was read', () => {
    for (const [name, price] of [...Object.entries(BUILT_IN_MODEL_PRICES), ...Object.entries(BUILT_IN_ENGINE_PRICES)]) {
      expect(price.source, name).toMatch(/\S/);
      expect(price.date, name).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(price.input, name).toBeGreaterThanOrEqual(0);
      expect(price.output, name).toBeGreaterThanOrEqual(price.input);
    }
  });

  it('Claude cache prices follow the published multipliers: 5m write 1.25x, 1h write 2x, read 0.1x', () => {
    const claude = Object.entries(BUILT_IN_MODEL_PRICES).filter(([name]) => name.startsWith('claude-'));
    expect(claude.length).toBeGreaterThanOrEqual(10);
    for (const [name, p] of claude) {
      // Claude Haiku 3's sheet rounds: $0.30 write for 1.25 x $0.25, $0.03 read for 0.1 x $0.25.
      // The table keeps the sheet's figures, which are what is billed.
      const digits = name === 'claude-3-haiku' ? 1 : 10;
      expect(p.cacheWrite, name).toBeCloseTo(p.input * 1.25, digits);
      expect(p.cacheWrite1h, name).toBeCloseTo(p.input * 2, 10);
      expect(p.cacheRead, name).toBeCloseTo(p.input * 0.1, digits);
    }
  });

  it('covers the families the project promises', () => {
    for (const model of [
      'gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'o1', 'o3', 'o3-mini', 'o4-mini', 'gpt-5', 'gpt-5-mini', 'gpt-5-nano',
      'claude-opus-4-1', 'claude-sonnet-4', 'claude-sonnet-4-5', 'claude-haiku-4-5', 'claude-3-5-haiku', 'claude-3-7-sonnet',
      'gemini-2.5-pro', 'gemini-2.5-flash', 'gemini-2.0-flash',
    ]) {
      expect(table.lookup(model)?.key, model).toBe(model);
    }
    expect(table.lookup(undefined, 'ollama')?.price).toMatchObject({ input: 0, output: 0 });
  });
});

describe('pricing override file', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'agentloupe-pricing-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const write = (name: string, content: string): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  it('the documented example merges over the built-in table, via AGENTLOUPE_PRICING', () => {
    const path = write(
      'prices.json',
      JSON.stringify({
        models: { 'gpt-4o-mini': { input: 0.15, output: 0.6, cacheRead: 0.075 }, 'my-finetune': { input: 3, output: 12, source: 'contract 2026-01', date: '2026-01-15' } },
        engines: { 'my-gateway': { input: 1, output: 2, cacheRead: 0.1, cacheWrite: 1.25 } },
      }),
    );
    expect(loadPricingFile(path).engines['my-gateway']).toEqual({ input: 1, output: 2, cacheRead: 0.1, cacheWrite: 1.25 });
    const t = PriceTable.fromEnv({ [PRICING_ENV_VAR]: path });
    expect(t.lookup('my-finetune-v3')).toMatchObject({ key: 'my-finetune', price: { input: 3, source: 'contract 2026-01' } });
    expect(t.lookup('gpt-4o', 'my-gateway')?.via).toBe('engine');
    expect(t.lookup('claude-haiku-4-5')?.price.input).toBe(1); // built-ins still there
    // Unset or blank: the built-in table alone.
    expect(PriceTable.fromEnv({}).lookup('my-finetune')).toBeUndefined();
    expect(PriceTable.fromEnv({ [PRICING_ENV_VAR]: '  ' }).lookup('gpt-4o')?.key).toBe('gpt-4o');
  });

  it('names the bad entry and what is wrong with it', () => {
    expect(() => parsePricingOverride({ models: { 'gpt-x': { input: 'abc', output: 1 } } }, 'prices.json')).toThrow(
      'prices.json: models["gpt-x"].input must be a non-negative number (got "abc")',
    );
    expect(() => parsePricingOverride({ engines: { gw: { input: 1, output: 2, cacheRead: -0.1 } } }, 'prices.json')).toThrow(
      'prices.json: engines["gw"].cacheRead must be a non-negative number (got -0.1)',
    );
    expect(() => parsePricingOverride({ models: { 'gpt-x': { input: 1 } } }, 'prices.json')).toThrow('prices.json: models["gpt-x"].output is required');
    expect(() => parsePricingOverride({ models: { 'gpt-x': { input: 1, output: 2, cache_read: 0.1 } } }, 'prices.json')).toThrow(
      /prices\.json: models\["gpt-x"\] has unknown key "cache_read"/,
    );
    expect(() => parsePricingOverride({ models: { 'gpt-x': 3 } }, 'prices.json')).toThrow('prices.json: models["gpt-x"] must be an object like {"input": 1, "output": 2} (got 3)');
    expect(() => parsePricingOverride({ models: [] }, 'prices.json')).toThrow(/prices\.json: models must be an object mapping model prefixes to prices/);
    expect(() => parsePricingOverride({ models: { ' ': { input: 1, output: 1 } } }, 'prices.json')).toThrow(/must not be empty/);
    expect(() => parsePricingOverride([], 'prices.json')).toThrow(/must be a JSON object/);
  });

  it('rejects unknown top-level keys', () => {
    expect(() => parsePricingOverride({ model: {} }, 'prices.json')).toThrow(
      'prices.json: unknown top-level key "model" (allowed: "models", "engines")',
    );
  });

  it('reports every problem at once', () => {
    try {
      parsePricingOverride({ extra: 1, models: { a: { input: -1, output: 'x' } } }, 'p.json');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PricingError);
      expect((err as PricingError).problems).toEqual([
        'p.json: unknown top-level key "extra" (allowed: "models", "engines")',
        'p.json: models["a"].input must be a non-negative number (got -1)',
        'p.json: models["a"].output must be a non-negative number (got "x")',
      ]);
      expect((err as PricingError).message).toMatch(/^3 problems in pricing:\n {2}- p\.json/);
    }
  });

  it('real files: invalid JSON, a missing file, a bad entry — each a PricingError naming the file', () => {
    const broken = write('broken.json', '{ "models": { "gpt-x": { "input": 1, ');
    expect(() => loadPricingFile(broken)).toThrow(PricingError);
    expect(() => loadPricingFile(broken)).toThrow(`${broken}: not valid JSON`);
    const missing = join(dir, 'nope.json');
    expect(() => loadPricingFile(missing)).toThrow(`${missing}: cannot read pricing file (ENOENT)`);
    const bad = write('bad.json', JSON.stringify({ models: { 'gpt-x': { input: 'abc', output: 1 } } }));
    expect(() => PriceTable.fromEnv({ [PRICING_ENV_VAR]: bad })).toThrow(`${bad}: models["gpt-x"].input must be a non-negative number (got "abc")`);
  });
});
