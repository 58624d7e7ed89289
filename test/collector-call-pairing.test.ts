/**
 * One model call, one row, whatever the producer sends and in whatever order: a coding agent's
 * log event and its span for the same call are stored once, under the session's agent, with the
 * model — log first, span first, split across requests, retried, and with collector restarts in
 * between. And the waiting list of children whose parent has not arrived survives a restart.
 *
 * The payloads are shaped as the tools emit them: the Codex ones copy what codex-cli 0.171.0
 * really sent here (run against a local fake Responses API; span names, parent chain, attribute
 * names and value types as captured); Gemini CLI's as gemini-cli 0.61.0 sent them; Claude Code's
 * follow its monitoring documentation (it could not run here: it needs Node 22).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { query, post, testCollector } from './collector-fixture.js';
import { tempDir } from './helpers.js';
import { startCollector } from '../src/collector/server.js';

type Value = string | number | boolean;
const kv = (attrs: Record<string, Value>) =>
  Object.entries(attrs).map(([key, v]) => ({
    key,
    value: typeof v === 'string' ? { stringValue: v } : typeof v === 'boolean' ? { boolValue: v } : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v },
  }));

const T = 1_796_180_000_000_000_000n;
const at = (ms: number): string => String(T + BigInt(ms) * 1_000_000n);

interface Span {
  spanId: string;
  parent?: string;
  name: string;
  start: number;
  end: number;
  attrs: Record<string, Value>;
  kind?: number;
}

function traces(traceId: string, resource: Record<string, Value>, spans: Span[]): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: kv(resource) },
        scopeSpans: [
          {
            scope: { name: 'codex_otel.trace_safe' },
            spans: spans.map((s) => ({
              traceId,
              spanId: s.spanId,
              ...(s.parent ? { parentSpanId: s.parent } : {}),
              name: s.name,
              kind: s.kind ?? 1,
              startTimeUnixNano: at(s.start),
              endTimeUnixNano: at(s.end),
              attributes: kv(s.attrs),
              status: {},
            })),
          },
        ],
      },
    ],
  });
}

function logs(resource: Record<string, Value>, scope: string, records: { ms: number; attrs: Record<string, Value>; body?: string; traceId?: string; spanId?: string }[]): string {
  return JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: kv(resource) },
        scopeLogs: [
          {
            scope: { name: scope },
            logRecords: records.map((r) => ({
              timeUnixNano: at(r.ms),
              observedTimeUnixNano: at(r.ms),
              ...(r.body ? { body: { stringValue: r.body } } : {}),
              ...(r.traceId ? { traceId: r.traceId, spanId: r.spanId } : {}),
              attributes: kv(r.attrs),
            })),
          },
        ],
      },
    ],
  });
}

// --- Codex CLI 0.171.0 --------------------------------------------------------------------------
const CONV = '01a234ab-7dc4-7552-a5de-dfb409404fd1';
const TURN = '01a234ab-8132-7733-bf20-bc6f1ed7be75';
const CODEX_TRACE = '138b7ae653cfdce35a9005ffc79dd996';
const CODEX_RES = { 'service.name': 'codex_exec', 'service.version': '0.171.0', 'telemetry.sdk.language': 'rust', env: 'test' };
const thread = { 'thread.id': 4, 'thread.name': 'tokio-rt-worker' };

/** The call's span chain: handle_responses (usage) <- receiving_stream <- try_run_sampling_request <- run_sampling_request <- run_turn (conversation.id). */
function codexCallSpans(n: number, usage: { input: number; cached: number; output: number; reasoning: number }): { handle: Span; chain: Span[] } {
  const id = (suffix: string): string => `${n}${suffix}`.padStart(16, '0').slice(-16);
  const handle: Span = {
    spanId: id('a883d3860d9524'),
    parent: id('5bceb6f9404e4c'),
    name: 'handle_responses',
    start: 1000 + n * 10_000,
    end: 1001 + n * 10_000,
    attrs: {
      ...thread,
      'codex.response.receive_wait_ms': 0.0107,
      'gen_ai.usage.input_tokens': usage.input,
      'gen_ai.usage.cache_read.input_tokens': usage.cached,
      'gen_ai.usage.cache_write.input_tokens': 0,
      'gen_ai.usage.output_tokens': usage.output,
      'codex.usage.reasoning_output_tokens': usage.reasoning,
      'codex.usage.total_tokens': usage.input + usage.output,
    },
  };
  const chain: Span[] = [
    { spanId: id('5bceb6f9404e4c'), parent: id('8c51608e84b99e'), name: 'receiving_stream', start: 900 + n * 10_000, end: 1002 + n * 10_000, attrs: { ...thread } },
    { spanId: id('8c51608e84b99e'), parent: id('6b90a8ea0e962f'), name: 'try_run_sampling_request', start: 800 + n * 10_000, end: 1003 + n * 10_000, attrs: { ...thread, turn_id: TURN, model: 'gpt-5-codex' } },
    { spanId: id('6b90a8ea0e962f'), parent: '97747e8ded3fc8f5', name: 'run_sampling_request', start: 700 + n * 10_000, end: 1004 + n * 10_000, attrs: { ...thread, turn_id: TURN, model: 'gpt-5-codex' } },
  ];
  return { handle, chain };
}

