import { describe, it, expect } from 'vitest';
import {
  JsonArrayStreamSplitter,
  NdjsonParser,
  SseParser,
  StreamTextUsageParser,
  StreamUsageAccumulator,
  UsageParseError,
  detectProvider,
  detectProviderFromPath,
  parseAnthropicUsage,
  parseGeminiUsage,
  parseOllamaUsage,
  parseOpenAIUsage,
  parseStreamText,
  parseUsage,
  safeParseUsage,
} from '../src/telemetry/parsers.js';
import type { ParsedUsage } from '../src/telemetry/types.js';
import { outputMessages } from '../src/telemetry/content.js';
import { StreamContentAccumulator } from '../src/telemetry/stream-content.js';

/** Splits text into byte chunks of `size`, so boundaries fall mid-line and mid-character. */
function byteChunks(text: string, size: number): Uint8Array[] {
  const bytes = new TextEncoder().encode(text);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return chunks;
}

function counts(u: ParsedUsage) {
  return {
    inputTokens: u.inputTokens,
    outputTokens: u.outputTokens,
    cacheReadTokens: u.cacheReadTokens,
    cacheCreationTokens: u.cacheCreationTokens,
    reasoningTokens: u.reasoningTokens,
    totalTokens: u.totalTokens,
  };
}

// ---------------------------------------------------------------------------------------------
// Real-shaped bodies. Field names and placement follow each provider's API reference; the
// numbers are chosen so every normalisation rule changes the answer if it is wrong.
// ---------------------------------------------------------------------------------------------

/** Chat Completions from a reasoning model with a prompt-cache hit (OpenAI API reference shape). */
const OPENAI_CHAT = {
  id: 'chatcmpl-C3ZsdjYWtyYQ8dZ1k8qVkYQnJ2Hf1',
  object: 'chat.completion',
  created: 1754572800,
  model: 'gpt-5-2025-08-07',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'Paris.', refusal: null, annotations: [] },
      logprobs: null,
      finish_reason: 'stop',
    },
  ],
  usage: {
    prompt_tokens: 1486,
    completion_tokens: 651,
    total_tokens: 2137,
    prompt_tokens_details: { cached_tokens: 1408, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 512, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  },
  service_tier: 'default',
  system_fingerprint: null,
};

/** Responses API object (usage.input_tokens / input_tokens_details.cached_tokens ...). */
const OPENAI_RESPONSES = {
  id: 'resp_68a1f0c2d3e48190b2f3a4b5c6d7e8f9',
  object: 'response',
  created_at: 1755443906,
  status: 'completed',
  model: 'o4-mini-2025-04-16',
  output: [
    { id: 'rs_1', type: 'reasoning', summary: [] },
    { id: 'msg_1', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: '42', annotations: [] }] },
  ],
  usage: {
    input_tokens: 5000,
    input_tokens_details: { cached_tokens: 4096 },
    output_tokens: 1200,
    output_tokens_details: { reasoning_tokens: 896 },
    total_tokens: 6200,
  },
};

/** vLLM's OpenAI-compatible server: no details objects at all. */
const VLLM_CHAT = {
  id: 'chatcmpl-8c1d5e2f',
  object: 'chat.completion',
  created: 1732000000,
  model: 'meta-llama/Llama-3.1-8B-Instruct',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hi!' }, finish_reason: 'stop', logprobs: null }],
  usage: { prompt_tokens: 25, total_tokens: 57, completion_tokens: 32, prompt_tokens_details: null },
};

/** Anthropic Messages with a cache write (first call) — input_tokens excludes cache tokens. */
const ANTHROPIC_CACHE_WRITE = {
  id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5-20250929',
  content: [{ type: 'text', text: 'The book opens with...' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: {
    input_tokens: 21,
    cache_creation_input_tokens: 188086,
    cache_read_input_tokens: 0,
    cache_creation: { ephemeral_5m_input_tokens: 188086, ephemeral_1h_input_tokens: 0 },
    output_tokens: 393,
    service_tier: 'standard',
  },
};

/** Anthropic with both cache reads and writes, part of the writes on the 1-hour TTL. */
const ANTHROPIC_READ_AND_WRITE = {
  id: 'msg_01AbCdEfGhIjKlMnOpQrStUv',
  type: 'message',
  role: 'assistant',
  model: 'claude-haiku-4-5-20251001',
  content: [{ type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Oslo' } }],
  stop_reason: 'tool_use',
  stop_sequence: null,
  usage: {
    input_tokens: 50,
    cache_creation_input_tokens: 2000,
    cache_read_input_tokens: 10000,
    cache_creation: { ephemeral_5m_input_tokens: 1500, ephemeral_1h_input_tokens: 500 },
    output_tokens: 300,
    service_tier: 'standard',
  },
};

/**
 * Gemini 2.5 Pro with context cache and thinking. The counts are those of a real usageMetadata
 * quoted on discuss.ai.google.dev: total 22500 = prompt 11500 + candidates 1000 + thoughts 10000.
 */
const GEMINI_THINKING_CACHED = {
  candidates: [
    { content: { parts: [{ text: 'Summary: ...' }], role: 'model' }, finishReason: 'STOP', index: 0 },
  ],
  usageMetadata: {
    promptTokenCount: 11500,
    candidatesTokenCount: 1000,
    totalTokenCount: 22500,
    cachedContentTokenCount: 10000,
    thoughtsTokenCount: 10000,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: 11500 }],
    cacheTokensDetails: [{ modality: 'TEXT', tokenCount: 10000 }],
  },
  modelVersion: 'gemini-2.5-pro',
  responseId: 'mKqBaLvXL5mrz7IP0b2Y4Ag',
};

/** Gemini with tool-use prompt tokens, which are outside promptTokenCount. */
const GEMINI_TOOL_USE = {
  candidates: [{ content: { parts: [{ text: 'It is 21°C in Oslo.' }], role: 'model' }, finishReason: 'STOP', index: 0 }],
  usageMetadata: {
    promptTokenCount: 1200,
    toolUsePromptTokenCount: 300,
    candidatesTokenCount: 80,
    thoughtsTokenCount: 40,
    totalTokenCount: 1620,
  },
  modelVersion: 'gemini-2.5-flash',
  responseId: 'abc123',
};

/** Vertex AI's generateContent adds createTime and usageMetadata.trafficType. */
const VERTEX_GEMINI = {
  candidates: [{ content: { role: 'model', parts: [{ text: 'Hello' }] }, finishReason: 'STOP', avgLogprobs: -0.1 }],
  usageMetadata: {
    promptTokenCount: 8,
    candidatesTokenCount: 2,
    totalTokenCount: 10,
    trafficType: 'ON_DEMAND',
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: 8 }],
    candidatesTokensDetails: [{ modality: 'TEXT', tokenCount: 2 }],
  },
  modelVersion: 'gemini-2.0-flash-001',
  createTime: '2025-06-01T10:00:00.000000Z',
  responseId: 'vtx-1',
};

