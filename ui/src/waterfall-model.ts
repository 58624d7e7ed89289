/**
 * Rows of the waterfall: every span of the view on one time axis, children under their parent.
 * A database with agents and calls but no stored spans (an older file, a bulk import) gets rows
 * made from the agent runs and their calls instead.
 */
import { GEN_AI_OPERATION_NAME, MODEL_CALL_OPERATIONS, OP_EXECUTE_TOOL, OP_INVOKE_AGENT } from '../../src/semconv.js';
import type { AgentRecord, Span, TelemetryEntry, TreeNode } from './types.js';

export type RowKind = 'agent' | 'model' | 'tool' | 'other';

export interface WaterfallRow {
  id: string;
  name: string;
  kind: RowKind;
  depth: number;
  /** ms since the epoch (fractional). */
  start: number;
  end: number;
  error: boolean;
  agentId: string | null;
  span?: Span;
  call?: TelemetryEntry;
}

function nsToEpochMs(ns: string): number {
  const b = BigInt(ns);
  return Number(b / 1_000_000n) + Number(b % 1_000_000n) / 1e6;
}

export function kindOf(span: Span): RowKind {
  const op = span.attributes[GEN_AI_OPERATION_NAME];
  if (op === OP_INVOKE_AGENT) return 'agent';
  if (op === OP_EXECUTE_TOOL) return 'tool';
  if (typeof op === 'string' && MODEL_CALL_OPERATIONS.has(op)) return 'model';
  return 'other';
}

export function rowsFromSpans(spans: Span[], calls: TelemetryEntry[]): WaterfallRow[] {
  const bySpan = new Map(calls.filter((c) => c.spanId).map((c) => [c.spanId!, c]));
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string | null, Span[]>();
  for (const s of spans) {
    const parent = s.parentSpanId && ids.has(s.parentSpanId) ? s.parentSpanId : null;
    const list = children.get(parent) ?? [];
    list.push(s);
    children.set(parent, list);
  }
  const out: WaterfallRow[] = [];
  const seen = new Set<string>();
  const visit = (parent: string | null, depth: number): void => {
    for (const s of children.get(parent) ?? []) {
      if (seen.has(s.spanId)) continue;
      seen.add(s.spanId);
      out.push({
        id: s.spanId,
        name: s.name,
        kind: kindOf(s),
        depth,
        start: nsToEpochMs(s.startNs),
        end: nsToEpochMs(s.endNs),
        error: s.statusCode === 2,
        agentId: s.agentId,
        span: s,
        call: bySpan.get(s.spanId),
      });
      visit(s.spanId, depth + 1);
    }
  };
  visit(null, 0);
  return out;
}

/** Rows from the agent runs and their calls, for files without spans. */
export function rowsFromAgents(tree: TreeNode[], calls: TelemetryEntry[], nowMs: number): WaterfallRow[] {
  const byAgent = new Map<string, TelemetryEntry[]>();
  for (const c of calls) {
    const list = byAgent.get(c.agentId) ?? [];
    list.push(c);
    byAgent.set(c.agentId, list);
  }
  const out: WaterfallRow[] = [];
  const visit = (nodes: TreeNode[], depth: number): void => {
    for (const n of nodes) {
      const a: AgentRecord = n.agent;
      const start = a.startTime * 1000;
      const end = a.durationMs !== null ? start + a.durationMs : a.endTime !== null ? a.endTime * 1000 : nowMs;
      out.push({ id: `agent:${a.id}`, name: `invoke_agent ${a.name}`, kind: 'agent', depth, start, end, error: a.status === 'failed' || a.status === 'terminated', agentId: a.id });
      for (const c of byAgent.get(a.id) ?? []) {
        const s = c.timestamp * 1000;
        out.push({
          id: `call:${c.id}`,
          name: c.toolName ? `execute_tool ${c.toolName}` : `chat ${c.model ?? ''}`,
          kind: c.toolName ? 'tool' : 'model',
          depth: depth + 1,
          start: s,
          end: s + (c.durationMs ?? 0),
          error: false,
          agentId: a.id,
          call: c,
        });
      }
      visit(n.children, depth + 1);
    }
  };
  visit(tree, 0);
  return out;
}
