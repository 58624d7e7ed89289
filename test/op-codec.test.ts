import { describe, expect, it } from 'vitest';
import type { SessionEventRow, TelemetryRow, WriteOp } from '../src/spans/rows.js';
import { encodeEndedSpan } from '../src/spans/ended-span-transfer.js';
import type { SpanData } from '../src/spans/span-data.js';
import { appendEnded, decodeOps, decodeUnits, encodeOp, HandOverReceiver, HandOverSender, type EncodedOps } from '../src/store/op-codec.js';
import { agentRow, spanRow } from './cli-fixture.js';

// What the collector hands its writer thread: every op survives the flat array exactly. Each field
// of a row gets a value no other field has, so a field written into another's slot shows.
const call: TelemetryRow = {
  agentId: 'run-1', timestamp: 1_780_000_001, inputTokens: 1201, outputTokens: 202, cachedTokens: 303, cacheCreationTokens: 44,
  cacheReadTokens: 305, totalTokens: 1403, estimatedCost: 0.0042, model: 'claude-sonnet-4-5', provider: 'anthropic', toolName: 'bash',
  toolArgs: '{"cmd":"ls"}', toolApproved: true, toolApprovalType: 'auto', engineId: 'engine-9', traceId: 'f'.repeat(32), spanId: 'e'.repeat(16),
  operation: 'chat', unpriced: false, reasoningTokens: 66, durationMs: 12.5, partial: true, turnId: 'prompt-3', timeNs: 1_780_000_001_123_456_789n,
};

const event: SessionEventRow = {
  recordId: 'rec-1', agentId: 'claude_code-s1', turnId: 'prompt-3', kind: 'tool', name: 'Read', ok: false, durationMs: 7, promptLength: null,
  timeNs: 1_780_000_002_000_000_000n,
};

const OPS: WriteOp[] = [
  { kind: 'agentStart', row: agentRow({ id: 'run-1', agentType: 'reviewer', startTime: 1_780_000_000, parentId: 'run-0', planId: 'PLAN-1', name: 'Reviewer', startNs: 5n }) },
  { kind: 'syntheticAgent', row: agentRow({ id: `trace-${'a'.repeat(32)}`, agentType: 'synthetic', startTime: 1_780_000_000 }) },
  { kind: 'agentStatus', change: { id: 'run-1', status: 'running', time: 1_780_000_003 } },
  { kind: 'agentEnd', row: agentRow({ id: 'run-1', agentType: 'reviewer', startTime: 1_780_000_000, status: 'failed', endTime: 1_780_000_009, exitCode: 2 }), durationMs: 9000 },
  { kind: 'telemetry', row: call, dedupe: true, agentLive: true, stubType: 'reviewer', pair: { key: 'k1', source: 'log', link: { traceId: 'b'.repeat(32), spanId: 'c'.repeat(16) } } },
  { kind: 'telemetry', row: { ...call, turnId: undefined, timeNs: undefined, model: null, toolApproved: null }, dedupe: false, agentLive: false },
  { kind: 'span', row: { ...spanRow('run-1', 'd'.repeat(16), 1_780_000_000, 1_780_000_002, 'chat claude'), parentSpanId: 'p'.repeat(16), statusCode: 2, statusMessage: 'boom', attributes: '{"a":1}', events: '[{"name":"e"}]', links: '[]', resource: '{"service.name":"x"}' } },
  { kind: 'sessionEvent', row: event },
  { kind: 'reown', traceId: 'a'.repeat(32), spanId: '1'.repeat(16), agentId: 'run-1' },
  { kind: 'waitFor', traceId: 'a'.repeat(32), spanId: '2'.repeat(16) },
  { kind: 'waitDone', traceId: 'a'.repeat(32), spanId: '3'.repeat(16) },
];

/** A tool span (no telemetry row needed to map it): its resource and attributes vary per case. */
const SPAN: SpanData = {
  traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), name: 'span', kind: 0, startTimeUnixNano: 1_780_000_000_000_000_000n,
  endTimeUnixNano: 1_780_000_001_000_000_000n, statusCode: 0, attributes: {}, events: [], links: [], resource: { 'service.name': 'x' },
};

