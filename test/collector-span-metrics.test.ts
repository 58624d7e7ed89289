import { afterEach, describe, expect, it } from 'vitest';
import { encodeTracesProtobuf } from '../src/collector/otlp/index.js';
import type { RunningCollector } from '../src/collector/server.js';
import type { SpanData } from '../src/spans/span-data.js';
import { post, query, testCollector } from './collector-fixture.js';
import { parseExposition } from './prometheus-text.js';

const collectors: RunningCollector[] = [];
afterEach(async () => {
  while (collectors.length > 0) await collectors.pop()!.close();
});

const MODELS = ['claude-sonnet-4-5', 'gpt-5-mini'] as const;

/** Model calls of two models and a tool call, under two agent names, some priced by the sender, some unpriced. */
function request(r: number): SpanData[] {
  const traceId = (r + 1).toString(16).padStart(32, '0');
  const resource = { 'service.name': 'metrics-test' };
  const spans: SpanData[] = [];
  for (let i = 0; i < 30; i++) {
    const model = MODELS[i % 2]!;
    const attributes: SpanData['attributes'] = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': model.startsWith('gpt') ? 'openai' : 'anthropic',
      'gen_ai.request.model': model,
      'gen_ai.agent.name': i % 3 === 0 ? 'planner' : 'coder',
      'gen_ai.usage.input_tokens': 100 + i,
      'gen_ai.usage.output_tokens': 10 + i,
      'gen_ai.usage.cache_read.input_tokens': i % 4 === 0 ? 50 : 0,
    };
    if (i % 5 !== 0) attributes['agentloupe.cost.usd'] = 0.001 * (i + 1);
    else attributes['agentloupe.cost.unpriced'] = true;
    spans.push({
      traceId, spanId: (r * 100 + i + 1).toString(16).padStart(16, '0'), name: `chat ${model}`, kind: 2,
      startTimeUnixNano: 1_760_000_000_000_000_000n + BigInt(i) * 1_000_000n, endTimeUnixNano: 1_760_000_000_000_000_000n + BigInt(i) * 1_000_000n + 500_000n,
      statusCode: 0, attributes, events: [], links: [], resource,
    });
  }
  spans.push({
    traceId, spanId: (r * 100 + 99).toString(16).padStart(16, '0'), name: 'execute_tool grep', kind: 0,
    startTimeUnixNano: 1_760_000_000_000_000_000n, endTimeUnixNano: 1_760_000_000_001_000_000n, statusCode: 0,
    attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'grep', 'gen_ai.agent.name': 'coder' }, events: [], links: [], resource,
  });
  return spans;
}

describe("the collector's metrics from received spans", () => {
  it('count every call of a request: token, cost and tool counters equal the stored rows', async () => {
    const c = await testCollector();
    collectors.push(c);
    for (let r = 0; r < 3; r++) {
      const res = await post(`${c.url}/v1/traces`, encodeTracesProtobuf(request(r)), { 'content-type': 'application/x-protobuf' });
      expect(res.status).toBe(200);
    }
    await c.flush();
    const samples = parseExposition(await (await fetch(`${c.url}/metrics`)).text());
    const sum = (name: string, labels: Record<string, string>): number =>
      samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);

    for (const model of MODELS) {
      const [row] = query(
        c.dbPath,
        `SELECT SUM(input_tokens) AS input, SUM(output_tokens) AS output, SUM(cache_read_tokens) AS cacheRead,
           SUM(CASE WHEN c.unpriced = 0 THEN estimated_cost ELSE 0 END) AS cost, SUM(c.unpriced) AS unpriced
         FROM telemetry t JOIN telemetry_calls c ON c.telemetry_id = t.id WHERE model = ?`,
        model,
      );
      expect(sum('agentloupe_tokens_total', { gen_ai_request_model: model, agentloupe_token_kind: 'input' })).toBe(Number(row!.input));
      expect(sum('agentloupe_tokens_total', { gen_ai_request_model: model, agentloupe_token_kind: 'output' })).toBe(Number(row!.output));
      expect(sum('agentloupe_tokens_total', { gen_ai_request_model: model, agentloupe_token_kind: 'cache_read' })).toBe(Number(row!.cacheRead));
      expect(sum('agentloupe_cost_usd_total', { gen_ai_request_model: model })).toBeCloseTo(Number(row!.cost), 9);
      expect(sum('agentloupe_unpriced_calls_total', { gen_ai_request_model: model })).toBe(Number(row!.unpriced));
    }
    // Split by agent name as the spans say, not merged into one series.
    const plannerInput = query(c.dbPath, `SELECT SUM(input_tokens) AS n FROM telemetry t JOIN spans s ON s.span_id = (SELECT span_id FROM telemetry_calls WHERE telemetry_id = t.id)
      WHERE json_extract(s.attributes, '$."gen_ai.agent.name"') = 'planner'`)[0]!.n;
    expect(sum('agentloupe_tokens_total', { gen_ai_agent_name: 'planner', agentloupe_token_kind: 'input' })).toBe(Number(plannerInput));
    expect(sum('agentloupe_tool_calls_total', { gen_ai_tool_name: 'grep' })).toBe(3);
    // Histograms still see every call.
    expect(sum('gen_ai_client_token_usage_count', { gen_ai_token_type: 'input' })).toBe(90);
  });
});
