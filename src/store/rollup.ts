/**
 * The hourly telemetry rollup (`telemetry_hourly`, migration 4): per UTC hour, call kind, model,
 * provider, agent name, agent type and plan, the sums `stats` and `cost --by ...` need, so they
 * read thousands of rollup rows instead of every telemetry row.
 *
 * SQLite triggers keep it right for every writer — the in-process processor, the collector,
 * `prune`, and other tools writing the documented tables — so no write path has to remember it.
 * The agent columns come from `agents` / `agent_runs` at write time, and triggers there move an
 * agent's rows when its type, plan or name changes (the collector often stores a model call
 * before the agent run that owns it).
 *
 * Key columns are NOT NULL (they form a WITHOUT ROWID primary key, and UNIQUE treats NULLs as
 * distinct, which would break the upsert): a NULL source value is stored as the zero-length
 * blob X'' — never a value agentloupe writes, and distinct from the text '' — and read back with
 * NULLIF(col, X''). `agent_type = X''` marks calls whose agent is not in `agents`; the raw
 * queries join `agents`, so those calls count by model, provider and day but not by agent,
 * type or plan. Key columns carry no declared type, so values are stored exactly as in
 * `telemetry` (no affinity conversion) and group exactly as the raw GROUP BY does.
 *
 * Cost is summed with Neumaier compensation (`cost_error` holds the running rounding error), so
 * adding and later subtracting a call's cost (prune, re-keying) leaves no floating-point residue,
 * and rows whose calls drop to zero are deleted.
 *
 * Not covered: `INSERT OR REPLACE` into `telemetry` by another tool over an existing id (SQLite
 * fires no delete trigger for the replaced row unless `recursive_triggers` is on), and changing
 * `agents.id` while telemetry refers to it (the foreign key refuses that). `rebuildRollup`
 * recomputes the table from scratch in either case.
 */

import type { SqliteDatabase } from './database.js';
import type { TimeRange } from './reader.js';

export const ROLLUP_TABLE = 'telemetry_hourly';

/** Seconds per rollup bucket: `hour = telemetry.timestamp / 3600` (integer division, UTC). */
export const HOUR = 3600;

export const ROLLUP_DDL = `CREATE TABLE telemetry_hourly (
    hour INTEGER NOT NULL,
    tool INTEGER NOT NULL,
    model NOT NULL,
    provider NOT NULL,
    agent_name NOT NULL,
    agent_type NOT NULL,
    plan_id NOT NULL,
    calls INTEGER NOT NULL DEFAULT 0,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0,
    cache_creation_tokens INTEGER NOT NULL DEFAULT 0,
    total_tokens INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0.0,
    cost_error REAL NOT NULL DEFAULT 0.0,
    reasoning_tokens INTEGER NOT NULL DEFAULT 0,
    unpriced_calls INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, tool, model, provider, agent_name, agent_type, plan_id)
  ) WITHOUT ROWID`;

const COLUMNS = `hour, tool, model, provider, agent_name, agent_type, plan_id, calls, input_tokens, output_tokens, cache_read_tokens,
      cache_creation_tokens, total_tokens, cost, cost_error, reasoning_tokens, unpriced_calls`;

// In DO UPDATE, a bare column is the stored value and excluded.* the incoming one.
const UPSERT = `ON CONFLICT (hour, tool, model, provider, agent_name, agent_type, plan_id) DO UPDATE SET
      calls = calls + excluded.calls,
      input_tokens = input_tokens + excluded.input_tokens,
      output_tokens = output_tokens + excluded.output_tokens,
      cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
      cache_creation_tokens = cache_creation_tokens + excluded.cache_creation_tokens,
      total_tokens = total_tokens + excluded.total_tokens,
      cost = cost + excluded.cost,
      cost_error = cost_error + CASE WHEN abs(cost) >= abs(excluded.cost)
        THEN (cost - (cost + excluded.cost)) + excluded.cost
        ELSE (excluded.cost - (cost + excluded.cost)) + cost END,
      reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
      unpriced_calls = unpriced_calls + excluded.unpriced_calls`;

interface AgentKeys {
  name: string;
  type: string;
  plan: string;
}

/** The agent keys as they stand now, from `a` (agents) and `r` (agent_runs) joined to the row. */
const CURRENT: AgentKeys = {
  name: "COALESCE(r.name, a.agent_type, X'')",
  type: "COALESCE(a.agent_type, X'')",
  plan: "COALESCE(a.plan_id, X'')",
};

