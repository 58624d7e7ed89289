/**
 * OpenAI usage: Chat Completions, legacy Completions, Embeddings, the Responses API, and the many
 * OpenAI-compatible servers (vLLM, llama.cpp, LM Studio, Ollama's /v1, gateways) that copy the
 * shapes but drop fields at will.
 *
 * Field names checked against:
 * - Chat Completions `CompletionUsage` (prompt_tokens, completion_tokens,
 *   prompt_tokens_details.cached_tokens, completion_tokens_details.reasoning_tokens):
 *   openai/openai-node src/resources/completions.ts, and
 *   https://platform.openai.com/docs/api-reference/chat/object
 * - Responses `ResponseUsage` (input_tokens, output_tokens, input_tokens_details.cached_tokens,
 *   output_tokens_details.reasoning_tokens): https://platform.openai.com/docs/api-reference/responses/object
 * - Streaming: with `stream_options.include_usage` the chat stream carries usage only on one
 *   extra chunk before `data: [DONE]`, whose `choices` is empty (other chunks carry `usage: null`);
 *   the Responses stream ends with `response.completed` / `response.incomplete` /
 *   `response.failed`, each carrying the whole `response` with its `usage`:
 *   https://platform.openai.com/docs/api-reference/responses-streaming
 *
 * Both APIs count cached tokens inside the prompt/input count and reasoning tokens inside the
 * completion/output count, which is already DESIGN.md's rule: no re-basing needed.
 */
