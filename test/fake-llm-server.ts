/**
 * A local stand-in for the OpenAI, Anthropic, Gemini and Ollama HTTP APIs on 127.0.0.1, answering
 * with bodies shaped as each provider documents them (usage with cache and reasoning tokens),
 * streamed or not. Streams can hold back their last chunk until the client acknowledges the
 * first one (GET /ack): a client that only sees chunks after the end can never acknowledge,
 * which is how tests prove chunks are not buffered without measuring time.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

export interface StreamRecord {
  id: string;
  /** The client acknowledged the first chunk before the last chunk was sent. */
  ackedBeforeEnd: boolean;
  chunks: number;
  done: boolean;
  path: string;
}

export interface FakeLlmServer {
  url: string;
  requests: FakeRequest[];
  streams: StreamRecord[];
  close(): Promise<void>;
}

export const MODELS = {
  openai: 'gpt-4o-2024-08-06',
  anthropic: 'claude-sonnet-4-5-20250929',
  gemini: 'gemini-2.5-flash',
  ollama: 'llama3.2',
} as const;

/** OpenAI chat: prompt_tokens counts cached ones; completion_tokens counts reasoning ones. */
export const OPENAI_USAGE = {
  prompt_tokens: 1200,
  completion_tokens: 300,
  total_tokens: 1500,
  prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 128, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
};

/** Anthropic: input_tokens excludes cache reads and writes (normalised input = 100+2000+3000). */
export const ANTHROPIC_USAGE = { input_tokens: 100, cache_creation_input_tokens: 2000, cache_read_input_tokens: 3000, output_tokens: 50 };

/** Gemini: candidatesTokenCount excludes thoughtsTokenCount; cached is part of the prompt. */
export const GEMINI_USAGE = { promptTokenCount: 1000, candidatesTokenCount: 200, thoughtsTokenCount: 100, cachedContentTokenCount: 600, totalTokenCount: 1300 };

export const OLLAMA_USAGE = { prompt_eval_count: 26, eval_count: 259 };

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 4 * 1024 * 1024) break;
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json', 'request-id': 'req_fake' });
  res.end(JSON.stringify(body));
}

function sse(event: unknown, name?: string): string {
  return `${name ? `event: ${name}\n` : ''}data: ${JSON.stringify(event)}\n\n`;
}

function openaiChunks(model: string): string[] {
  const base = { id: 'chatcmpl-fake1', object: 'chat.completion.chunk', created: 1_760_000_000, model, system_fingerprint: 'fp_1' };
  const pieces = ['Hel', 'lo', ' from', ' OpenAI'];
  return [
    sse({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }], usage: null }),
    ...pieces.map((p) => sse({ ...base, choices: [{ index: 0, delta: { content: p }, finish_reason: null }], usage: null })),
    sse({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null }),
    sse({ ...base, choices: [], usage: OPENAI_USAGE }),
    'data: [DONE]\n\n',
  ];
}

function anthropicChunks(model: string): string[] {
  const message = { id: 'msg_fake1', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...ANTHROPIC_USAGE, output_tokens: 1 } };
  return [
    sse({ type: 'message_start', message }, 'message_start'),
    sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'),
    sse({ type: 'ping' }, 'ping'),
    ...['Hel', 'lo', ' from', ' Claude'].map((t) => sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } }, 'content_block_delta')),
    sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'),
    sse({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: ANTHROPIC_USAGE.output_tokens } }, 'message_delta'),
    sse({ type: 'message_stop' }, 'message_stop'),
  ];
}

function geminiChunk(model: string, text: string, last: boolean): Record<string, unknown> {
  return {
    candidates: [{ content: { parts: [{ text }], role: 'model' }, index: 0, ...(last ? { finishReason: 'STOP' } : {}) }],
    usageMetadata: last ? GEMINI_USAGE : { promptTokenCount: GEMINI_USAGE.promptTokenCount, totalTokenCount: GEMINI_USAGE.promptTokenCount },
    modelVersion: model,
    responseId: 'resp_fake1',
  };
}

