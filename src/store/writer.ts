import type { Statement, Transaction } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';
import type { AgentRow, CallPair, TelemetryRow, WriteOp } from '../spans/rows.js';
import { syntheticAgentId } from '../spans/mapping.js';

/** How far apart (epoch seconds) the two reports of one model call may be to be paired. */
export const CALL_PAIR_WINDOW_SECONDS = 600;

/** What one `apply` did. Ops that could not be stored are counted, never thrown. */
export interface ApplyResult {
  applied: number;
  failed: number;
  /** The first error seen, for reporting. */
  error?: Error;
}

const TERMINAL = "('completed','failed','terminated')";

interface AgentForTelemetry {
  end_time: number | null;
  name: string | null;
}

/**
 * All SQL writes. Statements are prepared once; a batch of ops is one transaction. When a batch
 * fails as a whole, its ops are retried one by one so that one bad row costs only itself.
 */
export class SqliteWriter {
  private readonly s: Record<string, Statement>;
  private readonly v5: Record<string, Statement> | undefined;
  private readonly v6: Record<string, Statement> | undefined;
  private readonly batch: Transaction<(ops: readonly WriteOp[]) => void>;
  /**
   * The owning run of recent telemetry rows, as agentForTelemetry read it, within one transaction
   * and only while nothing but telemetry and span rows is written: a request's hundred model
   * calls under one run then look it up once. Any other op may change agents, so it clears this.
   */
  private readonly agentCache = new Map<string, AgentForTelemetry | undefined>();
  /** Schema 7: a trace's sequence number (schema.ts) by trace id, within one transaction. */
  private readonly traces: { find: Statement; add: Statement } | undefined;
  private readonly seqCache = new Map<string, number>();

