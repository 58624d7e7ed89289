/**
 * The one span -> write-operations step. Both entry points, the in-process SqliteSpanProcessor and
 * the collector, resolve an ended span's owner their own way (the processor saw the span start;
 * the collector walks the parents it received) and hand the span and that owner here, so a span
 * means the same rows whichever way it arrived.
 */
import {
  agentRowFromSpan,
  isAgentSpan,
  nsToMs,
  ownerTypeOf,
  spanRowFromSpan,
  statusChangesFromSpan,
  syntheticAgentId,
  syntheticAgentRow,
  telemetryFromSpan,
  type CostFunction,
} from './mapping.js';
import type { TelemetryRow, WriteOp } from './rows.js';
import type { SpanData } from './span-data.js';

/** What an entry point resolved about where an ended span belongs. */
export interface ResolvedOwner {
  /**
   * The agent run that owns a model, tool or other span; undefined when none is known (a model or
   * tool call then goes under its trace's synthetic agent). Ignored for agent spans: they own themselves.
   */
  agentId: string | undefined;
  /** Agent spans: the parent run, when the span does not name one itself. */
  parentAgentId?: string;
  /** Agent spans: how many of the span's events were already written as status changes. */
  statusEventsSeen?: number;
  /** Rows stored earlier wait for this span as their missing ancestor: move them to its run. */
  reown?: boolean;
  /** Skip a telemetry row already stored for the same span (the collector's retries). */
  dedupe?: boolean;
  /** The writer may assume the owning run's row exists and has not ended. */
  agentLive?: boolean;
}

/**
 * Appends the ordered write operations for one ended span to `out`; returns the agent run that
 * owns the span (the span's own run for an agent span), or undefined when none does.
 * `telemetry`, when given, is the span's already-mapped telemetry row (see SpanConversion); its
 * agent id is set here.
 */
export function endedSpanOps(
  span: SpanData,
  owner: ResolvedOwner,
  price: CostFunction | undefined,
  out: WriteOp[],
  telemetry?: TelemetryRow | null,
): string | undefined {
  if (isAgentSpan(span)) {
    const row = agentRowFromSpan(span, owner.parentAgentId);
    if (owner.reown) {
      // The run must exist before rows move to it (telemetry.agent_id is a foreign key).
      out.push({ kind: 'agentStart', row });
      out.push({ kind: 'reown', traceId: span.traceId, spanId: span.spanId, agentId: row.id });
    }
    for (const change of statusChangesFromSpan(span, owner.statusEventsSeen ?? 0)) out.push({ kind: 'agentStatus', change });
    if (span.endTimeUnixNano !== undefined) {
      out.push({ kind: 'agentEnd', row, durationMs: nsToMs(span.endTimeUnixNano - span.startTimeUnixNano) });
    } else if (!owner.reown) {
      out.push({ kind: 'agentStart', row });
    }
    out.push({ kind: 'span', row: spanRowFromSpan(span, row.id) });
    return row.id;
  }
  const agentId = owner.agentId;
  if (agentId !== undefined && owner.reown) out.push({ kind: 'reown', traceId: span.traceId, spanId: span.spanId, agentId });
  let rowAgent: string | null = agentId ?? null;
  const row = telemetry === undefined ? telemetryFromSpan(span, agentId ?? syntheticAgentId(span.traceId), price) : telemetry;
  if (row) {
    if (agentId === undefined) {
      const synthetic = syntheticAgentRow(span);
      rowAgent = synthetic.id;
      out.push({ kind: 'syntheticAgent', row: synthetic });
    }
    row.agentId = rowAgent!;
    const op: WriteOp = { kind: 'telemetry', row, dedupe: owner.dedupe ?? false, agentLive: owner.agentLive ?? false };
    const stubType = agentId === undefined ? undefined : ownerTypeOf(span);
    if (stubType !== undefined) op.stubType = stubType;
    out.push(op);
  }
  out.push({ kind: 'span', row: spanRowFromSpan(span, rowAgent) });
  return agentId;
}
