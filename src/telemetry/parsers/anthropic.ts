/**
 * Anthropic Messages usage.
 *
 * Anthropic's `usage.input_tokens` counts only the prompt tokens after the last cache breakpoint:
 * cache reads (`cache_read_input_tokens`) and cache writes (`cache_creation_input_tokens`) are
 * reported beside it, not inside it. DESIGN.md's inputTokens is their sum, so cost is never
 * double counted and OpenAI and Anthropic calls compare like for like.
 * `cache_creation.ephemeral_1h_input_tokens` splits out 1-hour-TTL writes (billed 2x input
 * instead of 1.25x). Extended-thinking tokens are billed inside `output_tokens` and not reported
 * separately, so reasoningTokens stays 0.
 *
 * Streaming: `message_start` carries `message.usage` with the input and cache counts and a
 * token or two of output; `message_delta` carries `usage.output_tokens`, which is cumulative,
 * and in newer API versions may repeat the input/cache fields (cumulative too; null when not
 * sent), so the latest non-null value of each wins.
 *
 * Sources: https://docs.anthropic.com/en/api/messages (Usage);
 * https://docs.anthropic.com/en/docs/build-with-claude/streaming; MessageDeltaUsage in
 * anthropics/anthropic-sdk-python src/anthropic/types/beta/beta_message_delta_usage.py
 * ("The cumulative number of ... tokens").
 */
import type { ParsedUsage } from '../types.js';
import {
  PROVIDER_ANTHROPIC,
  UsageParseError,
  addReason,
  buildParsedUsage,
  errorMessageOf,
  isRecord,
  readCount,
  readRecord,
  readString,
  toJsonValue,
  type JsonRecord,
  type StreamState,
  type UsageParts,
} from './common.js';

/** The raw Anthropic counts, each possibly missing, before they are summed into DESIGN.md units. */
interface AnthropicCounts {
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheCreation?: number;
  cacheCreation1h?: number;
}

function readAnthropicCounts(usage: JsonRecord, provider: string, path: string): AnthropicCounts {
  const split = readRecord(usage, 'cache_creation');
  const counts: AnthropicCounts = {};
  const input = readCount(usage, 'input_tokens', provider, path);
  const output = readCount(usage, 'output_tokens', provider, path);
  const cacheRead = readCount(usage, 'cache_read_input_tokens', provider, path);
  const cacheCreation = readCount(usage, 'cache_creation_input_tokens', provider, path);
  const cacheCreation1h = readCount(split, 'ephemeral_1h_input_tokens', provider, `${path}.cache_creation`);
  if (input !== undefined) counts.input = input;
  if (output !== undefined) counts.output = output;
  if (cacheRead !== undefined) counts.cacheRead = cacheRead;
  if (cacheCreation !== undefined) counts.cacheCreation = cacheCreation;
  if (cacheCreation1h !== undefined) counts.cacheCreation1h = cacheCreation1h;
  return counts;
}

function toParts(counts: AnthropicCounts): UsageParts {
  const cacheRead = counts.cacheRead ?? 0;
  const cacheCreation = counts.cacheCreation ?? 0;
  const parts: UsageParts = {
    inputTokens: (counts.input ?? 0) + cacheRead + cacheCreation,
    outputTokens: counts.output ?? 0,
    cacheReadTokens: cacheRead,
    cacheCreationTokens: cacheCreation,
    reasoningTokens: 0,
  };
  if (counts.cacheCreation1h !== undefined) parts.cacheCreation1hTokens = counts.cacheCreation1h;
  return parts;
}

/** Maps one Anthropic `usage` object onto DESIGN.md's units. */
export function anthropicUsageParts(usage: JsonRecord, provider: string = PROVIDER_ANTHROPIC, path = 'usage'): UsageParts {
  return toParts(readAnthropicCounts(usage, provider, path));
}

/** Usage of one non-streamed Messages response (`type: "message"`). */
export function parseAnthropicUsage(body: unknown, provider: string = PROVIDER_ANTHROPIC): ParsedUsage {
  const json = toJsonValue(body, provider);
  if (!isRecord(json)) throw new UsageParseError(provider, 'expected a JSON object');
  // message_start wraps the message; accept it so a caller holding only that event gets its counts.
  const message = json['type'] === 'message_start' && isRecord(json['message']) ? (json['message'] as JsonRecord) : json;
  const usage = readRecord(message, 'usage');
  if (usage === undefined) {
    const error = errorMessageOf(message);
    if (error !== undefined) throw new UsageParseError(provider, `response is an error: ${error}`);
  }
  const reasons: string[] = [];
  addReason(reasons, message['stop_reason']);
  return buildParsedUsage(usage ? anthropicUsageParts(usage, provider) : toParts({}), {
    provider,
    model: readString(message, 'model'),
    responseId: readString(message, 'id'),
    finishReasons: reasons,
    partial: usage === undefined || message !== json,
  });
}

/** message_start + message_delta (+ message_stop) of one streamed message. */
export class AnthropicStreamState implements StreamState {
  private model: string | undefined;
  private responseId: string | undefined;
  private readonly reasons: string[] = [];
  private counts: AnthropicCounts = {};
  private sawUsage = false;
  private sawFinalDelta = false;

  constructor(private readonly provider: string) {}

  ignores(text: string): boolean {
    // Only message_start and message_delta count (see push); content blocks and pings do not.
    return !text.includes('"message_') && !text.includes('usage') && !text.includes('error');
  }

  push(event: JsonRecord): void {
    switch (event['type']) {
      case 'message_start': {
        const message = readRecord(event, 'message');
        this.model = readString(message, 'model') ?? this.model;
        this.responseId ??= readString(message, 'id');
        const usage = readRecord(message, 'usage');
        if (usage !== undefined) this.merge(readAnthropicCounts(usage, this.provider, 'message.usage'));
        return;
      }
      case 'message_delta': {
        addReason(this.reasons, readRecord(event, 'delta')?.['stop_reason']);
        const usage = readRecord(event, 'usage');
        if (usage !== undefined) {
          this.merge(readAnthropicCounts(usage, this.provider, 'usage'));
          if (typeof usage['output_tokens'] === 'number') this.sawFinalDelta = true;
        }
        return;
      }
      default:
        // content_block_*, ping, message_stop, error: nothing to count.
        return;
    }
  }

  private merge(next: AnthropicCounts): void {
    this.sawUsage = true;
    this.counts = { ...this.counts, ...next };
  }

  done(): void {
    // Anthropic streams end with message_stop, not [DONE]; nothing to record.
  }

  get complete(): boolean {
    return this.sawFinalDelta;
  }

  result(): ParsedUsage {
    return buildParsedUsage(toParts(this.sawUsage ? this.counts : {}), {
      provider: this.provider,
      model: this.model,
      responseId: this.responseId,
      finishReasons: this.reasons,
      partial: !this.complete,
    });
  }
}
