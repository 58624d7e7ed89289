/**
 * With content capture on, a streamed model call stores its answer as an unstreamed one does:
 * the real provider SDKs stream from a local fake server through the capturing fetch, and each
 * call's span holds `gen_ai.output.messages` assembled from the deltas.
 */
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { context } from '@opentelemetry/api';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFetchCapture } from '../instrumentation/fetch-capture.js';
import { createMonitor } from '../src/index.js';
import { startFakeLlmServer, type FakeLlmServer } from './fake-llm-server.js';
import { tempDir } from './helpers.js';

let fake: FakeLlmServer;
beforeAll(async () => {
  fake = await startFakeLlmServer({ ackTimeoutMs: 50 });
});
afterAll(async () => {
  await fake?.close();
});

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) void _;
}

describe('content capture of streamed calls', () => {
  it('stores the answer assembled from the deltas, for OpenAI, Anthropic, Gemini and Ollama streams', async () => {
    const path = join(tempDir(), 'm.db');
    const monitor = createMonitor({ db: path, metricReaders: [] });
    const run = monitor.startAgent({ type: 'streamer' });
    const undo = installFetchCapture({ runFor: () => run, captureContent: true, maxContentBytes: 64 * 1024 });
    try {
      const messages = [{ role: 'user' as const, content: 'hi' }];
      await context.with(run.context(), async () => {
        const openai = new OpenAI({ apiKey: 'test', baseURL: `${fake.url}/v1`, maxRetries: 0 });
        await drain(await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true } }));
        const anthropic = new Anthropic({ apiKey: 'test', baseURL: fake.url, maxRetries: 0 });
        await drain(await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages, stream: true }));
        const gemini = new GoogleGenAI({ apiKey: 'test', httpOptions: { baseUrl: fake.url } });
        await drain(await gemini.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi' }));
        const ollama = await fetch(`${fake.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'llama3.2', messages }) });
        await ollama.text();
      });
    } finally {
      undo();
    }
    run.complete();
    await monitor.shutdown();
    const db = new Database(path, { readonly: true });
    const rows = db
      .prepare(`SELECT t.provider, json_extract(s.attributes, '$."gen_ai.output.messages"') AS output, json_extract(s.attributes, '$."gen_ai.input.messages"') AS input
                  FROM telemetry t JOIN telemetry_calls c ON c.telemetry_id = t.id JOIN spans s ON s.span_id = c.span_id ORDER BY t.id`)
      .all() as { provider: string; output: string | null; input: string | null }[];
    db.close();
    expect(rows.map((r) => [r.provider, r.output === null ? null : JSON.parse(r.output)])).toEqual([
      ['openai', [{ role: 'assistant', parts: [{ type: 'text', content: 'Hello from OpenAI' }], finish_reason: 'stop' }]],
      ['anthropic', [{ role: 'assistant', parts: [{ type: 'text', content: 'Hello from Claude' }], finish_reason: 'stop' }]],
      ['gcp.gemini', [{ role: 'assistant', parts: [{ type: 'text', content: 'Hello from Gemini' }], finish_reason: 'stop' }]],
      ['ollama', [{ role: 'assistant', parts: [{ type: 'text', content: 'Hello from Ollama' }], finish_reason: 'stop' }]],
    ]);
    expect(rows.every((r) => r.input !== null && r.input.includes('hi'))).toBe(true);
  });
});
