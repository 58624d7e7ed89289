import { describe, expect, it } from 'vitest';
import { encodeTracesJson } from '../src/collector/otlp/index.js';
import type { Attributes, SpanData } from '../src/spans/span-data.js';
import { post, query, testCollector } from './collector-fixture.js';

const TRACE = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
let nextId = 1;
const T0 = 1_760_000_000_000_000_000n;

function span(name: string, attributes: Attributes, parent?: SpanData, extra: Partial<SpanData> = {}): SpanData {
  const id = (nextId++).toString(16).padStart(16, '0');
  return {
    traceId: extra.traceId ?? parent?.traceId ?? TRACE,
    spanId: id,
    parentSpanId: parent?.spanId,
    name,
    kind: 0,
    startTimeUnixNano: T0,
    endTimeUnixNano: T0 + 2_000_000_000n,
    statusCode: 0,
    attributes,
    events: [],
    links: [],
    resource: { 'service.name': 'python-agent' },
    ...extra,
  };
}

async function send(url: string, spans: SpanData[]): Promise<void> {
  const res = await post(`${url}/v1/traces`, JSON.stringify(encodeTracesJson(spans)), { 'content-type': 'application/json' });
  expect(res.status).toBe(200);
}

describe('foreign GenAI spans', () => {
  it('OpenInference AGENT / LLM / TOOL spans, children first: rows end up under the agent run', async () => {
    const c = await testCollector();
    const traceId = 'b'.repeat(32);
    const agent = span('research_agent', { 'openinference.span.kind': 'AGENT', 'agent.name': 'researcher' }, undefined, { traceId });
    const chain = span('plan', { 'openinference.span.kind': 'CHAIN' }, agent);
    const llm = span('ChatCompletion', {
      'openinference.span.kind': 'LLM',
      'llm.model_name': 'gpt-4o',
      'llm.provider': 'openai',
      'llm.token_count.prompt': 1000,
      'llm.token_count.completion': 200,
      'llm.token_count.prompt_details.cache_read': 300,
      'llm.token_count.completion_details.reasoning': 50,
    }, chain);
    const tool = span('web_search', { 'openinference.span.kind': 'TOOL', 'tool.name': 'web_search' }, agent);
    // Worst order: the model call, then the agent, then the span that links them.
    await send(c.url, [llm, tool]);
    await c.flush();
    expect(query(c.dbPath, 'SELECT agent_id FROM telemetry WHERE model = ?', 'gpt-4o')).toEqual([{ agent_id: `trace-${traceId}` }]);
    await send(c.url, [agent]);
    await send(c.url, [chain]);
    await c.flush();

    const agents = query(c.dbPath, 'SELECT id, agent_type, status FROM agents ORDER BY id');
    expect(agents).toEqual([{ id: agent.spanId, agent_type: 'researcher', status: 'completed' }]);
    const rows = query(c.dbPath, 'SELECT agent_id, model, provider, input_tokens, output_tokens, cache_read_tokens, total_tokens, tool_name, estimated_cost > 0 AS costed FROM telemetry ORDER BY id');
    expect(rows).toEqual([
      { agent_id: agent.spanId, model: 'gpt-4o', provider: 'openai', input_tokens: 1000n, output_tokens: 200n, cache_read_tokens: 300n, total_tokens: 1200n, tool_name: null, costed: 1n },
      { agent_id: agent.spanId, model: null, provider: null, input_tokens: 0n, output_tokens: 0n, cache_read_tokens: 0n, total_tokens: 0n, tool_name: 'web_search', costed: 0n },
    ]);
    expect(query(c.dbPath, 'SELECT reasoning_tokens, operation, unpriced FROM telemetry_calls WHERE operation = ?', 'chat')).toEqual([{ reasoning_tokens: 50n, operation: 'chat', unpriced: 0n }]);
    expect(query(c.dbPath, 'SELECT span_id FROM spans WHERE agent_id IS NOT ? ORDER BY span_id', agent.spanId)).toEqual([]);
    // The calls moved to a run that had already ended still count towards its usage.
    expect(query(c.dbPath, 'SELECT agent_id, total_tokens, execution_count FROM agent_usage')).toEqual([{ agent_id: 'researcher', total_tokens: 1200n, execution_count: 1n }]);
  });

  it('OpenLLMetry agent and LLM spans (traceloop.*, gen_ai.usage.prompt_tokens, *_input_tokens cache names)', async () => {
    const c = await testCollector();
    const agent = span('planner.agent', { 'traceloop.span.kind': 'agent', 'traceloop.entity.name': 'planner' }, undefined, { traceId: 'c'.repeat(32) });
    const llm = span('anthropic.chat', {
      'llm.request.type': 'chat',
      'gen_ai.system': 'Anthropic',
      'gen_ai.request.model': 'claude-sonnet-4-5',
      'gen_ai.usage.prompt_tokens': 5000,
      'gen_ai.usage.completion_tokens': 100,
      'gen_ai.usage.cache_read_input_tokens': 4000,
      'gen_ai.usage.cache_creation_input_tokens': 500,
      'llm.usage.total_tokens': 5100,
    }, agent);
    await send(c.url, [llm, agent]);
    await c.flush();
    const [row] = query(c.dbPath, 'SELECT agent_id, provider, input_tokens, cache_read_tokens, cache_creation_tokens, total_tokens, estimated_cost FROM telemetry');
    // OpenLLMetry counts cache inside prompt tokens already: nothing is added.
    // Cost: 500 uncached x $3 + 4000 reads x $0.30 + 500 writes x $3.75 + 100 out x $15, per million.
    expect(row).toEqual({ agent_id: agent.spanId, provider: 'Anthropic', input_tokens: 5000n, cache_read_tokens: 4000n, cache_creation_tokens: 500n, total_tokens: 5100n, estimated_cost: (500 * 3 + 4000 * 0.3 + 500 * 3.75 + 100 * 15) / 1e6 });
    expect(query(c.dbPath, 'SELECT agent_type, status FROM agents')).toEqual([{ agent_type: 'planner', status: 'completed' }]);
    expect(query(c.dbPath, 'SELECT agent_id, total_tokens, execution_count FROM agent_usage')).toEqual([{ agent_id: 'planner', total_tokens: 5100n, execution_count: 1n }]);
  });

  it('GenAI semconv spans with no agent above them belong to a synthetic agent for the trace; Anthropic input without cache is normalised', async () => {
    const c = await testCollector();
    const traceId = 'd'.repeat(32);
    const root = span('POST /chat', { 'http.request.method': 'POST' }, undefined, { traceId });
    const current = span('chat claude-sonnet-4-5', {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.request.model': 'claude-sonnet-4-5',
      'gen_ai.usage.input_tokens': 10,
      'gen_ai.usage.output_tokens': 5,
      'gen_ai.usage.cache_read.input_tokens': 100,
      'gen_ai.usage.cache_write.input_tokens': 50,
    }, root);
    const deprecated = span('openai.chat', {
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.prompt_tokens': 40,
      'gen_ai.usage.completion_tokens': 2,
    }, root);
    const unknownModel = span('chat', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'house-model-7b', 'gen_ai.usage.input_tokens': 1, 'gen_ai.usage.output_tokens': 1 }, root);
    await send(c.url, [current, deprecated, unknownModel, root]);
    await c.flush();
    expect(query(c.dbPath, 'SELECT id, agent_type, status FROM agents')).toEqual([{ id: `trace-${traceId}`, agent_type: 'python-agent', status: 'completed' }]);
    expect(
      query(c.dbPath, 'SELECT t.model, t.input_tokens, t.cache_read_tokens, t.cache_creation_tokens, t.total_tokens, c.unpriced FROM telemetry t JOIN telemetry_calls c ON c.telemetry_id = t.id ORDER BY t.model'),
    ).toEqual([
      { model: 'claude-sonnet-4-5', input_tokens: 160n, cache_read_tokens: 100n, cache_creation_tokens: 50n, total_tokens: 165n, unpriced: 0n },
      { model: 'gpt-4o-mini', input_tokens: 40n, cache_read_tokens: 0n, cache_creation_tokens: 0n, total_tokens: 42n, unpriced: 0n },
      { model: 'house-model-7b', input_tokens: 1n, cache_read_tokens: 0n, cache_creation_tokens: 0n, total_tokens: 2n, unpriced: 1n },
    ]);
    // The HTTP root span has no agent and no telemetry: stored, owned by nobody.
    expect(query(c.dbPath, 'SELECT agent_id FROM spans WHERE span_id = ?', root.spanId)).toEqual([{ agent_id: null }]);
  });
  it("agentloupe's own model calls before their run's span: the waiting run shows the type the calls name, then the run's own", async () => {
    const c = await testCollector();
    const traceId = 'c'.repeat(32);
    const run = span('invoke_agent reviewer', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.id': 'run-7', 'gen_ai.agent.name': 'reviewer', 'agentloupe.agent.type': 'reviewer' }, undefined, { traceId });
    const call = (tokens: number): SpanData => span('chat gpt-4o', {
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': tokens, 'gen_ai.usage.output_tokens': 10, 'agentloupe.owner.agent_id': 'run-7', 'gen_ai.agent.name': 'reviewer',
    }, run);
    await send(c.url, [call(100), call(200)]);
    await c.flush();
    expect(query(c.dbPath, 'SELECT id, agent_type, status FROM agents')).toEqual([{ id: 'run-7', agent_type: 'reviewer', status: 'running' }]);
    await send(c.url, [run]);
    await c.flush();
    expect(query(c.dbPath, 'SELECT id, agent_type, status FROM agents')).toEqual([{ id: 'run-7', agent_type: 'reviewer', status: 'completed' }]);
    expect(query(c.dbPath, "SELECT agent_name, agent_type, calls, input_tokens FROM telemetry_hourly WHERE calls <> 0")).toEqual([
      { agent_name: 'reviewer', agent_type: 'reviewer', calls: 2n, input_tokens: 300n },
    ]);
  });
});
