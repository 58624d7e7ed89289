import type { Statement } from 'better-sqlite3';
import { openDatabase, type OpenOptions, type SqliteDatabase } from './database.js';

/**
 * The SQL behind src/health: health history, worker heartbeats, zombie agents, alerts, and the
 * few aggregate reads alert rules need. Times in the health tables are epoch milliseconds;
 * times in the documented tables stay epoch seconds.
 */

export interface HealthChangeRow {
  component: string;
  status: string;
  previousStatus: string | null;
  message: string | null;
  metadata: Record<string, unknown>;
  latencyMs: number | null;
  serviceName: string | null;
  host: string | null;
  processId: number | null;
  timeMs: number;
}

export interface HealthChangeRecord extends HealthChangeRow {
  id: number;
}

export interface HeartbeatRow {
  workerId: string;
  workerType: string;
  metadata: Record<string, unknown>;
  host: string | null;
  processId: number | null;
  /** Heartbeats this row stands for (several beats between two flushes count once each). */
  beats: number;
  timeMs: number;
}

export interface WorkerRecord {
  workerId: string;
  workerType: string;
  /** As a running monitor last evaluated it; recompute from lastHeartbeatMs for the current state. */
  status: string;
  metadata: Record<string, unknown>;
  host: string | null;
  processId: number | null;
  beats: number;
  lastHeartbeatMs: number;
  createdAtMs: number;
  updatedAtMs: number;
}

/** A run still `starting` or `running`, with the last time anything was heard of it. */
export interface ActiveAgentRow {
  id: string;
  name: string;
  agentType: string;
  status: string;
  planId: string | null;
  processId: number | null;
  /** Epoch seconds. */
  startTime: number;
  /** Epoch seconds: the latest of start, status change and model/tool call. */
  lastActivity: number;
}

/** What counting zombies needs of a running agent (no last call: reading those is the cost). */
export interface ActiveAgentSilence {
  processId: number | null;
  /** No start, status change or model/tool call after the cutoff given. */
  silent: boolean;
}

export interface AlertRow {
  rule: string;
  kind: string;
  severity: string;
  /** What the alert is about (a plan id, a worker id, a day); '' for the whole system. Dedup key with `rule`. */
  subject: string;
  title: string;
  message: string;
  value: number | null;
  threshold: number | null;
  details: Record<string, unknown>;
  timeMs: number;
}

export interface AlertRecord extends AlertRow {
  id: number;
  /** Webhook outcome: null (no webhook), 'pending', 'ok 200', 'failed: ...'. */
  delivery: string | null;
}

export interface AgentOutcomes {
  completed: number;
  failed: number;
  terminated: number;
}

export interface PlanCost {
  planId: string;
  costUsd: number;
  calls: number;
}

