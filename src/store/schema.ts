/**
 * The database layout. The first three tables are the documented schema (shared seed
 * 000_62d6a1f434882631.txt), spelled exactly as documented: other tools read them. The rest are
 * agentloupe's own tables, documented in the README. Every change is a new migration; a
 * migration never renames or retypes a documented column.
 */

import { rollupMigration } from './rollup.js';

export const DOCUMENTED_TABLES = ['agents', 'telemetry', 'agent_usage'] as const;

export const AGENTS_DDL = `CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    parent_id TEXT,
    plan_id TEXT,
    agent_type TEXT NOT NULL,
    status TEXT NOT NULL,
    process_id INTEGER,
    start_time INTEGER NOT NULL,
    end_time INTEGER,
    exit_code INTEGER,
    error_message TEXT,
    log_file TEXT,
    FOREIGN KEY (parent_id) REFERENCES agents(id)
)`;

export const TELEMETRY_DDL = `CREATE TABLE telemetry (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cached_tokens INTEGER NOT NULL DEFAULT 0,
    cache_creation_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0,
    total_tokens INTEGER NOT NULL DEFAULT 0,
    estimated_cost REAL NOT NULL DEFAULT 0.0,
    model TEXT,
    provider TEXT,
    tool_name TEXT,
    tool_args TEXT,
    tool_approved BOOLEAN,
    tool_approval_type TEXT,
    engine_id TEXT,
    FOREIGN KEY (agent_id) REFERENCES agents(id)
)`;

export const AGENT_USAGE_DDL = `CREATE TABLE agent_usage (
    agent_id TEXT PRIMARY KEY,
    execution_count INTEGER NOT NULL DEFAULT 0,
    total_duration INTEGER NOT NULL DEFAULT 0,
    total_tokens INTEGER NOT NULL DEFAULT 0,
    success_count INTEGER NOT NULL DEFAULT 0,
    failure_count INTEGER NOT NULL DEFAULT 0,
    last_used_at INTEGER,
    category TEXT
)`;

/** The documented index names; their columns follow from the documented purpose of each. */
export const DOCUMENTED_INDEXES: Record<string, string> = {
  idx_agents_parent: 'CREATE INDEX idx_agents_parent ON agents(parent_id)',
  idx_agents_plan: 'CREATE INDEX idx_agents_plan ON agents(plan_id)',
  idx_agents_status: 'CREATE INDEX idx_agents_status ON agents(status)',
  idx_telemetry_agent: 'CREATE INDEX idx_telemetry_agent ON telemetry(agent_id)',
  idx_telemetry_timestamp: 'CREATE INDEX idx_telemetry_timestamp ON telemetry(timestamp)',
  idx_agent_usage_category: 'CREATE INDEX idx_agent_usage_category ON agent_usage(category)',
  idx_agent_usage_last_used: 'CREATE INDEX idx_agent_usage_last_used ON agent_usage(last_used_at)',
};

/**
 * agentloupe's own tables.
 * - agent_runs: what an agent run has beyond the documented columns (name, category, trace
 *   link). `pending_parent_id` holds a parent agent id that is not (yet) in this database — a
 *   parent in another process whose row has not landed — so the documented foreign key stays
 *   valid; the link is filled in when the parent's row arrives.
 * - telemetry_calls: one row per telemetry row, with the span it came from and whether its cost
 *   is known (`unpriced`), so an unknown model never reads as a real $0.
 * - spans: every span, so whole traces can be read back offline (times in ns).
 */
