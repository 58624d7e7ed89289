/**
 * Usage of streamed responses: an event-level accumulator (decoded events or JSON strings in,
 * usage out) and a text-level parser that frames raw network chunks (SSE, NDJSON or a JSON
 * array) before handing events to it.
 *
 * Nothing here throws: a malformed event is recorded in `errors` and the stream goes on, since
 * the usage that matters usually arrives last. A stream that ends before its provider's final
 * usage gives `partial: true` with whatever counts were seen.
 */
import type { ParsedUsage } from '../types.js';
import { AnthropicStreamState } from './anthropic.js';
import {
  PROVIDER_ANTHROPIC,
  PROVIDER_OLLAMA,
  PROVIDER_OPENAI,
  PROVIDER_UNKNOWN,
  UsageParseError,
  buildParsedUsage,
  errorMessageOf,
  formatForProvider,
  isRecord,
  zeroParts,
  type StreamState,
  type WireFormat,
} from './common.js';
import { detectWireFormat } from './detect.js';
import { JsonArrayStreamSplitter, NdjsonParser, SseParser } from './framing.js';
import { GeminiStreamState } from './gemini.js';
import { OllamaStreamState } from './ollama.js';
import { OpenAIStreamState } from './openai.js';
import type { StreamContentAccumulator } from '../stream-content.js';

export interface StreamUsageOptions {
  /** `gen_ai.provider.name` to report; its usual body format is the fallback when detection fails. */
  provider?: string;
  /** Body format, when the caller knows it; otherwise detected from the first recognisable event. */
  format?: WireFormat;
  /**
   * Also rebuilds the answer (content capture): every event is then decoded, content deltas
   * included, and handed to it once the format is known.
   */
  content?: StreamContentAccumulator;
}

/** Errors kept per stream; later ones are only counted, so a garbage stream stays small. */
const MAX_KEPT_ERRORS = 16;

const utf8 = new TextDecoder('utf-8');

function createState(format: WireFormat, provider: string | undefined): StreamState {
  switch (format) {
    case 'openai':
      return new OpenAIStreamState(provider ?? PROVIDER_OPENAI);
    case 'anthropic':
      return new AnthropicStreamState(provider ?? PROVIDER_ANTHROPIC);
    case 'gemini':
      return new GeminiStreamState(provider);
    case 'ollama':
      return new OllamaStreamState(provider ?? PROVIDER_OLLAMA);
  }
}

/**
 * Accumulates the usage of one streamed response from its events, in order: OpenAI chat chunks
 * or Responses events, Anthropic message events, Gemini chunks, Ollama NDJSON objects. Accepts
 * decoded objects, JSON text of one event, or the `[DONE]` sentinel. The provider is detected
 * from the first recognisable event unless given.
 */
export class StreamUsageAccumulator {
  private state: StreamState | undefined;
  private format: WireFormat | undefined;
  private sawDoneEarly = false;
  private readonly kept: UsageParseError[] = [];
  private errorTotal = 0;

  constructor(private readonly options: StreamUsageOptions = {}) {
    if (options.format !== undefined) {
      this.state = createState(options.format, options.provider);
      this.format = options.format;
    }
  }

  /** Feeds one event. Never throws. */
  push(eventOrChunk: unknown): void {
    if (Array.isArray(eventOrChunk)) {
      // A Gemini JSON-array stream delivered whole.
      for (const item of eventOrChunk) this.push(item);
      return;
    }
    try {
      this.pushOne(eventOrChunk);
    } catch (err) {
      this.recordError(err);
    }
  }

  private get providerName(): string {
    return this.options.provider ?? PROVIDER_UNKNOWN;
  }

  private pushOne(input: unknown): void {
    let event = input;
    if (typeof input === 'string' || input instanceof Uint8Array) {
      const text = (typeof input === 'string' ? input : utf8.decode(input)).trim();
      if (text.length === 0) return;
      if (text === '[DONE]') {
        if (this.state) this.state.done();
        else this.sawDoneEarly = true;
        return;
      }
      // A whole object the state can tell by its text it would not count (content deltas): skip
      // the parse. Anything else, malformed text included, is parsed as before.
      if (this.state?.ignores !== undefined && this.options.content === undefined && text.charCodeAt(0) === 123 && text.charCodeAt(text.length - 1) === 125 && this.state.ignores(text)) return;
      try {
        event = JSON.parse(text) as unknown;
      } catch (err) {
        throw new UsageParseError(this.providerName, `stream event is not valid JSON (${(err as Error).message})`, { cause: err });
      }
      if (Array.isArray(event)) {
        this.push(event);
        return;
      }
    }
    if (!isRecord(event)) {
      throw new UsageParseError(this.providerName, 'stream event is not a JSON object');
    }
    if (this.state === undefined) {
      // The shape decides before the name does: provider "ollama" may well be streaming
      // OpenAI-style chunks from Ollama's /v1 endpoint.
      const format = detectWireFormat(event) ?? formatForProvider(this.options.provider);
      if (format === undefined) return;
      this.state = createState(format, this.options.provider);
      this.format = format;
      if (this.sawDoneEarly) this.state.done();
    }
    const error = errorMessageOf(event);
    if (error !== undefined && event['usage'] === undefined && event['usageMetadata'] === undefined) {
      throw new UsageParseError(this.state.result().provider, `stream reported an error: ${error}`);
    }
    this.state.push(event);
    if (this.options.content !== undefined && this.format !== undefined) this.options.content.push(event, this.format);
  }

