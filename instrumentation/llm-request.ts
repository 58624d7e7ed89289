import { detectProviderFromPath, type PathMatch } from '../src/telemetry/parsers.js';
import * as A from '../src/semconv.js';
import { inputMessages, messagesJson, outputMessages } from '../src/telemetry/content.js';

/** A request recognised as a model call, by its path (never its host). */
export interface LlmRequest {
  match: PathMatch;
  /** `gen_ai.request.model`, from the body (or Gemini's path). */
  model: string | undefined;
  /** The request asks for a streamed answer. */
  stream: boolean;
  serverAddress: string;
  serverPort: number;
  /** `gen_ai.operation.name`: chat, text_completion, embeddings or generate_content. */
  operation: string;
  /** The prompt as `gen_ai.input.messages` JSON, capped; only when content capture is on. */
  input?: string;
}

/** The GenAI operation a model-call path stands for (the semantic conventions' names). */
export function operationOfPath(pathname: string): string {
  if (/\/embeddings$|:(batch)?embedContents?$|\/api\/embed(dings)?$/.test(pathname)) return A.OP_EMBEDDINGS;
  if (/:(generateContent|streamGenerateContent)$/.test(pathname)) return A.OP_GENERATE_CONTENT;
  if (/(^|\/)completions$/.test(pathname) && !/chat\/completions$/.test(pathname)) return A.OP_TEXT_COMPLETION;
  if (/\/api\/generate$/.test(pathname)) return A.OP_TEXT_COMPLETION;
  return A.OP_CHAT;
}

/** Request bodies larger than this are not parsed for the model name. */
const MAX_PARSED_BODY = 8 * 1024 * 1024;

const utf8 = new TextDecoder('utf-8');

function bodyJson(body: unknown): Record<string, unknown> | undefined {
  let text: string | undefined;
  if (typeof body === 'string') text = body;
  else if (body instanceof Uint8Array) text = body.byteLength <= MAX_PARSED_BODY ? utf8.decode(body) : undefined;
  else if (body instanceof ArrayBuffer) text = body.byteLength <= MAX_PARSED_BODY ? utf8.decode(new Uint8Array(body)) : undefined;
  // Streams, FormData and Blobs are left alone: reading them would consume the app's body.
  if (text === undefined || text.length > MAX_PARSED_BODY) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The completion of a non-streamed response body as `gen_ai.output.messages` JSON, capped; for content capture. */
export function completionOf(json: unknown, maxBytes: number): string | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const messages = outputMessages(json as Record<string, unknown>);
  return messages === undefined ? undefined : messagesJson(messages, maxBytes);
}

/**
 * The model call a fetch is about to make, or undefined when it is not one. Provider and body
 * format come from the path, so a gateway, proxy or local OpenAI-compatible server is recognised
 * the same as the provider's own host.
 */
export function recognizeRequest(url: URL, method: string, body: unknown, content: { capture: boolean; maxBytes: number }): LlmRequest | undefined {
  if (method.toUpperCase() !== 'POST') return undefined;
  const match = detectProviderFromPath(url.pathname + url.search);
  if (match === undefined) return undefined;
  const json = bodyJson(body);
  const fromPath = /\/models\/([^/:]+):/.exec(url.pathname)?.[1];
  const model = typeof json?.['model'] === 'string' ? (json['model'] as string) : fromPath !== undefined ? decodeURIComponent(fromPath) : undefined;
  // Ollama's native API streams unless told not to.
  const stream = json?.['stream'] === true || match.stream || (match.provider === 'ollama' && json?.['stream'] !== false);
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'http:' ? 80 : 443;
  const request: LlmRequest = {
    match,
    model,
    stream,
    serverAddress: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    serverPort: port,
    operation: operationOfPath(url.pathname),
  };
  if (content.capture && json !== undefined) {
    const messages = inputMessages(json);
    if (messages !== undefined) request.input = messagesJson(messages, content.maxBytes);
  }
  return request;
}
