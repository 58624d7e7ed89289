/**
 * The README's "instrument your agent" path as a new user walks it: an app with the real openai
 * package and createMonitor(), run under `node --import agentloupe/register` against a local fake
 * provider. With no collector: no warning, exact rows. With a collector: the app's agents, tools and
 * model calls all arrive over OTLP under one service name, and the request's traceparent is the
 * call's own span. Plus captured content in the GenAI conventions' shape, `show --content`, the
 * demo's waterfall, and `agentloupe run` printing nothing extra.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureServer, type Captured } from './capture-server.js';
import { MODELS, OPENAI_USAGE, startFakeLlmServer, type FakeLlmServer } from './fake-llm-server.js';
import { tempDir } from './helpers.js';
import { CLI, cleanEnv, query, REGISTER_JS, requireBuild, ROOT, run } from './register-helpers.js';

let fake: FakeLlmServer;
beforeAll(async () => {
  requireBuild();
  fake = await startFakeLlmServer();
});
afterAll(async () => {
  await fake?.close();
});

/** A new user's project: `openai` and `agentloupe` installed by name. */
function project(): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(join(ROOT, 'node_modules', 'openai'), join(dir, 'node_modules', 'openai'), 'dir');
  symlinkSync(ROOT, join(dir, 'node_modules', 'agentloupe'), 'dir');
  return dir;
}

/** The README's example: agents with createMonitor(), a tool, a model call through the openai SDK. */
const APP = `
import OpenAI from 'openai';
import { createMonitor } from 'agentloupe';

const monitor = createMonitor();
const again = createMonitor();
const client = new OpenAI({ apiKey: 'test', baseURL: process.env.FAKE_URL + '/v1' });

await monitor.withAgent({ type: 'planner' }, async (planner) => {
  await planner.withTool({ name: 'read_file', args: { path: 'README.md' } }, async () => 'text');
  await again.withAgent({ type: 'writer' }, async () => {
    await client.chat.completions.create({
      model: '${MODELS.openai}',
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello' }],
    });
  });
});
console.log(JSON.stringify({ shared: again.tracerProvider === monitor.tracerProvider && again.sqlite === monitor.sqlite, joined: monitor.joined }));
await monitor.shutdown();
await again.shutdown();
`;

interface OtlpSpanJson {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: { stringValue?: string; intValue?: string | number; boolValue?: boolean } }[];
}

/** Spans and their service names from OTLP/HTTP JSON trace requests. */
function spansOf(requests: Captured[]): { service: string | undefined; span: OtlpSpanJson; attrs: Record<string, unknown> }[] {
  const out: { service: string | undefined; span: OtlpSpanJson; attrs: Record<string, unknown> }[] = [];
  for (const r of requests.filter((x) => x.path === '/v1/traces')) {
    const body = JSON.parse(r.body.toString('utf8')) as {
      resourceSpans: { resource?: { attributes?: OtlpSpanJson['attributes'] }; scopeSpans: { spans: OtlpSpanJson[] }[] }[];
    };
    for (const rs of body.resourceSpans) {
      const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue;
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          const attrs: Record<string, unknown> = {};
          for (const a of span.attributes ?? []) attrs[a.key] = a.value.stringValue ?? (a.value.intValue !== undefined ? Number(a.value.intValue) : a.value.boolValue);
          out.push({ service, span, attrs });
        }
      }
    }
  }
  return out;
}

describe('instrument your agent (openai SDK, createMonitor, the register hook)', () => {
  it('with no collector: no warning, exact rows, one monitor for the hook and both createMonitor() calls', async () => {
    const dir = project();
    writeFileSync(join(dir, 'app.mjs'), APP);
    const env = cleanEnv({ FAKE_URL: fake.url, AGENTLOUPE_LOG: '' });
    delete env.OTEL_TRACES_EXPORTER;
    delete env.OTEL_METRICS_EXPORTER;
    const out = await run(process.execPath, ['--import', 'agentloupe/register', 'app.mjs'], { cwd: dir, env, timeoutMs: 60_000 });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ shared: true, joined: true });
    const db = join(dir, '.agentloupe', 'monitoring.db');
    const agents = query<{ agent_type: string; parent: string | null; status: string }>(
      db,
      'SELECT a.agent_type, p.agent_type AS parent, a.status FROM agents a LEFT JOIN agents p ON p.id = a.parent_id ORDER BY a.start_time, a.rowid',
    );
    expect(agents).toEqual([
      { agent_type: 'app', parent: null, status: 'completed' },
      { agent_type: 'planner', parent: 'app', status: 'completed' },
      { agent_type: 'writer', parent: 'planner', status: 'completed' },
    ]);
    const telemetry = query<{ agent_type: string; model: string | null; tool_name: string | null; input_tokens: number; output_tokens: number }>(
      db,
      'SELECT a.agent_type, t.model, t.tool_name, t.input_tokens, t.output_tokens FROM telemetry t JOIN agents a ON a.id = t.agent_id ORDER BY t.id',
    );
    expect(telemetry).toEqual([
      { agent_type: 'planner', model: null, tool_name: 'read_file', input_tokens: 0, output_tokens: 0 },
      { agent_type: 'writer', model: MODELS.openai, tool_name: null, input_tokens: OPENAI_USAGE.prompt_tokens, output_tokens: OPENAI_USAGE.completion_tokens },
    ]);
  }, 90_000);

  it('with a collector: agents, tools and model calls arrive over OTLP under one service name; the request carries the chat span', async () => {
    const collector = await startCaptureServer();
    try {
      const dir = project();
      writeFileSync(join(dir, 'app.mjs'), APP);
      const env = cleanEnv({ FAKE_URL: fake.url, AGENTLOUPE_LOG: '', OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'my-agents' });
      delete env.OTEL_TRACES_EXPORTER;
      delete env.OTEL_METRICS_EXPORTER;
      const before = fake.requests.length;
      const out = await run(process.execPath, ['--import', 'agentloupe/register', 'app.mjs'], { cwd: dir, env, timeoutMs: 60_000 });
      expect(out.stderr).toBe('');
      expect(out.code).toBe(0);
      const spans = spansOf(collector.requests);
      const names = spans.map((s) => s.span.name).sort();
      expect(names).toEqual(['chat ' + MODELS.openai, 'execute_tool read_file', 'invoke_agent app', 'invoke_agent planner', 'invoke_agent writer'].sort());
      expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['my-agents']));
      const byName = (n: string) => spans.find((s) => s.span.name === n)!;
      const writer = byName('invoke_agent writer');
      const chat = byName('chat ' + MODELS.openai);
      // The hook captured the call under the app's current agent.
      expect(chat.span.parentSpanId).toBe(writer.span.spanId);
      expect(chat.attrs['agentloupe.owner.agent_id']).toBe(writer.attrs['gen_ai.agent.id']);
      expect(chat.attrs['gen_ai.usage.input_tokens']).toBe(OPENAI_USAGE.prompt_tokens);
      // The provider saw the chat span as its parent, not the agent span.
      const sent = fake.requests.slice(before).find((r) => r.path === '/v1/chat/completions')!;
      expect(sent.headers['traceparent']).toBe(`00-${chat.span.traceId}-${chat.span.spanId}-01`);
      // Metrics went to the same collector under the same service name.
      expect(collector.requests.some((r) => r.path === '/v1/metrics')).toBe(true);
    } finally {
      await collector.close();
    }
  }, 90_000);
});

