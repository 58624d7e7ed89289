/**
 * Write operations as one flat array of primitives: what the agent's thread hands to the writer
 * thread. Structured clone copies a flat array of strings, numbers and bigints much faster than
 * the same values as an array of row objects (no property names, no object graph).
 */
import { decodeEndedSpan, encodeEndedSpan, type SettledCost } from '../spans/ended-span-transfer.js';
import type { CostFunction } from '../spans/mapping.js';
import type { AgentRow, CallPair, SessionEventRow, SpanRow, TelemetryRow, WriteOp } from '../spans/rows.js';
import type { Attributes, SpanData } from '../spans/span-data.js';
import { endedSpanOps, type ResolvedOwner } from '../spans/span-ops.js';

const AGENT_KEYS = [
  'id', 'parentId', 'planId', 'agentType', 'status', 'processId', 'startTime', 'endTime', 'exitCode', 'errorMessage', 'logFile',
  'name', 'category', 'traceId', 'spanId', 'serviceName', 'startNs', 'endNs',
] as const satisfies readonly (keyof AgentRow)[];

const TELEMETRY_KEYS = [
  'agentId', 'timestamp', 'inputTokens', 'outputTokens', 'cachedTokens', 'cacheCreationTokens', 'cacheReadTokens', 'totalTokens',
  'estimatedCost', 'model', 'provider', 'toolName', 'toolArgs', 'toolApproved', 'toolApprovalType', 'engineId', 'traceId', 'spanId',
  'operation', 'unpriced', 'reasoningTokens', 'durationMs', 'partial', 'turnId', 'timeNs',
] as const satisfies readonly (keyof TelemetryRow)[];

const SESSION_EVENT_KEYS = [
  'recordId', 'agentId', 'turnId', 'kind', 'name', 'ok', 'durationMs', 'promptLength', 'timeNs',
] as const satisfies readonly (keyof SessionEventRow)[];

const SPAN_KEYS = [
  'traceId', 'spanId', 'parentSpanId', 'name', 'kind', 'startNs', 'endNs', 'durationNs', 'statusCode', 'statusMessage', 'serviceName',
  'scopeName', 'agentId', 'attributes', 'events', 'links', 'resource',
] as const satisfies readonly (keyof SpanRow)[];

const enum Code {
  AgentStart = 1,
  SyntheticAgent = 2,
  AgentStatus = 3,
  AgentEnd = 4,
  Telemetry = 5,
  Span = 6,
  Reown = 7,
  WaitFor = 8,
  WaitDone = 9,
  /** An ended span, mapped to its ops by the writer (ended-span-transfer.ts). */
  EndedSpan = 10,
  SessionEvent = 11,
}

export type EncodedOps = unknown[];

function pushRow(out: EncodedOps, row: object, keys: readonly string[]): void {
  const r = row as Record<string, unknown>;
  for (let i = 0; i < keys.length; i++) out.push(r[keys[i]!]);
}

function readRow<T>(data: EncodedOps, at: number, keys: readonly string[]): T {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) row[keys[i]!] = data[at + i];
  return row as T;
}

/** Appends one op to `out`. */
export function encodeOp(op: WriteOp, out: EncodedOps): void {
  switch (op.kind) {
    case 'agentStart':
      out.push(Code.AgentStart);
      pushRow(out, op.row, AGENT_KEYS);
      return;
    case 'syntheticAgent':
      out.push(Code.SyntheticAgent);
      pushRow(out, op.row, AGENT_KEYS);
      return;
    case 'agentStatus':
      out.push(Code.AgentStatus, op.change.id, op.change.status, op.change.time);
      return;
    case 'agentEnd':
      out.push(Code.AgentEnd, op.durationMs);
      pushRow(out, op.row, AGENT_KEYS);
      return;
    case 'telemetry':
      out.push(Code.Telemetry, op.dedupe, op.agentLive ?? false, op.pair?.key ?? null, op.pair?.source ?? null, op.pair?.link?.traceId ?? null, op.pair?.link?.spanId ?? null, op.stubType ?? null);
      pushRow(out, op.row, TELEMETRY_KEYS);
      return;
    case 'span':
      out.push(Code.Span);
      pushRow(out, op.row, SPAN_KEYS);
      return;
    case 'sessionEvent':
      out.push(Code.SessionEvent);
      pushRow(out, op.row, SESSION_EVENT_KEYS);
      return;
    case 'reown':
      out.push(Code.Reown, op.traceId, op.spanId, op.agentId);
      return;
    case 'waitFor':
    case 'waitDone':
      out.push(op.kind === 'waitFor' ? Code.WaitFor : Code.WaitDone, op.traceId, op.spanId);
      return;
  }
}