  private recordError(err: unknown): void {
    this.errorTotal++;
    if (this.kept.length >= MAX_KEPT_ERRORS) return;
    this.kept.push(
      err instanceof UsageParseError
        ? err
        : new UsageParseError(this.providerName, `unexpected failure reading stream event: ${String(err)}`, { cause: err }),
    );
  }

  /** True once some event was attributed to a provider. */
  get recognized(): boolean {
    return this.state !== undefined;
  }

  /** True once the provider's final usage has arrived. */
  get complete(): boolean {
    return this.state?.complete ?? false;
  }

  /** The first malformed or error events (at most 16 kept). */
  get errors(): readonly UsageParseError[] {
    return this.kept;
  }

  /** How many events were malformed or errors, including those not kept. */
  get errorCount(): number {
    return this.errorTotal;
  }

  /** Usage so far; `partial` until the provider's final usage has been seen. */
  result(): ParsedUsage {
    if (this.state !== undefined) return this.state.result();
    return buildParsedUsage(zeroParts(), { provider: this.providerName, partial: true });
  }
}

export type StreamFraming = 'sse' | 'ndjson' | 'json';

export interface StreamTextOptions extends StreamUsageOptions {
  /** How the body is framed; sniffed from its first non-blank character when absent. */
  framing?: StreamFraming;
  /** Longest line or JSON element kept while waiting for its end. */
  maxLineLength?: number;
}

/** Whitespace kept while sniffing the framing; beyond it, leading whitespace is discarded. */
const MAX_SNIFF_BUFFER = 64 * 1024;

/**
 * Usage of a streamed body given as raw chunks, split anywhere: SSE text (`data:` / `event:`
 * lines, `data: [DONE]`), Ollama NDJSON, or Gemini's JSON array.
 */
export class StreamTextUsageParser {
  readonly accumulator: StreamUsageAccumulator;
  private framing: StreamFraming | undefined;
  private sse: SseParser | undefined;
  private ndjson: NdjsonParser | undefined;
  private array: JsonArrayStreamSplitter | undefined;
  private readonly pending: (string | Uint8Array)[] = [];
  private pendingSize = 0;
  private readonly sniffDecoder = new TextDecoder('utf-8');
  private ended = false;

  constructor(private readonly options: StreamTextOptions = {}) {
    this.accumulator = new StreamUsageAccumulator(options);
    if (options.framing !== undefined) this.setFraming(options.framing);
  }

  /** Feeds one network chunk. Never throws. */
  push(chunk: string | Uint8Array): void {
    if (this.ended) return;
    if (this.framing === undefined) {
      this.sniff(chunk);
      return;
    }
    this.route(chunk, false);
  }

  /** Ends the stream and returns its usage. Calling it again returns the same answer. */
  end(): ParsedUsage {
    if (!this.ended) {
      this.ended = true;
      if (this.framing === undefined && this.pending.length > 0) this.setFraming('sse');
      if (this.framing !== undefined) this.route('', true);
    }
    return this.accumulator.result();
  }

  result(): ParsedUsage {
    return this.accumulator.result();
  }

  get errors(): readonly UsageParseError[] {
    return this.accumulator.errors;
  }

  private sniff(chunk: string | Uint8Array): void {
    const text = typeof chunk === 'string' ? chunk : this.sniffDecoder.decode(chunk, { stream: true });
    const first = text.trimStart()[0];
    this.pending.push(chunk);
    this.pendingSize += typeof chunk === 'string' ? chunk.length : chunk.byteLength;
    if (first === undefined) {
      if (this.pendingSize > MAX_SNIFF_BUFFER) {
        this.pending.length = 0;
        this.pendingSize = 0;
      }
      return;
    }
    this.setFraming(first === '{' ? 'ndjson' : first === '[' ? 'json' : 'sse');
    const held = this.pending.splice(0);
    this.pendingSize = 0;
    for (const piece of held) this.route(piece, false);
  }

  private setFraming(framing: StreamFraming): void {
    this.framing = framing;
    const max = this.options.maxLineLength;
    if (framing === 'sse') this.sse = new SseParser(max);
    else if (framing === 'ndjson') this.ndjson = new NdjsonParser(max);
    else this.array = new JsonArrayStreamSplitter(max);
  }

  private route(chunk: string | Uint8Array, final: boolean): void {
    if (this.sse !== undefined) {
      const events = final ? [...this.sse.push(chunk), ...this.sse.end()] : this.sse.push(chunk);
      // Every provider repeats the event name inside the JSON, so only `data` is needed.
      for (const event of events) this.accumulator.push(event.data);
    } else if (this.ndjson !== undefined) {
      const lines = final ? [...this.ndjson.push(chunk), ...this.ndjson.end()] : this.ndjson.push(chunk);
      for (const line of lines) this.accumulator.push(line);
    } else if (this.array !== undefined) {
      const elements = final ? [...this.array.push(chunk), ...this.array.end()] : this.array.push(chunk);
      for (const element of elements) this.accumulator.push(element);
    }
  }
}

/** Usage of a whole streamed body, given as text, bytes, or the chunks it arrived in. */
export function parseStreamText(
  input: string | Uint8Array | Iterable<string | Uint8Array>,
  options: StreamTextOptions = {},
): ParsedUsage {
  const parser = new StreamTextUsageParser(options);
  if (typeof input === 'string' || input instanceof Uint8Array) parser.push(input);
  else for (const chunk of input) parser.push(chunk);
  return parser.end();
}