/** Keys of a call whose agent is not in `agents`. */
const ORPHAN: AgentKeys = { name: "X''", type: "X''", plan: "X''" };

const AGENT_JOIN = (agentId: string): string => `LEFT JOIN agents a ON a.id = ${agentId} LEFT JOIN agent_runs r ON r.agent_id = a.id`;

/** The rollup key of telemetry row `t` (a table alias, or new/old). */
function rowKeys(t: string, keys: AgentKeys): string {
  return `${t}.timestamp / ${HOUR}, ${t}.tool_name IS NOT NULL, COALESCE(${t}.model, X''), COALESCE(${t}.provider, X''),
      ${keys.name}, ${keys.type}, ${keys.plan}`;
}

/**
 * The values of one upsert of telemetry row `t` into the rollup, with sign +1/-1. `base` adds the
 * row's own counts; `extra` adds its telemetry_calls part (`c`).
 */
function rowValues(t: string, sign: 1 | -1, keys: AgentKeys, parts: { base: boolean; extra: boolean }, c = 'c'): string {
  const s = sign === 1 ? '' : '-';
  const base = (col: string): string => (parts.base ? `${s}${t}.${col}` : '0');
  return `${rowKeys(t, keys)},
      ${parts.base ? `${s}1` : '0'}, ${base('input_tokens')}, ${base('output_tokens')}, ${base('cache_read_tokens')},
      ${base('cache_creation_tokens')}, ${base('total_tokens')}, ${parts.base ? `${s}${t}.estimated_cost` : '0.0'}, 0.0,
      ${parts.extra ? `${s}COALESCE(${c}.reasoning_tokens, 0)` : '0'}, ${parts.extra ? `${s}COALESCE(${c}.unpriced = 1, 0)` : '0'}`;
}

/**
 * Deletes the buckets a subtraction left with no calls: they have nothing to say, and dropping
 * them drops any rounding residue. Only subtracting paths run it, so inserts pay nothing for it.
 */
function dropEmpty(t: string, keys: AgentKeys, src: string): string {
  return `DELETE FROM telemetry_hourly WHERE calls = 0
    AND (hour, tool, model, provider, agent_name, agent_type, plan_id) IN (SELECT ${rowKeys(t, keys)} ${src});`;
}

/** Adds (or subtracts) one telemetry row given as new/old, with its telemetry_calls part. */
function upsertRow(ref: 'new' | 'old', sign: 1 | -1): string {
  const src = `FROM (SELECT 1) ${AGENT_JOIN(`${ref}.agent_id`)} LEFT JOIN telemetry_calls c ON c.telemetry_id = ${ref}.id WHERE true`;
  return `INSERT INTO telemetry_hourly (${COLUMNS})
    SELECT ${rowValues(ref, sign, CURRENT, { base: true, extra: true })} ${src} ${UPSERT};
    ${sign === -1 ? dropEmpty(ref, CURRENT, src) : ''}`;
}

/** Adds (or subtracts) only the telemetry_calls part of a calls row given as new/old, if its telemetry row exists. */
function upsertCallExtra(ref: 'new' | 'old', sign: 1 | -1): string {
  return `INSERT INTO telemetry_hourly (${COLUMNS})
    SELECT ${rowValues('t', sign, CURRENT, { base: false, extra: true }, ref)}
    FROM telemetry t ${AGENT_JOIN('t.agent_id')}
    WHERE t.id = ${ref}.telemetry_id ${UPSERT};`;
}

/**
 * Moves every telemetry row of one agent from the `from` keys to the `to` keys (per row, not
 * summed, so the cost compensation stays exact). `when` limits it further (plain SQL condition).
 */
function moveAgent(agentId: string, from: AgentKeys, to: AgentKeys, when = 'true'): string {
  const src = `FROM telemetry t ${AGENT_JOIN('t.agent_id')} LEFT JOIN telemetry_calls c ON c.telemetry_id = t.id
    WHERE t.agent_id = ${agentId} AND ${when}`;
  return `INSERT INTO telemetry_hourly (${COLUMNS})
    SELECT ${rowValues('t', -1, from, { base: true, extra: true })} ${src} ${UPSERT};
  ${dropEmpty('t', from, src)}
  INSERT INTO telemetry_hourly (${COLUMNS})
    SELECT ${rowValues('t', 1, to, { base: true, extra: true })} ${src} ${UPSERT};`;
}