const TURN_SPANS: Span[] = [
  { spanId: '97747e8ded3fc8f5', parent: '15863b7082b10d35', name: 'run_turn', start: 500, end: 30_000, attrs: { ...thread, 'conversation.id': CONV, 'turn.id': TURN } },
  { spanId: '15863b7082b10d35', parent: 'b2621785ee9f5f60', name: 'session_task.run', start: 400, end: 30_001, attrs: { ...thread } },
  {
    spanId: 'b2621785ee9f5f60',
    parent: 'c1abc7b65bd62820',
    name: 'session_task.turn',
    start: 300,
    end: 30_002,
    // The turn's total repeated: not a model call, never counted.
    attrs: {
      'thread.id': CONV,
      'thread.name': 'tokio-rt-worker',
      'turn.id': TURN,
      model: 'gpt-5-codex',
      'codex.turn.token_usage.input_tokens': 1234,
      'codex.turn.token_usage.cached_input_tokens': 1000,
      'codex.turn.token_usage.output_tokens': 56,
      'codex.turn.token_usage.reasoning_output_tokens': 20,
      'codex.turn.token_usage.total_tokens': 1290,
    },
  },
  { spanId: 'c1abc7b65bd62820', parent: 'c50b964ec8e8dc0c', name: 'codex.turn_input', start: 200, end: 30_003, attrs: { ...thread, 'conversation.id': CONV, 'turn.id': TURN } },
];

const USAGE = { input: 1234, cached: 1000, output: 56, reasoning: 20 };

function codexCompletedLog(n: number, usage = USAGE): { ms: number; attrs: Record<string, Value> } {
  return {
    ms: 1002 + n * 10_000,
    attrs: {
      'event.name': 'codex.sse_event',
      'event.kind': 'response.completed',
      // As sent: some counts as strings, some as ints, and tool_token_count holding the total.
      input_token_count: String(usage.input),
      output_token_count: String(usage.output),
      cached_token_count: usage.cached,
      cache_write_token_count: 0,
      reasoning_token_count: usage.reasoning,
      tool_token_count: String(usage.input + usage.output),
      ttft_ms: 0,
      'event.timestamp': '2026-12-02T02:53:06.266Z',
      'conversation.id': CONV,
      'app.version': '0.171.0',
      originator: 'codex_exec',
      'terminal.type': 'xterm',
      model: 'gpt-5-codex',
      slug: 'gpt-5-codex',
    },
  };
}

/** The response.completed that arrives first, without counts: not a call. */
const codexBareCompleted = { ms: 999, attrs: { 'event.name': 'codex.sse_event', 'event.kind': 'response.completed', duration_ms: '0', 'conversation.id': CONV, model: 'gpt-5-codex' } };

const codexLog = (n = 0, usage = USAGE): string => logs(CODEX_RES, 'codex_otel.log_only', [codexBareCompleted, codexCompletedLog(n, usage)]);
const call0 = codexCallSpans(0, USAGE);
const handleOnly = traces(CODEX_TRACE, CODEX_RES, [call0.handle]);
const chainAndTurn = traces(CODEX_TRACE, CODEX_RES, [...call0.chain, ...TURN_SPANS]);
const allSpans = traces(CODEX_TRACE, CODEX_RES, [call0.handle, ...call0.chain, ...TURN_SPANS]);

