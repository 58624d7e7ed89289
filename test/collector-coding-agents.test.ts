import { describe, expect, it } from 'vitest';
import { post, query, testCollector } from './collector-fixture.js';

type Value = string | number;
const kv = (attrs: Record<string, Value>): { key: string; value: Record<string, Value> }[] =>
  Object.entries(attrs).map(([key, v]) => ({ key, value: typeof v === 'number' ? { intValue: v } : { stringValue: v } }));

const T = 1_760_000_000n * 1_000_000_000n;
const ns = (seconds: number): string => String(T + BigInt(seconds) * 1_000_000_000n);

function logsRequest(service: string, scope: string, records: { t: number; body?: string; attrs: Record<string, Value> }[]): string {
  return JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: kv({ 'service.name': service, 'process.pid': 777 }) },
        scopeLogs: [
          {
            scope: { name: scope, version: '1.0.0' },
            logRecords: records.map((r) => ({ timeUnixNano: ns(r.t), ...(r.body ? { body: { stringValue: r.body } } : {}), attributes: kv(r.attrs) })),
          },
        ],
      },
    ],
  });
}

// Attribute names and value types as each tool documents and emits them (Claude Code sends counts as strings).
const claude = logsRequest('claude-code', 'com.anthropic.claude_code.events', [
  {
    t: 10,
    body: 'claude_code.api_request',
    attrs: { 'event.name': 'api_request', 'session.id': 'S1', model: 'claude-sonnet-4-5', input_tokens: '12', output_tokens: '30', cache_read_tokens: '100', cache_creation_tokens: '50', cost_usd: '0.0123', duration_ms: '2300' },
  },
  { t: 20, body: 'claude_code.api_request', attrs: { 'event.name': 'api_request', 'session.id': 'S1', model: 'claude-haiku-4-5', input_tokens: '5', output_tokens: '1', cost_usd: '0.0001', duration_ms: '300' } },
  { t: 21, body: 'claude_code.tool_result', attrs: { 'event.name': 'tool_result', 'session.id': 'S1', tool_name: 'Bash', success: 'true' } },
]);
const gemini = logsRequest('gemini-cli', 'gemini-cli', [
  {
    t: 30,
    attrs: { 'event.name': 'gemini_cli.api_response', 'session.id': 'S2', model: 'gemini-2.5-pro', input_token_count: 1000, output_token_count: 100, cached_content_token_count: 400, thoughts_token_count: 50, duration_ms: 900 },
  },
]);
const codex = logsRequest('codex_cli_rs', 'codex_otel', [
  { t: 40, attrs: { 'event.name': 'codex.sse_event', 'event.kind': 'response.output_text.delta', 'conversation.id': 'C3', duration_ms: '1' } },
  {
    t: 41,
    attrs: { 'event.name': 'codex.sse_event', 'event.kind': 'response.completed', 'conversation.id': 'C3', model: 'gpt-5-codex', input_token_count: '900', output_token_count: '80', cached_token_count: '500', reasoning_token_count: '30', tool_token_count: '0' },
  },
]);

function sumMetric(name: string, temporality: 1 | 2, session: string, value: number, startSeconds: number): Record<string, unknown> {
  return {
    name,
    unit: 'tokens',
    sum: {
      aggregationTemporality: temporality,
      isMonotonic: true,
      dataPoints: [{ attributes: kv({ 'session.id': session, type: 'input', model: 'm' }), startTimeUnixNano: ns(startSeconds), timeUnixNano: ns(startSeconds + 60), asDouble: value }],
    },
  };
}