  constructor(readonly db: SqliteDatabase) {
    const p = (sql: string): Statement => db.prepare(sql);
    // Schema 7 keys spans and calls by trace sequence (schema.ts); a writer on an older file, before
    // it is migrated (tests build such files), keys them by trace id as that file's indexes do.
    const v7 = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'traces'").get() !== undefined;
    // A trace's rows, by sequence on schema 7 (the named parameters carry both).
    const inTrace = (alias: string): string => (v7 ? `${alias}trace_seq = @traceSeq` : `${alias}trace_id = @traceId`);
    this.s = {
      agentExists: p('SELECT parent_id, end_time FROM agents WHERE id = ?'),
      agentForTelemetry: p('SELECT a.end_time AS end_time, r.name AS name FROM agents a LEFT JOIN agent_runs r ON r.agent_id = a.id WHERE a.id = ?'),
      upsertAgentStart: p(`INSERT INTO agents (id, parent_id, plan_id, agent_type, status, process_id, start_time, end_time, exit_code, error_message, log_file)
        VALUES (@id, @parentId, @planId, @agentType, @status, @processId, @startTime, NULL, NULL, NULL, @logFile)
        ON CONFLICT(id) DO UPDATE SET
          parent_id = COALESCE(agents.parent_id, excluded.parent_id),
          plan_id = COALESCE(excluded.plan_id, agents.plan_id),
          agent_type = excluded.agent_type,
          status = CASE WHEN agents.status IN ${TERMINAL} THEN agents.status ELSE excluded.status END,
          process_id = COALESCE(excluded.process_id, agents.process_id),
          start_time = MIN(agents.start_time, excluded.start_time),
          log_file = COALESCE(excluded.log_file, agents.log_file)`),
      upsertRun: p(`INSERT INTO agent_runs (agent_id, name, category, trace_id, span_id, service_name, pending_parent_id, start_ns, end_ns, last_seen)
        VALUES (@id, @name, @category, @traceId, @spanId, @serviceName, @pendingParentId, @startNs, @endNs, @lastSeen)
        ON CONFLICT(agent_id) DO UPDATE SET
          name = excluded.name,
          category = COALESCE(excluded.category, agent_runs.category),
          trace_id = COALESCE(excluded.trace_id, agent_runs.trace_id),
          span_id = COALESCE(excluded.span_id, agent_runs.span_id),
          service_name = COALESCE(excluded.service_name, agent_runs.service_name),
          pending_parent_id = COALESCE(excluded.pending_parent_id, agent_runs.pending_parent_id),
          start_ns = COALESCE(agent_runs.start_ns, excluded.start_ns),
          end_ns = COALESCE(excluded.end_ns, agent_runs.end_ns),
          last_seen = MAX(COALESCE(agent_runs.last_seen, 0), excluded.last_seen)`),
      // `+parent_id`: without the unary plus SQLite drives these updates from idx_agents_parent's
      // NULL entries, i.e. every root run, on each agent start (14% of the collector's writer
      // thread at a few thousand runs, growing with the database); the id list is the short side.
      adoptChildren: p('UPDATE agents SET parent_id = @id WHERE +parent_id IS NULL AND id IN (SELECT agent_id FROM agent_runs WHERE pending_parent_id = @id)'),
      clearPending: p('UPDATE agent_runs SET pending_parent_id = NULL WHERE pending_parent_id = @id'),
      setStatus: p(`UPDATE agents SET status = @status WHERE id = @id AND status NOT IN ${TERMINAL}`),
      touchRun: p('UPDATE agent_runs SET last_seen = MAX(COALESCE(last_seen, 0), @time) WHERE agent_id = @id'),
      endAgent: p(`UPDATE agents SET status = @status, end_time = @endTime, exit_code = @exitCode, error_message = @errorMessage,
          process_id = COALESCE(process_id, @processId), log_file = COALESCE(@logFile, log_file) WHERE id = @id`),
      sumTokens: p('SELECT COALESCE(SUM(total_tokens), 0) AS tokens FROM telemetry WHERE agent_id = ?'),
      upsertUsage: p(`INSERT INTO agent_usage (agent_id, execution_count, total_duration, total_tokens, success_count, failure_count, last_used_at, category)
        VALUES (@name, @runs, @durationMs, @tokens, @success, @failure, @lastUsedAt, @category)
        ON CONFLICT(agent_id) DO UPDATE SET
          execution_count = agent_usage.execution_count + excluded.execution_count,
          total_duration = agent_usage.total_duration + excluded.total_duration,
          total_tokens = agent_usage.total_tokens + excluded.total_tokens,
          success_count = agent_usage.success_count + excluded.success_count,
          failure_count = agent_usage.failure_count + excluded.failure_count,
          last_used_at = MAX(COALESCE(agent_usage.last_used_at, 0), COALESCE(excluded.last_used_at, 0)),
          category = COALESCE(excluded.category, agent_usage.category)`),
      upsertSynthetic: p(`INSERT INTO agents (id, parent_id, plan_id, agent_type, status, process_id, start_time, end_time, exit_code, error_message, log_file)
        VALUES (@id, NULL, NULL, @agentType, @status, @processId, @startTime, @endTime, NULL, NULL, NULL)
        ON CONFLICT(id) DO UPDATE SET start_time = MIN(agents.start_time, excluded.start_time), end_time = MAX(COALESCE(agents.end_time, 0), excluded.end_time)`),
      stubAgent: p(`INSERT OR IGNORE INTO agents (id, agent_type, status, start_time) VALUES (?, ?, 'running', ?)`),
      // IS, not =: telemetry from log events (coding agents) may have no trace id.
      telemetryExists: p(v7 ? 'SELECT 1 FROM telemetry_calls WHERE trace_seq IS @traceSeq AND span_id = @spanId' : 'SELECT 1 FROM telemetry_calls WHERE span_id = @spanId AND trace_id IS @traceId'),
      // Descendants of a span still waiting for an owner: no agent, or the trace's synthetic one.
      // The walk stops at spans owned by a real agent (an agent span owns itself).
      reownSpans: p(`WITH RECURSIVE sub(span_id) AS (
          SELECT span_id FROM spans WHERE ${inTrace('')} AND parent_span_id = @spanId AND (agent_id IS NULL OR agent_id = @synthetic)
          UNION
          SELECT c.span_id FROM spans c JOIN sub ON c.parent_span_id = sub.span_id
            WHERE ${inTrace('c.')} AND (c.agent_id IS NULL OR c.agent_id = @synthetic)
        )
        UPDATE spans SET agent_id = @agentId WHERE ${inTrace('')} AND span_id IN (SELECT span_id FROM sub) RETURNING span_id`),
      reownTokens: p(`SELECT COALESCE(SUM(total_tokens), 0) AS tokens FROM telemetry WHERE agent_id = @synthetic
          AND id IN (SELECT telemetry_id FROM telemetry_calls WHERE ${inTrace('')} AND span_id = @spanId)`),
      reownTelemetry: p(`UPDATE telemetry SET agent_id = @agentId WHERE agent_id = @synthetic
          AND id IN (SELECT telemetry_id FROM telemetry_calls WHERE ${inTrace('')} AND span_id = @spanId)`),
      // Agent runs directly under a re-owned span (or under the span itself) gain their parent.
      reownChildAgents: p(`UPDATE agents SET parent_id = @agentId WHERE +parent_id IS NULL AND id <> @agentId AND id IN (
          SELECT r.agent_id FROM agent_runs r JOIN spans s ON ${inTrace('s.')} AND s.span_id = r.span_id
          WHERE r.trace_id = @traceId AND s.parent_span_id = @spanId)`),
      dropEmptyUsage: p('DELETE FROM agent_usage WHERE agent_id = ? AND execution_count = 0 AND total_tokens <= 0'),
      dropEmptySynthetic: p(`DELETE FROM agents WHERE id = @synthetic AND NOT EXISTS (SELECT 1 FROM telemetry WHERE agent_id = @synthetic)
          AND NOT EXISTS (SELECT 1 FROM agents c WHERE c.parent_id = @synthetic)`),
      insertTelemetry: p(`INSERT INTO telemetry (agent_id, timestamp, input_tokens, output_tokens, cached_tokens, cache_creation_tokens, cache_read_tokens,
          total_tokens, estimated_cost, model, provider, tool_name, tool_args, tool_approved, tool_approval_type, engine_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      insertCall: p(`INSERT INTO telemetry_calls (telemetry_id, trace_id, span_id, operation, unpriced, reasoning_tokens, duration_ms, partial${v7 ? ', trace_seq' : ''})
        VALUES (?, ?, ?, ?, ?, ?, ?, ?${v7 ? ', ?' : ''})`),
      // Positional, unlike the rare agent statements: binding by name costs a lookup per column on every model call.
      insertSpan: p(`INSERT OR REPLACE INTO spans (trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, duration_ns, status_code,
          status_message, service_name, scope_name, agent_id, attributes, events, links, resource${v7 ? ', trace_seq' : ''})
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?${v7 ? ', ?' : ''})`),
    };
    // Schema 5's collector state (span_waits, call pairing). A writer on an older file, before it
    // is migrated (tests build such files), writes everything else and skips these.
    const hasV5 = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'telemetry_aliases'").get() !== undefined;
    this.v5 = hasV5
      ? {
          insertWait: p('INSERT OR IGNORE INTO span_waits (trace_id, span_id) VALUES (?, ?)'),
          deleteWait: p('DELETE FROM span_waits WHERE trace_id = ? AND span_id = ?'),
          aliasExists: p('SELECT 1 FROM telemetry_aliases WHERE span_id = ? AND trace_id = ?'),
          insertAlias: p('INSERT OR IGNORE INTO telemetry_aliases (span_id, trace_id, telemetry_id) VALUES (?, ?, ?)'),
          // The other report of a call: same key, same agent, the other source, nearest in time.
          pairTwin: p(`SELECT t.id AS id, t.agent_id AS agent, t.total_tokens AS tokens FROM telemetry t JOIN telemetry_calls c ON c.telemetry_id = t.id
              WHERE c.pair_key = @key AND c.pair_source = @other AND t.agent_id = @agentId AND ABS(t.timestamp - @timestamp) <= ${CALL_PAIR_WINDOW_SECONDS}
              ORDER BY ABS(t.timestamp - @timestamp), t.id LIMIT 1`),
          // A log event emitted inside the call's own span.
          linkTwin: p(`SELECT t.id AS id, t.agent_id AS agent, t.total_tokens AS tokens FROM telemetry t JOIN telemetry_calls c ON c.telemetry_id = t.id
              WHERE ${inTrace('c.')} AND c.span_id = @spanId AND c.pair_source = 'span'`),
          // The log report is the fuller one (session, model, reported cost): it overwrites a span report.
          mergeLogIntoRow: p(`UPDATE telemetry SET agent_id = @agentId, timestamp = @timestamp, input_tokens = @inputTokens, output_tokens = @outputTokens,
              cached_tokens = @cachedTokens, cache_creation_tokens = @cacheCreationTokens, cache_read_tokens = @cacheReadTokens, total_tokens = @totalTokens,
              estimated_cost = @estimatedCost, model = COALESCE(@model, model), provider = COALESCE(@provider, provider) WHERE id = @id`),
          mergeLogIntoCall: p(`UPDATE telemetry_calls SET pair_source = 'both', unpriced = @unpriced, reasoning_tokens = @reasoningTokens,
              duration_ms = COALESCE(duration_ms, @durationMs) WHERE telemetry_id = @id`),
          markPaired: p(`UPDATE telemetry_calls SET pair_source = 'both' WHERE telemetry_id = ?`),
          movedPairRows: p(`SELECT t.id AS id, t.timestamp AS timestamp, t.total_tokens AS tokens, c.pair_key AS key FROM telemetry t JOIN telemetry_calls c ON c.telemetry_id = t.id
              WHERE ${inTrace('c.')} AND c.span_id = @spanId AND c.pair_source = 'span' AND t.agent_id = @agentId`),
          deleteTelemetry: p('DELETE FROM telemetry WHERE id = ?'),
          setPair: p('UPDATE telemetry_calls SET pair_key = ?, pair_source = ? WHERE telemetry_id = ?'),
        }
      : undefined;
    // Schema 6's coding-agent turns; skipped on an older file like v5's state.
    const hasV6 = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'session_events'").get() !== undefined;
    this.v6 = hasV6
      ? {
          setTurn: p('UPDATE telemetry_calls SET turn_id = COALESCE(@turnId, turn_id), time_ns = COALESCE(@timeNs, time_ns) WHERE telemetry_id = @id'),
          insertEvent: p(`INSERT OR IGNORE INTO session_events (record_id, agent_id, turn_id, kind, name, ok, duration_ms, prompt_length, time_ns)
            VALUES (@recordId, @agentId, @turnId, @kind, @name, @ok, @durationMs, @promptLength, @timeNs)`),
        }
      : undefined;
    this.traces = v7
      ? { find: p('SELECT seq FROM traces WHERE trace_id = ?').pluck(), add: p('INSERT INTO traces (trace_id) VALUES (?) RETURNING seq').pluck() }
      : undefined;
    this.batch = db.transaction((ops: readonly WriteOp[]) => {
      this.agentCache.clear();
      // Per transaction only: a rolled-back transaction takes its new numbers with it.
      this.seqCache.clear();
      for (const op of ops) {
        this.applyOne(op);
        // Any other op may change runs (paired coding-agent calls move rows between them too).
        if (op.kind !== 'span' && (op.kind !== 'telemetry' || op.pair !== undefined)) this.agentCache.clear();
      }
    });
  }

  /** Applies ops in order, in one transaction when possible. Never throws. */
  apply(ops: readonly WriteOp[]): ApplyResult {
    if (ops.length === 0) return { applied: 0, failed: 0 };
    try {
      // IMMEDIATE: the lock is taken (or waited for) up front. A deferred transaction that reads
      // first fails at its first write with SQLITE_BUSY_SNAPSHOT, no wait, whenever another
      // process committed in between — that alone dropped rows when processes started together.
      this.batch.immediate(ops);
      return { applied: ops.length, failed: 0 };
    } catch (err) {
      if (isBusy(err) || !this.db.open) return { applied: 0, failed: ops.length, error: err as Error };
      // Find the bad op(s): one transaction each, so the rest still land.
      let failed = 0;
      let first: Error | undefined;
      for (const op of ops) {
        try {
          this.batch.immediate([op]);
        } catch (e) {
          failed++;
          first ??= e as Error;
        }
      }
      return { applied: ops.length - failed, failed, error: first ?? (err as Error) };
    }
  }

  private applyOne(op: WriteOp): void {
    switch (op.kind) {
      case 'agentStart':
        this.agentStart(op.row);
        return;
      case 'syntheticAgent':
        this.s.upsertSynthetic!.run(agentParams(op.row));
        this.s.upsertRun!.run(runParams(op.row, null));
        return;
      case 'agentStatus':
        this.s.setStatus!.run({ id: op.change.id, status: op.change.status });
        this.s.touchRun!.run({ id: op.change.id, time: op.change.time });
        return;
      case 'agentEnd':
        this.agentEnd(op.row, op.durationMs);
        return;
      case 'telemetry':
        this.telemetry(op.row, op.dedupe, op.agentLive ?? false, op.pair, op.stubType);
        return;
      case 'span': {
        const r = op.row;
        const row = [r.traceId, r.spanId, r.parentSpanId, r.name, r.kind, r.startNs, r.endNs, r.durationNs, r.statusCode,
          r.statusMessage, r.serviceName, r.scopeName, r.agentId, r.attributes, r.events, r.links, r.resource];
        if (this.traces !== undefined) row.push(this.traceSeq(r.traceId, true));
        this.s.insertSpan!.run(row);
        return;
      }
      case 'sessionEvent': {
        const r = op.row;
        this.v6?.insertEvent!.run({ ...r, ok: r.ok === null ? null : r.ok ? 1 : 0 });
        return;
      }
      case 'reown':
        this.reown(op.traceId, op.spanId, op.agentId);
        this.v5?.deleteWait!.run(op.traceId, op.spanId);
        return;
      case 'waitFor':
        this.v5?.insertWait!.run(op.traceId, op.spanId);
        return;
      case 'waitDone':
        this.v5?.deleteWait!.run(op.traceId, op.spanId);
        return;
    }
  }

  private reown(traceId: string, spanId: string, agentId: string): void {
    const synthetic = syntheticAgentId(traceId);
    if (agentId === synthetic) return;
    const trace = this.traceParams(traceId);
    const moved = this.s.reownSpans!.all({ ...trace, spanId, agentId, synthetic }) as { span_id: string }[];
    const agent = this.s.agentForTelemetry!.get(agentId) as { end_time: number | null; name: string | null } | undefined;
    const syntheticRun = this.s.agentForTelemetry!.get(synthetic) as { end_time: number | null; name: string | null } | undefined;
    // A stand-in until the run itself arrives; its start_time then becomes the earlier, real one.
    if (!agent && moved.length > 0) this.s.stubAgent!.run(agentId, 'unknown', Math.floor(Date.now() / 1000));
    let tokens = 0;
    for (const parent of [spanId, ...moved.map((m) => m.span_id)]) {
      if (parent !== spanId) {
        tokens += (this.s.reownTokens!.get({ ...trace, spanId: parent, synthetic }) as { tokens: number }).tokens;
        this.s.reownTelemetry!.run({ ...trace, spanId: parent, agentId, synthetic });
      }
      this.s.reownChildAgents!.run({ ...trace, spanId: parent, agentId });
    }
    if (moved.length === 0) return;
    // A moved call that the agent already has from its other source (a coding agent's log event) is the same call.
    let merged = 0;
    for (const m of this.v5 ? moved : []) {
      const v5 = this.v5!;
      for (const row of v5.movedPairRows!.all({ ...trace, spanId: m.span_id, agentId }) as { id: number; timestamp: number; tokens: number; key: string }[]) {
        const twin = v5.pairTwin!.get({ key: row.key, other: 'log', agentId, timestamp: row.timestamp }) as { id: number } | undefined;
        if (!twin) continue;
        v5.deleteTelemetry!.run(row.id);
        v5.insertAlias!.run(m.span_id, traceId, twin.id);
        v5.markPaired!.run(twin.id);
        merged += row.tokens;
      }
    }
    this.s.dropEmptySynthetic!.run({ synthetic });
    // The synthetic agent had counted these calls in its usage row (it is always ended): take them back.
    if (syntheticRun?.name && tokens > 0) {
      this.s.upsertUsage!.run({ name: syntheticRun.name, runs: 0, durationMs: 0, tokens: -tokens, success: 0, failure: 0, lastUsedAt: null, category: null });
      this.s.dropEmptyUsage!.run(syntheticRun.name);
    }
    // Calls moved to a run that already ended still count towards its agent's usage.
    if (agent && agent.end_time !== null && agent.name && tokens - merged > 0) {
      this.s.upsertUsage!.run({ name: agent.name, runs: 0, durationMs: 0, tokens: tokens - merged, success: 0, failure: 0, lastUsedAt: null, category: null });
    }
  }

  /** Tokens leave `from` and join `to` in agent_usage, for runs that have ended (running runs are summed at their end). */
  private moveUsage(from: string, fromTokens: number, to: string, toTokens: number): void {
    const was = this.s.agentForTelemetry!.get(from) as { end_time: number | null; name: string | null } | undefined;
    const now = from === to ? was : (this.s.agentForTelemetry!.get(to) as { end_time: number | null; name: string | null } | undefined);
    const add = (name: string, tokens: number): void => {
      if (tokens === 0) return;
      this.s.upsertUsage!.run({ name, runs: 0, durationMs: 0, tokens, success: 0, failure: 0, lastUsedAt: null, category: null });
      if (tokens < 0) this.s.dropEmptyUsage!.run(name);
    };
    if (was?.end_time != null && was.name) add(was.name, -fromTokens);
    if (now?.end_time != null && now.name) add(now.name, toTokens);
  }

  /**
   * The second report of a call already stored from its other source: the log report's values
   * win (it names the session and the model), both identities are kept for retries, and a
   * synthetic agent left empty by the move is removed.
   */
  private mergePair(v5: Record<string, Statement>, twin: { id: number; agent: string; tokens: number }, row: TelemetryRow, pair: CallPair): void {
    v5.insertAlias!.run(row.spanId, row.traceId ?? '', twin.id);
    if (pair.source === 'span') {
      v5.markPaired!.run(twin.id);
      return;
    }
    v5.mergeLogIntoRow!.run({ ...telemetryParams(row), id: twin.id });
    v5.mergeLogIntoCall!.run({ id: twin.id, unpriced: row.unpriced ? 1 : 0, reasoningTokens: row.reasoningTokens, durationMs: row.durationMs });
    this.setTurn(twin.id, row);
    this.moveUsage(twin.agent, twin.tokens, row.agentId, row.totalTokens);
    if (twin.agent !== row.agentId && twin.agent.startsWith('trace-')) this.s.dropEmptySynthetic!.run({ synthetic: twin.agent });
  }

  /** A coding agent's call: which turn it belongs to and its exact time (schema 6). */
  private setTurn(id: number | bigint, row: TelemetryRow): void {
    if (!this.v6 || ((row.turnId ?? null) === null && (row.timeNs ?? null) === null)) return;
    this.v6.setTurn!.run({ id, turnId: row.turnId ?? null, timeNs: row.timeNs ?? null });
  }

  private agentStart(row: AgentRow): { existed: boolean; ended: boolean } {
    const existing = this.s.agentExists!.get(row.id) as { parent_id: string | null; end_time: number | null } | undefined;
    let parentId = row.parentId;
    let pending: string | null = null;
    if (parentId !== null && parentId !== row.id && !this.s.agentExists!.get(parentId)) {
      pending = parentId;
      parentId = null;
    }
    if (parentId === row.id) parentId = null;
    this.s.upsertAgentStart!.run(agentParams({ ...row, parentId, status: row.status === 'starting' || row.status === 'running' ? row.status : 'running' }));
    this.s.upsertRun!.run(runParams(row, existing?.parent_id ? null : pending));
    if (!existing || existing.end_time === null) {
      this.s.adoptChildren!.run({ id: row.id });
      this.s.clearPending!.run({ id: row.id });
    }
    return { existed: existing !== undefined, ended: existing?.end_time != null };
  }

  private agentEnd(row: AgentRow, durationMs: number): void {
    const { ended } = this.agentStart(row);
    this.s.endAgent!.run(agentParams(row));
    // agent_usage counts each run once, even if its end arrives twice (collector retries).
    if (ended) return;
    const { tokens } = this.s.sumTokens!.get(row.id) as { tokens: number };
    this.s.upsertUsage!.run({
      name: row.name,
      runs: 1,
      durationMs: Math.max(0, Math.round(durationMs)),
      tokens,
      success: row.status === 'completed' ? 1 : 0,
      failure: row.status === 'completed' ? 0 : 1,
      lastUsedAt: row.endTime,
      category: row.category,
    });
  }

  /**
   * Schema 7: the trace's sequence number, numbered now when `create` and the trace is new;
   * null for no trace id, or for an unknown trace when not creating (it then has no rows).
   */
  private traceSeq(traceId: string | null, create: boolean): number | null {
    if (this.traces === undefined || traceId === null) return null;
    let seq = this.seqCache.get(traceId);
    if (seq !== undefined) return seq;
    seq = (this.traces.find.get(traceId) as number | undefined) ?? (create ? (this.traces.add.get(traceId) as number) : undefined);
    if (seq === undefined) return null;
    this.seqCache.set(traceId, seq);
    return seq;
  }

  /** Whether a call of this span is stored (the collector's retries). */
  private callExists(traceId: string | null, spanId: string): boolean {
    if (this.traces !== undefined && traceId !== null) {
      const seq = this.traceSeq(traceId, false);
      // A trace not numbered yet has no rows.
      if (seq === null) return false;
      return this.s.telemetryExists!.get({ traceSeq: seq, spanId }) !== undefined;
    }
    return this.s.telemetryExists!.get({ traceSeq: null, traceId, spanId }) !== undefined;
  }

  /** Named parameters naming a trace both ways (see inTrace in the constructor). */
  private traceParams(traceId: string): { traceId: string; traceSeq: number | null } {
    return { traceId, traceSeq: this.traceSeq(traceId, false) };
  }

  private agentForTelemetry(id: string): AgentForTelemetry | undefined {
    if (this.agentCache.has(id)) return this.agentCache.get(id);
    const agent = this.s.agentForTelemetry!.get(id) as AgentForTelemetry | undefined;
    this.agentCache.set(id, agent);
    return agent;
  }

  /** The placeholder run a telemetry row needs for its foreign key until the run itself arrives. */
  private stubAgent(id: string, time: number, type: string | undefined): void {
    this.s.stubAgent!.run(id, type ?? 'unknown', time);
    this.agentCache.set(id, { end_time: null, name: null });
  }

  private telemetry(row: TelemetryRow, dedupe: boolean, agentLive: boolean, pair: CallPair | undefined, stubType: string | undefined): void {
    const v5 = this.v5;
    if (dedupe && row.spanId && (this.callExists(row.traceId, row.spanId) || v5?.aliasExists!.get(row.spanId, row.traceId ?? ''))) return;
    if (pair && row.spanId && v5) {
      if (!agentLive && !this.agentForTelemetry(row.agentId)) this.stubAgent(row.agentId, row.timestamp, stubType);
      const twin = ((pair.link && pair.source === 'log' ? v5.linkTwin!.get({ ...this.traceParams(pair.link.traceId), spanId: pair.link.spanId }) : undefined) ??
        v5.pairTwin!.get({ key: pair.key, other: pair.source === 'log' ? 'span' : 'log', agentId: row.agentId, timestamp: row.timestamp })) as
        | { id: number; agent: string; tokens: number }
        | undefined;
      if (twin) {
        this.mergePair(v5, twin, row, pair);
        return;
      }
    }
    const agent = agentLive ? undefined : this.agentForTelemetry(row.agentId);
    if (!agent && !agentLive) this.stubAgent(row.agentId, row.timestamp, stubType);
    const info = this.s.insertTelemetry!.run(
      row.agentId,
      row.timestamp,
      row.inputTokens,
      row.outputTokens,
      row.cachedTokens,
      row.cacheCreationTokens,
      row.cacheReadTokens,
      row.totalTokens,
      row.estimatedCost,
      row.model,
      row.provider,
      row.toolName,
      row.toolArgs,
      row.toolApproved === null ? null : row.toolApproved ? 1 : 0,
      row.toolApprovalType,
      row.engineId,
    );
    const call = [info.lastInsertRowid, row.traceId, row.spanId, row.operation, row.unpriced ? 1 : 0, row.reasoningTokens, row.durationMs, row.partial ? 1 : 0];
    if (this.traces !== undefined) call.push(this.traceSeq(row.traceId, true));
    this.s.insertCall!.run(call);
    if (pair && v5) v5.setPair!.run(pair.key, pair.source, info.lastInsertRowid);
    this.setTurn(info.lastInsertRowid, row);
    // A call that ends after its agent run was closed still counts towards the agent's usage.
    if (agent && agent.end_time !== null && agent.name && row.totalTokens > 0) {
      this.s.upsertUsage!.run({
        name: agent.name, runs: 0, durationMs: 0, tokens: row.totalTokens, success: 0, failure: 0, lastUsedAt: null, category: null,
      });
    }
  }
}

function telemetryParams(row: TelemetryRow): Record<string, unknown> {
  return {
    agentId: row.agentId,
    timestamp: row.timestamp,
    inputTokens: row.inputTokens,
    outputTokens: row.outputTokens,
    cachedTokens: row.cachedTokens,
    cacheCreationTokens: row.cacheCreationTokens,
    cacheReadTokens: row.cacheReadTokens,
    totalTokens: row.totalTokens,
    estimatedCost: row.estimatedCost,
    model: row.model,
    provider: row.provider,
  };
}

function agentParams(row: AgentRow): Record<string, unknown> {
  return {
    id: row.id,
    parentId: row.parentId,
    planId: row.planId,
    agentType: row.agentType,
    status: row.status,
    processId: row.processId,
    startTime: row.startTime,
    endTime: row.endTime,
    exitCode: row.exitCode,
    errorMessage: row.errorMessage,
    logFile: row.logFile,
  };
}

function runParams(row: AgentRow, pendingParentId: string | null): Record<string, unknown> {
  return {
    id: row.id,
    name: row.name,
    category: row.category,
    traceId: row.traceId,
    spanId: row.spanId,
    serviceName: row.serviceName,
    pendingParentId,
    startNs: row.startNs,
    endNs: row.endNs,
    lastSeen: row.endTime ?? row.startTime,
  };
}

export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  // SQLITE_BUSY and its extended codes (_SNAPSHOT, _RECOVERY, _TIMEOUT), SQLITE_LOCKED likewise.
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}