/** Appends one ended span, to be mapped to its ops by the writer. */
export function encodeEnded(span: SpanData, owner: ResolvedOwner, cost: SettledCost | null, out: EncodedOps): void {
  appendEnded(encodeEndedSpan(span, owner, cost), span.attributes, out);
}

/** Appends one ended span already encoded (ended-span-transfer.ts) and its attributes. */
export function appendEnded(encoded: string, attributes: Readonly<Attributes>, out: EncodedOps): void {
  out.push(Code.EndedSpan, encoded, attributes);
}

/** The ops of an encoded array, in order. */
export function decodeOps(data: EncodedOps): WriteOp[] {
  const units: WriteOp[][] = [];
  decodeUnits(data, units);
  return units.flat();
}

/**
 * Decodes an encoded array into `out`, one entry per queued unit: an op alone, or the ops an
 * ended span maps to (the queue counts and acknowledges units). A span the mapping throws on
 * becomes an empty unit, handed to `unmapped` to be counted as failed.
 */
export function decodeUnits(data: EncodedOps, out: WriteOp[][], unmapped?: (unit: WriteOp[], error: Error) => void): void {
  let i = 0;
  while (i < data.length) {
    const code = data[i++] as Code;
    if (code === Code.EndedSpan) {
      const text = data[i++] as string;
      const attributes = data[i++] as Attributes;
      let ops: WriteOp[] = [];
      try {
        const ended = decodeEndedSpan(text, attributes);
        const cost = ended.cost;
        const price: CostFunction | undefined = cost === null ? undefined : () => cost;
        endedSpanOps(ended.span, ended.owner, price, ops);
      } catch (err) {
        ops = [];
        unmapped?.(ops, err as Error);
      }
      out.push(ops);
      continue;
    }
    const ops: WriteOp[] = [];
    out.push(ops);
    switch (code) {
      case Code.AgentStart:
      case Code.SyntheticAgent:
        ops.push({ kind: code === Code.AgentStart ? 'agentStart' : 'syntheticAgent', row: readRow<AgentRow>(data, i, AGENT_KEYS) });
        i += AGENT_KEYS.length;
        break;
      case Code.AgentStatus:
        ops.push({ kind: 'agentStatus', change: { id: data[i] as string, status: data[i + 1] as AgentRow['status'], time: data[i + 2] as number } });
        i += 3;
        break;
      case Code.AgentEnd:
        ops.push({ kind: 'agentEnd', durationMs: data[i] as number, row: readRow<AgentRow>(data, i + 1, AGENT_KEYS) });
        i += 1 + AGENT_KEYS.length;
        break;
      case Code.Telemetry: {
        const op: WriteOp = { kind: 'telemetry', dedupe: data[i] as boolean, agentLive: data[i + 1] as boolean, row: readRow<TelemetryRow>(data, i + 7, TELEMETRY_KEYS) };
        if (data[i + 6] !== null) op.stubType = data[i + 6] as string;
        // A coding agent's call reported twice (see CallPair): key, source, and the log's span link.
        if (data[i + 2] !== null) {
          const pair: CallPair = { key: data[i + 2] as string, source: data[i + 3] as CallPair['source'] };
          if (data[i + 4] !== null) pair.link = { traceId: data[i + 4] as string, spanId: data[i + 5] as string };
          op.pair = pair;
        }
        ops.push(op);
        i += 7 + TELEMETRY_KEYS.length;
        break;
      }
      case Code.Span:
        ops.push({ kind: 'span', row: readRow<SpanRow>(data, i, SPAN_KEYS) });
        i += SPAN_KEYS.length;
        break;
      case Code.SessionEvent:
        ops.push({ kind: 'sessionEvent', row: readRow<SessionEventRow>(data, i, SESSION_EVENT_KEYS) });
        i += SESSION_EVENT_KEYS.length;
        break;
      case Code.Reown:
        ops.push({ kind: 'reown', traceId: data[i] as string, spanId: data[i + 1] as string, agentId: data[i + 2] as string });
        i += 3;
        break;
      case Code.WaitFor:
      case Code.WaitDone:
        ops.push({ kind: code === Code.WaitFor ? 'waitFor' : 'waitDone', traceId: data[i] as string, spanId: data[i + 1] as string });
        i += 2;
        break;
      default:
        throw new Error(`corrupt write batch: unknown op code ${String(code)} at ${i - 1}`);
    }
  }
}