describe('captured content', () => {
  it('is stored in the GenAI conventions message shape and shown by role with show --content', async () => {
    const dir = project();
    writeFileSync(join(dir, 'app.mjs'), APP);
    const db = join(dir, 'm.db');
    const env = cleanEnv({ FAKE_URL: fake.url, AGENTLOUPE_DB: db, AGENTLOUPE_CAPTURE_CONTENT: 'true' });
    const out = await run(process.execPath, ['--import', REGISTER_JS, 'app.mjs'], { cwd: dir, env, timeoutMs: 60_000 });
    expect(out.code).toBe(0);
    const [row] = query<{ agent_id: string; input: string; output: string }>(
      db,
      `SELECT agent_id, json_extract(attributes, '$."gen_ai.input.messages"') AS input, json_extract(attributes, '$."gen_ai.output.messages"') AS output FROM spans WHERE name LIKE 'chat %'`,
    );
    expect(JSON.parse(row!.input)).toEqual([
      { role: 'system', parts: [{ type: 'text', content: 'Be brief.' }] },
      { role: 'user', parts: [{ type: 'text', content: 'Say hello' }] },
    ]);
    expect(JSON.parse(row!.output)).toEqual([{ role: 'assistant', parts: [{ type: 'text', content: 'Hello from OpenAI' }], finish_reason: 'stop' }]);

    const shown = await run(process.execPath, [CLI, 'show', row!.agent_id, '--db', db, '--content'], { cwd: dir, env: cleanEnv({ NO_COLOR: '1' }) });
    expect(shown.code).toBe(0);
    const content = shown.stdout.slice(shown.stdout.indexOf('Content (1 call)'));
    expect(content).toContain('system: Be brief.\nuser: Say hello\nassistant: Hello from OpenAI\n  finish: stop');
  }, 90_000);
});

describe('true timings', () => {
  it('the demo: every child span lies inside its parent', async () => {
    const dir = tempDir();
    const db = join(dir, 'demo.db');
    const out = await run(process.execPath, [join(ROOT, 'examples', 'demo.mjs')], { cwd: dir, env: cleanEnv({ AGENTLOUPE_DB: db }), timeoutMs: 90_000 });
    expect(out.code).toBe(0);
    const outside = query<{ name: string; parent: string }>(
      db,
      `SELECT c.name, p.name AS parent FROM spans c JOIN spans p ON p.span_id = c.parent_span_id AND p.trace_id = c.trace_id
        WHERE c.start_ns < p.start_ns OR c.end_ns > p.end_ns`,
    );
    expect(outside).toEqual([]);
    const [count] = query<{ n: number }>(db, 'SELECT count(*) AS n FROM spans WHERE parent_span_id IS NOT NULL');
    expect(count!.n).toBeGreaterThan(10);
  }, 120_000);
});

describe('agentloupe run', () => {
  it('with no endpoint configured: no warning, and the run lasts as long as the command', async () => {
    const dir = tempDir();
    const db = join(dir, 'm.db');
    const env = cleanEnv({ AGENTLOUPE_LOG: '' });
    delete env.OTEL_TRACES_EXPORTER;
    delete env.OTEL_METRICS_EXPORTER;
    const out = await run(process.execPath, [CLI, 'run', '--db', db, '--type', 'sleeper', '--', process.execPath, '-e', 'setTimeout(() => {}, 300)'], { cwd: dir, env, timeoutMs: 60_000 });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const [row] = query<{ status: string; ms: number }>(
      db,
      "SELECT a.status, s.duration_ns / 1e6 AS ms FROM agents a JOIN spans s ON s.agent_id = a.id AND s.name LIKE 'invoke_agent %' WHERE a.agent_type = 'sleeper'",
    );
    expect(row!.status).toBe('completed');
    expect(row!.ms).toBeGreaterThanOrEqual(300);
  }, 90_000);
});