/** Ollama /api/chat with stream: false (ollama docs/api.md). */
const OLLAMA_CHAT = {
  model: 'llama3.2',
  created_at: '2023-12-12T14:13:43.416799Z',
  message: { role: 'assistant', content: 'Hello! How are you today?' },
  done_reason: 'stop',
  done: true,
  total_duration: 5191566416,
  load_duration: 2154458,
  prompt_eval_count: 26,
  prompt_eval_duration: 383809000,
  eval_count: 298,
  eval_duration: 4799921000,
};

/** Ollama /api/generate with stream: false. */
const OLLAMA_GENERATE = {
  model: 'codellama:code',
  created_at: '2024-07-22T20:47:51.147561Z',
  response: '\n  if a == 0:\n    return b\n',
  done: true,
  done_reason: 'stop',
  context: [1, 2, 3],
  total_duration: 1162761250,
  load_duration: 6683708,
  prompt_eval_count: 17,
  prompt_eval_duration: 201222000,
  eval_count: 63,
  eval_duration: 953997000,
};

// Streams, exactly as they come over the wire.

const OPENAI_CHAT_SSE = [
  'data: {"id":"chatcmpl-9x1","object":"chat.completion.chunk","created":1721000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}',
  '',
  'data: {"id":"chatcmpl-9x1","object":"chat.completion.chunk","created":1721000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":[{"index":0,"delta":{"content":"Héllo 👋 wörld"},"logprobs":null,"finish_reason":null}],"usage":null}',
  '',
  'data: {"id":"chatcmpl-9x1","object":"chat.completion.chunk","created":1721000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}',
  '',
  'data: {"id":"chatcmpl-9x1","object":"chat.completion.chunk","created":1721000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":[],"usage":{"prompt_tokens":2048,"completion_tokens":9,"total_tokens":2057,"prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}',
  '',
  'data: [DONE]',
  '',
  '',
].join('\n');

const OPENAI_CHAT_EXPECTED = {
  inputTokens: 2048,
  outputTokens: 9,
  cacheReadTokens: 1920,
  cacheCreationTokens: 0,
  reasoningTokens: 0,
  totalTokens: 2057,
};

const OPENAI_RESPONSES_SSE = [
  'event: response.created',
  'data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_abc","object":"response","created_at":1755000000,"status":"in_progress","model":"gpt-5-mini-2025-08-07","output":[],"usage":null}}',
  '',
  'event: response.in_progress',
  'data: {"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_abc","object":"response","created_at":1755000000,"status":"in_progress","model":"gpt-5-mini-2025-08-07","output":[],"usage":null}}',
  '',
  'event: response.output_text.delta',
  'data: {"type":"response.output_text.delta","sequence_number":5,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"Hi"}',
  '',
  'event: response.completed',
  'data: {"type":"response.completed","sequence_number":9,"response":{"id":"resp_abc","object":"response","created_at":1755000000,"status":"completed","model":"gpt-5-mini-2025-08-07","output":[],"usage":{"input_tokens":3000,"input_tokens_details":{"cached_tokens":2048},"output_tokens":700,"output_tokens_details":{"reasoning_tokens":512},"total_tokens":3700}}}',
  '',
  '',
].join('\n');

const ANTHROPIC_SSE = [
  'event: message_start',
  'data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":1200,"cache_read_input_tokens":9000,"output_tokens":2,"service_tier":"standard"}}}',
  '',
  'event: content_block_start',
  'data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
  '',
  'event: ping',
  'data: {"type": "ping"}',
  '',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}',
  '',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}',
  '',
  'event: content_block_stop',
  'data: {"type":"content_block_stop","index":0}',
  '',
  'event: message_delta',
  'data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":89}}',
  '',
  'event: message_stop',
  'data: {"type":"message_stop"}',
  '',
  '',
].join('\n');

