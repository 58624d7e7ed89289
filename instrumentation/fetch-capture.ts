import { context, propagation, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import type { AgentRun, ModelCallHandle, UsageInput } from '../src/agents/agent-run.js';
import { warnOnce } from '../src/log.js';
import * as A from '../src/semconv.js';
import { safeParseUsage, StreamTextUsageParser, type StreamFraming } from '../src/telemetry/parsers.js';
import type { ParsedUsage } from '../src/telemetry/types.js';
import { messagesJson } from '../src/telemetry/content.js';
import { StreamContentAccumulator } from '../src/telemetry/stream-content.js';
import { tapBody, type TapOutcome } from './body-tap.js';
import { completionOf, recognizeRequest, type LlmRequest } from './llm-request.js';

export interface FetchCaptureOptions {
  /** The agent run that owns a call made in `ctx` (the hook's root run when none is active). */
  runFor(ctx: Context): AgentRun | undefined;
  captureContent: boolean;
  maxContentBytes: number;
}

type Fetch = typeof globalThis.fetch;

/** Where a CommonJS preload that loads us late leaves the fetch it found (see register.cts). */
export const ORIGINAL_FETCH_KEY = Symbol.for('agentloupe.fetch.original');
/** The capturing fetch, for fetch references taken before it was installed. */
export const CAPTURING_FETCH_KEY = Symbol.for('agentloupe.fetch.capturing');

/** True when some agentloupe copy in this process already captures model calls on fetch. */
export function isCapturing(): boolean {
  return typeof (globalThis as unknown as Record<symbol, unknown>)[CAPTURING_FETCH_KEY] === 'function';
}

/** Non-streamed bodies kept for their usage; bigger ones are passed on unread. */
const MAX_BUFFERED_BODY = 16 * 1024 * 1024;

/**
 * The span a provider SDK started for this very call (@anthropic-ai/sdk 1.x starts
 * `anthropic.messages.create` with gen_ai.operation.name=chat when a tracer provider is
 * registered, and makes the request with it active). Such a span is used instead of writing a
 * second one: one call, one chat span, one telemetry row.
 */
function sdkCallSpan(ctx: Context): Span | undefined {
  const span = trace.getSpan(ctx);
  if (span === undefined || !span.isRecording()) return undefined;
  const attributes = (span as unknown as { attributes?: Attributes }).attributes;
  const op = attributes?.[A.GEN_AI_OPERATION_NAME];
  return typeof op === 'string' && A.MODEL_CALL_OPERATIONS.has(op) ? span : undefined;
}

function urlOf(input: Parameters<Fetch>[0]): URL | undefined {
  try {
    if (typeof input === 'string') return new URL(input);
    if (input instanceof URL) return input;
    return new URL((input as Request).url);
  } catch {
    return undefined;
  }
}

function methodOf(input: Parameters<Fetch>[0], init: RequestInit | undefined): string {
  return init?.method ?? (typeof input === 'object' && !(input instanceof URL) ? (input as Request).method : 'GET');
}

/** A header record given as a plain object (what most SDKs pass), not Headers or an array of pairs. */
function isPlainRecord(h: unknown): h is Record<string, string> {
  if (h === null || typeof h !== 'object' || Array.isArray(h)) return false;
  const proto = Object.getPrototypeOf(h) as unknown;
  return proto === Object.prototype || proto === null;
}

/** The init to send: the caller's, plus trace context headers the caller did not set itself. */
function withTraceHeaders(input: Parameters<Fetch>[0], init: RequestInit | undefined, ctx: Context): RequestInit | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  const keys = Object.keys(carrier);
  if (keys.length === 0) return init;
  const base = init?.headers ?? (typeof input === 'object' && !(input instanceof URL) ? (input as Request).headers : undefined);
  if (base === undefined || isPlainRecord(base)) {
    // A plain record is copied as one: building a Headers object cost the call more than
    // everything else the hook does before the request goes out.
    const given = base === undefined ? [] : Object.keys(base).map((k) => k.toLowerCase());
    const add = keys.filter((k) => !given.includes(k));
    if (add.length === 0) return init;
    const headers: Record<string, string> = { ...base };
    for (const k of add) headers[k] = carrier[k]!;
    return { ...init, headers };
  }
  const headers = new Headers(base);
  let added = false;
  for (const key of keys) {
    // An SDK that injected its own call span's context knows better than we do.
    if (headers.has(key)) continue;
    headers.set(key, carrier[key]!);
    added = true;
  }
  return added ? { ...init, headers } : init;
}