describe('op codec', () => {
  it('every write op comes out of the flat array as it went in, in order', () => {
    const out: EncodedOps = [];
    for (const op of OPS) encodeOp(op, out);
    expect(out.every((v) => v === null || v === undefined || ['string', 'number', 'bigint', 'boolean'].includes(typeof v))).toBe(true);
    expect(decodeOps(out)).toEqual(OPS);
  });
});

describe('ended spans over one channel', () => {
  it('send each resource and attribute key list once, and every span still arrives with its own values, in its key order', () => {
    const sender = new HandOverSender();
    const rx = new HandOverReceiver();
    const resourceA = { 'service.name': 'a', 'process.pid': 1 };
    const resourceB = { 'service.name': 'b' };
    const chat = (i: number) => ({ 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 100 + i, 'app.tags': ['x', `y${i}`], 'app.flag': i % 2 === 0 });
    const tool = (i: number) => ({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': `t${i}` });
    // Interleaved shapes (chat, tool, a prefix, a superset, the same keys in another order), two resources.
    const sent: [Record<string, unknown>, Record<string, unknown>][] = [];
    for (let i = 0; i < 12; i++) {
      const attrs = [chat(i), tool(i), { 'gen_ai.operation.name': 'chat' }, { ...chat(i), extra: i }, { 'app.flag': true, 'gen_ai.operation.name': 'chat' }, {}][i % 6]!;
      sent.push([i % 3 === 0 ? resourceB : resourceA, attrs]);
    }
    // Three batches, cloned as postMessage clones them; the receiver keeps its numbers across them.
    const received: { resource: unknown; attributes: Record<string, unknown> }[] = [];
    let firstChatSlot: unknown;
    let laterChatSlot: unknown;
    for (const part of [sent.slice(0, 5), sent.slice(5, 9), sent.slice(9)]) {
      const data: EncodedOps = [];
      for (const [resource, attributes] of part) {
        const span = { ...SPAN, resource, attributes } as SpanData;
        const start = data.length;
        appendEnded(encodeEndedSpan(span, { agentId: 'run-1' }, null), resource, attributes, data, sender);
        if (attributes === sent[0]![1]) firstChatSlot = data[start + 3];
        if (attributes === sent[6]![1]) laterChatSlot = data[start + 3];
      }
      const units: WriteOp[][] = [];
      decodeUnits(structuredClone(data), units, (_u, err) => { throw err; }, rx);
      for (const unit of units) {
        const row = unit.find((op) => op.kind === 'span')!.row as { attributes: string; resource: string };
        received.push({ resource: JSON.parse(row.resource), attributes: JSON.parse(row.attributes) as Record<string, unknown> });
      }
    }
    expect(received.map((r) => r.resource)).toEqual(sent.map(([resource]) => resource));
    for (let i = 0; i < sent.length; i++) {
      expect(received[i]!.attributes).toEqual(sent[i]![1]);
      expect(Object.keys(received[i]!.attributes)).toEqual(Object.keys(sent[i]![1]));
    }
    // The first chat span defined its key list; a later one only named it.
    expect(firstChatSlot).toEqual(Object.keys(chat(0)));
    expect(typeof laterChatSlot).toBe('number');
    expect(rx.shapes).toHaveLength(6);
    expect(rx.resources).toHaveLength(2);
  });

  it('past 256 key lists, spans go with their attribute objects and still arrive whole', () => {
    const sender = new HandOverSender();
    const rx = new HandOverReceiver();
    const data: EncodedOps = [];
    const sent = Array.from({ length: 300 }, (_, i) => ({ [`k${i}`]: i, shared: 'v' }));
    for (const attributes of sent) appendEnded(encodeEndedSpan({ ...SPAN, attributes } as SpanData, { agentId: 'run-1' }, null), SPAN.resource, attributes, data, sender);
    const units: WriteOp[][] = [];
    decodeUnits(structuredClone(data), units, (_u, err) => { throw err; }, rx);
    expect(units.map((u) => JSON.parse((u.find((op) => op.kind === 'span')!.row as { attributes: string }).attributes))).toEqual(sent);
    expect(rx.shapes).toHaveLength(256);
  });
});