const GEMINI_SSE = [
  'data: {"candidates": [{"content": {"parts": [{"text": "The"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 9,"totalTokenCount": 9,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 9}]},"modelVersion": "gemini-2.5-flash","responseId": "Bn5WaOuxA5WqnvgP_tPx-Qw"}',
  '',
  'data: {"candidates": [{"content": {"parts": [{"text": " sky is blue because..."}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 9,"candidatesTokenCount": 60,"totalTokenCount": 1093,"thoughtsTokenCount": 1024},"modelVersion": "gemini-2.5-flash","responseId": "Bn5WaOuxA5WqnvgP_tPx-Qw"}',
  '',
  'data: {"candidates": [{"content": {"parts": [{"text": " scattering."}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 9,"candidatesTokenCount": 120,"totalTokenCount": 1153,"thoughtsTokenCount": 1024,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 9}]},"modelVersion": "gemini-2.5-flash","responseId": "Bn5WaOuxA5WqnvgP_tPx-Qw"}',
  '',
  '',
].join('\r\n');

const OLLAMA_NDJSON = [
  '{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","message":{"role":"assistant","content":"The"},"done":false}',
  '{"model":"llama3.2","created_at":"2023-08-04T08:52:19.4Z","message":{"role":"assistant","content":" sky"},"done":false}',
  '{"model":"llama3.2","created_at":"2023-08-04T19:22:45.499127Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":4883583458,"load_duration":1334875,"prompt_eval_count":26,"prompt_eval_duration":342546000,"eval_count":282,"eval_duration":4535599000}',
  '',
].join('\n');

// ---------------------------------------------------------------------------------------------

describe('OpenAI usage', () => {
  it('Chat Completions: cached tokens stay inside input, reasoning inside output', () => {
    const u = parseOpenAIUsage(OPENAI_CHAT);
    expect(counts(u)).toEqual({
      inputTokens: 1486,
      outputTokens: 651,
      cacheReadTokens: 1408,
      cacheCreationTokens: 0,
      reasoningTokens: 512,
      totalTokens: 2137,
    });
    expect(u).toMatchObject({ provider: 'openai', model: 'gpt-5-2025-08-07', partial: false, finishReasons: ['stop'] });
    expect(u.responseId).toBe('chatcmpl-C3ZsdjYWtyYQ8dZ1k8qVkYQnJ2Hf1');
  });

  it('Responses API: input_tokens_details / output_tokens_details', () => {
    const u = parseUsage(OPENAI_RESPONSES);
    expect(counts(u)).toEqual({
      inputTokens: 5000,
      outputTokens: 1200,
      cacheReadTokens: 4096,
      cacheCreationTokens: 0,
      reasoningTokens: 896,
      totalTokens: 6200,
    });
    expect(u).toMatchObject({ provider: 'openai', model: 'o4-mini-2025-04-16', finishReasons: ['completed'], partial: false });
  });

  it('OpenAI-compatible server with details missing or null, under its own provider name', () => {
    const u = parseUsage(VLLM_CHAT, { provider: 'vllm', format: 'openai' });
    expect(counts(u)).toEqual({ inputTokens: 25, outputTokens: 32, cacheReadTokens: 0, cacheCreationTokens: 0, reasoningTokens: 0, totalTokens: 57 });
    expect(u.provider).toBe('vllm');
    expect(u.model).toBe('meta-llama/Llama-3.1-8B-Instruct');
  });

  it("Ollama's OpenAI-compatible /v1 body is parsed by its shape, reported as ollama", () => {
    const body = {
      id: 'chatcmpl-318',
      object: 'chat.completion',
      created: 1729000000,
      model: 'llama3.2',
      system_fingerprint: 'fp_ollama',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 26, completion_tokens: 5, total_tokens: 31 },
    };
    expect(parseUsage(body, { provider: 'ollama' })).toMatchObject({ provider: 'ollama', inputTokens: 26, outputTokens: 5, totalTokens: 31, partial: false });
    const stream = parseStreamText(OPENAI_CHAT_SSE, { provider: 'ollama' });
    expect(stream).toMatchObject({ provider: 'ollama', ...OPENAI_CHAT_EXPECTED, partial: false });
  });

  it('a response with no usage at all is recorded with zero counts, flagged partial', () => {
    const { usage: _dropped, ...noUsage } = VLLM_CHAT;
    const u = parseUsage(noUsage);
    expect(u.totalTokens).toBe(0);
    expect(u.partial).toBe(true);
    expect(u.model).toBe('meta-llama/Llama-3.1-8B-Instruct');
  });

  it('raw JSON text and bytes parse like the object', () => {
    const text = JSON.stringify(OPENAI_CHAT);
    expect(parseUsage(text)).toEqual(parseUsage(OPENAI_CHAT));
    expect(parseUsage(new TextEncoder().encode(text))).toEqual(parseUsage(OPENAI_CHAT));
  });
});

