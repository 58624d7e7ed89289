/**
 * Ollama native API (`/api/chat`, `/api/generate`) usage.
 *
 * The counts live on the final object only (`done: true`): `prompt_eval_count` is the prompt,
 * `eval_count` the response; streamed bodies are NDJSON, one object per line. Ollama reports no
 * cache or reasoning split (thinking output is inside eval_count), and omits prompt_eval_count
 * when the whole prompt came from its KV cache, so a missing count reads as 0.
 * Source: ollama/ollama docs/api.md ("Generate a completion", "Generate a chat completion").
 * Ollama's OpenAI-compatible `/v1/*` endpoints are parsed by the OpenAI parser instead.
 */
import type { ParsedUsage } from '../types.js';
import {
  PROVIDER_OLLAMA,
  UsageParseError,
  addReason,
  buildParsedUsage,
  errorMessageOf,
  isRecord,
  readCount,
  readString,
  toJsonValue,
  zeroParts,
  type JsonRecord,
  type StreamState,
  type UsageParts,
} from './common.js';

function ollamaParts(body: JsonRecord, provider: string): UsageParts {
  return {
    ...zeroParts(),
    inputTokens: readCount(body, 'prompt_eval_count', provider, 'response') ?? 0,
    outputTokens: readCount(body, 'eval_count', provider, 'response') ?? 0,
  };
}

/** NDJSON objects of one Ollama stream; the `done: true` object holds the counts. */
export class OllamaStreamState implements StreamState {
  private model: string | undefined;
  private readonly reasons: string[] = [];
  private parts: UsageParts | undefined;

  constructor(private readonly provider: string) {}

  push(event: JsonRecord): void {
    this.model ??= readString(event, 'model');
    if (event['done'] === true) {
      addReason(this.reasons, event['done_reason']);
      this.parts = ollamaParts(event, this.provider);
    }
  }

  done(): void {
    // NDJSON has no end sentinel beyond `done: true`.
  }

  get complete(): boolean {
    return this.parts !== undefined;
  }

  result(): ParsedUsage {
    return buildParsedUsage(this.parts ?? zeroParts(), {
      provider: this.provider,
      model: this.model,
      finishReasons: this.reasons,
      partial: !this.complete,
    });
  }
}

/** Usage of one non-streamed Ollama response (`stream: false`), or of a final stream object. */
export function parseOllamaUsage(body: unknown, provider: string = PROVIDER_OLLAMA): ParsedUsage {
  const json = toJsonValue(body, provider);
  if (!isRecord(json)) throw new UsageParseError(provider, 'expected a JSON object');
  const error = errorMessageOf(json);
  if (error !== undefined && json['done'] === undefined) throw new UsageParseError(provider, `response is an error: ${error}`);
  const state = new OllamaStreamState(provider);
  state.push(json);
  return state.result();
}
