/**
 * The UI's read-only JSON API, `/ui/api/v1/...` (documented in docs/ui.md). Every answer comes
 * from the read layer in src/store that the CLI uses; nothing here writes or spells SQL.
 */
import { Hono, type Context } from 'hono';
import { parseTime, UsageError } from '../cli/context.js';
import { resolveThresholds, workerStatusOf } from '../health/heartbeats.js';
import type { HealthView } from '../health/http.js';
import { countZombies, findZombies, type ZombieAgent } from '../health/zombies.js';
import { isRead } from '../http/node.js';
import { jsonReply } from '../http/reply.js';
import { HealthStore } from '../store/health-store.js';
import { AgentNotFoundError, SUMMARY_GROUPS, summaryTotal, type MonitoringStore, type SummaryGroup, type TimeRange } from '../store/reader.js';
import { AGENT_STATUSES, isAgentStatus, type AgentStatus } from '../spans/rows.js';
import { SessionQueries } from '../store/session-queries.js';
import { RUN_SORTS, UiQueries, type RunSort, type TraceSelector } from '../store/ui-queries.js';
import type { PriceMatch } from '../telemetry/pricing.js';

export const API_BASE = '/ui/api/v1';

export interface UiApiOptions {
  store: MonitoringStore;
  /** Looks up the price entry a call's cost came from (the collector's or the environment's table). */
  priceOf?: (model: string | undefined, engineId: string | undefined) => PriceMatch | undefined;
  /** A running process's own health checks (the collector's), shown beside the recorded ones. */
  liveHealth?: HealthView;
  /** Test process ids of running agents when looking for zombies. Default true. */
  checkProcesses?: boolean;
}

/** A bad query parameter: answered 400 with the message. */
class ParamError extends Error {}

function timeParam(c: Context, name: string): number | undefined {
  const v = c.req.query(name);
  if (v === undefined || v.trim() === '') return undefined;
  try {
    return parseTime(v);
  } catch (err) {
    throw new ParamError(`${name}: ${(err as Error).message}`);
  }
}

function rangeOf(c: Context): TimeRange {
  const since = timeParam(c, 'since');
  const until = timeParam(c, 'until');
  if (since !== undefined && until !== undefined && until < since) throw new ParamError('until is before since; swap them');
  return { since, until };
}

/** Model requests of a session per page, by default and at most. */
const SESSION_REQUESTS = 500;
const MAX_SESSION_REQUESTS = 2000;

/** Zombie agents listed on the health page; the rest are counted (`agentloupe health` lists all). */
const ZOMBIES_SHOWN = 100;

/** The most recently active zombies first, at most ZOMBIES_SHOWN, and how many there are. */
function zombiesShown(all: ZombieAgent[]): { zombies: ZombieAgent[]; zombiesTotal: number } {
  all.sort((a, b) => b.lastActivity - a.lastActivity || (a.agentId < b.agentId ? -1 : 1));
  return { zombies: all.slice(0, ZOMBIES_SHOWN), zombiesTotal: all.length };
}

function intParam(c: Context, name: string): number | undefined {
  const v = c.req.query(name);
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new ParamError(`${name} takes a whole number, got "${v}"`);
  return n;
}