describe('Anthropic usage', () => {
  it('adds cache writes to input_tokens (which excludes them)', () => {
    const u = parseAnthropicUsage(ANTHROPIC_CACHE_WRITE);
    expect(counts(u)).toEqual({
      inputTokens: 21 + 188086,
      outputTokens: 393,
      cacheReadTokens: 0,
      cacheCreationTokens: 188086,
      reasoningTokens: 0,
      totalTokens: 21 + 188086 + 393,
    });
    expect(u).toMatchObject({ provider: 'anthropic', model: 'claude-sonnet-4-5-20250929', finishReasons: ['end_turn'], partial: false });
    expect(u.cacheCreation1hTokens).toBe(0);
  });

  it('adds cache reads and writes, keeping the 1-hour share of the writes', () => {
    const u = parseUsage(ANTHROPIC_READ_AND_WRITE);
    expect(counts(u)).toEqual({
      inputTokens: 12050, // 50 + 2000 + 10000
      outputTokens: 300,
      cacheReadTokens: 10000,
      cacheCreationTokens: 2000,
      reasoningTokens: 0,
      totalTokens: 12350,
    });
    expect(u.cacheCreation1hTokens).toBe(500);
    expect(u.finishReasons).toEqual(['tool_use']);
  });

  it('an error body is a UsageParseError', () => {
    const body = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } };
    expect(() => parseUsage(body)).toThrow(UsageParseError);
    expect(() => parseUsage(body)).toThrow(/anthropic: response is an error: Overloaded/);
  });
});

describe('Gemini usage', () => {
  it('thoughts are added to candidates; cached content is inside the prompt count', () => {
    const u = parseGeminiUsage(GEMINI_THINKING_CACHED);
    expect(counts(u)).toEqual({
      inputTokens: 11500,
      outputTokens: 11000, // 1000 candidates + 10000 thoughts
      cacheReadTokens: 10000,
      cacheCreationTokens: 0,
      reasoningTokens: 10000,
      totalTokens: 22500, // equals the API's totalTokenCount
    });
    expect(u).toMatchObject({ provider: 'gcp.gemini', model: 'gemini-2.5-pro', responseId: 'mKqBaLvXL5mrz7IP0b2Y4Ag', finishReasons: ['STOP'], partial: false });
  });

  it('tool-use prompt tokens count as input; the total matches totalTokenCount', () => {
    const u = parseUsage(GEMINI_TOOL_USE);
    expect(counts(u)).toEqual({ inputTokens: 1500, outputTokens: 120, cacheReadTokens: 0, cacheCreationTokens: 0, reasoningTokens: 40, totalTokens: 1620 });
    expect(u.totalTokens).toBe(GEMINI_TOOL_USE.usageMetadata.totalTokenCount);
  });

  it('Vertex AI bodies are named gcp.vertex_ai', () => {
    const u = parseUsage(VERTEX_GEMINI);
    expect(u.provider).toBe('gcp.vertex_ai');
    expect(u.totalTokens).toBe(10);
    expect(detectProvider(VERTEX_GEMINI)).toBe('gcp.vertex_ai');
  });
});

describe('Ollama usage', () => {
  it('/api/chat final object: prompt_eval_count in, eval_count out', () => {
    const u = parseOllamaUsage(OLLAMA_CHAT);
    expect(counts(u)).toEqual({ inputTokens: 26, outputTokens: 298, cacheReadTokens: 0, cacheCreationTokens: 0, reasoningTokens: 0, totalTokens: 324 });
    expect(u).toMatchObject({ provider: 'ollama', model: 'llama3.2', partial: false, finishReasons: ['stop'] });
  });

  it('/api/generate', () => {
    const u = parseUsage(OLLAMA_GENERATE);
    expect(u).toMatchObject({ provider: 'ollama', model: 'codellama:code', inputTokens: 17, outputTokens: 63, totalTokens: 80, partial: false });
  });

  it('an object that is not the final one (done: false) is partial', () => {
    const u = parseUsage({ model: 'llama3.2', created_at: '2023-08-04T08:52:19Z', response: 'The', done: false });
    expect(u.partial).toBe(true);
    expect(u.totalTokens).toBe(0);
  });
});