function parseJson(text: unknown): Record<string, unknown> {
  if (typeof text !== 'string' || text === '') return {};
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const ACTIVE = "('starting','running')";

export class HealthStore {
  readonly db: SqliteDatabase;
  private readonly s: Record<string, Statement>;
  private readonly beatBatch: (rows: readonly HeartbeatRow[]) => void;
  private readonly statusBatch: (rows: readonly { workerId: string; status: string; timeMs: number }[]) => void;
  private readonly terminateBatch: (items: readonly { id: string; reason: string }[], nowMs: number) => number;

  /** Opens (and, unless read-only, migrates) the database at `path`. */
  static open(path: string, options: OpenOptions = {}): HealthStore {
    return new HealthStore(openDatabase(path, options));
  }

  constructor(db: SqliteDatabase) {
    this.db = db;
    const p = (sql: string): Statement => db.prepare(sql);
    const ro = db.readonly;
    const w = (sql: string): Statement | undefined => (ro ? undefined : p(sql));
    this.s = Object.fromEntries(
      Object.entries({
        ping: p('SELECT 1 AS one'),
        insertChange: w(`INSERT INTO health_checks (component, status, previous_status, message, metadata, latency_ms, service_name, host, process_id, time_ms)
          VALUES (@component, @status, @previousStatus, @message, @metadata, @latencyMs, @serviceName, @host, @processId, @timeMs)`),
        latestHealth: p(`SELECT h.* FROM health_checks h
          JOIN (SELECT component, MAX(id) AS id FROM health_checks GROUP BY component) last ON last.id = h.id ORDER BY h.component`),
        history: p('SELECT * FROM health_checks WHERE (@component IS NULL OR component = @component) ORDER BY id DESC LIMIT @limit'),
        upsertBeat: w(`INSERT INTO worker_heartbeats (worker_id, worker_type, status, metadata, host, process_id, beats, last_heartbeat_ms, created_at_ms, updated_at_ms)
          VALUES (@workerId, @workerType, 'healthy', @metadata, @host, @processId, @beats, @timeMs, @timeMs, @timeMs)
          ON CONFLICT(worker_id) DO UPDATE SET
            worker_type = excluded.worker_type,
            status = 'healthy',
            metadata = excluded.metadata,
            host = excluded.host,
            process_id = excluded.process_id,
            beats = worker_heartbeats.beats + excluded.beats,
            last_heartbeat_ms = MAX(worker_heartbeats.last_heartbeat_ms, excluded.last_heartbeat_ms),
            updated_at_ms = excluded.updated_at_ms`),
        workers: p('SELECT * FROM worker_heartbeats ORDER BY worker_type, worker_id'),
        setWorkerStatus: w('UPDATE worker_heartbeats SET status = @status, updated_at_ms = @timeMs WHERE worker_id = @workerId AND status <> @status'),
        activeAgents: p(`SELECT a.id, COALESCE(r.name, a.agent_type) AS name, a.agent_type, a.status, a.plan_id, a.process_id, a.start_time,
            MAX(a.start_time, COALESCE(r.last_seen, 0), COALESCE((SELECT MAX(t.timestamp) FROM telemetry t WHERE t.agent_id = a.id), 0)) AS last_activity
          FROM agents a LEFT JOIN agent_runs r ON r.agent_id = a.id
          WHERE a.status IN ${ACTIVE} AND a.end_time IS NULL ORDER BY a.start_time, a.id`),
        // The same judgement without each run's last call: silence is tested against the calls
        // since the cutoff (idx_telemetry_timestamp; the last hour by default) instead. At 2,000
        // running agents with 10 calls each, reading their calls was 23 ms of activeAgents' 38.
        activeSilence: p(`SELECT a.process_id,
            MAX(a.start_time, COALESCE(r.last_seen, 0)) <= @cutoff AND a.id NOT IN (SELECT t.agent_id FROM telemetry t WHERE t.timestamp > @cutoff) AS silent
          FROM agents a LEFT JOIN agent_runs r ON r.agent_id = a.id
          WHERE a.status IN ${ACTIVE} AND a.end_time IS NULL`),
        terminate: w(`UPDATE agents SET status = 'terminated', end_time = @now, error_message = @reason WHERE id = @id AND status IN ${ACTIVE}`),
        touchRun: w('UPDATE agent_runs SET last_seen = MAX(COALESCE(last_seen, 0), @now) WHERE agent_id = @id'),
        runName: p('SELECT COALESCE(r.name, a.agent_type) AS name, r.category AS category FROM agents a LEFT JOIN agent_runs r ON r.agent_id = a.id WHERE a.id = ?'),
        usageFailure: w(`INSERT INTO agent_usage (agent_id, execution_count, total_duration, total_tokens, success_count, failure_count, last_used_at, category)
          VALUES (@name, 1, 0, 0, 0, 1, @now, @category)
          ON CONFLICT(agent_id) DO UPDATE SET
            execution_count = agent_usage.execution_count + 1,
            failure_count = agent_usage.failure_count + 1,
            last_used_at = MAX(COALESCE(agent_usage.last_used_at, 0), @now)`),
        insertAlert: w(`INSERT INTO alerts (rule, kind, severity, subject, title, message, value, threshold, details, delivery, time_ms)
          VALUES (@rule, @kind, @severity, @subject, @title, @message, @value, @threshold, @details, @delivery, @timeMs)`),
        setDelivery: w('UPDATE alerts SET delivery = ? WHERE id = ?'),
        lastAlert: p('SELECT MAX(time_ms) AS t FROM alerts WHERE rule = ? AND subject = ?'),
        alerts: p('SELECT * FROM alerts WHERE time_ms >= @since ORDER BY id DESC LIMIT @limit'),
        outcomes: p(`SELECT
            COALESCE(SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END), 0) AS completed,
            COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS failed,
            COALESCE(SUM(CASE WHEN status = 'terminated' THEN 1 ELSE 0 END), 0) AS terminated
          FROM agents WHERE end_time IS NOT NULL AND end_time >= @since AND (@type IS NULL OR agent_type = @type)`),
        planCosts: p(`SELECT a.plan_id AS planId, COALESCE(SUM(t.estimated_cost), 0) AS costUsd, COUNT(t.id) AS calls
          FROM agents a JOIN telemetry t ON t.agent_id = a.id
          WHERE a.plan_id IS NOT NULL AND (@plan IS NULL OR a.plan_id = @plan) AND t.timestamp >= @since
          GROUP BY a.plan_id ORDER BY costUsd DESC`),
        costSince: p('SELECT COALESCE(SUM(estimated_cost), 0) AS cost FROM telemetry WHERE timestamp >= ? AND timestamp < ?'),
      }).filter((e): e is [string, Statement] => e[1] !== undefined),
    );
    this.beatBatch = db.transaction((rows: readonly HeartbeatRow[]) => {
      for (const r of rows) this.stmt('upsertBeat').run({ ...r, metadata: JSON.stringify(r.metadata) });
    });
    this.statusBatch = db.transaction((rows: readonly { workerId: string; status: string; timeMs: number }[]) => {
      for (const r of rows) this.stmt('setWorkerStatus').run(r);
    });
    this.terminateBatch = db.transaction((items: readonly { id: string; reason: string }[], nowMs: number) => {
      const now = Math.floor(nowMs / 1000);
      let changed = 0;
      for (const item of items) {
        const info = this.stmt('terminate').run({ id: item.id, reason: item.reason, now });
        if (info.changes === 0) continue;
        changed++;
        this.stmt('touchRun').run({ id: item.id, now });
        // A reaped run counts as a failed execution, as an agent ending `terminated` would.
        const run = this.stmt('runName').get(item.id) as { name: string; category: string | null } | undefined;
        if (run) this.stmt('usageFailure').run({ name: run.name, now, category: run.category });
      }
      return changed;
    });
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** `SELECT 1`: throws when the database cannot answer. */
  ping(): void {
    this.stmt('ping').get();
  }

  recordHealthChange(row: HealthChangeRow): void {
    this.stmt('insertChange').run({ ...row, metadata: JSON.stringify(row.metadata) });
  }

  /** The last recorded state of every component. */
  latestHealth(): HealthChangeRecord[] {
    return (this.stmt('latestHealth').all() as Record<string, unknown>[]).map(toChange);
  }

  /** Newest first. */
  healthHistory(component?: string, limit = 100): HealthChangeRecord[] {
    return (this.stmt('history').all({ component: component ?? null, limit }) as Record<string, unknown>[]).map(toChange);
  }

  /** Upserts heartbeats in one transaction; a heartbeat makes a worker `healthy` again. */
  recordHeartbeats(rows: readonly HeartbeatRow[]): void {
    if (rows.length > 0) this.beatBatch(rows);
  }

  listWorkers(): WorkerRecord[] {
    return (this.stmt('workers').all() as Record<string, unknown>[]).map((r) => ({
      workerId: r.worker_id as string,
      workerType: r.worker_type as string,
      status: r.status as string,
      metadata: parseJson(r.metadata),
      host: r.host as string | null,
      processId: r.process_id as number | null,
      beats: r.beats as number,
      lastHeartbeatMs: r.last_heartbeat_ms as number,
      createdAtMs: r.created_at_ms as number,
      updatedAtMs: r.updated_at_ms as number,
    }));
  }

  /** Stores evaluated worker states (only rows whose state changed are written). */
  setWorkerStatuses(rows: readonly { workerId: string; status: string; timeMs: number }[]): void {
    if (rows.length > 0) this.statusBatch(rows);
  }

  activeAgents(): ActiveAgentRow[] {
    return (this.stmt('activeAgents').all() as Record<string, unknown>[]).map((r) => ({
      id: r.id as string,
      name: r.name as string,
      agentType: r.agent_type as string,
      status: r.status as string,
      planId: r.plan_id as string | null,
      processId: r.process_id as number | null,
      startTime: r.start_time as number,
      lastActivity: r.last_activity as number,
    }));
  }

  /** Running agents' process ids, and whether each has been silent since `cutoff` (epoch seconds). */
  activeAgentSilence(cutoff: number): ActiveAgentSilence[] {
    return (this.stmt('activeSilence').all({ cutoff }) as { process_id: number | null; silent: number }[]).map((r) => ({ processId: r.process_id, silent: r.silent === 1 }));
  }

  /**
   * Marks runs `terminated` with `reason` as their error message, in one transaction. Runs that
   * ended meanwhile are left alone. Returns how many were terminated.
   */
  terminateAgents(items: readonly { id: string; reason: string }[], nowMs = Date.now()): number {
    return items.length === 0 ? 0 : this.terminateBatch(items, nowMs);
  }

  insertAlert(row: AlertRow, delivery: string | null): number {
    const info = this.stmt('insertAlert').run({ ...row, details: JSON.stringify(row.details), delivery });
    return Number(info.lastInsertRowid);
  }

  setAlertDelivery(id: number, delivery: string): void {
    this.stmt('setDelivery').run(delivery, id);
  }

  /** When this rule last fired for this subject (epoch ms), if ever. */
  lastAlertTime(rule: string, subject: string): number | undefined {
    const r = this.stmt('lastAlert').get(rule, subject) as { t: number | null };
    return r.t ?? undefined;
  }

  listAlerts(options: { sinceMs?: number; limit?: number } = {}): AlertRecord[] {
    return (this.stmt('alerts').all({ since: options.sinceMs ?? 0, limit: options.limit ?? 50 }) as Record<string, unknown>[]).map((r) => ({
      id: r.id as number,
      rule: r.rule as string,
      kind: r.kind as string,
      severity: r.severity as string,
      subject: r.subject as string,
      title: r.title as string,
      message: r.message as string,
      value: r.value as number | null,
      threshold: r.threshold as number | null,
      details: parseJson(r.details),
      delivery: r.delivery as string | null,
      timeMs: r.time_ms as number,
    }));
  }

  /** Runs that ended since `sinceSec` (epoch seconds), by final status. */
  agentOutcomes(sinceSec: number, agentType?: string): AgentOutcomes {
    return this.stmt('outcomes').get({ since: sinceSec, type: agentType ?? null }) as AgentOutcomes;
  }

  /** Cost of each plan's model and tool calls made since `sinceSec` (0: all time). */
  planCosts(options: { sinceSec?: number; planId?: string } = {}): PlanCost[] {
    return this.stmt('planCosts').all({ since: options.sinceSec ?? 0, plan: options.planId ?? null }) as PlanCost[];
  }

  /** Total estimated cost of calls in [sinceSec, untilSec). */
  costBetween(sinceSec: number, untilSec: number): number {
    return (this.stmt('costSince').get(sinceSec, untilSec) as { cost: number }).cost;
  }

  private stmt(name: string): Statement {
    const s = this.s[name];
    if (!s) throw new Error(`the health store was opened read-only; ${name} needs a writable database`);
    return s;
  }
}

function toChange(r: Record<string, unknown>): HealthChangeRecord {
  return {
    id: r.id as number,
    component: r.component as string,
    status: r.status as string,
    previousStatus: r.previous_status as string | null,
    message: r.message as string | null,
    metadata: parseJson(r.metadata),
    latencyMs: r.latency_ms as number | null,
    serviceName: r.service_name as string | null,
    host: r.host as string | null,
    processId: r.process_id as number | null,
    timeMs: r.time_ms as number,
  };
}
