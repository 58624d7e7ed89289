/**
 * The real coding agents, installed from the npm registry, against a local fake model API and
 * `agentloupe collector`: each session's model call is stored exactly once, with exact tokens.
 *
 * The clients are large downloads (Codex ships a native binary), so they are not dev
 * dependencies. Install them once into a directory and point AGENTLOUPE_CODING_AGENTS_DIR at it:
 *
 *   mkdir -p ~/coding-agents && cd ~/coding-agents && npm init -y >/dev/null &&
 *     npm install @openai/codex@0.171.0 @google/gemini-cli@0.61.0
 *   AGENTLOUPE_CODING_AGENTS_DIR=~/coding-agents npx vitest run test/collector-real-clients.test.ts
 *
 * Without it the tests are skipped with that message. Claude Code is not here: it needs Node 22.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query, testCollector } from './collector-fixture.js';
import { tempDir } from './helpers.js';

const DIR = process.env.AGENTLOUPE_CODING_AGENTS_DIR;
const CODEX = DIR ? join(DIR, 'node_modules', '.bin', 'codex') : '';
const GEMINI = DIR ? join(DIR, 'node_modules', '@google', 'gemini-cli', 'bundle', 'gemini.js') : '';
const SKIP = !DIR
  ? 'set AGENTLOUPE_CODING_AGENTS_DIR to a directory where `npm install @openai/codex@0.171.0 @google/gemini-cli@0.61.0` was run'
  : undefined;
if (SKIP) console.warn(`collector-real-clients: skipped: ${SKIP}`);

/** Responses API (Codex) and Gemini API answers with fixed usage, streamed as each client asks. */
function fakeProvider(): Promise<{ server: Server; url: string; modelRequests: string[] }> {
  const modelRequests: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const url = req.url ?? '';
      if (url.includes('/responses')) {
        const usage = { input_tokens: 1234, input_tokens_details: { cached_tokens: 1000 }, output_tokens: 56, output_tokens_details: { reasoning_tokens: 20 }, total_tokens: 1290 };
        const item = { type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Done.', annotations: [] }] };
        const ev = (o: { type: string }): string => `event: ${o.type}\ndata: ${JSON.stringify(o)}\n\n`;
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(ev({ type: 'response.created', response: { id: 'resp_1', model: 'gpt-5-codex', status: 'in_progress', output: [] } } as never));
        res.write(ev({ type: 'response.output_item.done', output_index: 0, item } as never));
        res.end(ev({ type: 'response.completed', response: { id: 'resp_1', model: 'gpt-5-codex', status: 'completed', output: [item], usage } } as never));
        return;
      }
      const m = /models\/([^:]+):(\w+)/.exec(url);
      if (m && m[2] !== 'countTokens') modelRequests.push(m[1]!);
      if (m) {
        const text = m[2] === 'generateContent' ? '{"reasoning":"simple","complexity_score":10}' : 'Done.';
        const body = { candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }], usageMetadata: { promptTokenCount: 1000, candidatesTokenCount: 200, thoughtsTokenCount: 100, cachedContentTokenCount: 600, totalTokenCount: 1300 }, modelVersion: m[1] };
        if (m[2] === 'streamGenerateContent') {
          res.writeHead(200, { 'content-type': 'text/event-stream' }).end(`data: ${JSON.stringify(body)}\n\n`);
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, modelRequests })));
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

const calls = (db: string) =>
  query(db, `SELECT t.agent_id, t.model, t.input_tokens, t.output_tokens, t.cache_read_tokens, t.total_tokens, c.reasoning_tokens, c.pair_source
    FROM telemetry t JOIN telemetry_calls c ON c.telemetry_id = t.id ORDER BY t.id`);