describe('streams', () => {
  it('OpenAI chat SSE: usage from the last chunk (include_usage), however the bytes are split', () => {
    const whole = parseStreamText(OPENAI_CHAT_SSE);
    expect(counts(whole)).toEqual(OPENAI_CHAT_EXPECTED);
    expect(whole).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini-2024-07-18', partial: false, finishReasons: ['stop'] });
    // 1-byte chunks split "\n\n", the JSON, and the multi-byte é / 👋 / ö characters.
    for (const size of [1, 2, 3, 5, 7, 64, 4096]) {
      expect(parseStreamText(byteChunks(OPENAI_CHAT_SSE, size)), `chunk size ${size}`).toEqual(whole);
    }
    const crlf = OPENAI_CHAT_SSE.replace(/\n/g, '\r\n');
    for (const size of [1, 4, 9]) {
      expect(parseStreamText(byteChunks(crlf, size)), `CRLF, chunk size ${size}`).toEqual(whole);
    }
  });

  it('OpenAI chat SSE without stream_options.include_usage ends partial with zero counts', () => {
    const noUsage = OPENAI_CHAT_SSE.split('\n\n')
      .filter((event) => !event.includes('"usage":{'))
      .join('\n\n');
    const u = parseStreamText(noUsage);
    expect(u.partial).toBe(true);
    expect(u.totalTokens).toBe(0);
    expect(u.model).toBe('gpt-4o-mini-2024-07-18');
  });

  it('a stream cut off before the usage chunk arrives is partial', () => {
    const cut = OPENAI_CHAT_SSE.slice(0, OPENAI_CHAT_SSE.indexOf('"usage":{') - 40);
    const parser = new StreamTextUsageParser();
    for (const chunk of byteChunks(cut, 11)) parser.push(chunk);
    const u = parser.end();
    expect(u.partial).toBe(true);
    expect(u.inputTokens).toBe(0);
    expect(u.finishReasons).toEqual(['stop']);
  });

  it('OpenAI Responses stream: usage from response.completed', () => {
    const u = parseStreamText(byteChunks(OPENAI_RESPONSES_SSE, 13));
    expect(counts(u)).toEqual({ inputTokens: 3000, outputTokens: 700, cacheReadTokens: 2048, cacheCreationTokens: 0, reasoningTokens: 512, totalTokens: 3700 });
    expect(u).toMatchObject({ provider: 'openai', model: 'gpt-5-mini-2025-08-07', responseId: 'resp_abc', partial: false, finishReasons: ['completed'] });
  });

  it('OpenAI Responses stream cut before response.completed is partial', () => {
    const cut = OPENAI_RESPONSES_SSE.slice(0, OPENAI_RESPONSES_SSE.indexOf('event: response.completed'));
    const u = parseStreamText(cut);
    expect(u.partial).toBe(true);
    expect(u.model).toBe('gpt-5-mini-2025-08-07');
  });

  it('Anthropic: input and cache counts from message_start, cumulative output from message_delta', () => {
    const u = parseStreamText(byteChunks(ANTHROPIC_SSE, 5));
    expect(counts(u)).toEqual({
      inputTokens: 472 + 1200 + 9000,
      outputTokens: 89, // message_delta's cumulative count replaces message_start's 2
      cacheReadTokens: 9000,
      cacheCreationTokens: 1200,
      reasoningTokens: 0,
      totalTokens: 10672 + 89,
    });
    expect(u).toMatchObject({ provider: 'anthropic', model: 'claude-haiku-4-5-20251001', responseId: 'msg_014p7gG3wDgGV9EUtLvnow3U', partial: false, finishReasons: ['end_turn'] });
  });

  it('Anthropic: input/cache fields repeated on message_delta win when non-null, nulls do not erase', () => {
    const acc = new StreamUsageAccumulator();
    acc.push({
      type: 'message_start',
      message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5-20250929', content: [], usage: { input_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 4000, output_tokens: 1 } },
    });
    // Server-tool loops report the cumulative input on the final delta.
    acc.push({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { input_tokens: 2500, cache_creation_input_tokens: null, cache_read_input_tokens: null, output_tokens: 300 },
    });
    acc.push({ type: 'message_stop' });
    const u = acc.result();
    expect(counts(u)).toEqual({ inputTokens: 6500, outputTokens: 300, cacheReadTokens: 4000, cacheCreationTokens: 0, reasoningTokens: 0, totalTokens: 6800 });
    expect(u.partial).toBe(false);
  });

  it('Anthropic stream cut after message_start keeps what was seen, partial', () => {
    const cut = ANTHROPIC_SSE.slice(0, ANTHROPIC_SSE.indexOf('event: message_delta'));
    const u = parseStreamText(cut);
    expect(u.partial).toBe(true);
    expect(u.inputTokens).toBe(10672);
    expect(u.outputTokens).toBe(2);
  });

  it('Gemini SSE (CRLF): the last usageMetadata wins', () => {
    const u = parseStreamText(byteChunks(GEMINI_SSE, 6), { provider: 'gcp.gemini' });
    expect(counts(u)).toEqual({ inputTokens: 9, outputTokens: 1144, cacheReadTokens: 0, cacheCreationTokens: 0, reasoningTokens: 1024, totalTokens: 1153 });
    expect(u).toMatchObject({ provider: 'gcp.gemini', model: 'gemini-2.5-flash', partial: false, finishReasons: ['STOP'] });
  });

  it('Gemini JSON-array stream (no alt=sse), whole and cut off mid-element', () => {
    const chunks = GEMINI_SSE.split('\r\n\r\n')
      .filter((e) => e.startsWith('data: '))
      .map((e) => e.slice('data: '.length));
    const array = `[${chunks.join(',\r\n')}]`;
    const whole = parseStreamText(byteChunks(array, 17));
    expect(whole.totalTokens).toBe(1153);
    expect(whole.partial).toBe(false);
    expect(parseGeminiUsage(array).totalTokens).toBe(1153);

    const cut = array.slice(0, array.indexOf('"candidatesTokenCount": 120') - 10);
    const partial = parseStreamText(byteChunks(cut, 17));
    expect(partial.partial).toBe(true);
    expect(partial.totalTokens).toBe(9 + 60 + 1024); // the second chunk's running total
  });

  it('Ollama NDJSON: the done:true object, lines split across chunks', () => {
    for (const size of [1, 10, 100]) {
      const u = parseStreamText(byteChunks(OLLAMA_NDJSON, size));
      expect(u).toMatchObject({ provider: 'ollama', model: 'llama3.2', inputTokens: 26, outputTokens: 282, totalTokens: 308, partial: false });
    }
    const cut = OLLAMA_NDJSON.slice(0, OLLAMA_NDJSON.indexOf('"prompt_eval_count"'));
    const u = parseStreamText(cut);
    expect(u.partial).toBe(true);
    expect(u.totalTokens).toBe(0);
  });

  it('parseUsage takes a whole streamed body as text, SSE or NDJSON', () => {
    expect(counts(parseUsage(ANTHROPIC_SSE))).toEqual(counts(parseStreamText(ANTHROPIC_SSE)));
    expect(parseUsage(OLLAMA_NDJSON).totalTokens).toBe(308);
  });

  it('the accumulator takes decoded objects, JSON strings and [DONE]', () => {
    const acc = new StreamUsageAccumulator({ provider: 'openai' });
    const events = OPENAI_CHAT_SSE.split('\n\n')
      .filter((e) => e.startsWith('data: '))
      .map((e) => e.slice('data: '.length));
    for (const [i, data] of events.entries()) acc.push(i % 2 === 0 && data !== '[DONE]' ? JSON.parse(data) : data);
    expect(acc.complete).toBe(true);
    expect(counts(acc.result())).toEqual(OPENAI_CHAT_EXPECTED);
  });

  it('a malformed event is recorded, never thrown, and the stream goes on', () => {
    const acc = new StreamUsageAccumulator();
    acc.push('{"id":"chatcmpl-1","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}');
    acc.push('{"id":"chatcmpl-1","object":"chat.co'); // cut in half by a broken proxy
    acc.push(42);
    acc.push({ error: { message: 'The server had an error while processing your request.', type: 'server_error' } });
    acc.push('{"id":"chatcmpl-1","object":"chat.completion.chunk","model":"gpt-4o","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}');
    expect(acc.errors).toHaveLength(3);
    expect(acc.errors.every((e) => e instanceof UsageParseError)).toBe(true);
    expect(acc.errors[2]?.message).toMatch(/stream reported an error: The server had an error/);
    expect(acc.result()).toMatchObject({ inputTokens: 10, outputTokens: 5, totalTokens: 15, partial: false });
  });

  it('events read from text give the same usage as the same events decoded, whatever words the content holds', () => {
    // The text path skips parsing content deltas it can tell apart by their text (most of a
    // stream); decoded objects are always looked at. Content that names the keys, a finish reason
    // set mid-stream, spaced JSON, two choices and an error must all come out the same.
    const chunk = (choices: string, extra = '') => `{"id":"chatcmpl-2","object":"chat.completion.chunk","model":"gpt-4o","choices":[${choices}]${extra}}`;
    const openai = [
      chunk('{"index":0,"delta":{"content":"my usage: \\"finish_reason\\": \\"stop\\", error"},"finish_reason":null}'),
      chunk('{"index":0,"delta":{"content":"a"},"finish_reason":null},{"index":1,"delta":{},"finish_reason": "length"}'),
      chunk('{"index":0,"delta":{},"finish_reason" : "stop"}'),
      chunk('', ',"usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}'),
    ];
    const anthropic = ANTHROPIC_SSE.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
    anthropic.splice(3, 0, '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"the usage \\"message_delta\\""}}');
    const responses = OPENAI_RESPONSES_SSE.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
    const errored = [openai[0]!, '{"error": {"message": "overloaded", "type": "server_error"}}', openai[3]!];
    for (const [name, events] of Object.entries({ openai, anthropic, responses, errored })) {
      const fromText = new StreamUsageAccumulator();
      const fromObjects = new StreamUsageAccumulator();
      for (const e of events) {
        fromText.push(e);
        fromObjects.push(JSON.parse(e));
      }
      expect(fromText.result(), name).toEqual(fromObjects.result());
      expect(fromText.errorCount, name).toBe(fromObjects.errorCount);
    }
    const u = parseStreamText(openai.map((e) => `data: ${e}\n\n`).join(''));
    expect(u).toMatchObject({ inputTokens: 12, outputTokens: 7, finishReasons: ['length', 'stop'], partial: false });
  });

  it('an empty or unrecognisable stream is partial, provider unknown unless named', () => {
    expect(parseStreamText('')).toMatchObject({ provider: 'unknown', partial: true, totalTokens: 0 });
    expect(new StreamUsageAccumulator({ provider: 'openai' }).result()).toMatchObject({ provider: 'openai', partial: true });
  });
});