describe('coding-agent telemetry (Claude Code, Gemini CLI, Codex CLI)', () => {
  it('one agent per session, one telemetry row per model request, tokens normalised; retries do not count twice', async () => {
    const c = await testCollector();
    for (const body of [claude, gemini, codex, claude]) {
      const res = await post(`${c.url}/v1/logs`, body, { 'content-type': 'application/json' });
      expect(res.status).toBe(200);
    }
    await c.flush();
    expect(query(c.dbPath, 'SELECT id, agent_type, status, process_id, start_time FROM agents ORDER BY id')).toEqual([
      { id: 'claude-code-S1', agent_type: 'claude-code', status: 'running', process_id: 777n, start_time: 1_760_000_010n },
      { id: 'codex-C3', agent_type: 'codex', status: 'running', process_id: 777n, start_time: 1_760_000_041n },
      { id: 'gemini-cli-S2', agent_type: 'gemini-cli', status: 'running', process_id: 777n, start_time: 1_760_000_030n },
    ]);
    // Last seen at the tool result (t=21), the session's latest event, not only its latest model call.
    expect(query(c.dbPath, 'SELECT agent_id, last_seen, category FROM agent_runs WHERE agent_id = ?', 'claude-code-S1')).toEqual([{ agent_id: 'claude-code-S1', last_seen: 1_760_000_021n, category: 'coding-agent' }]);
    const rows = query(
      c.dbPath,
      `SELECT t.agent_id, t.model, t.provider, t.input_tokens, t.output_tokens, t.cache_read_tokens, t.cache_creation_tokens, t.total_tokens, t.estimated_cost, c.reasoning_tokens, c.duration_ms, c.unpriced
       FROM telemetry t JOIN telemetry_calls c ON c.telemetry_id = t.id ORDER BY t.timestamp`,
    );
    expect(rows).toHaveLength(4);
    expect(rows[0]).toEqual({
      agent_id: 'claude-code-S1', model: 'claude-sonnet-4-5', provider: 'anthropic',
      // Anthropic's input_tokens excludes cache: 12 + 100 read + 50 written.
      input_tokens: 162n, output_tokens: 30n, cache_read_tokens: 100n, cache_creation_tokens: 50n, total_tokens: 192n,
      estimated_cost: 0.0123, reasoning_tokens: 0n, duration_ms: 2300, unpriced: 0n,
    });
    expect(rows[1]).toMatchObject({ agent_id: 'claude-code-S1', model: 'claude-haiku-4-5', input_tokens: 5n, total_tokens: 6n, estimated_cost: 0.0001 });
    expect(rows[2]).toMatchObject({
      agent_id: 'gemini-cli-S2', provider: 'gcp.gemini',
      // Gemini's input already includes cached content; thinking tokens are output.
      input_tokens: 1000n, cache_read_tokens: 400n, output_tokens: 150n, reasoning_tokens: 50n, total_tokens: 1150n,
    });
    expect(rows[3]).toMatchObject({ agent_id: 'codex-C3', provider: 'openai', input_tokens: 900n, cache_read_tokens: 500n, output_tokens: 80n, reasoning_tokens: 30n, total_tokens: 980n });
    // Priced from the price table when the tool sends no cost: never a silent $0.
    for (const r of rows.slice(2)) expect(r.unpriced === 1n ? r.estimated_cost === 0 : (r.estimated_cost as number) > 0).toBe(true);
    expect(c.stats().logs).toEqual({ requests: 4, accepted: 9, rejected: 0 });
  });

  it('metrics with delta and cumulative temporality are accepted and mark their sessions running', async () => {
    const c = await testCollector();
    const body = JSON.stringify({
      resourceMetrics: [
        {
          resource: { attributes: kv({ 'service.name': 'claude-code' }) },
          scopeMetrics: [
            {
              scope: { name: 'com.anthropic.claude_code' },
              metrics: [
                sumMetric('claude_code.token.usage', 1, 'S9', 120, 5),
                sumMetric('claude_code.cost.usage', 2, 'S9', 0.5, 2),
                sumMetric('gemini_cli.token.usage', 2, 'S10', 77, 8),
                sumMetric('some.other.metric', 1, 'S11', 1, 1),
              ],
            },
          ],
        },
      ],
    });
    const res = await post(`${c.url}/v1/metrics`, body, { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    await c.flush();
    expect(query(c.dbPath, 'SELECT id, status, start_time FROM agents ORDER BY id')).toEqual([
      { id: 'claude-code-S9', status: 'running', start_time: 1_760_000_002n },
      { id: 'gemini-cli-S10', status: 'running', start_time: 1_760_000_008n },
    ]);
    expect(query(c.dbPath, 'SELECT COUNT(*) AS n FROM telemetry')).toEqual([{ n: 0n }]);
    expect(c.stats().metrics).toEqual({ requests: 1, accepted: 4, rejected: 0 });
  });
});