/** Rollup rows computed by GROUP BY from telemetry rows `t` (`from` names them: a FROM clause with joins and conditions). */
function aggregate(from: string): string {
  return `SELECT ${rowKeys('t', CURRENT)},
    COUNT(*), SUM(t.input_tokens), SUM(t.output_tokens), SUM(t.cache_read_tokens), SUM(t.cache_creation_tokens), SUM(t.total_tokens),
    TOTAL(t.estimated_cost), 0.0, COALESCE(SUM(c.reasoning_tokens), 0), COALESCE(SUM(c.unpriced = 1), 0)
  ${from} ${AGENT_JOIN('t.agent_id')} LEFT JOIN telemetry_calls c ON c.telemetry_id = t.id
  GROUP BY 1, 2, 3, 4, 5, 6, 7`;
}

const CHANGED_TELEMETRY = [
  'id', 'agent_id', 'timestamp', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_creation_tokens', 'total_tokens',
  'estimated_cost', 'model', 'provider', 'tool_name',
]
  .map((c) => `old.${c} IS NOT new.${c}`)
  .join(' OR ');

const HAS_CALLS = (agentId: string): string => `EXISTS (SELECT 1 FROM telemetry WHERE agent_id = ${agentId})`;

const EXTRA = (ref: string): string => `(${ref}.unpriced = 1 OR ${ref}.reasoning_tokens <> 0)`;

/** The triggers, in creation order. */
export const ROLLUP_TRIGGERS: string[] = [
  `CREATE TRIGGER telemetry_hourly_insert AFTER INSERT ON telemetry BEGIN
    ${upsertRow('new', 1)}
  END`,
  // BEFORE: the row's telemetry_calls part is still there; ON DELETE CASCADE removes it before
  // any AFTER trigger would run.
  `CREATE TRIGGER telemetry_hourly_delete BEFORE DELETE ON telemetry BEGIN
    ${upsertRow('old', -1)}
  END`,
  `CREATE TRIGGER telemetry_hourly_update AFTER UPDATE ON telemetry WHEN ${CHANGED_TELEMETRY} BEGIN
    ${upsertRow('old', -1)}
    ${upsertRow('new', 1)}
  END`,
  // telemetry_calls rows normally follow their telemetry row (writer.ts); whichever comes second adds the part.
  `CREATE TRIGGER telemetry_calls_hourly_insert AFTER INSERT ON telemetry_calls WHEN ${EXTRA('new')} BEGIN
    ${upsertCallExtra('new', 1)}
  END`,
  // A cascaded delete finds its telemetry row gone (already subtracted, with this part, above).
  `CREATE TRIGGER telemetry_calls_hourly_delete AFTER DELETE ON telemetry_calls WHEN ${EXTRA('old')} BEGIN
    ${upsertCallExtra('old', -1)}
  END`,
  `CREATE TRIGGER telemetry_calls_hourly_update AFTER UPDATE OF telemetry_id, unpriced, reasoning_tokens ON telemetry_calls
    WHEN old.telemetry_id IS NOT new.telemetry_id OR (old.unpriced = 1) IS NOT (new.unpriced = 1) OR old.reasoning_tokens IS NOT new.reasoning_tokens BEGIN
    ${upsertCallExtra('old', -1)}
    ${upsertCallExtra('new', 1)}
  END`,
  // Agent rows: their telemetry is re-keyed. The EXISTS guards keep the common case (an agent
  // with no calls yet) to one index probe.
  // An agent inserted under existing calls is either one whose calls came first (foreign keys
  // off) or one replaced by INSERT OR REPLACE, whose old row left without a delete trigger: the
  // keys its calls sit under are unknown, so the hours they fall in are recomputed.
  `CREATE TRIGGER agents_hourly_insert AFTER INSERT ON agents WHEN ${HAS_CALLS('new.id')} BEGIN
    DELETE FROM telemetry_hourly WHERE hour IN (SELECT DISTINCT timestamp / ${HOUR} FROM telemetry WHERE agent_id = new.id);
    INSERT INTO telemetry_hourly (${COLUMNS}) ${aggregate(`FROM (SELECT DISTINCT timestamp / ${HOUR} AS h FROM telemetry WHERE agent_id = new.id) hh
      JOIN telemetry t ON t.timestamp BETWEEN hh.h * ${HOUR} - ${HOUR - 1} AND hh.h * ${HOUR} + ${HOUR - 1} AND t.timestamp / ${HOUR} = hh.h`)};
  END`,
  `CREATE TRIGGER agents_hourly_update AFTER UPDATE OF agent_type, plan_id ON agents
    WHEN (old.agent_type IS NOT new.agent_type OR old.plan_id IS NOT new.plan_id) AND ${HAS_CALLS('new.id')} BEGIN
    ${moveAgent('new.id', { name: 'COALESCE(r.name, old.agent_type)', type: 'old.agent_type', plan: "COALESCE(old.plan_id, X'')" }, CURRENT)}
  END`,
  // BEFORE: agent_runs (cascade) is still there to name the keys being left.
  `CREATE TRIGGER agents_hourly_delete BEFORE DELETE ON agents WHEN ${HAS_CALLS('old.id')} BEGIN
    ${moveAgent('old.id', CURRENT, ORPHAN)}
  END`,
  `CREATE TRIGGER agent_runs_hourly_insert AFTER INSERT ON agent_runs
    WHEN ${HAS_CALLS('new.agent_id')} AND EXISTS (SELECT 1 FROM agents WHERE id = new.agent_id AND agent_type IS NOT new.name) BEGIN
    ${moveAgent('new.agent_id', { ...CURRENT, name: 'a.agent_type' }, CURRENT)}
  END`,
  `CREATE TRIGGER agent_runs_hourly_update AFTER UPDATE OF agent_id, name ON agent_runs
    WHEN old.agent_id IS NOT new.agent_id OR old.name IS NOT new.name BEGIN
    ${moveAgent('old.agent_id', { ...CURRENT, name: "CASE WHEN a.id IS NULL THEN X'' ELSE old.name END" }, CURRENT)}
    ${moveAgent('new.agent_id', { ...CURRENT, name: "COALESCE(a.agent_type, X'')" }, CURRENT, 'old.agent_id IS NOT new.agent_id')}
  END`,
  `CREATE TRIGGER agent_runs_hourly_delete AFTER DELETE ON agent_runs
    WHEN ${HAS_CALLS('old.agent_id')} AND EXISTS (SELECT 1 FROM agents WHERE id = old.agent_id AND agent_type IS NOT old.name) BEGIN
    ${moveAgent('old.agent_id', { ...CURRENT, name: 'old.name' }, CURRENT)}
  END`,
];

