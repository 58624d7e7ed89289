/**
 * Received spans -> write ops, through the one span-to-ops step (src/spans/span-ops.ts); what is
 * the collector's own is how a span's owner is resolved.
 *
 * The in-process processor knows each span's agent from onStart; the collector only sees ended
 * spans, in any order (exporters batch by end time, so children usually come before their
 * parents). A span's agent run is resolved as: the span itself when it is an agent span; else the
 * run it names (`agentloupe.owner.agent_id`, agentloupe's own spans); else the owner of its nearest
 * ancestor — found in the same request, in a bounded cache of recently received spans, or in the
 * database. A model or tool call with no agent above it is written under the synthetic agent of
 * its trace (`trace-<traceId>`).
 *
 * Arrival order does not change the result: when a span arrives whose descendants were stored
 * earlier without an agent (they named it as their missing parent), a `reown` op moves those
 * descendants — spans, telemetry rows and the parent link of nested agent runs — to the run that
 * now owns them, and the synthetic agent is removed once nothing is left under it. The list of
 * spans waited for is kept in the database too (span_waits), so this holds across a restart.
 *
 * Coding agents (Claude Code, Gemini CLI, Codex) name their session on their spans; such a span
 * belongs to the session's run (`<tool>-<session>`, the run their log events create), and a
 * model call they report both as a span and as a log event is paired into one row by the
 * writer (see coding-agents.ts callPairKey).
 */
import * as A from '../semconv.js';
import { agentIdOf, isAgentSpan, syntheticAgentId, telemetryFromSpan, type CostFunction } from '../spans/mapping.js';
import { endedSpanOps } from '../spans/span-ops.js';
import type { CallPair, TelemetryRow, WriteOp } from '../spans/rows.js';
import type { SpanData } from '../spans/span-data.js';
import type { SpanOwnerLookup } from '../store/span-owners.js';
import { codingAgentSessionOf, codingAgentSpanCall, sessionAgentRow } from './coding-agents.js';

/** A resolved owner: an agent run id, or null for "no agent run (yet)". */
type Owner = string | null;

export interface SpanOpsOptions {
  lookup: SpanOwnerLookup;
  price?: CostFunction;
  /** Recently received spans whose owner is remembered. Default 200 000. */
  maxRecentSpans?: number;
  /** Spans that stored descendants are waiting for. Default 100 000. */
  maxWaiting?: number;
  /** The waiting list a previous collector left in the database (span_waits). */
  waiting?: readonly { traceId: string; spanId: string }[];
}

function key(traceId: string, spanId: string): string {
  return `${traceId}/${spanId}`;
}

export class SpanOpsBuilder {
  private readonly recent = new Map<string, string>();
  private readonly waiting = new Set<string>();
  private readonly maxRecent: number;
  private readonly maxWaiting: number;
  /** Descendants that could not be remembered as waiting (the set was full). */
  waitingOverflow = 0;

  constructor(private readonly options: SpanOpsOptions) {
    this.maxRecent = options.maxRecentSpans ?? 200_000;
    this.maxWaiting = options.maxWaiting ?? 100_000;
    for (const w of options.waiting ?? []) if (this.waiting.size < this.maxWaiting) this.waiting.add(key(w.traceId, w.spanId));
  }

  /** Spans whose arrival will re-own stored descendants (kept in memory, mirrored in span_waits). */
  get waitingCount(): number {
    return this.waiting.size;
  }