function framingOf(request: LlmRequest, contentType: string): StreamFraming | undefined {
  if (contentType.includes('text/event-stream')) return 'sse';
  if (contentType.includes('ndjson') || contentType.includes('jsonl')) return 'ndjson';
  if (request.match.stream && request.match.framing === 'json') return 'json';
  if (request.stream && request.match.provider === 'ollama') return 'ndjson';
  return undefined;
}

/** Keeps what one response needs for its usage; never throws. */
class ResponseObserver {
  private readonly started = performance.now();
  private firstChunkMs: number | undefined;
  private readonly stream: StreamTextUsageParser | undefined;
  private readonly answer: StreamContentAccumulator | undefined;
  private chunks: Uint8Array[] = [];
  private size = 0;
  private overflow = false;

  constructor(
    private readonly request: LlmRequest,
    framing: StreamFraming | undefined,
    private readonly done: (usage: ParsedUsage | undefined, outcome: TapOutcome, extra: Attributes, durationMs: number) => void,
    private readonly content: { capture: boolean; maxBytes: number },
  ) {
    if (framing !== undefined) {
      // With content capture on, the answer is rebuilt from the deltas as well.
      if (content.capture) this.answer = new StreamContentAccumulator(content.maxBytes);
      this.stream = new StreamTextUsageParser({ provider: request.match.provider, format: request.match.format, framing, content: this.answer });
    }
  }

  chunk(chunk: Uint8Array): void {
    if (this.firstChunkMs === undefined) this.firstChunkMs = performance.now() - this.started;
    if (this.stream !== undefined) {
      this.stream.push(chunk);
      return;
    }
    if (this.overflow) return;
    this.size += chunk.byteLength;
    if (this.size > MAX_BUFFERED_BODY) {
      this.overflow = true;
      this.chunks = [];
      return;
    }
    this.chunks.push(chunk);
  }