const V1_OWN_TABLES = [
  `CREATE TABLE agent_runs (
    agent_id TEXT PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    category TEXT,
    trace_id TEXT,
    span_id TEXT,
    service_name TEXT,
    pending_parent_id TEXT,
    start_ns INTEGER,
    end_ns INTEGER,
    last_seen INTEGER
  )`,
  'CREATE INDEX idx_agent_runs_pending_parent ON agent_runs(pending_parent_id) WHERE pending_parent_id IS NOT NULL',
  'CREATE INDEX idx_agent_runs_trace ON agent_runs(trace_id)',
  'CREATE INDEX idx_agent_runs_name ON agent_runs(name)',
  `CREATE TABLE telemetry_calls (
    telemetry_id INTEGER PRIMARY KEY REFERENCES telemetry(id) ON DELETE CASCADE,
    trace_id TEXT,
    span_id TEXT,
    operation TEXT,
    unpriced INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens INTEGER NOT NULL DEFAULT 0,
    duration_ms REAL,
    partial INTEGER NOT NULL DEFAULT 0
  )`,
  'CREATE INDEX idx_telemetry_calls_span ON telemetry_calls(span_id)',
  `CREATE TABLE spans (
    trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL,
    parent_span_id TEXT,
    name TEXT NOT NULL,
    kind INTEGER NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    duration_ns INTEGER NOT NULL,
    status_code INTEGER NOT NULL DEFAULT 0,
    status_message TEXT,
    service_name TEXT,
    scope_name TEXT,
    agent_id TEXT,
    attributes TEXT NOT NULL DEFAULT '{}',
    events TEXT NOT NULL DEFAULT '[]',
    links TEXT NOT NULL DEFAULT '[]',
    resource TEXT NOT NULL DEFAULT '{}'
  )`,
  // A rowid table with a unique index, not WITHOUT ROWID: span ids are random, and inserting
  // kilobyte rows in random key order was five times slower than appending them.
  'CREATE UNIQUE INDEX idx_spans_id ON spans(trace_id, span_id)',
  'CREATE INDEX idx_spans_agent ON spans(agent_id)',
  'CREATE INDEX idx_spans_start ON spans(start_ns)',
  'CREATE INDEX idx_spans_service ON spans(service_name, name)',
];

/**
 * Health tables (src/health). Times are epoch milliseconds (`*_ms`): heartbeats and health
 * changes are judged in seconds or less, finer than the documented tables' epoch seconds.
 * - health_checks: one row per status change of a health-checked component (history).
 * - worker_heartbeats: one row per worker, its last heartbeat; `status` is the state a running
 *   monitor last evaluated (healthy | stale | down); readers recompute it from the time.
 * - alerts: every alert that fired, with its webhook delivery outcome.
 */
const V2_HEALTH_TABLES = [
  `CREATE TABLE health_checks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    component TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('healthy', 'degraded', 'unhealthy', 'unknown')),
    previous_status TEXT,
    message TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    latency_ms REAL,
    service_name TEXT,
    host TEXT,
    process_id INTEGER,
    time_ms INTEGER NOT NULL
  )`,
  'CREATE INDEX idx_health_checks_component_time ON health_checks(component, time_ms)',
  `CREATE TABLE worker_heartbeats (
    worker_id TEXT PRIMARY KEY,
    worker_type TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'healthy' CHECK (status IN ('healthy', 'stale', 'down')),
    metadata TEXT NOT NULL DEFAULT '{}',
    host TEXT,
    process_id INTEGER,
    beats INTEGER NOT NULL DEFAULT 0,
    last_heartbeat_ms INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
  )`,
  'CREATE INDEX idx_worker_heartbeats_type_status ON worker_heartbeats(worker_type, status)',
  'CREATE INDEX idx_worker_heartbeats_last_heartbeat ON worker_heartbeats(last_heartbeat_ms)',
  `CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule TEXT NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    value REAL,
    threshold REAL,
    details TEXT NOT NULL DEFAULT '{}',
    delivery TEXT,
    time_ms INTEGER NOT NULL
  )`,
  'CREATE INDEX idx_alerts_rule_subject_time ON alerts(rule, subject, time_ms)',
  'CREATE INDEX idx_alerts_time ON alerts(time_ms)',
];