  /**
   * Ops for one request's spans, in an order the writer can apply. `telemetry`, when given, gets
   * each span's telemetry row as telemetryFromSpan maps it (null: none; undefined: an agent
   * span, or a coding agent's call, whose row is its own), for the metrics to use the same
   * conversion instead of a second one.
   */
  build(spans: readonly SpanData[], telemetry?: (TelemetryRow | null | undefined)[]): WriteOp[] {
    const batch = new Map<string, SpanData>();
    // Each span's key is joined once: a fresh joined string costs more to hash than the lookups.
    const keys: string[] = new Array<string>(spans.length);
    for (let i = 0; i < spans.length; i++) batch.set((keys[i] = key(spans[i]!.traceId, spans[i]!.spanId)), spans[i]!);
    const memo = new Map<string, Owner>();
    const ops: WriteOp[] = [];
    this.newWaits = [];
    const sessions = new Set<string>();
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!;
      const k = keys[i]!;
      const reown = this.waiting.delete(k);
      if (reown) ops.push({ kind: 'waitDone', traceId: span.traceId, spanId: span.spanId });
      // A coding agent's span that names its session: the session's run must exist before rows go under it.
      const session = codingAgentSessionOf(span);
      if (session !== undefined) {
        const id = `${session.tool}-${session.session}`;
        if (!sessions.has(id)) {
          sessions.add(id);
          ops.push({ kind: 'agentStart', row: sessionAgentRow(session.tool, session.session, span.resource, span.startTimeUnixNano) });
        }
      }
      let owner: Owner;
      if (isAgentSpan(span)) {
        const parent = this.ownerOfParent(span, batch, memo);
        owner = endedSpanOps(span, { agentId: undefined, parentAgentId: parent ?? undefined, reown, dedupe: true }, this.options.price, ops)!;
      } else {
        owner = this.namedOwner(span) ?? this.ownerOfParent(span, batch, memo);
        // A coding agent's model-call span: its own row, which the writer pairs with the call's log event.
        const call = codingAgentSpanCall(span, owner ?? syntheticAgentId(span.traceId), this.options.price);
        const from = ops.length;
        // Mapped here once (endedSpanOps sets its agent id), shared with the metrics.
        const row = call?.row ?? telemetryFromSpan(span, '', this.options.price) ?? null;
        if (telemetry !== undefined) telemetry[i] = call === undefined ? row : undefined;
        endedSpanOps(span, { agentId: owner ?? undefined, reown, dedupe: true }, this.options.price, ops, row);
        if (call) for (let i = from; i < ops.length; i++) if (ops[i]!.kind === 'telemetry') (ops[i] as { pair?: CallPair }).pair = call.pair;
      }
      memo.set(k, owner);
      // Only real owners are cached: "no owner" can change (a late parent re-owns the span).
      if (owner !== null) this.remember(k, owner);
    }
    for (const w of this.newWaits) ops.push({ kind: 'waitFor', traceId: w.traceId, spanId: w.spanId });
    return ops;
  }

  /** Spans first waited for while building the current request. */
  private newWaits: { traceId: string; spanId: string }[] = [];

  private namedOwner(span: SpanData): Owner {
    const v = span.attributes[A.AGENTLOUPE_OWNER_AGENT_ID];
    if (typeof v === 'string' && v !== '') return v;
    const session = codingAgentSessionOf(span);
    return session === undefined ? null : `${session.tool}-${session.session}`;
  }

  /**
   * The run that owns `span`'s parent. Walks up through the request iteratively (a hostile
   * request may chain thousands of spans), then the cache, then the database.
   */
  private ownerOfParent(span: SpanData, batch: Map<string, SpanData>, memo: Map<string, Owner>): Owner {
    const chain: string[] = [];
    let current = span;
    let result: Owner = null;
    for (;;) {
      const parentId = current.parentSpanId;
      if (parentId === undefined) break;
      const pk = key(current.traceId, parentId);
      if (memo.has(pk)) {
        result = memo.get(pk)!;
        break;
      }
      const parent = batch.get(pk);
      if (parent === undefined) {
        result = this.ownerOutsideRequest(current.traceId, parentId, pk);
        memo.set(pk, result);
        break;
      }
      if (isAgentSpan(parent)) {
        result = agentIdOf(parent);
        memo.set(pk, result);
        break;
      }
      const named = this.namedOwner(parent);
      if (named !== null) {
        result = named;
        memo.set(pk, result);
        break;
      }
      chain.push(pk);
      current = parent;
      if (chain.length > batch.size) break; // a cycle in hostile input
    }
    for (const k of chain) memo.set(k, result);
    return result;
  }

  private ownerOutsideRequest(traceId: string, spanId: string, k: string): Owner {
    if (this.recent.has(k)) return this.recent.get(k)!;
    const stored = this.options.lookup.ownerOf(traceId, spanId);
    if (stored.found) return stored.agentId;
    // Not seen yet: remember (here and in the database) that something below it waits, so its
    // arrival re-owns the rows, in this process or a later one.
    if (this.waiting.has(k)) return null;
    if (this.waiting.size < this.maxWaiting) {
      this.waiting.add(k);
      this.newWaits.push({ traceId, spanId });
    } else this.waitingOverflow++;
    return null;
  }

  private remember(k: string, owner: string): void {
    if (this.recent.size >= this.maxRecent) {
      // Drop the oldest tenth: Map iterates in insertion order.
      let n = Math.ceil(this.maxRecent / 10);
      for (const old of this.recent.keys()) {
        this.recent.delete(old);
        if (--n === 0) break;
      }
    }
    this.recent.set(k, owner);
  }
}