const CODEX_ROW = {
  agent_id: `codex-${CONV}`,
  model: 'gpt-5-codex',
  provider: 'openai',
  input_tokens: 1234n,
  output_tokens: 56n,
  cache_read_tokens: 1000n,
  total_tokens: 1290n,
  reasoning_tokens: 20n,
  unpriced: 0n,
  pair_source: 'both',
};

function callRows(db: string): Record<string, unknown>[] {
  return query(
    db,
    `SELECT t.agent_id, t.model, t.provider, t.input_tokens, t.output_tokens, t.cache_read_tokens, t.total_tokens, c.reasoning_tokens, c.unpriced, c.pair_source
     FROM telemetry t JOIN telemetry_calls c ON c.telemetry_id = t.id WHERE t.tool_name IS NULL ORDER BY t.id`,
  );
}

/** Everything else that must hold once both reports are in: no stand-in agents, the rollup agrees, spans under the session. */
function expectClean(db: string, agentId: string, spans: number): void {
  expect(query(db, "SELECT id FROM agents WHERE id LIKE 'trace-%' OR agent_type = 'unknown'")).toEqual([]);
  // The hourly rollup (kept by triggers) followed every merge, move and delete.
  const raw = query(db, `SELECT COUNT(*) AS calls, SUM(t.total_tokens) AS tokens, SUM(c.reasoning_tokens) AS reasoning, SUM(c.unpriced) AS unpriced, SUM(t.estimated_cost) AS cost
    FROM telemetry t JOIN telemetry_calls c ON c.telemetry_id = t.id`);
  const hourly = query(db, 'SELECT SUM(calls) AS calls, SUM(total_tokens) AS tokens, SUM(reasoning_tokens) AS reasoning, SUM(unpriced_calls) AS unpriced, SUM(cost) AS cost FROM telemetry_hourly');
  expect({ ...hourly[0], cost: undefined }).toEqual({ ...raw[0], cost: undefined });
  expect(Number(hourly[0]!.cost ?? 0)).toBeCloseTo(Number(raw[0]!.cost ?? 0), 9);
  if (spans > 0) expect(query(db, 'SELECT COUNT(*) AS n FROM spans WHERE agent_id = ?', agentId)).toEqual([{ n: BigInt(spans) }]);
}

type Step = { path: 'traces' | 'logs'; body: string } | 'restart';

async function run(steps: Step[], retries = false): Promise<string> {
  const db = join(tempDir('agentloupe-pairing-'), 'pairing.db');
  let c = await startCollector({ port: 0, grpcPort: false, db });
  try {
    for (const step of steps) {
      if (step === 'restart') {
        await c.close();
        c = await startCollector({ port: 0, grpcPort: false, db });
        continue;
      }
      for (let i = 0; i < (retries ? 2 : 1); i++) {
        const res = await post(`${c.url}/v1/${step.path}`, step.body, { 'content-type': 'application/json' });
        expect(res.status).toBe(200);
        await c.flush();
      }
    }
  } finally {
    await c.close();
  }
  return db;
}

const T_ = (body: string): Step => ({ path: 'traces', body });
const L_ = (body: string): Step => ({ path: 'logs', body });

