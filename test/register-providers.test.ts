/**
 * `node --import agentloupe/register` / `--require` around apps that use the real openai,
 * @anthropic-ai/sdk and @google/genai packages against a local fake provider server: rows in
 * SQLite, spans exported over OTLP/HTTP, trace headers on the wire, streams not buffered.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANTHROPIC_USAGE, GEMINI_USAGE, MODELS, OLLAMA_USAGE, OPENAI_USAGE, startFakeLlmServer, type FakeLlmServer } from './fake-llm-server.js';
import { tempDir } from './helpers.js';
import { cleanEnv, linkNodeModules, query, REGISTER_CJS, REGISTER_URL, requireBuild, run, startOtlpReceiver, type OtlpReceiver } from './register-helpers.js';

let fake: FakeLlmServer;
let otlp: OtlpReceiver;

beforeAll(async () => {
  requireBuild();
  fake = await startFakeLlmServer();
  otlp = await startOtlpReceiver();
});

afterAll(async () => {
  await fake?.close();
  await otlp?.close();
});

interface TelemetryRow {
  agent_id: string;
  provider: string;
  model: string;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_creation_tokens: number;
  total_tokens: number;
  estimated_cost: number;
  span_id: string;
  partial: number;
}

const TELEMETRY_SQL = 'SELECT t.*, c.span_id, c.partial FROM telemetry t LEFT JOIN telemetry_calls c ON c.telemetry_id = t.id ORDER BY t.id';

interface AgentRow {
  id: string;
  parent_id: string | null;
  agent_type: string;
  status: string;
  exit_code: number | null;
}

const ESM_APP = `
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { autoInstrumentation } from ${JSON.stringify(REGISTER_URL)};
const base = process.env.FAKE_URL;
const ack = () => fetch(base + '/ack');
async function drain(stream) {
  let first = true;
  for await (const _ of stream) if (first) { first = false; await ack(); }
}
const openai = new OpenAI({ apiKey: 'test', baseURL: base + '/v1', maxRetries: 0 });
const anthropic = new Anthropic({ apiKey: 'test', baseURL: base, maxRetries: 0 });
const gemini = new GoogleGenAI({ apiKey: 'test', httpOptions: { baseUrl: base } });
const msgs = [{ role: 'user', content: 'hi' }];

await openai.chat.completions.create({ model: 'gpt-4o', messages: msgs });
await drain(await openai.chat.completions.create({ model: 'gpt-4o', messages: msgs, stream: true, stream_options: { include_usage: true } }));
await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: msgs });
await drain(await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: msgs, stream: true }));
await gemini.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' });
await drain(await gemini.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi' }));
// Ollama's native API, by hand, read chunk by chunk.
const res = await fetch(base + '/api/chat', { method: 'POST', body: JSON.stringify({ model: 'llama3.2', messages: msgs }) });
const reader = res.body.getReader();
let first = true;
for (;;) { const { done } = await reader.read(); if (done) break; if (first) { first = false; await ack(); } }
// A call inside a nested agent belongs to it.
const { monitor } = autoInstrumentation();
await monitor.withAgent({ type: 'summarizer' }, async () => {
  await openai.chat.completions.create({ model: 'gpt-4o', messages: msgs });
});
// A stream the app abandons after the first chunk: recorded, as partial.
const cut = await openai.chat.completions.create({ model: 'gpt-4o', messages: msgs, stream: true, stream_options: { include_usage: true } });
for await (const _ of cut) break;
console.log(JSON.stringify({ root: autoInstrumentation().root.id }));
`;

describe('node --import agentloupe/register (ESM app)', () => {
  it('turns every SDK call into one chat span and one telemetry row, with usage, cost and owner', async () => {
    const dir = tempDir();
    linkNodeModules(dir);
    writeFileSync(join(dir, 'agent.mjs'), ESM_APP);
    const db = join(dir, 'monitoring.db');
    const streamsBefore = fake.streams.length;
    const requestsBefore = fake.requests.length;
    const exit = await run(process.execPath, ['--import', REGISTER_URL, 'agent.mjs'], {
      cwd: dir,
      env: cleanEnv({
        FAKE_URL: fake.url,
        AGENTLOUPE_DB: db,
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_SERVICE_NAME: 'esm-agent',
      }),
    });
    expect(exit.stderr).not.toMatch(/agentloupe:/);
    expect(exit.code).toBe(0);
    const { root } = JSON.parse(exit.stdout.trim().split('\n').at(-1)!) as { root: string };

    const agents = query<AgentRow>(db, 'SELECT id, parent_id, agent_type, status, exit_code FROM agents ORDER BY start_time, id');
    const rootRow = agents.find((a) => a.id === root)!;
    expect(rootRow).toMatchObject({ agent_type: 'agent', status: 'completed', exit_code: 0, parent_id: null });
    const nested = agents.find((a) => a.agent_type === 'summarizer')!;
    expect(nested.parent_id).toBe(root);
    expect(agents).toHaveLength(2);

    const rows = query<TelemetryRow>(db, TELEMETRY_SQL);
    expect(rows).toHaveLength(9);
    const by = (provider: string) => rows.filter((r) => r.provider === provider);

    // OpenAI: prompt_tokens already include the cached ones.
    const openai = by('openai');
    expect(openai).toHaveLength(4);
    for (const r of openai.slice(0, 3)) {
      expect(r).toMatchObject({ model: MODELS.openai, input_tokens: 1200, output_tokens: 300, cache_read_tokens: 1024, total_tokens: OPENAI_USAGE.total_tokens });
      expect(r.estimated_cost).toBeGreaterThan(0);
    }
    expect(openai.filter((r) => r.agent_id === nested.id)).toHaveLength(1);
    // The abandoned stream: no usage had arrived, so zero tokens, flagged partial on its span.
    const cut = openai[3]!;
    expect(cut.total_tokens).toBe(0);
    expect(cut.partial).toBe(1);
    for (const r of rows.filter((x) => x !== cut)) expect(r.partial).toBe(0);
    const cutSpan = query<{ attributes: string }>(db, 'SELECT attributes FROM spans WHERE span_id = ?', cut.span_id)[0]!;
    expect(JSON.parse(cutSpan.attributes)['agentloupe.call.partial']).toBe(true);

    // Anthropic: cache reads and writes normalised into input; one row per call although the SDK
    // makes its own span.
    const anthropic = by('anthropic');
    expect(anthropic).toHaveLength(2);
    const anthropicInput = ANTHROPIC_USAGE.input_tokens + ANTHROPIC_USAGE.cache_read_input_tokens + ANTHROPIC_USAGE.cache_creation_input_tokens;
    for (const r of anthropic) {
      expect(r).toMatchObject({ model: MODELS.anthropic, input_tokens: anthropicInput, output_tokens: 50, cache_read_tokens: 3000, cache_creation_tokens: 2000, agent_id: root });
      expect(r.estimated_cost).toBeGreaterThan(0);
    }
    const anthropicSpans = query<{ name: string }>(db, "SELECT name FROM spans WHERE json_extract(attributes, '$.\"gen_ai.provider.name\"') = 'anthropic'");
    expect(anthropicSpans.map((s) => s.name)).toEqual(['anthropic.messages.create', 'anthropic.messages.create']);

    // Gemini: thoughts are output tokens.
    const gemini = by('gcp.gemini');
    expect(gemini).toHaveLength(2);
    for (const r of gemini) {
      expect(r).toMatchObject({ model: MODELS.gemini, input_tokens: GEMINI_USAGE.promptTokenCount, output_tokens: 300, cache_read_tokens: 600, agent_id: root });
    }
    const ollama = by('ollama');
    expect(ollama).toEqual([expect.objectContaining({ model: MODELS.ollama, input_tokens: OLLAMA_USAGE.prompt_eval_count, output_tokens: OLLAMA_USAGE.eval_count })]);

    // Every stream the app read arrived chunk by chunk: it acknowledged the first chunk while
    // the server was still holding the last one back.
    const streams = fake.streams.slice(streamsBefore);
    expect(streams).toHaveLength(5);
    for (const s of streams.slice(0, 4)) expect(s, s.path).toMatchObject({ ackedBeforeEnd: true });

    // Every request carried the root trace's context.
    const traceId = query<{ trace_id: string }>(db, 'SELECT trace_id FROM agent_runs WHERE agent_id = ?', root)[0]!.trace_id;
    const requests = fake.requests.slice(requestsBefore);
    expect(requests.length).toBeGreaterThanOrEqual(9);
    for (const r of requests) expect(String(r.headers['traceparent'])).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-0[01]$`));

    // The same spans went out over OTLP/HTTP.
    const exported = otlp.spans.filter((s) => s.traceId === traceId);
    expect(exported.map((s) => s.name)).toContain('invoke_agent agent');
    // Gemini's generateContent is the conventions' generate_content; the rest are chat.
    const modelSpans = exported.filter((s) => ['chat', 'generate_content'].includes(String(s.attributes['gen_ai.operation.name'])));
    expect(modelSpans).toHaveLength(9);
    expect(modelSpans.filter((s) => s.attributes['gen_ai.operation.name'] === 'generate_content').map((s) => s.name)).toEqual([
      `generate_content ${MODELS.gemini}`,
      `generate_content ${MODELS.gemini}`,
    ]);
    expect(modelSpans.find((s) => s.name === `generate_content ${MODELS.gemini}`)?.attributes).toMatchObject({
      'gen_ai.provider.name': 'gcp.gemini',
      'gen_ai.usage.input_tokens': 1000,
      'gen_ai.usage.reasoning.output_tokens': 100,
      'agentloupe.owner.agent_id': root,
    });
  }, 60_000);
});

const CJS_APP = `
const OpenAI = require('openai');
const Anthropic = require('@anthropic-ai/sdk');
const { GoogleGenAI } = require('@google/genai');
const base = process.env.FAKE_URL;
// Clients built on the first line, before any await: they must still be captured.
const openai = new OpenAI({ apiKey: 'test', baseURL: base + '/v1', maxRetries: 0 });
const anthropic = new Anthropic({ apiKey: 'test', baseURL: base, maxRetries: 0 });
const gemini = new GoogleGenAI({ apiKey: 'test', httpOptions: { baseUrl: base } });
const msgs = [{ role: 'user', content: 'hello there' }];
(async () => {
  const stream = await openai.chat.completions.create({ model: 'gpt-4o', messages: msgs, stream: true, stream_options: { include_usage: true } });
  let first = true;
  for await (const _ of stream) if (first) { first = false; await fetch(base + '/ack'); }
  await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: msgs });
  await gemini.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' });
})();
`;

describe('node --require agentloupe/register (CommonJS app)', () => {
  for (const mode of ['require(esm)', 'async import fallback'] as const) {
    it(`captures SDK calls made by a CommonJS app (${mode})`, async () => {
      const dir = tempDir();
      linkNodeModules(dir);
      writeFileSync(join(dir, 'worker.cjs'), CJS_APP);
      const db = join(dir, 'monitoring.db');
      const streamsBefore = fake.streams.length;
      const exit = await run(process.execPath, ['--require', REGISTER_CJS, 'worker.cjs'], {
        cwd: dir,
        env: cleanEnv({
          FAKE_URL: fake.url,
          AGENTLOUPE_DB: db,
          AGENTLOUPE_PLAN_ID: 'PLAN-7',
          AGENTLOUPE_CAPTURE_CONTENT: mode === 'require(esm)' ? 'true' : 'false',
          ...(mode === 'async import fallback' ? { AGENTLOUPE_REGISTER_ASYNC: '1' } : {}),
        }),
      });
      expect(exit.stderr).not.toMatch(/agentloupe/);
      expect(exit.code).toBe(0);
      const agents = query<AgentRow & { plan_id: string }>(db, 'SELECT * FROM agents');
      expect(agents).toEqual([expect.objectContaining({ agent_type: 'worker', status: 'completed', plan_id: 'PLAN-7' })]);
      const rows = query<TelemetryRow>(db, TELEMETRY_SQL);
      expect(rows.map((r) => [r.provider, r.model, r.input_tokens, r.output_tokens])).toEqual([
        ['openai', MODELS.openai, 1200, 300],
        ['anthropic', MODELS.anthropic, 5100, 50],
        ['gcp.gemini', MODELS.gemini, 1000, 300],
      ]);
      expect(fake.streams.slice(streamsBefore)).toEqual([expect.objectContaining({ ackedBeforeEnd: true })]);
      const attrs = query<{ attributes: string }>(db, "SELECT attributes FROM spans WHERE name LIKE 'chat gpt%'").map((r) => JSON.parse(r.attributes) as Record<string, unknown>);
      expect(attrs).toHaveLength(1);
      if (mode === 'require(esm)') expect(String(attrs[0]!['gen_ai.input.messages'])).toContain('hello there');
      else expect(attrs[0]!['gen_ai.input.messages']).toBeUndefined();
    }, 60_000);
  }
});

describe('register switches', () => {
  it('OTEL_SDK_DISABLED=true installs nothing; AGENTLOUPE_DB=off writes no database', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'app.mjs'), `const r = await fetch(process.env.FAKE_URL + '/v1/chat/completions', { method: 'POST', body: '{"model":"gpt-4o","messages":[]}' }); await r.text(); console.log(typeof globalThis[Symbol.for('agentloupe.auto-instrumentation')]);`);
    const off = await run(process.execPath, ['--import', REGISTER_URL, 'app.mjs'], { cwd: dir, env: cleanEnv({ FAKE_URL: fake.url, OTEL_SDK_DISABLED: 'true' }) });
    expect(off.stdout.trim()).toBe('undefined');
    const noDb = await run(process.execPath, ['--import', REGISTER_URL, 'app.mjs'], { cwd: dir, env: cleanEnv({ FAKE_URL: fake.url, AGENTLOUPE_DB: 'off' }) });
    expect(noDb.stdout.trim()).toBe('object');
    const { existsSync } = await import('node:fs');
    expect(existsSync(join(dir, '.agentloupe'))).toBe(false);
  }, 30_000);
});
