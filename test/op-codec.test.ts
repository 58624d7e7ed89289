import { describe, expect, it } from 'vitest';
import type { SessionEventRow, TelemetryRow, WriteOp } from '../src/spans/rows.js';
import { decodeOps, encodeOp, type EncodedOps } from '../src/store/op-codec.js';
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

describe('op codec', () => {
  it('every write op comes out of the flat array as it went in, in order', () => {
    const out: EncodedOps = [];
    for (const op of OPS) encodeOp(op, out);
    expect(out.every((v) => v === null || v === undefined || ['string', 'number', 'bigint', 'boolean'].includes(typeof v))).toBe(true);
    expect(decodeOps(out)).toEqual(OPS);
  });
});