function ollamaLines(model: string): string[] {
  const at = '2026-01-01T00:00:00.000Z';
  return [
    ...['Hel', 'lo', ' from', ' Ollama'].map((t) => `${JSON.stringify({ model, created_at: at, message: { role: 'assistant', content: t }, done: false })}\n`),
    `${JSON.stringify({ model, created_at: at, message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop', total_duration: 5_000_000, load_duration: 1_000, prompt_eval_count: OLLAMA_USAGE.prompt_eval_count, prompt_eval_duration: 1_000, eval_count: OLLAMA_USAGE.eval_count, eval_duration: 1_000 })}\n`,
  ];
}

export async function startFakeLlmServer(options: { chunkDelayMs?: number; ackTimeoutMs?: number } = {}): Promise<FakeLlmServer> {
  const delay = options.chunkDelayMs ?? 5;
  const ackTimeout = options.ackTimeoutMs ?? 5000;
  const requests: FakeRequest[] = [];
  const streams: StreamRecord[] = [];
  const acks = new Map<string, () => void>();
  const acked = new Set<string>();
  let streamSeq = 0;

  const streamOut = async (res: ServerResponse, contentType: string, chunks: string[]): Promise<void> => {
    const id = `s${++streamSeq}`;
    const record: StreamRecord = { id, ackedBeforeEnd: false, chunks: chunks.length, done: false, path: requests.at(-1)?.path ?? '' };
    streams.push(record);
    res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache', 'x-fake-stream-id': id });
    res.flushHeaders();
    for (let i = 0; i < chunks.length; i++) {
      if (i === chunks.length - 1) {
        // Hold the last chunk until the client saw the first (bounded by ackTimeout).
        if (!acked.has(id)) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, ackTimeout);
            acks.set(id, () => {
              clearTimeout(timer);
              resolve();
            });
          });
        }
        record.ackedBeforeEnd = acked.has(id);
      } else if (i > 0) {
        await new Promise((r) => setTimeout(r, delay));
      }
      if (res.destroyed) {
        record.done = true;
        return;
      }
      res.write(chunks[i]);
    }
    record.done = true;
    res.end();
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname === '/ack') {
        // Acknowledges every stream still open (apps here read one stream at a time).
        for (const s of streams) {
          if (acked.has(s.id) || s.done) continue;
          acked.add(s.id);
          acks.get(s.id)?.();
        }
        res.writeHead(204).end();
        return;
      }
      const body = await readBody(req);
      requests.push({ path: url.pathname + url.search, headers: req.headers, body });
      const p = url.pathname;
      if (p.endsWith('/chat/completions')) {
        const model = MODELS.openai;
        if (body['stream'] === true) return streamOut(res, 'text/event-stream; charset=utf-8', openaiChunks(model));
        return json(res, {
          id: 'chatcmpl-fake0', object: 'chat.completion', created: 1_760_000_000, model, system_fingerprint: 'fp_1',
          choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from OpenAI', refusal: null }, logprobs: null, finish_reason: 'stop' }],
          usage: OPENAI_USAGE,
        });
      }
      if (p.endsWith('/v1/messages')) {
        const model = MODELS.anthropic;
        if (body['stream'] === true) return streamOut(res, 'text/event-stream; charset=utf-8', anthropicChunks(model));
        return json(res, {
          id: 'msg_fake0', type: 'message', role: 'assistant', model,
          content: [{ type: 'text', text: 'Hello from Claude' }], stop_reason: 'end_turn', stop_sequence: null, usage: ANTHROPIC_USAGE,
        });
      }
      if (p.endsWith(':generateContent')) return json(res, geminiChunk(MODELS.gemini, 'Hello from Gemini', true));
      if (p.endsWith(':streamGenerateContent')) {
        const chunks = ['Hel', 'lo', ' from', ' Gemini'].map((t, i, all) => `data: ${JSON.stringify(geminiChunk(MODELS.gemini, t, i === all.length - 1))}\r\n\r\n`);
        return streamOut(res, 'text/event-stream', chunks);
      }
      if (p === '/api/chat') {
        if (body['stream'] === false) {
          const lines = ollamaLines(MODELS.ollama);
          return json(res, { ...JSON.parse(lines.at(-1)!), message: { role: 'assistant', content: 'Hello from Ollama' } });
        }
        return streamOut(res, 'application/x-ndjson', ollamaLines(MODELS.ollama));
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${p}` } }));
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    streams,
    close: () =>
      new Promise<void>((resolve) => {
        for (const release of acks.values()) release();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