  end(outcome: TapOutcome): void {
    const durationMs = performance.now() - this.started;
    const extra: Attributes = {};
    if (this.stream !== undefined) {
      const usage = this.stream.end();
      if (this.firstChunkMs !== undefined) extra[A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = this.firstChunkMs / 1000;
      const output = this.answer?.messages();
      if (output !== undefined) extra[A.GEN_AI_OUTPUT_MESSAGES] = messagesJson(output, this.content.maxBytes);
      this.done(this.stream.accumulator.recognized ? usage : undefined, outcome, extra, durationMs);
      return;
    }
    if (this.overflow) {
      warnOnce('capture:overflow', `a model response larger than ${MAX_BUFFERED_BODY} bytes was passed on without reading its usage`);
      this.done(undefined, outcome, extra, durationMs);
      return;
    }
    const body = Buffer.concat(this.chunks);
    this.chunks = [];
    const parsed = safeParseUsage(body, { provider: this.request.match.provider, format: this.request.match.format });
    if (parsed.ok && this.content.capture) {
      try {
        const output = completionOf(JSON.parse(body.toString('utf8')), this.content.maxBytes);
        if (output !== undefined) extra[A.GEN_AI_OUTPUT_MESSAGES] = output;
      } catch {
        // usage was readable, content is a bonus
      }
    }
    this.done(parsed.ok ? parsed.usage : undefined, outcome, extra, durationMs);
  }
}

/**
 * Wraps `globalThis.fetch` so that every model call made through it (by the official SDKs or
 * by hand) becomes a chat span under the current agent run, and every outgoing request carries
 * `traceparent` and `baggage`. Works the same under ESM, CommonJS and bundlers because nothing
 * is module-patched. Returns a function that puts the previous fetch back.
 */
export function installFetchCapture(options: FetchCaptureOptions): () => void {
  const holder = globalThis as unknown as Record<symbol, unknown>;
  const current = globalThis.fetch;
  const original = (holder[ORIGINAL_FETCH_KEY] as Fetch | undefined) ?? current;
  if (typeof original !== 'function') {
    warnOnce('capture:no-fetch', 'no global fetch in this runtime; model calls are not captured');
    return () => undefined;
  }
  const content = { capture: options.captureContent, maxBytes: options.maxContentBytes };

  const record = (run: AgentRun, call: ModelCallHandle | undefined, request: LlmRequest, foreign: Span | undefined, usage: ParsedUsage, outcome: TapOutcome, extra: Attributes, durationMs: number): void => {
    const partial = usage.partial || outcome !== 'complete';
    const attributes: Attributes = {
      ...extra,
      [A.SERVER_ADDRESS]: request.serverAddress,
      [A.SERVER_PORT]: request.serverPort,
      [A.GEN_AI_REQUEST_STREAM]: request.stream,
    };
    if (usage.responseId) attributes[A.GEN_AI_RESPONSE_ID] = usage.responseId;
    if (usage.finishReasons && usage.finishReasons.length > 0) attributes[A.GEN_AI_RESPONSE_FINISH_REASONS] = usage.finishReasons;
    if (request.input !== undefined) attributes[A.GEN_AI_INPUT_MESSAGES] = request.input;
    const model = request.model ?? usage.model ?? 'unknown';
    const input: UsageInput = {
      provider: usage.provider !== 'unknown' ? usage.provider : request.match.provider,
      model,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      cacheReadTokens: usage.cacheReadTokens,
      cacheCreationTokens: usage.cacheCreationTokens,
      reasoningTokens: usage.reasoningTokens,
      durationMs,
      partial,
      operation: request.operation,
      attributes,
    };
    if (usage.model !== undefined) input.responseModel = usage.model;
    // The SDK ends its own span after the body's end, which is when we get here.
    if (foreign !== undefined) run.recordUsageOn(foreign, input);
    else if (call !== undefined) call.end(input);
    else run.recordUsage(input);
  };

  const capturing = async function fetch(input: Parameters<Fetch>[0], init?: RequestInit): Promise<Response> {
    let ctx: Context;
    let request: LlmRequest | undefined;
    let sendInit = init;
    let run: AgentRun | undefined;
    let foreign: Span | undefined;
    let call: ModelCallHandle | undefined;
    try {
      ctx = context.active();
      const url = urlOf(input);
      if (url !== undefined) request = recognizeRequest(url, methodOf(input, init), init?.body, content);
      if (request !== undefined) {
        run = options.runFor(ctx);
        foreign = sdkCallSpan(ctx);
        if (foreign !== undefined && run !== undefined) {
          foreign.setAttributes({ [A.AGENTLOUPE_OWNER_AGENT_ID]: run.id, [A.GEN_AI_AGENT_NAME]: run.name });
        } else if (run !== undefined && typeof run.beginModelCall === 'function') {
          // The call's span opens before the request, so the request's traceparent is the call's.
          call = run.beginModelCall({ provider: request.match.provider, model: request.model ?? 'unknown', operation: request.operation });
        }
      }
      sendInit = withTraceHeaders(input, init, call?.context ?? ctx);
    } catch (err) {
      warnOnce('capture:request', `could not inspect an outgoing request: ${(err as Error).message}`);
      call?.abandon();
      return original(input, init);
    }
    if (request === undefined) return original(input, sendInit);

    let response: Response;
    try {
      response = await original(input, sendInit);
    } catch (err) {
      call?.abandon();
      throw err;
    }
    try {
      if (run === undefined || response.body === null || response.status < 200 || response.status >= 300) {
        call?.abandon();
        return response;
      }
      const req = request;
      const owner = run;
      const observer = new ResponseObserver(
        req,
        framingOf(req, response.headers.get('content-type') ?? ''),
        (usage, outcome, extra, durationMs) => {
          if (usage !== undefined) record(owner, call, req, foreign, usage, outcome, extra, durationMs);
          else call?.abandon();
        },
        content,
      );
      const wrapped = new Response(tapBody(response.body, observer), {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
      // What `new Response` cannot take in its init, the app may still read.
      for (const key of ['url', 'redirected', 'type'] as const) {
        Object.defineProperty(wrapped, key, { value: response[key], enumerable: true });
      }
      return wrapped;
    } catch (err) {
      warnOnce('capture:response', `could not observe a model response: ${(err as Error).message}`);
      call?.abandon();
      return response;
    }
  };

  globalThis.fetch = capturing as Fetch;
  holder[CAPTURING_FETCH_KEY] = capturing;
  return () => {
    if (globalThis.fetch === (capturing as Fetch)) globalThis.fetch = current;
    delete holder[CAPTURING_FETCH_KEY];
  };
}