describe.skipIf(SKIP !== undefined)('real coding agents against agentloupe collector', () => {
  let provider: { server: Server; url: string; modelRequests: string[] };
  beforeAll(async () => {
    expect(existsSync(CODEX), `${CODEX} is missing`).toBe(true);
    provider = await fakeProvider();
  });
  afterAll(() => new Promise<void>((r) => provider?.server.close(() => r())));

  for (const transport of ['grpc', 'http'] as const) {
    it(`Codex with its log, trace and metric exporters on (${transport}): one row per model call, with the model`, async () => {
      const c = await testCollector({ grpcPort: 0 });
      const home = join(tempDir('agentloupe-codex-'), 'home');
      mkdirSync(home);
      const exporter = (signal: string): string =>
        transport === 'grpc' ? `{ otlp-grpc = { endpoint = "${c.grpcUrl}" } }` : `{ otlp-http = { endpoint = "${c.url}/v1/${signal}", protocol = "binary" } }`;
      writeFileSync(
        join(home, 'config.toml'),
        [
          'model = "gpt-5-codex"',
          'model_provider = "fake"',
          '[model_providers.fake]',
          'name = "fake"',
          `base_url = "${provider.url}/v1"`,
          'wire_api = "responses"',
          'env_key = "FAKE_KEY"',
          '[otel]',
          'environment = "test"',
          `exporter = ${exporter('logs')}`,
          `trace_exporter = ${exporter('traces')}`,
          `metrics_exporter = ${exporter('metrics')}`,
        ].join('\n'),
      );
      const r = await run(CODEX, ['exec', '--skip-git-repo-check', 'say done'], home, { ...process.env, CODEX_HOME: home, HOME: home, FAKE_KEY: 'k' });
      expect(r.code, r.out.slice(-2000)).toBe(0);
      await c.flush();
      expect(c.stats().traces.accepted).toBeGreaterThan(0);
      const rows = calls(c.dbPath);
      expect(rows).toEqual([
        { agent_id: expect.stringMatching(/^codex-/), model: 'gpt-5-codex', input_tokens: 1234n, output_tokens: 56n, cache_read_tokens: 1000n, total_tokens: 1290n, reasoning_tokens: 20n, pair_source: 'both' },
      ]);
      expect(query(c.dbPath, 'SELECT agent_type FROM agents')).toEqual([{ agent_type: 'codex' }]);
    }, 180_000);
  }

  it('Gemini CLI with its default protocol (gRPC): each call once (router and main), exact tokens', async () => {
    const c = await testCollector({ grpcPort: 0 });
    provider.modelRequests.length = 0;
    const home = tempDir('agentloupe-gemini-');
    mkdirSync(join(home, '.gemini'));
    writeFileSync(join(home, '.gemini', 'settings.json'), JSON.stringify({ telemetry: { enabled: true, target: 'local', otlpEndpoint: c.grpcUrl, logPrompts: false }, security: { auth: { selectedType: 'gemini-api-key' } } }));
    const r = await run(process.execPath, [GEMINI, '-p', 'say done'], home, {
      ...process.env,
      HOME: home,
      GEMINI_API_KEY: 'k',
      GOOGLE_GEMINI_BASE_URL: provider.url,
      GEMINI_CLI_NO_RELAUNCH: 'true',
      GEMINI_CLI_TRUST_WORKSPACE: 'true',
    });
    expect(r.code, r.out.slice(-2000)).toBe(0);
    await c.flush();
    const rows = calls(c.dbPath);
    expect(rows.length).toBeGreaterThanOrEqual(1);
    for (const row of rows) {
      expect(row).toEqual({ agent_id: expect.stringMatching(/^gemini-cli-/), model: expect.stringMatching(/^gemini-/), input_tokens: 1000n, output_tokens: 300n, cache_read_tokens: 600n, total_tokens: 1300n, reasoning_tokens: 100n, pair_source: 'log' });
    }
    // One row per model request the fake provider answered, with that request's model.
    expect(rows.map((r) => r.model).sort()).toEqual([...provider.modelRequests].sort());
    expect(c.stats().logs.accepted).toBeGreaterThan(0);
  }, 180_000);
});
