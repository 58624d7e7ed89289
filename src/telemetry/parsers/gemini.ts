/**
 * Google Gemini `generateContent` / `streamGenerateContent` usage, Gemini API (AI Studio,
 * provider `gcp.gemini`) and Vertex AI (`gcp.vertex_ai`) alike.
 *
 * `usageMetadata` semantics (googleapis/js-genai GenerateContentResponseUsageMetadata and
 * https://ai.google.dev/api/generate-content#UsageMetadata):
 * - `promptTokenCount` is the whole prompt and already includes `cachedContentTokenCount`;
 * - `toolUsePromptTokenCount` (tool results fed back to the model) is NOT in promptTokenCount,
 *   and `thoughtsTokenCount` is NOT in `candidatesTokenCount`: the documented identity is
 *   totalTokenCount = prompt + candidates + toolUsePrompt + thoughts.
 * So inputTokens = prompt + toolUsePrompt, outputTokens = candidates + thoughts. Thoughts are
 * billed at the output rate (https://ai.google.dev/gemini-api/docs/pricing: "Output price
 * (including thinking tokens)"). Gemini reports no cache-write count.
 *
 * Streaming sends a full GenerateContentResponse per chunk; each chunk's usageMetadata is the
 * running total, so the last one wins, and the final chunk is the one with a finishReason.
 * `trafficType` and `createTime` are Vertex-only fields ("not supported in Gemini API").
 */
import type { ParsedUsage } from '../types.js';
import {
  PROVIDER_GEMINI,
  PROVIDER_VERTEX,
  UsageParseError,
  addReason,
  buildParsedUsage,
  errorMessageOf,
  isRecord,
  readCount,
  readRecord,
  readString,
  toJsonValue,
  zeroParts,
  type JsonRecord,
  type StreamState,
  type UsageParts,
} from './common.js';

/** True when the body carries a field only Vertex AI sends. */
export function looksLikeVertex(body: JsonRecord): boolean {
  const meta = readRecord(body, 'usageMetadata');
  return (meta !== undefined && 'trafficType' in meta) || typeof body['createTime'] === 'string';
}

/** Maps one `usageMetadata` object onto DESIGN.md's units. */
export function geminiUsageParts(meta: JsonRecord, provider: string = PROVIDER_GEMINI, path = 'usageMetadata'): UsageParts {
  const prompt = readCount(meta, 'promptTokenCount', provider, path) ?? 0;
  const toolUsePrompt = readCount(meta, 'toolUsePromptTokenCount', provider, path) ?? 0;
  const candidates = readCount(meta, 'candidatesTokenCount', provider, path) ?? 0;
  const thoughts = readCount(meta, 'thoughtsTokenCount', provider, path) ?? 0;
  return {
    inputTokens: prompt + toolUsePrompt,
    outputTokens: candidates + thoughts,
    cacheReadTokens: readCount(meta, 'cachedContentTokenCount', provider, path) ?? 0,
    cacheCreationTokens: 0,
    reasoningTokens: thoughts,
  };
}

/** Usage of a streamed or non-streamed Gemini response, chunk by chunk. */
export class GeminiStreamState implements StreamState {
  private model: string | undefined;
  private responseId: string | undefined;
  private readonly reasons: string[] = [];
  private parts: UsageParts | undefined;
  private finished = false;
  private providerName: string;

  /** `provider` undefined: gcp.gemini unless a chunk shows Vertex-only fields. */
  constructor(private readonly explicitProvider?: string) {
    this.providerName = explicitProvider ?? PROVIDER_GEMINI;
  }

  get provider(): string {
    return this.providerName;
  }

  push(event: JsonRecord): void {
    if (this.explicitProvider === undefined && looksLikeVertex(event)) this.providerName = PROVIDER_VERTEX;
    this.model = readString(event, 'modelVersion') ?? this.model;
    this.responseId ??= readString(event, 'responseId');
    const candidates = event['candidates'];
    if (Array.isArray(candidates)) {
      for (const candidate of candidates) {
        if (isRecord(candidate) && typeof candidate['finishReason'] === 'string') {
          addReason(this.reasons, candidate['finishReason']);
          this.finished = true;
        }
      }
    }
    // A blocked prompt gets no candidates at all; the block is the end of the response.
    const blockReason = readRecord(event, 'promptFeedback')?.['blockReason'];
    if (typeof blockReason === 'string') {
      addReason(this.reasons, blockReason);
      this.finished = true;
    }
    const meta = readRecord(event, 'usageMetadata');
    if (meta !== undefined) this.parts = geminiUsageParts(meta, this.providerName);
  }

  done(): void {
    // Gemini's SSE stream has no [DONE] sentinel.
  }

  get complete(): boolean {
    return this.parts !== undefined && this.finished;
  }

  /** Usage seen so far; `single` marks a non-streamed body, complete whenever it has usage. */
  result(single = false): ParsedUsage {
    return buildParsedUsage(this.parts ?? zeroParts(), {
      provider: this.providerName,
      model: this.model,
      responseId: this.responseId,
      finishReasons: this.reasons,
      partial: single ? this.parts === undefined : !this.complete,
    });
  }
}

/**
 * Usage of a Gemini response body: one GenerateContentResponse, or the JSON array that
 * `streamGenerateContent` returns without `alt=sse`.
 */
export function parseGeminiUsage(body: unknown, provider?: string): ParsedUsage {
  const name = provider ?? PROVIDER_GEMINI;
  const json = toJsonValue(body, name);
  if (Array.isArray(json)) {
    const state = new GeminiStreamState(provider);
    for (const chunk of json) {
      if (!isRecord(chunk)) throw new UsageParseError(name, 'expected an array of JSON objects');
      const error = errorMessageOf(chunk);
      if (error !== undefined && chunk['usageMetadata'] === undefined) {
        throw new UsageParseError(state.provider, `response is an error: ${error}`);
      }
      state.push(chunk);
    }
    return state.result();
  }
  if (!isRecord(json)) throw new UsageParseError(name, 'expected a JSON object');
  if (json['usageMetadata'] === undefined) {
    const error = errorMessageOf(json);
    if (error !== undefined) throw new UsageParseError(name, `response is an error: ${error}`);
  }
  const state = new GeminiStreamState(provider);
  state.push(json);
  return state.result(true);
}