import type { ParsedUsage } from '../types.js';
import {
  PROVIDER_OPENAI,
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

const RESPONSES_KEYS = ['input_tokens', 'output_tokens', 'input_tokens_details', 'output_tokens_details'];

/** Maps an OpenAI `usage` object (either API's spelling) onto DESIGN.md's units. */
export function openAIUsageParts(usage: JsonRecord, provider: string, path = 'usage'): UsageParts {
  if (RESPONSES_KEYS.some((key) => key in usage)) {
    const inputDetails = readRecord(usage, 'input_tokens_details');
    const outputDetails = readRecord(usage, 'output_tokens_details');
    return {
      inputTokens: readCount(usage, 'input_tokens', provider, path) ?? 0,
      outputTokens: readCount(usage, 'output_tokens', provider, path) ?? 0,
      cacheReadTokens: readCount(inputDetails, 'cached_tokens', provider, `${path}.input_tokens_details`) ?? 0,
      // Newer models price cache writes; the count is reported inside input_tokens like cached_tokens.
      cacheCreationTokens: readCount(inputDetails, 'cache_write_tokens', provider, `${path}.input_tokens_details`) ?? 0,
      reasoningTokens: readCount(outputDetails, 'reasoning_tokens', provider, `${path}.output_tokens_details`) ?? 0,
    };
  }
  const promptDetails = readRecord(usage, 'prompt_tokens_details');
  const completionDetails = readRecord(usage, 'completion_tokens_details');
  return {
    inputTokens: readCount(usage, 'prompt_tokens', provider, path) ?? 0,
    outputTokens: readCount(usage, 'completion_tokens', provider, path) ?? 0,
    cacheReadTokens: readCount(promptDetails, 'cached_tokens', provider, `${path}.prompt_tokens_details`) ?? 0,
    cacheCreationTokens: 0,
    reasoningTokens: readCount(completionDetails, 'reasoning_tokens', provider, `${path}.completion_tokens_details`) ?? 0,
  };
}

function responsesFinishReasons(response: JsonRecord, reasons: string[]): void {
  // The Responses API has no finish_reason; an incomplete response says why, otherwise the status is the answer.
  const incomplete = readRecord(response, 'incomplete_details');
  const why = readString(incomplete, 'reason');
  addReason(reasons, why ?? readString(response, 'status'));
}

function choicesFinishReasons(body: JsonRecord, reasons: string[]): boolean {
  const choices = body['choices'];
  let finished = false;
  if (Array.isArray(choices)) {
    for (const choice of choices) {
      if (isRecord(choice) && typeof choice['finish_reason'] === 'string') {
        addReason(reasons, choice['finish_reason']);
        finished = true;
      }
    }
  }
  return finished;
}

/**
 * Usage of one non-streamed OpenAI(-compatible) response. A body without `usage` gives zero
 * counts with `partial: true` rather than an error, so the call is still recorded with its model.
 */
export function parseOpenAIUsage(body: unknown, provider: string = PROVIDER_OPENAI): ParsedUsage {
  const json = toJsonValue(body, provider);
  if (!isRecord(json)) throw new UsageParseError(provider, 'expected a JSON object');
  // A Responses stream's terminal event wraps the same response object.
  const root = typeof json['type'] === 'string' && isRecord(json['response']) ? (json['response'] as JsonRecord) : json;
  const usage = readRecord(root, 'usage');
  if (usage === undefined) {
    const error = errorMessageOf(root);
    if (error !== undefined) throw new UsageParseError(provider, `response is an error: ${error}`);
  }
  const reasons: string[] = [];
  if (root['object'] === 'response') responsesFinishReasons(root, reasons);
  else choicesFinishReasons(root, reasons);
  return buildParsedUsage(usage ? openAIUsageParts(usage, provider) : zeroParts(), {
    provider,
    model: readString(root, 'model'),
    responseId: readString(root, 'id'),
    finishReasons: reasons,
    partial: usage === undefined,
  });
}

const RESPONSES_TERMINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/** Chat Completions chunks and Responses API events, whichever the stream turns out to carry. */
/** True when a `"finish_reason"` key in this JSON text has a value other than null. */
function finishReasonSet(text: string): boolean {
  for (let at = text.indexOf('"finish_reason"'); at !== -1; at = text.indexOf('"finish_reason"', at + 1)) {
    let i = at + 15;
    for (let c = text.charCodeAt(i); c === 32 || c === 58 || c === 9 || c === 10 || c === 13; c = text.charCodeAt(++i));
    if (text.charCodeAt(i) !== 110) return true; // anything but n(ull)
  }
  return false;
}

export class OpenAIStreamState implements StreamState {
  private model: string | undefined;
  private responseId: string | undefined;
  private readonly reasons: string[] = [];
  private parts: UsageParts | undefined;
  private finished = false;
  private usageOnlyChunk = false;
  private terminal = false;
  private sawDone = false;

  constructor(private readonly provider: string) {}

  ignores(text: string): boolean {
    // Usage, an error, a Responses event carrying its response, or a choice that finished: parse.
    // (includes() is a native scan; one regular expression over the same text cost twice as much.)
    return (
      this.model !== undefined && this.responseId !== undefined &&
      !text.includes('usage') && !text.includes('error') && !text.includes('"response"') && !finishReasonSet(text)
    );
  }

  push(event: JsonRecord): void {
    const type = readString(event, 'type');
    if (type !== undefined && type.startsWith('response.')) {
      this.pushResponsesEvent(type, event);
      return;
    }
    this.model ??= readString(event, 'model');
    this.responseId ??= readString(event, 'id');
    if (choicesFinishReasons(event, this.reasons)) this.finished = true;
    const usage = readRecord(event, 'usage');
    if (usage !== undefined) {
      // Some compatible servers (vLLM continuous_usage_stats) send running usage on every chunk:
      // the latest one is the most complete.
      this.parts = openAIUsageParts(usage, this.provider);
      const choices = event['choices'];
      if (!Array.isArray(choices) || choices.length === 0) this.usageOnlyChunk = true;
    }
  }

  private pushResponsesEvent(type: string, event: JsonRecord): void {
    const response = readRecord(event, 'response');
    if (response === undefined) return;
    this.model = readString(response, 'model') ?? this.model;
    this.responseId ??= readString(response, 'id');
    if (!RESPONSES_TERMINAL.has(type)) return;
    this.terminal = true;
    responsesFinishReasons(response, this.reasons);
    const usage = readRecord(response, 'usage');
    if (usage !== undefined) this.parts = openAIUsageParts(usage, this.provider, 'response.usage');
  }

  done(): void {
    this.sawDone = true;
  }

  get complete(): boolean {
    return this.parts !== undefined && (this.terminal || this.usageOnlyChunk || this.finished || this.sawDone);
  }

  result(): ParsedUsage {
    return buildParsedUsage(this.parts ?? zeroParts(), {
      provider: this.provider,
      model: this.model,
      responseId: this.responseId,
      finishReasons: this.reasons,
      partial: !this.complete,
    });
  }
}
