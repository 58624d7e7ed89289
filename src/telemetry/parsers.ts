/**
 * Usage parsers: a provider response body (parsed JSON, raw text or bytes, or a whole streamed
 * body) to ParsedUsage in DESIGN.md's units. Per-provider semantics and their sources are in
 * parsers/<provider>.ts; stream handling is in parsers/stream.ts.
 */
import type { ParsedUsage } from './types.js';
import { parseAnthropicUsage } from './parsers/anthropic.js';
import {
  PROVIDER_UNKNOWN,
  UsageParseError,
  formatForProvider,
  toJsonValue,
  type WireFormat,
} from './parsers/common.js';
import { detectWireFormat } from './parsers/detect.js';
import { parseGeminiUsage } from './parsers/gemini.js';
import { parseOllamaUsage } from './parsers/ollama.js';
import { parseOpenAIUsage } from './parsers/openai.js';
import { StreamTextUsageParser } from './parsers/stream.js';

export {
  PROVIDER_ANTHROPIC,
  PROVIDER_GEMINI,
  PROVIDER_OLLAMA,
  PROVIDER_OPENAI,
  PROVIDER_UNKNOWN,
  PROVIDER_VERTEX,
  UsageParseError,
  defaultProviderFor,
  formatForProvider,
  type ProviderName,
  type WireFormat,
} from './parsers/common.js';
export { detectProvider, detectProviderFromPath, detectWireFormat, type PathMatch } from './parsers/detect.js';
export { anthropicUsageParts, parseAnthropicUsage, AnthropicStreamState } from './parsers/anthropic.js';
export { geminiUsageParts, parseGeminiUsage, GeminiStreamState } from './parsers/gemini.js';
export { parseOllamaUsage, OllamaStreamState } from './parsers/ollama.js';
export { openAIUsageParts, parseOpenAIUsage, OpenAIStreamState } from './parsers/openai.js';
export { JsonArrayStreamSplitter, NdjsonParser, SseParser, type SseEvent } from './parsers/framing.js';
export {
  StreamTextUsageParser,
  StreamUsageAccumulator,
  parseStreamText,
  type StreamFraming,
  type StreamTextOptions,
  type StreamUsageOptions,
} from './parsers/stream.js';

export interface ParseUsageOptions {
  /** `gen_ai.provider.name` to report; its usual body format is the fallback when detection fails. */
  provider?: string;
  /** Body format, when the caller knows it; otherwise detected from the body's shape. */
  format?: WireFormat;
}

const utf8 = new TextDecoder('utf-8');

/** SSE text begins with a field line: `data:`, `event:`, `id:`, `retry:`, or a `:` comment. */
function looksLikeEventStream(text: string): boolean {
  return /^\s*(?:data|event|id|retry)?:/.test(text);
}

/** Several JSON objects one per line, as Ollama streams. */
function looksLikeNdjson(text: string): boolean {
  const lines = text.split(/\r?\n/).filter((line) => line.trim().length > 0);
  return lines.length > 1 && lines.every((line) => line.trimStart().startsWith('{'));
}

function parseStreamBody(text: string, options: ParseUsageOptions, framing: 'sse' | 'ndjson'): ParsedUsage {
  const parser = new StreamTextUsageParser({ ...options, framing });
  parser.push(text);
  const usage = parser.end();
  if (!parser.accumulator.recognized) {
    const first = parser.errors[0];
    if (first !== undefined) throw first;
    throw new UsageParseError(options.provider ?? PROVIDER_UNKNOWN, 'stream body has no recognisable events');
  }
  return usage;
}

function parseUnsafe(body: unknown, options: ParseUsageOptions): ParsedUsage {
  const name = options.provider ?? PROVIDER_UNKNOWN;
  let json: unknown = body;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const text = typeof body === 'string' ? body : utf8.decode(body);
    if (looksLikeEventStream(text)) return parseStreamBody(text, options, 'sse');
    try {
      json = toJsonValue(text, name);
    } catch (err) {
      if (looksLikeNdjson(text)) return parseStreamBody(text, options, 'ndjson');
      throw err;
    }
  }
  // The shape decides before the name does: provider "ollama" may be answering on its OpenAI-style /v1.
  const format = options.format ?? detectWireFormat(json) ?? formatForProvider(options.provider);
  switch (format) {
    case 'openai':
      return parseOpenAIUsage(json, options.provider);
    case 'anthropic':
      return parseAnthropicUsage(json, options.provider);
    case 'gemini':
      return parseGeminiUsage(json, options.provider);
    case 'ollama':
      return parseOllamaUsage(json, options.provider);
    case undefined:
      throw new UsageParseError(name, 'unrecognised response body: not an OpenAI, Anthropic, Gemini or Ollama shape');
  }
}

/**
 * Usage of one response body: a parsed JSON value, raw JSON text or bytes, or the full text of
 * a streamed body (SSE or NDJSON). Throws only UsageParseError.
 */
export function parseUsage(body: unknown, options: ParseUsageOptions = {}): ParsedUsage {
  try {
    return parseUnsafe(body, options);
  } catch (err) {
    if (err instanceof UsageParseError) throw err;
    throw new UsageParseError(options.provider ?? PROVIDER_UNKNOWN, `unexpected failure: ${String(err)}`, { cause: err });
  }
}

export type SafeParseResult = { ok: true; usage: ParsedUsage } | { ok: false; error: UsageParseError };

/** parseUsage for code that must not throw (instrumentation on the agent's call path). */
export function safeParseUsage(body: unknown, options: ParseUsageOptions = {}): SafeParseResult {
  try {
    return { ok: true, usage: parseUsage(body, options) };
  } catch (err) {
    return { ok: false, error: err as UsageParseError };
  }
}
