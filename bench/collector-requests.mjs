// The requests the collector benches send (collector.bench.mjs, collector-http-thread.mjs).

import { createHash } from 'node:crypto';

export const SPANS_PER_REQUEST = 100;

/** Fixed ids that look random, as real clients' are (W3C trace context: random trace and span ids); increasing ids would flatter the storage's indexes. */
const hexId = (seed, length) => createHash('sha256').update(seed).digest('hex').slice(0, length);

/** One request: an agent run with 99 model calls, as agentloupe's own SDK exports them. */
export function requestSpans(r) {
  const traceId = hexId(`trace ${r}`, 32);
  const agentSpan = hexId(`run ${r}`, 16);
  const agentId = `bench-${r}`;
  const t0 = 1_760_000_000_000_000_000n + BigInt(r) * 1_000_000_000n;
  const resource = { 'service.name': 'bench-swarm', 'process.pid': 1 };
  const spans = [];
  for (let i = 0; i < SPANS_PER_REQUEST - 1; i++) {
    spans.push({
      traceId, spanId: hexId(`call ${r} ${i}`, 16), parentSpanId: agentSpan, name: 'chat claude-sonnet-4-5', kind: 2,
      startTimeUnixNano: t0 + BigInt(i) * 1000n, endTimeUnixNano: t0 + BigInt(i) * 1000n + 500n, statusCode: 0,
      attributes: {
        'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.model': 'claude-sonnet-4-5',
        'gen_ai.usage.input_tokens': 1200 + i, 'gen_ai.usage.output_tokens': 200, 'gen_ai.usage.cache_read.input_tokens': 300,
        'agentloupe.owner.agent_id': agentId, 'gen_ai.agent.name': 'worker', 'agentloupe.cost.usd': 0.0042,
      },
      events: [], links: [], resource,
    });
  }
  spans.push({
    traceId, spanId: agentSpan, name: 'invoke_agent worker', kind: 0, startTimeUnixNano: t0, endTimeUnixNano: t0 + 10_000_000n, statusCode: 1,
    attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.id': agentId, 'gen_ai.agent.name': 'worker', 'agentloupe.agent.type': 'worker' },
    events: [], links: [], resource,
  });
  return spans;
}