describe('one model call, one row: Codex (log event + handle_responses span)', () => {
  const orders: [string, Step[]][] = [
    ['log first', [L_(codexLog()), T_(allSpans)]],
    ['spans first', [T_(allSpans), L_(codexLog())]],
    ['call span alone, then the log, then its ancestors', [T_(handleOnly), L_(codexLog()), T_(chainAndTurn)]],
    ['call span alone, then its ancestors, then the log', [T_(handleOnly), T_(chainAndTurn), L_(codexLog())]],
    ['log, then ancestors, then the call span', [L_(codexLog()), T_(chainAndTurn), T_(handleOnly)]],
    ['a restart between log and spans', [L_(codexLog()), 'restart', T_(allSpans)]],
    ['a restart between spans and log', [T_(allSpans), 'restart', L_(codexLog())]],
    ['call span, restart, log, restart, ancestors', [T_(handleOnly), 'restart', L_(codexLog()), 'restart', T_(chainAndTurn)]],
    ['call span, restart, ancestors, restart, log', [T_(handleOnly), 'restart', T_(chainAndTurn), 'restart', L_(codexLog())]],
  ];
  for (const [name, steps] of orders) {
    for (const retries of [false, true]) {
      it(`${name}${retries ? ', every request sent twice' : ''}`, async () => {
        const db = await run(steps, retries);
        expect(callRows(db)).toEqual([CODEX_ROW]);
        expect(query(db, 'SELECT id, agent_type, status FROM agents')).toEqual([{ id: `codex-${CONV}`, agent_type: 'codex', status: 'running' }]);
        expectClean(db, `codex-${CONV}`, 1 + call0.chain.length + TURN_SPANS.length); // every span of the turn: the walk up reaches a span naming the conversation
      });
    }
  }

  it('traces only (no log exporter): the call is still stored once, under the session, unpriced without a model', async () => {
    const db = await run([T_(handleOnly), 'restart', T_(chainAndTurn)]);
    expect(callRows(db)).toEqual([{ ...CODEX_ROW, model: null, reasoning_tokens: 0n, unpriced: 1n, pair_source: 'span' }]);
    expectClean(db, `codex-${CONV}`, 1 + call0.chain.length + TURN_SPANS.length);
  });

  it('two calls with equal counts in one session stay two rows, each paired once', async () => {
    const call1 = codexCallSpans(1, USAGE);
    const db = await run([
      L_(logs(CODEX_RES, 'codex_otel.log_only', [codexCompletedLog(0), codexCompletedLog(1)])),
      T_(traces(CODEX_TRACE, CODEX_RES, [call0.handle, call1.handle])),
      T_(traces(CODEX_TRACE, CODEX_RES, [...call0.chain, ...call1.chain, ...TURN_SPANS])),
    ]);
    expect(callRows(db)).toEqual([CODEX_ROW, CODEX_ROW]);
    expectClean(db, `codex-${CONV}`, 2 + 2 * call0.chain.length + TURN_SPANS.length);
  });

  it('different calls are never merged: the log and span of another prompt size stay separate rows', async () => {
    const other = codexCallSpans(1, { input: 2000, cached: 1200, output: 10, reasoning: 0 });
    const db = await run([L_(codexLog()), T_(traces(CODEX_TRACE, CODEX_RES, [other.handle, ...other.chain, ...call0.chain, call0.handle, ...TURN_SPANS]))]);
    const rows = callRows(db);
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => [r.input_tokens, r.pair_source])).toEqual([
      [1234n, 'both'],
      [2000n, 'span'],
    ]);
  });
});

// --- Claude Code (documented shape: api_request event; claude_code.llm_request span in the beta traces) ---
const CC_SESSION = '8f0a3c7e-5b1d-4c8e-9f2a-1d3e5f7a9b0c';
const CC_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CC_RES = { 'service.name': 'claude-code', 'service.version': '2.1.332' };
const ccCommon = { 'session.id': CC_SESSION, 'user.id': 'u1', 'organization.id': 'o1', 'terminal.type': 'vscode', 'app.version': '2.1.332' };
const ccUsage = { input_tokens: '12', output_tokens: '30', cache_read_tokens: '100', cache_creation_tokens: '50' };
const ccSpans = (withParent: boolean): string =>
  traces(CC_TRACE, CC_RES, [
    ...(withParent ? [{ spanId: '00f067aa0ba902b7', name: 'claude_code.interaction', start: 0, end: 5000, attrs: { ...ccCommon, 'user_prompt_length': 20 } }] : []),
    {
      spanId: '1a2b3c4d5e6f7081',
      parent: '00f067aa0ba902b7',
      name: 'claude_code.llm_request',
      kind: 3,
      start: 100,
      end: 2400,
      attrs: { ...ccCommon, model: 'claude-sonnet-4-5', 'gen_ai.system': 'anthropic', 'gen_ai.request.model': 'claude-sonnet-4-5', query_source: 'repl_main_thread', duration_ms: 2300, ttft_ms: 400, ...ccUsage, success: true },
    },
  ]);
const ccLog = (linked: boolean): string =>
  logs(CC_RES, 'com.anthropic.claude_code.events', [
    {
      ms: 2400,
      body: 'claude_code.api_request',
      ...(linked ? { traceId: CC_TRACE, spanId: '1a2b3c4d5e6f7081' } : {}),
      attrs: { 'event.name': 'api_request', 'event.timestamp': '2026-12-02T03:00:00.000Z', ...ccCommon, 'prompt.id': 'cc-prompt-1', model: 'claude-sonnet-4-5', cost_usd: '0.0123', duration_ms: '2300', ...ccUsage },
    },
  ]);