function listParam(c: Context, name: string): string[] {
  return (c.req.queries(name) ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

function text(c: Context, name: string): string | undefined {
  const v = c.req.query(name)?.trim();
  return v === undefined || v === '' ? undefined : v;
}

export function uiApi(options: UiApiOptions): Hono {
  const { store } = options;
  const q = new UiQueries(store);
  const sessionQueries = new SessionQueries(store.db);
  const health = new HealthStore(store.db);
  const api = new Hono();

  api.get('/', (c) =>
    jsonReply({
      version: 1,
      endpoints: ['overview', 'timeline', 'cost', 'runs', 'agent-types', 'view', 'sessions', 'sessions/:id', 'sessions/:id/turns', 'health', 'live', 'changes'].map((e) => `${API_BASE}/${e}`),
    }),
  );

  api.get('/overview', (c) => {
    const range = rangeOf(c);
    const stats = store.stats({ ...range, recent: 0 });
    const active = store.listAgents({ status: ['running', 'starting'], limit: 50 });
    return jsonReply({ stats, active, health: healthSummary() });
  });

  api.get('/timeline', (c) => jsonReply(q.timeline(rangeOf(c))));

  api.get('/cost', (c) => {
    const by = (c.req.query('by') ?? 'model') as SummaryGroup;
    if (!SUMMARY_GROUPS.includes(by)) throw new ParamError(`by takes one of ${SUMMARY_GROUPS.join(', ')}, got "${by}"`);
    const rows = store.getTelemetrySummary(by, rangeOf(c));
    // The shape and numbers of `agentloupe cost --json`.
    return jsonReply({ by, rows, total: summaryTotal(rows) });
  });

  api.get('/runs', (c) => {
    const status = listParam(c, 'status');
    const bad = status.find((s) => !isAgentStatus(s));
    if (bad !== undefined) throw new ParamError(`status takes ${AGENT_STATUSES.join(', ')}, got "${bad}"`);
    const sort = c.req.query('sort') || 'start';
    if (!(RUN_SORTS as readonly string[]).includes(sort)) throw new ParamError(`sort takes one of ${RUN_SORTS.join(', ')}, got "${sort}"`);
    const dir = c.req.query('dir') || 'desc';
    if (dir !== 'asc' && dir !== 'desc') throw new ParamError(`dir takes asc or desc, got "${dir}"`);
    return jsonReply(q.runs({
        ...rangeOf(c),
        status: status as AgentStatus[],
        type: text(c, 'type'),
        name: text(c, 'name'),
        plan: text(c, 'plan'),
        text: text(c, 'q'),
        sort: sort as RunSort,
        dir,
        offset: intParam(c, 'offset'),
        limit: intParam(c, 'limit'),
      }),
    );
  });

  api.get('/agent-types', (c) => jsonReply(q.agentTypes()));

  api.get('/view', (c) => {
    const plan = text(c, 'plan');
    const trace = text(c, 'trace');
    const agent = text(c, 'agent');
    const selector: TraceSelector | undefined = plan ? { planId: plan } : trace ? { traceId: trace } : agent ? { agentId: agent } : undefined;
    if (!selector) throw new ParamError('view needs plan=, trace= or agent=');
    const view = q.traceView(selector);
    if (view.tree.length === 0 && view.spans.length === 0) return jsonReply({ error: `nothing stored for ${plan ? `plan ${plan}` : trace ? `trace ${trace}` : `agent ${agent}`}` }, 404);
    const prices: Record<string, PriceMatch | null> = {};
    if (options.priceOf) {
      for (const call of view.calls) {
        if (call.toolName !== null) continue;
        const key = `${call.model ?? ''}|${call.engineId ?? ''}`;
        if (!(key in prices)) prices[key] = options.priceOf(call.model ?? undefined, call.engineId ?? undefined) ?? null;
      }
    }
    return jsonReply({ ...view, prices });
  });

  api.get('/sessions', (c) => {
    const page = q.sessions({ ...rangeOf(c), offset: intParam(c, 'offset'), limit: intParam(c, 'limit') });
    // Prompts, tool calls and errors of each session, from its events (schema 6).
    const events = sessionQueries.eventCounts(page.rows.map((r) => r.id));
    const none = { prompts: 0, toolCalls: 0, toolErrors: 0, apiErrors: 0 };
    return jsonReply({ ...page, rows: page.rows.map((r) => ({ ...r, events: events.get(r.id) ?? none })) });
  });

  // The session's model requests a page at a time (`turns`, oldest first; `total` in all).
  api.get('/sessions/:id', (c) => {
    const id = c.req.param('id');
    const session = store.getAgent(id);
    const usage = q.usageOf([id]).get(id) ?? null;
    const offset = intParam(c, 'offset') ?? 0;
    const limit = Math.min(MAX_SESSION_REQUESTS, Math.max(1, intParam(c, 'limit') ?? SESSION_REQUESTS));
    const page = store.getAgentTelemetryPage(id, offset, limit);
    return jsonReply({ session, usage, turns: page.rows, total: page.total, offset, limit });
  });

  // One row per user prompt (src/store/session-queries.ts); 404 for an unknown session.
  api.get('/sessions/:id/turns', (c) => {
    const id = c.req.param('id');
    store.getAgent(id);
    return jsonReply(sessionQueries.sessionTurns(id));
  });

  api.get('/health', (c) => {
    const now = Date.now();
    const thresholds = resolveThresholds();
    return jsonReply({
      components: health.latestHealth(),
      history: health.healthHistory(undefined, 200),
      live: options.liveHealth?.getAll() ?? [],
      workers: health.listWorkers().map((w) => workerStatusOf(w, now, thresholds)),
      ...zombiesShown(findZombies(health, { now, checkProcesses: options.checkProcesses ?? true })),
      alerts: health.listAlerts({ limit: 50 }),
    });
  });

  api.get('/live', (c) =>
    jsonReply({
      now: Date.now(),
      running: store.listAgents({ status: ['running', 'starting'], limit: 200 }),
      recentRuns: store.listAgents({ limit: 25 }),
      recentCalls: q.recentCalls(30),
    }),
  );

  api.get('/changes', (c) => jsonReply({ version: q.dataVersion() }));

  api.all('*', (c) => {
    if (!isRead(c.req.method)) return jsonReply({ error: 'the UI API is read-only: use GET' }, 405, { allow: 'GET, HEAD' });
    return jsonReply({ error: `no such endpoint: ${c.req.path} (see ${API_BASE}/)` }, 404);
  });

  api.onError((err, c) => {
    if (err instanceof ParamError || err instanceof UsageError) return jsonReply({ error: err.message }, 400);
    if (err instanceof AgentNotFoundError) return jsonReply({ error: err.message }, 404);
    throw err;
  });

  /** Counts for the overview's health box. */
  function healthSummary(): Record<string, unknown> {
    const now = Date.now();
    const thresholds = resolveThresholds();
    const components: Record<string, number> = {};
    for (const h of health.latestHealth()) components[h.status] = (components[h.status] ?? 0) + 1;
    for (const h of options.liveHealth?.getAll() ?? []) components[h.status] = (components[h.status] ?? 0) + 1;
    const workers: Record<string, number> = { healthy: 0, stale: 0, down: 0 };
    for (const w of health.listWorkers()) {
      const s = workerStatusOf(w, now, thresholds).state;
      workers[s] = (workers[s] ?? 0) + 1;
    }
    return {
      components,
      workers,
      zombies: countZombies(health, { now, checkProcesses: options.checkProcesses ?? true }),
      alerts24h: health.listAlerts({ sinceMs: now - 86_400_000, limit: 1000 }).length,
    };
  }

  return api;
}
