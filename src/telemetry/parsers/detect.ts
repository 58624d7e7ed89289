/**
 * Recognising a provider from what a captured HTTP call looks like: its response body shape or
 * its request path. Never the host: gateways, proxies and self-hosted OpenAI-compatible servers
 * put any API behind any host name.
 */
import {
  PROVIDER_ANTHROPIC,
  PROVIDER_GEMINI,
  PROVIDER_OLLAMA,
  PROVIDER_OPENAI,
  PROVIDER_VERTEX,
  isRecord,
  readRecord,
  type JsonRecord,
  type ProviderName,
  type WireFormat,
} from './common.js';
import { looksLikeVertex } from './gemini.js';

const ANTHROPIC_EVENT_TYPES = new Set([
  'message',
  'message_start',
  'message_delta',
  'message_stop',
  'content_block_start',
  'content_block_delta',
  'content_block_stop',
  'ping',
]);

const OPENAI_OBJECTS = new Set(['chat.completion', 'chat.completion.chunk', 'text_completion', 'response']);

function firstRecord(body: unknown): JsonRecord | undefined {
  if (isRecord(body)) return body;
  if (Array.isArray(body)) {
    const first = body.find(isRecord);
    return first;
  }
  return undefined;
}

/** Which body shape this is, for a parsed response body or a single stream event. */
export function detectWireFormat(body: unknown): WireFormat | undefined {
  const obj = firstRecord(body);
  if (obj === undefined) return undefined;

  if ('usageMetadata' in obj || 'candidates' in obj || 'modelVersion' in obj || 'promptFeedback' in obj) return 'gemini';

  const type = obj['type'];
  if (typeof type === 'string') {
    if (ANTHROPIC_EVENT_TYPES.has(type)) return 'anthropic';
    if (type.startsWith('response.')) return 'openai';
    // Anthropic errors nest an `error` object; an OpenAI Responses stream error is flat.
    if (type === 'error') return isRecord(obj['error']) ? 'anthropic' : 'openai';
  }

  const object = obj['object'];
  if (typeof object === 'string' && OPENAI_OBJECTS.has(object)) return 'openai';

  const usage = readRecord(obj, 'usage');
  if (usage !== undefined) {
    if ('cache_creation_input_tokens' in usage || 'cache_read_input_tokens' in usage) return 'anthropic';
    if ('prompt_tokens' in usage || 'completion_tokens' in usage || 'input_tokens_details' in usage) return 'openai';
  }
  if (Array.isArray(obj['choices'])) return 'openai';

  if (typeof obj['done'] === 'boolean' && ('created_at' in obj || 'eval_count' in obj || 'prompt_eval_count' in obj)) {
    return 'ollama';
  }
  return undefined;
}

/**
 * The `gen_ai.provider.name` a response body most likely came from. OpenAI-compatible servers
 * are indistinguishable from OpenAI by shape and come back as "openai": a caller that knows
 * better (from configuration, or the request path) passes its own name to the parsers.
 */
export function detectProvider(body: unknown): ProviderName | undefined {
  const format = detectWireFormat(body);
  switch (format) {
    case undefined:
      return undefined;
    case 'openai':
      return PROVIDER_OPENAI;
    case 'anthropic':
      return PROVIDER_ANTHROPIC;
    case 'ollama':
      return PROVIDER_OLLAMA;
    case 'gemini': {
      const obj = firstRecord(body);
      return obj !== undefined && looksLikeVertex(obj) ? PROVIDER_VERTEX : PROVIDER_GEMINI;
    }
  }
}

export interface PathMatch {
  provider: ProviderName;
  format: WireFormat;
  /** True when the path itself asks for a stream (Gemini's streamGenerateContent, Vertex streamRawPredict). */
  stream: boolean;
  /** How the body is framed if the response is streamed. */
  framing: 'sse' | 'ndjson' | 'json';
}

/**
 * Provider and body format from a request path (with or without query string), for the
 * well-known endpoints. OpenAI-style paths answer "openai" whoever serves them.
 */
export function detectProviderFromPath(path: string): PathMatch | undefined {
  const queryAt = path.indexOf('?');
  const bare = (queryAt >= 0 ? path.slice(0, queryAt) : path).replace(/\/+$/, '');
  const query = queryAt >= 0 ? path.slice(queryAt + 1) : '';

  // Vertex AI serves Claude under publishers/anthropic with Anthropic's body format.
  const vertexClaude = /\/publishers\/anthropic\/models\/[^/:]+:(rawPredict|streamRawPredict)$/.exec(bare);
  if (vertexClaude) {
    return { provider: PROVIDER_VERTEX, format: 'anthropic', stream: vertexClaude[1] === 'streamRawPredict', framing: 'sse' };
  }
  const gemini = /:(generateContent|streamGenerateContent)$/.exec(bare);
  if (gemini) {
    const provider = /\/projects\/[^/]+\/locations\//.test(bare) ? PROVIDER_VERTEX : PROVIDER_GEMINI;
    // Without alt=sse, streamGenerateContent answers with one JSON array, grown element by element.
    const framing = /(^|&)alt=sse(&|$)/.test(query) ? 'sse' : 'json';
    return { provider, format: 'gemini', stream: gemini[1] === 'streamGenerateContent', framing };
  }
  // For the rest, streaming is a request-body flag, not part of the path.
  if (/\/api\/(chat|generate)$/.test(bare)) {
    return { provider: PROVIDER_OLLAMA, format: 'ollama', stream: false, framing: 'ndjson' };
  }
  // OpenAI's Assistants API also has .../threads/{id}/messages, with no usage in it.
  if (/\/messages$/.test(bare) && !/\/threads\//.test(bare)) {
    return { provider: PROVIDER_ANTHROPIC, format: 'anthropic', stream: false, framing: 'sse' };
  }
  if (/\/(chat\/completions|completions|responses|embeddings)$/.test(bare)) {
    return { provider: PROVIDER_OPENAI, format: 'openai', stream: false, framing: 'sse' };
  }
  return undefined;
}