const CC_ROW = {
  agent_id: `claude-code-${CC_SESSION}`,
  model: 'claude-sonnet-4-5',
  provider: 'anthropic',
  input_tokens: 162n,
  output_tokens: 30n,
  cache_read_tokens: 100n,
  total_tokens: 192n,
  reasoning_tokens: 0n,
  unpriced: 0n,
  pair_source: 'both',
};

describe('one model call, one row: Claude Code (api_request event + claude_code.llm_request span)', () => {
  const orders: [string, Step[]][] = [
    ['event first', [L_(ccLog(false)), T_(ccSpans(true))]],
    ['span first', [T_(ccSpans(true)), L_(ccLog(false))]],
    ['event emitted inside the span (trace context on the log), span first, a restart between', [T_(ccSpans(false)), 'restart', L_(ccLog(true))]],
    ['event first, a restart, then the span', [L_(ccLog(false)), 'restart', T_(ccSpans(false))]],
  ];
  for (const [name, steps] of orders) {
    it(name, async () => {
      const db = await run(steps, true);
      expect(callRows(db)).toEqual([CC_ROW]);
      // The reported cost wins over the price table.
      expect(query(db, 'SELECT estimated_cost FROM telemetry')).toEqual([{ estimated_cost: 0.0123 }]);
      // The event's prompt.id names the call's turn, whichever report arrived first.
      expect(query(db, 'SELECT turn_id FROM telemetry_calls')).toEqual([{ turn_id: 'cc-prompt-1' }]);
      expectClean(db, CC_ROW.agent_id, 0);
    });
  }
});

// --- Gemini CLI 0.61.0 ---------------------------------------------------------------------------
const G_SESSION = 'bef9d647-0b4a-430f-8898-f8e80a41312d';
const G_RES = { 'service.name': 'gemini-cli', 'service.version': 'v20.20.2', 'session.id': G_SESSION, 'process.pid': 24128 };
const G_TRACE = '09c3779d92bbb8dca5c2487df80d2d9e';
const gCommon = { 'session.id': G_SESSION, 'installation.id': '024bed51-c182-4aa0-94d4-00524eef58b0', interactive: false, auth_type: 'gemini-api-key' };
const gApiResponse = (linked: boolean): string =>
  logs(G_RES, 'gemini-cli', [
    {
      ms: 3000,
      body: 'API response from gemini-3.5-flash-lite. Status: 200. Duration: 227ms.',
      ...(linked ? { traceId: G_TRACE, spanId: '32292edbf5297923' } : {}),
      attrs: { ...gCommon, 'event.name': 'gemini_cli.api_response', model: 'gemini-3.5-flash-lite', duration_ms: 227, input_token_count: 1000, output_token_count: 200, cached_content_token_count: 600, thoughts_token_count: 100, tool_token_count: 0, total_token_count: 1300, prompt_id: G_SESSION, status_code: 200, role: 'utility_router' },
    },
    // The GenAI-convention twin event Gemini CLI also emits, with gen_ai.usage.*: the same call, not counted again.
    {
      ms: 3000,
      ...(linked ? { traceId: G_TRACE, spanId: '32292edbf5297923' } : {}),
      attrs: { ...gCommon, 'event.name': 'gen_ai.client.inference.operation.details', 'gen_ai.operation.name': 'generate_content', 'gen_ai.provider.name': 'gcp.gen_ai', 'gen_ai.response.model': 'gemini-3.5-flash-lite', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 200 },
    },
  ]);
const gSpan = (withUsage: boolean): string =>
  traces(G_TRACE, G_RES, [
    {
      spanId: '32292edbf5297923',
      name: 'llm_call',
      start: 2700,
      end: 3050,
      attrs: {
        'gen_ai.request.model': 'gemini-3.5-flash-lite',
        'gen_ai.prompt.name': G_SESSION,
        'gen_ai.conversation.id': G_SESSION,
        'gen_ai.operation.name': 'llm_call',
        'gen_ai.agent.name': 'gemini-cli',
        ...(withUsage ? { 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 200, 'gen_ai.usage.cache_read.input_tokens': 600 } : {}),
      },
    },
  ]);
const G_ROW = {
  agent_id: `gemini-cli-${G_SESSION}`,
  model: 'gemini-3.5-flash-lite',
  provider: 'gcp.gemini',
  input_tokens: 1000n,
  output_tokens: 300n,
  cache_read_tokens: 600n,
  total_tokens: 1300n,
  reasoning_tokens: 100n,
  unpriced: expect.any(BigInt),
};