describe('streamed answers (content capture)', () => {
  /** The answer a stream rebuilds, read from bytes split every `size`. */
  function answer(text: string, size = 7, options: { provider?: string } = {}) {
    const content = new StreamContentAccumulator();
    const parser = new StreamTextUsageParser({ ...options, content });
    for (const chunk of byteChunks(text, size)) parser.push(chunk);
    const usage = parser.end();
    return { messages: content.messages(), usage };
  }

  it('rebuilds each provider\'s answer as its unstreamed body would read, usage unchanged', () => {
    const openai = answer(OPENAI_CHAT_SSE);
    expect(openai.messages).toEqual([{ role: 'assistant', parts: [{ type: 'text', content: 'Héllo 👋 wörld' }], finish_reason: 'stop' }]);
    expect(counts(openai.usage)).toEqual(OPENAI_CHAT_EXPECTED);
    expect(answer(ANTHROPIC_SSE, 5).messages).toEqual([{ role: 'assistant', parts: [{ type: 'text', content: 'Hello!' }], finish_reason: 'stop' }]);
    expect(answer(GEMINI_SSE, 6, { provider: 'gcp.gemini' }).messages).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: 'The sky is blue because... scattering.' }], finish_reason: 'stop' },
    ]);
    const ollama = answer(OLLAMA_NDJSON, 10).messages;
    expect(ollama).toHaveLength(1);
    expect(ollama![0]).toMatchObject({ role: 'assistant', finish_reason: 'stop' });
    expect(ollama![0]!.parts).toEqual([{ type: 'text', content: OLLAMA_NDJSON.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { message: { content: string } }).message.content).join('') }]);
    // Responses: the completed event's response is the whole answer.
    const completed = OPENAI_RESPONSES_SSE.split('\n').find((l) => l.includes('"response.completed"'))!.slice(6);
    expect(answer(OPENAI_RESPONSES_SSE).messages).toEqual(outputMessages((JSON.parse(completed) as { response: Record<string, unknown> }).response));
  });

  it('assembles tool calls from their pieces: OpenAI arguments by index, Anthropic input JSON', () => {
    const chunk = (delta: unknown, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: 'chatcmpl-t', object: 'chat.completion.chunk', model: 'gpt-4o', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const openai = [
      chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"ci' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: 'ty":"Paris"}' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{}' } }] }),
      chunk({}, 'tool_calls'),
      'data: [DONE]\n\n',
    ].join('');
    expect(answer(openai, 9).messages).toEqual([{
      role: 'assistant',
      parts: [
        { type: 'tool_call', id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } },
        { type: 'tool_call', id: 'call_2', name: 'get_time', arguments: {} },
      ],
      finish_reason: 'tool_call',
    }]);
    const ev = (type: string, body: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...body })}\n\n`;
    const anthropic = [
      ev('message_start', { message: { id: 'msg_t', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], usage: { input_tokens: 10, output_tokens: 1 } } }),
      ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Checking.' } }),
      ev('content_block_stop', { index: 0 }),
      ev('content_block_start', { index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} } }),
      ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '{"city": ' } }),
      ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '"Paris"}' } }),
      ev('content_block_stop', { index: 1 }),
      ev('message_delta', { delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 30 } }),
      ev('message_stop', {}),
    ].join('');
    const a = answer(anthropic, 11);
    expect(a.messages).toEqual([{
      role: 'assistant',
      parts: [{ type: 'text', content: 'Checking.' }, { type: 'tool_call', id: 'toolu_1', name: 'get_weather', arguments: { city: 'Paris' } }],
      finish_reason: 'tool_call',
    }]);
    expect(a.usage).toMatchObject({ inputTokens: 10, outputTokens: 30, partial: false });
  });

  it('keeps at most its budget of text, and nothing for a stream with no answer', () => {
    const content = new StreamContentAccumulator(5);
    const parser = new StreamTextUsageParser({ content });
    parser.push(OPENAI_CHAT_SSE);
    parser.end();
    expect(content.messages()).toEqual([{ role: 'assistant', parts: [{ type: 'text', content: 'Héllo' }], finish_reason: 'stop' }]);
    expect(new StreamContentAccumulator().messages()).toBeUndefined();
  });
});

describe('SSE / NDJSON framing', () => {
  it('handles CR, LF, CRLF split between chunks, comments, multi-line data, event and id fields', () => {
    const parser = new SseParser();
    const events = [
      ...parser.push(': keep-alive\r'),
      ...parser.push('\nevent: message_delta\r\nid: 7\r\ndata: {"a":'),
      ...parser.push('1}\r\ndata: {"b":2}\r'),
      ...parser.push('\n\r\n'),
      ...parser.push('data: [DONE]\n\n'),
    ];
    expect(events).toEqual([
      { event: 'message_delta', id: '7', data: '{"a":1}\n{"b":2}' },
      // The event type resets after each dispatch; the last event id persists, as the spec says.
      { id: '7', data: '[DONE]' },
    ]);
  });

  it('a leading byte-order mark does not hide the first field', () => {
    expect(new SseParser().push('\uFEFFdata: {"x":1}\n\n')).toEqual([{ data: '{"x":1}' }]);
  });

  it('at the end, a last event missing its blank line is kept only if its lines were complete', () => {
    const complete = new SseParser();
    expect(complete.push('data: {"x":1}\n')).toEqual([]);
    expect(complete.end()).toEqual([{ data: '{"x":1}' }]);
    const cut = new SseParser();
    expect(cut.push('data: {"x":1}\n\ndata: {"y"')).toEqual([{ data: '{"x":1}' }]);
    expect(cut.end()).toEqual([]);
  });

  it('drops a line that outgrows the cap instead of buffering it', () => {
    const parser = new SseParser(32);
    const events = [...parser.push(`data: ${'x'.repeat(20)}`), ...parser.push(`${'y'.repeat(20)}\n\n`), ...parser.push('data: ok\n\n')];
    expect(events).toEqual([{ data: 'ok' }]);
    expect(parser.droppedLines).toBe(1);
  });

  it('NDJSON keeps an unterminated last line for the caller to judge', () => {
    const parser = new NdjsonParser();
    expect(parser.push('{"a":1}\n\n{"b"')).toEqual(['{"a":1}']);
    expect(parser.push(':2}')).toEqual([]);
    expect(parser.end()).toEqual(['{"b":2}']);
  });

  it('splits a JSON array into elements, strings with brackets included', () => {
    const splitter = new JsonArrayStreamSplitter();
    const out = [...splitter.push('[{"t":"a]}\\"{"},'), ...splitter.push('\n{"n":[1,{"m":2}]}'), ...splitter.push(']')];
    expect(out.map((e) => JSON.parse(e))).toEqual([{ t: 'a]}"{' }, { n: [1, { m: 2 }] }]);
    expect(splitter.end()).toEqual([]);
  });
});

describe('bad input gives a typed UsageParseError', () => {
  it('partial JSON', () => {
    const text = JSON.stringify(OPENAI_CHAT).slice(0, 120);
    let caught: unknown;
    try {
      parseUsage(text, { provider: 'openai' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UsageParseError);
    expect(caught).toBeInstanceOf(Error);
    expect((caught as UsageParseError).provider).toBe('openai');
    expect((caught as UsageParseError).message).toMatch(/not valid JSON/);
  });

  it('empty body, non-object JSON, unknown shape', () => {
    expect(() => parseUsage('')).toThrow(UsageParseError);
    expect(() => parseUsage('   ', { provider: 'anthropic' })).toThrow(/anthropic: response body is empty/);
    expect(() => parseUsage('[1,2]', { provider: 'openai' })).toThrow(UsageParseError);
    expect(() => parseUsage({ hello: 'world' })).toThrow(/unrecognised response body/);
    expect(() => parseUsage(null)).toThrow(UsageParseError);
    expect(() => parseUsage(undefined)).toThrow(UsageParseError);
  });

  it('a count that is not a non-negative number names the field', () => {
    const bad = { ...OPENAI_CHAT, usage: { ...OPENAI_CHAT.usage, prompt_tokens: 'abc' } };
    expect(() => parseUsage(bad)).toThrow('openai: usage.prompt_tokens must be a non-negative number (got "abc")');
    const negative = { ...GEMINI_TOOL_USE, usageMetadata: { ...GEMINI_TOOL_USE.usageMetadata, thoughtsTokenCount: -5 } };
    expect(() => parseUsage(negative)).toThrow(/gcp\.gemini: usageMetadata\.thoughtsTokenCount must be a non-negative number \(got -5\)/);
  });

  it('provider error bodies', () => {
    expect(() => parseUsage({ error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } }, { provider: 'openai' })).toThrow(
      /openai: response is an error: Incorrect API key provided/,
    );
    expect(() => parseUsage({ error: { code: 429, message: 'Resource has been exhausted', status: 'RESOURCE_EXHAUSTED' } }, { provider: 'gcp.gemini' })).toThrow(
      UsageParseError,
    );
    expect(() => parseUsage({ error: "model 'llama9' not found" }, { provider: 'ollama' })).toThrow(/not found/);
  });

  it('safeParseUsage returns the error instead of throwing', () => {
    const bad = safeParseUsage('{"usage": {"prompt_tokens": 12, ');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toBeInstanceOf(UsageParseError);
    const good = safeParseUsage(OLLAMA_CHAT);
    expect(good.ok && good.usage.totalTokens).toBe(324);
  });
});

describe('provider detection', () => {
  it('from the body shape', () => {
    expect(detectProvider(OPENAI_CHAT)).toBe('openai');
    expect(detectProvider(OPENAI_RESPONSES)).toBe('openai');
    expect(detectProvider(VLLM_CHAT)).toBe('openai');
    expect(detectProvider(ANTHROPIC_CACHE_WRITE)).toBe('anthropic');
    expect(detectProvider({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 3 } })).toBe('anthropic');
    expect(detectProvider(GEMINI_TOOL_USE)).toBe('gcp.gemini');
    expect(detectProvider([GEMINI_TOOL_USE])).toBe('gcp.gemini');
    expect(detectProvider(OLLAMA_CHAT)).toBe('ollama');
    expect(detectProvider({ model: 'llama3.2', created_at: '2023-08-04T08:52:19Z', response: 'The', done: false })).toBe('ollama');
    expect(detectProvider({ type: 'response.completed', response: OPENAI_RESPONSES })).toBe('openai');
    expect(detectProvider({ foo: 1 })).toBeUndefined();
    expect(detectProvider('text')).toBeUndefined();
  });

  it('from the request path, not the host', () => {
    expect(detectProviderFromPath('/v1/chat/completions')).toMatchObject({ provider: 'openai', format: 'openai' });
    expect(detectProviderFromPath('/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21')).toMatchObject({ format: 'openai' });
    expect(detectProviderFromPath('/v1/responses')).toMatchObject({ provider: 'openai' });
    expect(detectProviderFromPath('/v1/messages?beta=true')).toMatchObject({ provider: 'anthropic', format: 'anthropic' });
    expect(detectProviderFromPath('/v1/threads/thread_1/messages')).toBeUndefined();
    expect(detectProviderFromPath('/v1beta/models/gemini-2.5-flash:generateContent')).toEqual({ provider: 'gcp.gemini', format: 'gemini', stream: false, framing: 'json' });
    expect(detectProviderFromPath('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse')).toEqual({ provider: 'gcp.gemini', format: 'gemini', stream: true, framing: 'sse' });
    expect(detectProviderFromPath('/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.5-pro:streamGenerateContent')).toEqual({
      provider: 'gcp.vertex_ai',
      format: 'gemini',
      stream: true,
      framing: 'json',
    });
    expect(detectProviderFromPath('/v1/projects/p1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5:streamRawPredict')).toMatchObject({
      provider: 'gcp.vertex_ai',
      format: 'anthropic',
      stream: true,
    });
    expect(detectProviderFromPath('/api/chat')).toMatchObject({ provider: 'ollama', framing: 'ndjson' });
    expect(detectProviderFromPath('/api/generate')).toMatchObject({ provider: 'ollama' });
    expect(detectProviderFromPath('/healthz')).toBeUndefined();
  });
});