export interface Migration {
  version: number;
  description: string;
  /** Statements run in one transaction. `documentedExists` is true when adopting a database
   *  that already has the documented tables (for example one written by Radium itself). */
  statements: (documentedExists: boolean) => string[];
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'documented schema (agents, telemetry, agent_usage) and agentloupe tables (agent_runs, telemetry_calls, spans)',
    statements: (documentedExists) => [
      ...(documentedExists
        ? Object.entries(DOCUMENTED_INDEXES).map(([, sql]) => sql.replace('CREATE INDEX', 'CREATE INDEX IF NOT EXISTS'))
        : [AGENTS_DDL, TELEMETRY_DDL, AGENT_USAGE_DDL, ...Object.values(DOCUMENTED_INDEXES)]),
      ...V1_OWN_TABLES,
    ],
  },
  {
    version: 2,
    description: 'health tables (health_checks, worker_heartbeats, alerts)',
    statements: () => V2_HEALTH_TABLES,
  },
  {
    version: 3,
    description: 'query indexes: agents by start time, and by status then start time (agentloupe stats / agents, newest first)',
    // Without these, "the newest N agents" sorts the whole table (bench/queries.bench.mjs).
    statements: () => [
      'CREATE INDEX IF NOT EXISTS idx_agents_start_time ON agents(start_time)',
      'CREATE INDEX IF NOT EXISTS idx_agents_status_start ON agents(status, start_time)',
    ],
  },
  {
    version: 4,
    description: 'hourly telemetry rollup (telemetry_hourly) kept by triggers, and indexes for agent types and durations (agentloupe stats / cost)',
    // Backfilled from the rows already there; see src/store/rollup.ts for how the triggers keep it exact.
    // stats groups agents by type (covering index, no table scan) and reads every run's span
    // times for the duration percentiles (index-only join).
    statements: () => [
      ...rollupMigration(),
      'CREATE INDEX IF NOT EXISTS idx_agents_type ON agents(agent_type)',
      'CREATE INDEX IF NOT EXISTS idx_agent_runs_duration ON agent_runs(agent_id, start_ns, end_ns)',
    ],
  },
  {
    version: 5,
    description: 'collector state that must survive a restart: spans waited for by stored descendants (span_waits), and one row per model call reported twice (telemetry_calls.pair_key / pair_source, telemetry_aliases)',
    // span_waits: a child stored before its parent names the parent here, so the parent re-owns
    // it when it arrives, even in a later collector process.
    // pair_key / pair_source: a coding agent's model call reported both as a log event and as a
    // span is stored once; the row records which sources it came from ('log', 'span', 'both').
    // telemetry_aliases: the other source's (trace id, span id) of a merged call, so a retried
    // export of either source is still recognised as already stored.
    statements: () => [
      'CREATE TABLE span_waits (trace_id TEXT NOT NULL, span_id TEXT NOT NULL, PRIMARY KEY (trace_id, span_id)) WITHOUT ROWID',
      'ALTER TABLE telemetry_calls ADD COLUMN pair_key TEXT',
      'ALTER TABLE telemetry_calls ADD COLUMN pair_source TEXT',
      'CREATE INDEX idx_telemetry_calls_pair ON telemetry_calls(pair_key) WHERE pair_key IS NOT NULL',
      `CREATE TABLE telemetry_aliases (
    span_id TEXT NOT NULL,
    trace_id TEXT NOT NULL DEFAULT '',
    telemetry_id INTEGER NOT NULL REFERENCES telemetry(id) ON DELETE CASCADE,
    PRIMARY KEY (span_id, trace_id)
  ) WITHOUT ROWID`,
      'CREATE INDEX idx_telemetry_aliases_telemetry ON telemetry_aliases(telemetry_id)',
    ],
  },
  {
    version: 6,
    description: 'coding-agent turns: the turn (user prompt) of each model call (telemetry_calls.turn_id, time_ns) and the session events that are not model calls (session_events)',
    // turn_id: the prompt id the coding agent put on the call's event (Claude Code `prompt.id`,
    // Gemini CLI `prompt_id`); NULL when it sent none, and the reader then places the call by
    // time after the session's prompts. time_ns: the event's own time — telemetry.timestamp is
    // whole seconds, too coarse to order a call against a prompt sent in the same second.
    // session_events: user prompts (length only, never the text), tool results and API errors,
    // one row per log record (`record_id` is its hash, so a retried export is stored once).
    // Read per session in time order, hence the index.
    statements: () => [
      'ALTER TABLE telemetry_calls ADD COLUMN turn_id TEXT',
      'ALTER TABLE telemetry_calls ADD COLUMN time_ns INTEGER',
      `CREATE TABLE session_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL UNIQUE,
    agent_id TEXT NOT NULL,
    turn_id TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('prompt', 'tool', 'api_error')),
    name TEXT,
    ok INTEGER,
    duration_ms REAL,
    prompt_length INTEGER,
    time_ns INTEGER NOT NULL
  )`,
      'CREATE INDEX idx_session_events_agent_time ON session_events(agent_id, time_ns)',
    ],
  },
  {
    version: 7,
    description: 'spans and model calls keyed by trace sequence: traces (seq, trace_id), spans.trace_seq and telemetry_calls.trace_seq, indexed with span_id in place of the trace/span id indexes',
    // Span ids are random: an index led by them (or by the random trace id) takes every insert to
    // a random page, and each commit then writes one index page per span into the WAL and again
    // at the checkpoint — at 200,000 stored spans that was two thirds of the write time
    // (docs/performance.md). A trace gets a sequence number when first seen (one random insert per
    // trace, into `traces`); keyed by it, a trace's spans land together at the index's end.
    // AUTOINCREMENT: a number is never reused, even after prune forgets a trace.
    statements: () => [
      'CREATE TABLE traces (seq INTEGER PRIMARY KEY AUTOINCREMENT, trace_id TEXT NOT NULL UNIQUE)',
      // In order of first appearance, so the backfilled numbers follow time as new ones will.
      // Calls after spans: a call's trace without any span stored is rare (a log event's context).
      `INSERT INTO traces (trace_id)
        SELECT trace_id FROM (SELECT trace_id, MIN(first) AS first FROM (
          SELECT trace_id, MIN(rowid) AS first FROM spans GROUP BY trace_id
          UNION ALL SELECT trace_id, 9e18 + MIN(telemetry_id) FROM telemetry_calls WHERE trace_id IS NOT NULL GROUP BY trace_id
        ) GROUP BY trace_id) ORDER BY first`,
      'ALTER TABLE spans ADD COLUMN trace_seq INTEGER',
      'UPDATE spans SET trace_seq = (SELECT seq FROM traces WHERE traces.trace_id = spans.trace_id)',
      'ALTER TABLE telemetry_calls ADD COLUMN trace_seq INTEGER',
      'UPDATE telemetry_calls SET trace_seq = (SELECT seq FROM traces WHERE traces.trace_id = telemetry_calls.trace_id) WHERE trace_id IS NOT NULL',
      'DROP INDEX idx_spans_id',
      'CREATE UNIQUE INDEX idx_spans_trace ON spans(trace_seq, span_id)',
      'DROP INDEX idx_telemetry_calls_span',
      'CREATE INDEX idx_telemetry_calls_trace ON telemetry_calls(trace_seq, span_id)',
    ],
  },
];

/**
 * A trace's sequence number (schema 7) from its id, as a SQL subquery: spans and calls are
 * indexed by `(trace_seq, span_id)`, so a trace's rows are found through it (`expr` is the
 * trace id: a parameter or a column).
 */
export const traceSeqOf = (expr: string): string => `(SELECT seq FROM traces WHERE trace_id = ${expr})`;

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
