import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { decodeEndedSpan, encodeEndedReadableSpan, encodeEndedSpan } from '../src/spans/ended-span-transfer.js';
import { fromReadableSpan } from '../src/spans/readable-span.js';
import type { WriteOp } from '../src/spans/rows.js';
import type { SpanData } from '../src/spans/span-data.js';
import { endedSpanOps, type ResolvedOwner } from '../src/spans/span-ops.js';
import { decodeUnits, encodeEnded } from '../src/store/op-codec.js';

const resource = { 'service.name': 'transfer-test', 'process.pid': 42 };

function modelCall(over: Partial<SpanData> = {}): SpanData {
  return {
    traceId: 'ab'.repeat(16),
    spanId: 'cd'.repeat(8),
    parentSpanId: 'ef'.repeat(8),
    // Free text that could break a naive field format: the separator itself, quotes, newlines, non-ASCII.
    name: 'chat \u0001 "model"\nü',
    kind: 2,
    startTimeUnixNano: 1_760_000_000_123_456_789n,
    endTimeUnixNano: 1_760_000_001_987_654_321n,
    statusCode: 2,
    statusMessage: 'rate \u0001 limited',
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-5-mini',
      'gen_ai.usage.input_tokens': 1234,
      'gen_ai.usage.output_tokens': 56,
      'gen_ai.usage.cache_read.input_tokens': 1000,
      'app.tags': ['a', 'b\u0001c'],
      'app.flag': true,
    },
    events: [{ name: 'exception', timeUnixNano: 1_760_000_001_000_000_001n, attributes: { 'exception.message': 'boom' } }],
    links: [{ traceId: '12'.repeat(16), spanId: '34'.repeat(8), attributes: { why: 'retry' } }],
    resource,
    scopeName: 'openai-scope',
    ...over,
  };
}


function viaWriter(span: SpanData, owner: ResolvedOwner, cost: { costUsd: number; priced: boolean } | null): WriteOp[] {
  const data: unknown[] = [];
  encodeEnded(span, owner, cost, data);
  // What postMessage does to the batch on its way to the writer thread.
  const units: WriteOp[][] = [];
  decodeUnits(structuredClone(data), units);
  expect(units).toHaveLength(1);
  return units[0]!;
}

describe('an ended span handed to the writer thread', () => {
  it('maps to exactly the rows the same span maps to on the recording thread', () => {
    const cases: [SpanData, ResolvedOwner, { costUsd: number; priced: boolean } | null][] = [
      [modelCall(), { agentId: 'run-1', agentLive: true }, { costUsd: 0.0123, priced: true }],
      [modelCall({ parentSpanId: undefined, statusMessage: undefined, scopeName: undefined, events: [], links: [] }), { agentId: undefined }, null],
      [
        modelCall({
          name: 'invoke_agent planner',
          attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.id': 'run-2', 'gen_ai.agent.name': 'planner', 'agentloupe.agent.type': 'planner' },
          events: [{ name: 'agentloupe.agent.status_change', timeUnixNano: 1_760_000_000_500_000_000n, attributes: { 'agentloupe.agent.status': 'running' } }],
        }),
        { agentId: undefined, parentAgentId: 'run-1', statusEventsSeen: 0 },
        null,
      ],
      // Text fields at the edges of their plain form: empty (not absent), starting with the escape
      // character, the separator inside an owner id.
      [modelCall({ name: '', statusMessage: '', scopeName: '\u0002{"x":1}' }), { agentId: 'run\u00011', parentAgentId: '' }, null],
      [modelCall({ name: '\u0002', statusMessage: '"quoted"', scopeName: '' }), { agentId: '\u0002run' }, { costUsd: 0, priced: false }],
    ];
    for (const [span, owner, cost] of cases) {
      const decoded = decodeEndedSpan(encodeEndedSpan(span, owner, cost), span.resource, span.attributes);
      expect(decoded.span).toEqual(span);
      expect(decoded.owner).toEqual({ statusEventsSeen: 0, agentLive: false, ...owner });
      expect(decoded.cost).toEqual(cost);
      const direct: WriteOp[] = [];
      endedSpanOps(span, owner, cost === null ? undefined : () => cost, direct);
      expect(viaWriter(span, owner, cost)).toEqual(direct);
    }
    // The agent case really carries its status change through (not two empty lists agreeing).
    const agentOps = viaWriter(cases[2]![0], cases[2]![1], null).map((o) => o.kind);
    expect(agentOps).toEqual(['agentStatus', 'agentEnd', 'span']);
  });

  it('an unreadable hand-over becomes an empty unit that is reported, and the units after it still map', () => {
    const data: unknown[] = [];
    encodeEnded(modelCall(), { agentId: 'run-1' }, null, data);
    data[1] = 'not a span';
    encodeEnded(modelCall({ spanId: '99'.repeat(8) }), { agentId: 'run-1' }, null, data);
    const units: WriteOp[][] = [];
    const errors: string[] = [];
    decodeUnits(data, units, (_unit, err) => errors.push(err.message));
    expect(units.map((u) => u.length)).toEqual([0, 2]);
    expect(errors).toEqual([expect.stringContaining('malformed span hand-over')]);
  });

  it('an SDK span encodes the same straight from the SDK as through SpanData', async () => {
    const ended: ReadableSpan[] = [];
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'transfer-test' }),
      spanProcessors: [{ onStart() {}, onEnd: (s) => ended.push(s), forceFlush: async () => {}, shutdown: async () => {} }],
    });
    const tracer = provider.getTracer('transfer-scope');
    const parent = tracer.startSpan('parent');
    const linked = tracer.startSpan('linked');
    const { trace } = await import('@opentelemetry/api');
    const child = tracer.startSpan(
      'chat \u0001 "x"',
      { kind: 2, attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 7 }, links: [{ context: linked.spanContext(), attributes: { why: 'retry' } }] },
      trace.setSpan((await import('@opentelemetry/api')).context.active(), parent),
    );
    child.addEvent('exception', { 'exception.message': 'boom' });
    child.setStatus({ code: 2, message: 'bad \u0001 gateway' });
    child.end();
    linked.end();
    parent.end();
    for (const span of ended) {
      const owner = { agentId: 'run-1', parentAgentId: 'run-0', statusEventsSeen: 1, agentLive: true };
      expect(encodeEndedReadableSpan(span, owner, { costUsd: 0.5, priced: false })).toBe(encodeEndedSpan(fromReadableSpan(span), owner, { costUsd: 0.5, priced: false }));
    }
    expect(ended.map((s) => s.events.length + s.links.length)).toEqual([2, 0, 0]);
  });
});
