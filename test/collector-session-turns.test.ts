/**
 * Turns of coding-agent sessions, end to end: the events each tool documents (user prompt, model
 * request, tool result, API error) are sent over real OTLP/HTTP to a real collector, out of order
 * and retried, and the stored rows and the UI API's turns are compared exactly. Claude Code and
 * Gemini CLI name the prompt of every event; Codex does not, so its events are placed by time.
 */
import { describe, expect, it } from 'vitest';
import { post, query, testCollector } from './collector-fixture.js';

type Value = string | number | boolean;
const kv = (attrs: Record<string, Value>): { key: string; value: Record<string, Value> }[] =>
  Object.entries(attrs).map(([key, v]) => ({
    key,
    value: typeof v === 'number' ? (Number.isInteger(v) ? { intValue: v } : { doubleValue: v }) : typeof v === 'boolean' ? { boolValue: v } : { stringValue: v },
  }));

const T_MS = 1_760_000_000_000;
/** Epoch ns of T + `ms` milliseconds. */
const ns = (ms: number): bigint => BigInt(T_MS + ms) * 1_000_000n;
const sec = (ms: number): number => (T_MS + ms) / 1000;

interface Rec {
  ms: number;
  body?: string;
  attrs: Record<string, Value>;
}

function logsRequest(service: string, scope: string, records: Rec[]): string {
  return JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: kv({ 'service.name': service }) },
        scopeLogs: [{ scope: { name: scope }, logRecords: records.map((r) => ({ timeUnixNano: String(ns(r.ms)), ...(r.body ? { body: { stringValue: r.body } } : {}), attributes: kv(r.attrs) })) }],
      },
    ],
  });
}

// Claude Code, as https://code.claude.com/docs/en/monitoring-usage documents its events: the
// name in the body, `event.name` without the prefix, counts as strings, `prompt.id` on all.
const cc = (ms: number, event: string, prompt: string, attrs: Record<string, Value>): Rec => ({
  ms,
  body: `claude_code.${event}`,
  attrs: { 'event.name': event, 'session.id': 'CC1', 'prompt.id': prompt, ...attrs },
});
const ccCall = (ms: number, prompt: string, input: number, output: number, cost: number): Rec =>
  cc(ms, 'api_request', prompt, { model: 'claude-sonnet-4-5', input_tokens: String(input), output_tokens: String(output), cache_read_tokens: '1000', cache_creation_tokens: '0', cost_usd: String(cost), duration_ms: '900' });
const PROMPT_TEXT = 'please refactor the secret module';
const claudeTurn1 = [
  cc(100_000, 'user_prompt', 'P1', { prompt_length: '42', prompt: PROMPT_TEXT }),
  ccCall(101_000, 'P1', 10, 20, 0.01),
  cc(102_000, 'tool_result', 'P1', { tool_name: 'Bash', success: 'true', duration_ms: '300' }),
  cc(103_000, 'tool_result', 'P1', { tool_name: 'Edit', success: 'false', duration_ms: '50', error: 'no such file' }),
  ccCall(104_000, 'P1', 30, 40, 0.02),
];
// Prompt 2, and a call of prompt 1 (a subagent's) that finished after prompt 2 was sent: by
// time it would fall in turn 2; its prompt.id says turn 1.
const claudeTurn2 = [
  cc(110_000, 'user_prompt', 'P2', { prompt_length: '7' }),
  cc(111_000, 'api_error', 'P2', { model: 'claude-sonnet-4-5', error: 'Overloaded', status_code: '529', duration_ms: '1200', attempt: '1' }),
  ccCall(112_000, 'P2', 5, 6, 0.005),
  ccCall(113_000, 'P1', 7, 8, 0.003),
];

