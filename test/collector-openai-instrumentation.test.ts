import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { query, testCollector } from './collector-fixture.js';

/** A local stand-in for api.openai.com: one chat completion with usage. */
function fakeOpenAI(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({
        id: 'chatcmpl-local-1',
        object: 'chat.completion',
        created: 1_760_000_000,
        model: 'gpt-4o-mini-2024-07-18',
        choices: [{ index: 0, message: { role: 'assistant', content: 'pong' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 42, completion_tokens: 7, total_tokens: 49, prompt_tokens_details: { cached_tokens: 10 } },
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` })));
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe('the real @opentelemetry/instrumentation-openai with the real openai SDK', () => {
  it('exports chat spans that the collector turns into telemetry rows', async () => {
    const collector = await testCollector();
    const { server, url } = await fakeOpenAI();
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));

    const provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'openai-app' }),
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${collector.url}/v1/traces` }), { scheduledDelayMillis: 10 })],
    });
    const instrumentation = new OpenAIInstrumentation();
    const unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: provider });
    cleanups.push(async () => {
      unregister();
      await provider.shutdown();
    });
    // Loaded through Node's require after the instrumentation is enabled, so its hook patches it.
    const require = createRequire(import.meta.url);
    const { OpenAI } = require('openai') as typeof import('openai');
    const client = new OpenAI({ apiKey: 'sk-test-local', baseURL: url });

    const reply = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }] });
    expect(reply.choices[0]?.message.content).toBe('pong');
    await provider.forceFlush();
    await collector.flush();

    const rows = query(
      collector.dbPath,
      `SELECT t.agent_id, t.model, t.provider, t.input_tokens, t.output_tokens, t.total_tokens, t.estimated_cost > 0 AS costed, c.operation, c.unpriced
       FROM telemetry t JOIN telemetry_calls c ON c.telemetry_id = t.id`,
    );
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row).toMatchObject({ model: 'gpt-4o-mini-2024-07-18', provider: 'openai', input_tokens: 42n, output_tokens: 7n, total_tokens: 49n, operation: 'chat', unpriced: 0n, costed: 1n });
    expect(String(row.agent_id)).toMatch(/^trace-[0-9a-f]{32}$/);
    expect(query(collector.dbPath, 'SELECT a.agent_type, r.category FROM agents a JOIN agent_runs r ON r.agent_id = a.id')).toEqual([{ agent_type: 'openai-app', category: 'synthetic' }]);
  });
});