/** Fills the rollup from the rows already stored (run by the migration and by rebuildRollup). */
export const ROLLUP_BACKFILL = `INSERT INTO telemetry_hourly (${COLUMNS}) ${aggregate('FROM telemetry t')}`;

/** Migration 4's statements: the table, its backfill, then the triggers that keep it. */
export function rollupMigration(): string[] {
  return [ROLLUP_DDL, ROLLUP_BACKFILL, ...ROLLUP_TRIGGERS];
}

/** Recomputes the rollup from telemetry, in one transaction (for a file a foreign tool wrote around the triggers). */
export function rebuildRollup(db: SqliteDatabase): number {
  return db.transaction(() => {
    db.exec('DELETE FROM telemetry_hourly');
    return db.prepare(ROLLUP_BACKFILL).run().changes;
  }).immediate();
}

/** How a time range is read: whole hours from the rollup, the partial hours at its ends from telemetry. */
export interface RollupSplit {
  /** Whole hours to read from the rollup (inclusive; a missing end is open), or null for none. */
  hours: { from?: number; to?: number } | null;
  /** Time ranges (inclusive epoch seconds) to read from raw telemetry. */
  raw: TimeRange[];
}

/**
 * Splits [since, until] into whole rollup hours and the partial hours at its edges. Timestamps
 * are whole seconds; hour h holds [h*3600, h*3600 + 3599]. Ranges touching the first hour of the
 * epoch go to raw telemetry entirely: integer division puts seconds -3599..3599 all in hour 0.
 */
export function splitRange(range: TimeRange): RollupSplit {
  const { since, until } = range;
  if ((since !== undefined && !(since >= HOUR)) || (until !== undefined && !(until >= HOUR))) return { hours: null, raw: [range] };
  const from = since === undefined ? undefined : Math.ceil(Math.ceil(since) / HOUR);
  const to = until === undefined ? undefined : Math.floor((Math.floor(until) + 1) / HOUR) - 1;
  if (from !== undefined && to !== undefined && from > to) return { hours: null, raw: [range] };
  const raw: TimeRange[] = [];
  if (since !== undefined && from! * HOUR > since) raw.push({ since, until: from! * HOUR - 1 });
  if (until !== undefined && (to! + 1) * HOUR - 1 < until) raw.push({ since: (to! + 1) * HOUR, until });
  return { hours: { from, to }, raw };
}
