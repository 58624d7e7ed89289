import type { ParsedUsage } from '../types.js';

/** `gen_ai.provider.name` values the parsers produce on their own. */
export type ProviderName = 'openai' | 'anthropic' | 'gcp.gemini' | 'gcp.vertex_ai' | 'ollama';

/**
 * The body shape a provider speaks. Distinct from the provider: Ollama's `/v1/chat/completions`
 * and every "OpenAI-compatible" server speak `openai`, Vertex AI serves both `gemini` and
 * `anthropic` bodies.
 */
export type WireFormat = 'openai' | 'anthropic' | 'gemini' | 'ollama';

export const PROVIDER_OPENAI = 'openai';
export const PROVIDER_ANTHROPIC = 'anthropic';
export const PROVIDER_GEMINI = 'gcp.gemini';
export const PROVIDER_VERTEX = 'gcp.vertex_ai';
export const PROVIDER_OLLAMA = 'ollama';
/** Used when nothing tells which provider a body came from. */
export const PROVIDER_UNKNOWN = 'unknown';

/** Default provider name for a wire format when the caller names none. */
export function defaultProviderFor(format: WireFormat): ProviderName {
  switch (format) {
    case 'openai':
      return PROVIDER_OPENAI;
    case 'anthropic':
      return PROVIDER_ANTHROPIC;
    case 'gemini':
      return PROVIDER_GEMINI;
    case 'ollama':
      return PROVIDER_OLLAMA;
  }
}

/** Wire format implied by a provider name, for the names whose format is not in doubt. */
export function formatForProvider(provider: string | undefined): WireFormat | undefined {
  switch (provider) {
    case PROVIDER_OPENAI:
      return 'openai';
    case PROVIDER_ANTHROPIC:
      return 'anthropic';
    case PROVIDER_GEMINI:
      return 'gemini';
    case PROVIDER_OLLAMA:
      return 'ollama';
    default:
      // gcp.vertex_ai serves Gemini and Claude bodies; anything else may be OpenAI-compatible or not.
      return undefined;
  }
}

/**
 * The only error the usage parsers throw. Instrumentation catches it by type and records the
 * call as unparsed instead of letting a provider's odd body reach the agent.
 */
export class UsageParseError extends Error {
  override readonly name = 'UsageParseError';
  readonly provider: string;

  constructor(provider: string, message: string, options?: { cause?: unknown }) {
    super(`${provider}: ${message}`, options);
    this.provider = provider;
  }
}

export type JsonRecord = Record<string, unknown>;

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Short, bounded rendering of a bad value for an error message. */
export function describeValue(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * A token count at `obj[key]`. Absent and `null` read as undefined (OpenAI-compatible servers
 * drop fields freely); anything that is not a finite non-negative number is an error, because a
 * silently zeroed count would be a silently wrong bill.
 */
export function readCount(obj: JsonRecord | undefined, key: string, provider: string, path: string): number | undefined {
  if (obj === undefined) return undefined;
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new UsageParseError(provider, `${path}.${key} must be a non-negative number (got ${describeValue(value)})`);
  }
  return value;
}

export function readString(obj: JsonRecord | undefined, key: string): string | undefined {
  if (obj === undefined) return undefined;
  const value = obj[key];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

export function readRecord(obj: JsonRecord | undefined, key: string): JsonRecord | undefined {
  if (obj === undefined) return undefined;
  const value = obj[key];
  return isRecord(value) ? value : undefined;
}

const utf8 = new TextDecoder('utf-8');

/** Raw body (string or bytes) to JSON; anything else is taken as already parsed. */
export function toJsonValue(body: unknown, provider: string): unknown {
  let text: string;
  if (typeof body === 'string') {
    text = body;
  } else if (body instanceof Uint8Array) {
    text = utf8.decode(body);
  } else if (body instanceof ArrayBuffer) {
    text = utf8.decode(new Uint8Array(body));
  } else {
    return body;
  }
  if (text.trim().length === 0) {
    throw new UsageParseError(provider, 'response body is empty');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageParseError(provider, `response body is not valid JSON (${(err as Error).message})`, { cause: err });
  }
}

/** The counts a provider reports, already mapped onto DESIGN.md's units. */
export interface UsageParts {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  reasoningTokens: number;
  cacheCreation1hTokens?: number;
}

export function zeroParts(): UsageParts {
  return { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0, reasoningTokens: 0 };
}

export interface UsageMeta {
  provider: string;
  model?: string;
  responseId?: string;
  finishReasons?: string[];
  partial: boolean;
}

/** Builds the result, deriving the total so `total = input + output` holds by construction. */
export function buildParsedUsage(parts: UsageParts, meta: UsageMeta): ParsedUsage {
  const usage: ParsedUsage = {
    provider: meta.provider,
    inputTokens: parts.inputTokens,
    outputTokens: parts.outputTokens,
    cacheReadTokens: parts.cacheReadTokens,
    cacheCreationTokens: parts.cacheCreationTokens,
    reasoningTokens: parts.reasoningTokens,
    totalTokens: parts.inputTokens + parts.outputTokens,
    partial: meta.partial,
  };
  if (parts.cacheCreation1hTokens !== undefined) usage.cacheCreation1hTokens = parts.cacheCreation1hTokens;
  if (meta.model !== undefined) usage.model = meta.model;
  if (meta.responseId !== undefined) usage.responseId = meta.responseId;
  if (meta.finishReasons !== undefined && meta.finishReasons.length > 0) usage.finishReasons = [...meta.finishReasons];
  return usage;
}

/** An `{error: ...}` body, as OpenAI, Gemini, Anthropic and Ollama all send on failure. */
export function errorMessageOf(body: JsonRecord): string | undefined {
  const error = body['error'];
  if (typeof error === 'string') return error;
  if (isRecord(error)) {
    const message = error['message'];
    return typeof message === 'string' ? message : describeValue(error);
  }
  return undefined;
}

/** Distinct finish reasons kept per response; a stream cannot grow the list past it. */
const MAX_REASONS = 16;

/** Adds a reason once, keeping first-seen order. */
export function addReason(reasons: string[], reason: unknown): void {
  if (typeof reason !== 'string' || reason.length === 0 || reasons.length >= MAX_REASONS) return;
  if (!reasons.includes(reason)) reasons.push(reason);
}

/**
 * Per-provider state machine behind StreamUsageAccumulator: fed one decoded event at a time
 * (an object, or the `[DONE]` sentinel), answers with what has been seen so far.
 */
export interface StreamState {
  push(event: JsonRecord): void;
  /**
   * True when an event, by its JSON text alone, cannot change the usage (a content delta once the
   * model and id are known), so it need not be parsed. Most events of a stream are such deltas,
   * and parsing each one was most of what capture cost a streamed call. Only asked for text that
   * is one whole JSON object; an answer of false is always safe.
   */
  ignores?(text: string): boolean;
  /** The `data: [DONE]` sentinel arrived. */
  done(): void;
  /** True once the provider's final usage has arrived. */
  readonly complete: boolean;
  result(): ParsedUsage;
}