// Gemini CLI (docs/cli/telemetry.md): full names in event.name, numbers as numbers, `prompt_id`.
const gem = (ms: number, event: string, prompt: string, attrs: Record<string, Value>): Rec => ({
  ms,
  attrs: { 'event.name': `gemini_cli.${event}`, 'session.id': 'G1', prompt_id: prompt, ...attrs },
});
const gemini = [
  gem(200_000, 'user_prompt', 'G1########1', { prompt_length: 11 }),
  gem(201_000, 'api_response', 'G1########1', { model: 'no-such-gemini', input_token_count: 500, output_token_count: 50, cached_content_token_count: 100, thoughts_token_count: 5, duration_ms: 700 }),
  gem(202_000, 'tool_call', 'G1########1', { function_name: 'read_file', success: true, duration_ms: 20 }),
  gem(202_500, 'tool_call', 'G1########1', { function_name: 'read_file', success: false, duration_ms: 5, error: 'ENOENT' }),
  gem(203_000, 'api_error', 'G1########1', { model: 'no-such-gemini', error: 'quota', status_code: 429, duration_ms: 30 }),
  gem(210_000, 'user_prompt', 'G1########2', { prompt_length: 3 }),
  gem(211_000, 'api_response', 'G1########2', { model: 'no-such-gemini', input_token_count: 800, output_token_count: 80, cached_content_token_count: 0, thoughts_token_count: 0, duration_ms: 900 }),
];

// Codex (developers.openai.com/codex/config-advanced): conversation.id, no prompt id.
const cx = (ms: number, event: string, attrs: Record<string, Value>): Rec => ({ ms, attrs: { 'event.name': `codex.${event}`, 'conversation.id': 'X1', ...attrs } });
const cxCall = (ms: number, input: number): Rec =>
  cx(ms, 'sse_event', { 'event.kind': 'response.completed', model: 'no-such-gpt', input_token_count: String(input), output_token_count: '10', cached_token_count: '0', reasoning_token_count: '2', tool_token_count: '0' });
const codex = [
  cxCall(299_000, 100), // before the first prompt the collector saw
  cx(300_000, 'user_prompt', { prompt_length: '5', prompt: '[REDACTED]' }),
  cxCall(302_000, 200),
  cx(303_000, 'tool_result', { tool_name: 'shell', call_id: 'c1', duration_ms: '40', success: 'true' }),
  cx(304_000, 'api_request', { attempt: '1', duration_ms: '10', 'http.response.status_code': '500', 'error.message': 'server error' }),
  cx(304_500, 'api_request', { attempt: '2', duration_ms: '12', 'http.response.status_code': '200' }), // a success: not an error
  cxCall(310_200, 300), // same second as the next prompt, but before it: turn 2 of 3
  cx(310_600, 'user_prompt', { prompt_length: '9' }),
  cxCall(312_000, 400),
  cx(312_500, 'tool_result', { tool_name: 'shell', call_id: 'c2', duration_ms: '60', success: 'false' }),
];

const turn = (over: Record<string, unknown>): Record<string, unknown> => ({
  turnId: null, prompted: true, promptLength: null, calls: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0,
  reasoningTokens: 0, totalTokens: 0, costUsd: 0, unpricedCalls: 0, models: [], toolCalls: 0, toolErrors: 0, toolDurationMs: 0, tools: [], apiErrors: 0,
  ...over,
});