describe('one model call, one row: Gemini CLI (api_response event + llm_call span)', () => {
  it('0.61 as captured: the span carries no usage, the event is the one row, the span is filed under the session', async () => {
    for (const steps of [[T_(gSpan(false)), L_(gApiResponse(true))], [L_(gApiResponse(false)), T_(gSpan(false))]] as Step[][]) {
      const db = await run(steps, true);
      expect(callRows(db)).toEqual([{ ...G_ROW, pair_source: 'log' }]);
      expectClean(db, G_ROW.agent_id, 1);
    }
  });

  it('a span that does carry gen_ai.usage (linked by trace context, or not): still one row', async () => {
    for (const steps of [
      [T_(gSpan(true)), L_(gApiResponse(true))],
      [L_(gApiResponse(false)), 'restart', T_(gSpan(true))],
      [T_(gSpan(true)), 'restart', L_(gApiResponse(false))],
    ] as Step[][]) {
      const db = await run(steps, true);
      expect(callRows(db)).toEqual([{ ...G_ROW, pair_source: 'both' }]);
      expectClean(db, G_ROW.agent_id, 1);
    }
  });
});

// --- Restart-safe re-owning (any producer) -------------------------------------------------------
describe('re-owning across a collector restart', () => {
  const TRACE = '5b8efff798038103d269b633813fc60c';
  const RES = { 'service.name': 'swarm', 'process.pid': 4242 };
  const agentSpan: Span = { spanId: 'aaaaaaaaaaaaaaa1', name: 'invoke_agent planner', start: 0, end: 9000, attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'planner' } };
  const middle: Span = { spanId: 'bbbbbbbbbbbbbbb2', parent: 'aaaaaaaaaaaaaaa1', name: 'plan step', start: 100, end: 8000, attrs: {} };
  const chat: Span = {
    spanId: 'ccccccccccccccc3',
    parent: 'bbbbbbbbbbbbbbb2',
    name: 'chat gpt-4o',
    kind: 3,
    start: 200,
    end: 1200,
    attrs: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 500, 'gen_ai.usage.output_tokens': 120 },
  };

  for (const [name, steps] of [
    ['child, restart, parent agent', [T_(traces(TRACE, RES, [chat, middle])), 'restart', T_(traces(TRACE, RES, [agentSpan]))]],
    ['child, restart, middle span, restart, agent', [T_(traces(TRACE, RES, [chat])), 'restart', T_(traces(TRACE, RES, [middle])), 'restart', T_(traces(TRACE, RES, [agentSpan]))]],
  ] as [string, Step[]][]) {
    it(`${name}: the late parent finds its stored children`, async () => {
      const db = await run(steps);
      const agentId = 'aaaaaaaaaaaaaaa1';
      expect(query(db, 'SELECT agent_id, model, total_tokens FROM telemetry')).toEqual([{ agent_id: agentId, model: 'gpt-4o', total_tokens: 620n }]);
      expect(query(db, 'SELECT span_id, agent_id FROM spans ORDER BY span_id')).toEqual([
        { span_id: 'aaaaaaaaaaaaaaa1', agent_id: agentId },
        { span_id: 'bbbbbbbbbbbbbbb2', agent_id: agentId },
        { span_id: 'ccccccccccccccc3', agent_id: agentId },
      ]);
      expect(query(db, "SELECT id FROM agents WHERE id LIKE 'trace-%'")).toEqual([]);
      expect(query(db, 'SELECT agent_id, total_tokens, execution_count FROM agent_usage')).toEqual([{ agent_id: 'planner', total_tokens: 620n, execution_count: 1n }]);
      // Nothing is left waiting.
      expect(query(db, 'SELECT COUNT(*) AS n FROM span_waits')).toEqual([{ n: 0n }]);
    });
  }

  it('the waiting list is in the database while the parent is missing', async () => {
    const c = await testCollector({ grpcPort: false });
    await post(`${c.url}/v1/traces`, traces(TRACE, RES, [chat]), { 'content-type': 'application/json' });
    await c.flush();
    expect(query(c.dbPath, 'SELECT trace_id, span_id FROM span_waits')).toEqual([{ trace_id: TRACE, span_id: 'bbbbbbbbbbbbbbb2' }]);
  });
});