describe('coding-agent session turns', () => {
  it('stores each event under its turn and answers the turns exactly, whatever order the events arrive in', async () => {
    const c = await testCollector();
    const send = async (body: string): Promise<void> => {
      const res = await post(`${c.url}/v1/logs`, body, { 'content-type': 'application/json' });
      expect(res.status).toBe(200);
    };
    const claude1 = logsRequest('claude-code', 'com.anthropic.claude_code.events', claudeTurn1);
    // Turn 2 first, then turn 1 twice (an exporter retry): stored once, grouped by prompt.
    await send(logsRequest('claude-code', 'com.anthropic.claude_code.events', claudeTurn2));
    await send(claude1);
    await send(claude1);
    await send(logsRequest('gemini-cli', 'gemini-cli', gemini));
    // Codex: its second half first.
    await send(logsRequest('codex_cli_rs', 'codex_otel', codex.slice(6)));
    await send(logsRequest('codex_cli_rs', 'codex_otel', codex.slice(0, 6)));
    await c.flush();

    expect(query(c.dbPath, `SELECT t.agent_id, c.turn_id, c.time_ns, t.input_tokens, t.estimated_cost FROM telemetry t JOIN telemetry_calls c ON c.telemetry_id = t.id ORDER BY c.time_ns`)).toEqual([
      { agent_id: 'claude-code-CC1', turn_id: 'P1', time_ns: ns(101_000), input_tokens: 1010n, estimated_cost: 0.01 },
      { agent_id: 'claude-code-CC1', turn_id: 'P1', time_ns: ns(104_000), input_tokens: 1030n, estimated_cost: 0.02 },
      { agent_id: 'claude-code-CC1', turn_id: 'P2', time_ns: ns(112_000), input_tokens: 1005n, estimated_cost: 0.005 },
      { agent_id: 'claude-code-CC1', turn_id: 'P1', time_ns: ns(113_000), input_tokens: 1007n, estimated_cost: 0.003 },
      { agent_id: 'gemini-cli-G1', turn_id: 'G1########1', time_ns: ns(201_000), input_tokens: 500n, estimated_cost: 0 },
      { agent_id: 'gemini-cli-G1', turn_id: 'G1########2', time_ns: ns(211_000), input_tokens: 800n, estimated_cost: 0 },
      { agent_id: 'codex-X1', turn_id: null, time_ns: ns(299_000), input_tokens: 100n, estimated_cost: 0 },
      { agent_id: 'codex-X1', turn_id: null, time_ns: ns(302_000), input_tokens: 200n, estimated_cost: 0 },
      { agent_id: 'codex-X1', turn_id: null, time_ns: ns(310_200), input_tokens: 300n, estimated_cost: 0 },
      { agent_id: 'codex-X1', turn_id: null, time_ns: ns(312_000), input_tokens: 400n, estimated_cost: 0 },
    ]);
    expect(query(c.dbPath, 'SELECT agent_id, turn_id, kind, name, ok, duration_ms, prompt_length, time_ns FROM session_events ORDER BY time_ns')).toEqual([
      { agent_id: 'claude-code-CC1', turn_id: 'P1', kind: 'prompt', name: null, ok: null, duration_ms: null, prompt_length: 42n, time_ns: ns(100_000) },
      { agent_id: 'claude-code-CC1', turn_id: 'P1', kind: 'tool', name: 'Bash', ok: 1n, duration_ms: 300, prompt_length: null, time_ns: ns(102_000) },
      { agent_id: 'claude-code-CC1', turn_id: 'P1', kind: 'tool', name: 'Edit', ok: 0n, duration_ms: 50, prompt_length: null, time_ns: ns(103_000) },
      { agent_id: 'claude-code-CC1', turn_id: 'P2', kind: 'prompt', name: null, ok: null, duration_ms: null, prompt_length: 7n, time_ns: ns(110_000) },
      { agent_id: 'claude-code-CC1', turn_id: 'P2', kind: 'api_error', name: 'claude-sonnet-4-5', ok: 0n, duration_ms: 1200, prompt_length: null, time_ns: ns(111_000) },
      { agent_id: 'gemini-cli-G1', turn_id: 'G1########1', kind: 'prompt', name: null, ok: null, duration_ms: null, prompt_length: 11n, time_ns: ns(200_000) },
      { agent_id: 'gemini-cli-G1', turn_id: 'G1########1', kind: 'tool', name: 'read_file', ok: 1n, duration_ms: 20, prompt_length: null, time_ns: ns(202_000) },
      { agent_id: 'gemini-cli-G1', turn_id: 'G1########1', kind: 'tool', name: 'read_file', ok: 0n, duration_ms: 5, prompt_length: null, time_ns: ns(202_500) },
      { agent_id: 'gemini-cli-G1', turn_id: 'G1########1', kind: 'api_error', name: 'no-such-gemini', ok: 0n, duration_ms: 30, prompt_length: null, time_ns: ns(203_000) },
      { agent_id: 'gemini-cli-G1', turn_id: 'G1########2', kind: 'prompt', name: null, ok: null, duration_ms: null, prompt_length: 3n, time_ns: ns(210_000) },
      { agent_id: 'codex-X1', turn_id: null, kind: 'prompt', name: null, ok: null, duration_ms: null, prompt_length: 5n, time_ns: ns(300_000) },
      { agent_id: 'codex-X1', turn_id: null, kind: 'tool', name: 'shell', ok: 1n, duration_ms: 40, prompt_length: null, time_ns: ns(303_000) },
      { agent_id: 'codex-X1', turn_id: null, kind: 'api_error', name: null, ok: 0n, duration_ms: 10, prompt_length: null, time_ns: ns(304_000) },
      { agent_id: 'codex-X1', turn_id: null, kind: 'prompt', name: null, ok: null, duration_ms: null, prompt_length: 9n, time_ns: ns(310_600) },
      { agent_id: 'codex-X1', turn_id: null, kind: 'tool', name: 'shell', ok: 0n, duration_ms: 60, prompt_length: null, time_ns: ns(312_500) },
    ]);
    // The prompt's text was sent (content capture on) and is stored nowhere.
    for (const table of ['agents', 'agent_runs', 'telemetry', 'telemetry_calls', 'session_events', 'spans']) {
      expect(JSON.stringify(query(c.dbPath, `SELECT * FROM ${table}`), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).not.toContain('secret module');
    }

    const turns = async (id: string): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await fetch(`${c.url}/ui/api/v1/sessions/${encodeURIComponent(id)}/turns`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const claude = await turns('claude-code-CC1');
    expect(claude.status).toBe(200);
    expect(claude.body).toEqual({
      agentId: 'claude-code-CC1',
      truncated: false,
      turns: [
        turn({
          index: 1, turnId: 'P1', start: sec(100_000), end: sec(113_000), durationMs: 13_000, promptLength: 42,
          // 10+20 / 30+40 / 7+8, each with 1000 cache-read tokens in its input.
          calls: 3, inputTokens: 3047, outputTokens: 68, cacheReadTokens: 3000, totalTokens: 3115,
          costUsd: expect.closeTo(0.033, 12), models: ['claude-sonnet-4-5'],
          toolCalls: 2, toolErrors: 1, toolDurationMs: 350, tools: [{ name: 'Bash', calls: 1, errors: 0 }, { name: 'Edit', calls: 1, errors: 1 }],
        }),
        turn({
          index: 2, turnId: 'P2', start: sec(110_000), end: sec(112_000), durationMs: 2000, promptLength: 7,
          calls: 1, inputTokens: 1005, outputTokens: 6, cacheReadTokens: 1000, totalTokens: 1011, costUsd: 0.005, models: ['claude-sonnet-4-5'], apiErrors: 1,
        }),
      ],
    });

    const gem2 = await turns('gemini-cli-G1');
    expect(gem2.body.turns).toEqual([
      turn({
        index: 1, turnId: 'G1########1', start: sec(200_000), end: sec(203_000), durationMs: 3000, promptLength: 11,
        // Gemini's input includes the cached part; thinking tokens are output.
        calls: 1, inputTokens: 500, outputTokens: 55, cacheReadTokens: 100, reasoningTokens: 5, totalTokens: 555, unpricedCalls: 1, models: ['no-such-gemini'],
        toolCalls: 2, toolErrors: 1, toolDurationMs: 25, tools: [{ name: 'read_file', calls: 2, errors: 1 }], apiErrors: 1,
      }),
      turn({
        index: 2, turnId: 'G1########2', start: sec(210_000), end: sec(211_000), durationMs: 1000, promptLength: 3,
        calls: 1, inputTokens: 800, outputTokens: 80, totalTokens: 880, unpricedCalls: 1, models: ['no-such-gemini'],
      }),
    ]);

    const cdx = await turns('codex-X1');
    expect(cdx.body.turns).toEqual([
      // The call before the first prompt the collector received: a turn without a prompt.
      turn({ index: 1, prompted: false, start: sec(299_000), end: sec(299_000), durationMs: 0, calls: 1, inputTokens: 100, outputTokens: 10, reasoningTokens: 2, totalTokens: 110, unpricedCalls: 1, models: ['no-such-gpt'] }),
      turn({
        index: 2, start: sec(300_000), end: sec(310_200), durationMs: 10_200, promptLength: 5,
        calls: 2, inputTokens: 500, outputTokens: 20, reasoningTokens: 4, totalTokens: 520, unpricedCalls: 2, models: ['no-such-gpt'],
        toolCalls: 1, toolDurationMs: 40, tools: [{ name: 'shell', calls: 1, errors: 0 }], apiErrors: 1,
      }),
      turn({
        index: 3, start: sec(310_600), end: sec(312_500), durationMs: 1900, promptLength: 9,
        calls: 1, inputTokens: 400, outputTokens: 10, reasoningTokens: 2, totalTokens: 410, unpricedCalls: 1, models: ['no-such-gpt'],
        toolCalls: 1, toolErrors: 1, toolDurationMs: 60, tools: [{ name: 'shell', calls: 1, errors: 1 }],
      }),
    ]);

    expect((await turns('claude-code-nope')).status).toBe(404);
  });
});
