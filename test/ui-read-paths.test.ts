import { rng } from './helpers.js';
// The faster read paths behind the UI's overview, runs and health pages, checked against the
// plain queries they replaced on one generated database: the runs page (picked over `agents`,
// joined after), listAgents with a limit, the zombie count, and the duration percentiles (exact
// up to DURATION_SAMPLE_SIZE finished runs, a fixed sample above it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countZombies, findZombies } from '../src/health/zombies.js';
import { openDatabase, type SqliteDatabase } from '../src/store/database.js';
import { HealthStore } from '../src/store/health-store.js';
import { AGENT_FROM, DURATION_SAMPLE_SIZE, MonitoringStore } from '../src/store/reader.js';
import { RUN_SORTS, UiQueries, type RunQuery } from '../src/store/ui-queries.js';

const AGENTS = 12_500;
const NOW = 1_780_000_000;
const TYPES = ['planner', 'developer', 'tester', 'reviewer'];
const DEAD_PID = 4_194_303; // above Linux's default pid_max: never a live process

let dir: string;
let db: SqliteDatabase;
let store: MonitoringStore;


beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'agentloupe-read-paths-'));
  db = openDatabase(join(dir, 'm.db'));
  const rand = rng(11);
  const agent = db.prepare('INSERT INTO agents (id, parent_id, plan_id, agent_type, status, process_id, start_time, end_time, exit_code, error_message) VALUES (?,?,?,?,?,?,?,?,?,?)');
  const run = db.prepare('INSERT INTO agent_runs (agent_id, name, trace_id, start_ns, end_ns, last_seen) VALUES (?,?,?,?,?,?)');
  const call = db.prepare('INSERT INTO telemetry (agent_id, timestamp, input_tokens, output_tokens, total_tokens, estimated_cost, model) VALUES (?,?,?,?,?,?,?)');
  db.transaction(() => {
    for (let i = 0; i < AGENTS; i++) {
      const id = `agent-${String(i).padStart(6, '0')}`;
      const r = rand();
      const status = r < 0.8 ? 'completed' : r < 0.9 ? 'failed' : r < 0.95 ? 'terminated' : r < 0.98 ? 'running' : 'starting';
      const start = NOW - 30 * 86_400 + Math.floor(rand() * 30 * 86_400);
      // Ties in start time and duration, so the order's tie-break is exercised.
      const durS = 1 + Math.floor(rand() * 40);
      const ended = status === 'running' || status === 'starting' ? null : start + durS;
      const error = status === 'failed' ? (rand() < 0.5 ? 'tool error: exit 1' : 'Lint_Failed 100%') : null;
      const pid = status === 'running' ? (rand() < 0.3 ? DEAD_PID : process.pid) : null;
      agent.run(id, i % 50 === 0 ? null : `agent-${String(i - (i % 50)).padStart(6, '0')}`, `PLAN-${Math.floor(i / 50)}`, TYPES[i % TYPES.length], status, pid, start, ended, ended === null ? null : 0, error);
      // One run in ten has no agent_runs row (a database written by another tool): seconds only.
      if (i % 10 !== 3) {
        const startNs = BigInt(start) * 1_000_000_000n + BigInt(Math.floor(rand() * 1e9));
        const endNs = ended === null ? null : startNs + BigInt(durS) * 1_000_000_000n + BigInt(Math.floor(rand() * 1e9));
        const lastSeen = status === 'running' && rand() < 0.3 ? NOW - 60 : null;
        run.run(id, i % 7 === 0 ? `worker_${i % 3}` : TYPES[i % TYPES.length]!, (Math.floor(i / 50) + 1).toString(16).padStart(32, '0'), startNs, endNs, lastSeen);
      }
      const calls = Math.floor(rand() * 4);
      for (let j = 0; j < calls; j++) {
        // Some running agents called a model within the last hour: not silent.
        const ts = status === 'running' && j === 0 && rand() < 0.4 ? NOW - 600 : start + j;
        call.run(id, ts, 100, 20, 120, 0.001, 'gpt-4o');
      }
    }
  })();
  store = new MonitoringStore(db);
}, 60_000);

afterAll(() => {
  db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The runs page as it was read before: every filter and the sort over the joined rows. */
function runsOracle(q: RunQuery): { ids: string[]; total: number } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.status?.length) (where.push(`a.status IN (${q.status.map(() => '?').join(',')})`), params.push(...q.status));
  if (q.type) (where.push('a.agent_type = ?'), params.push(q.type));
  if (q.name) (where.push('r.name = ?'), params.push(q.name));
  if (q.plan) (where.push('a.plan_id = ?'), params.push(q.plan));
  if (q.since !== undefined) (where.push('a.start_time >= ?'), params.push(q.since));
  if (q.until !== undefined) (where.push('a.start_time <= ?'), params.push(q.until));
  if (q.text) {
    const p = `%${q.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push("(a.id LIKE ? ESCAPE '\\' OR r.name LIKE ? ESCAPE '\\' OR a.agent_type LIKE ? ESCAPE '\\' OR a.plan_id LIKE ? ESCAPE '\\' OR a.error_message LIKE ? ESCAPE '\\')");
    params.push(p, p, p, p, p);
  }
  const w = where.length ? ` WHERE ${where.join(' AND ')}` : '';
  const sort = { start: 'a.start_time', duration: 'COALESCE(a.end_time, unixepoch()) - a.start_time', name: 'COALESCE(r.name, a.agent_type)', type: 'a.agent_type', status: 'a.status', plan: 'a.plan_id' }[q.sort ?? 'start'];
  const dir = q.dir === 'asc' ? 'ASC' : 'DESC';
  const total = (db.prepare(`SELECT COUNT(*) AS n FROM ${AGENT_FROM}${w}`).get(...params) as { n: number }).n;
  const ids = db.prepare(`SELECT a.id FROM ${AGENT_FROM}${w} ORDER BY ${sort} ${dir}, a.rowid ${dir} LIMIT ? OFFSET ?`).pluck().all(...params, q.limit ?? 50, q.offset ?? 0) as string[];
  return { ids, total };
}

describe('UI read paths equal the plain queries they replaced', () => {
  it('the runs page: every filter, sort and direction, first and deep pages', () => {
    const ui = new UiQueries(store);
    const filters: RunQuery[] = [
      {},
      { status: ['failed'] },
      { status: ['running', 'starting'] },
      { type: 'tester' },
      { name: 'worker_1' },
      { plan: 'PLAN-7' },
      { since: NOW - 10 * 86_400, until: NOW - 5 * 86_400 },
      { text: 'tool error' },
      { text: 'WORKER_2' },
      { text: '100%' },
      { text: 'lint_' },
      { text: 'agent-0001', status: ['completed'] },
      { text: 'nothing matches this' },
    ];
    let compared = 0;
    for (const f of filters) {
      for (const sort of RUN_SORTS) {
        for (const dir of ['asc', 'desc'] as const) {
          for (const offset of [0, 3_000]) {
            const q: RunQuery = { ...f, sort, dir, offset, limit: 25 };
            const got = ui.runs(q);
            const want = runsOracle(q);
            expect({ ids: got.rows.map((r) => r.id), total: got.total }, JSON.stringify(q)).toEqual(want);
            compared++;
          }
        }
      }
    }
    expect(compared).toBe(filters.length * RUN_SORTS.length * 4);
    // A page's rows carry their agent_runs columns.
    const [first] = ui.runs({ name: 'worker_1', limit: 1 }).rows;
    expect(first).toMatchObject({ name: 'worker_1', traceId: expect.stringMatching(/^[0-9a-f]{32}$/) });
  });

  it('listAgents with a limit is the first rows of the same list without one, in every order', () => {
    for (const order of ['newest', 'oldest', 'duration'] as const) {
      for (const filter of [{}, { status: ['running', 'starting'] as ('running' | 'starting')[] }, { type: 'planner' }, { since: NOW - 86_400 * 3 }]) {
        const all = store.listAgents({ ...filter, order }).map((a) => a.id);
        expect(store.listAgents({ ...filter, order, limit: 40 }).map((a) => a.id)).toEqual(all.slice(0, 40));
      }
    }
    expect(store.listAgents({ limit: 0 })).toEqual([]);
  });

  it('countZombies is the length of findZombies, with and without process checks, for any cutoff', () => {
    const health = new HealthStore(db);
    const zombies = findZombies(health, { now: NOW * 1000, checkProcesses: true });
    // The fixture has each kind: gone processes, silent runs, and runs kept alive by a recent call or status change.
    expect(zombies.some((z) => z.reason === 'process_gone')).toBe(true);
    expect(zombies.some((z) => z.reason === 'silent')).toBe(true);
    expect(health.activeAgents().length).toBeGreaterThan(zombies.length);
    for (const now of [NOW * 1000, NOW * 1000 + 30 * 60_000, (NOW + 86_400) * 1000, (NOW - 15 * 86_400) * 1000]) {
      for (const silentAfterMs of [60_000, 3_600_000, 5 * 86_400_000]) {
        for (const checkProcesses of [true, false]) {
          const options = { now, silentAfterMs, checkProcesses };
          expect(countZombies(health, options), JSON.stringify(options)).toBe(findZombies(health, options).length);
        }
      }
    }
  });

  it('duration percentiles: exact up to the sample size, a fixed sample within 1.5 percentile points above it', () => {
    const exact = (range: { since?: number; until?: number }): number[] => {
      const w = ['a.end_time IS NOT NULL'];
      const p: number[] = [];
      if (range.since !== undefined) (w.push('a.start_time >= ?'), p.push(range.since));
      if (range.until !== undefined) (w.push('a.start_time <= ?'), p.push(range.until));
      return db
        .prepare(`SELECT COALESCE((r.end_ns - r.start_ns) / 1e6, (a.end_time - a.start_time) * 1000.0) AS d FROM agents a LEFT JOIN agent_runs r ON r.agent_id = a.id WHERE ${w.join(' AND ')} ORDER BY d`)
        .pluck()
        .all(...p) as number[];
    };
    const rank = (ds: number[], q: number): number => ds[Math.min(ds.length - 1, Math.max(0, Math.ceil(q * ds.length) - 1))]!;

    // A third of the month: under the sample size, so every finished run counts.
    const range = { since: NOW - 10 * 86_400 };
    const some = exact(range);
    expect(some.length).toBeLessThan(DURATION_SAMPLE_SIZE);
    expect(store.stats(range).durationMs).toEqual({ p50: rank(some, 0.5), p95: rank(some, 0.95), p99: rank(some, 0.99) });

    const all = exact({});
    expect(all.length).toBeGreaterThan(DURATION_SAMPLE_SIZE);
    const sampled = store.stats().durationMs;
    expect(sampled.sampleSize).toBeGreaterThan(DURATION_SAMPLE_SIZE * 0.9);
    expect(sampled.sampleSize).toBeLessThanOrEqual(DURATION_SAMPLE_SIZE * 1.1);
    for (const [q, got] of [[0.5, sampled.p50], [0.95, sampled.p95], [0.99, sampled.p99]] as const) {
      expect(got!, `p${q * 100}`).toBeGreaterThanOrEqual(rank(all, q - 0.015));
      expect(got!, `p${q * 100}`).toBeLessThanOrEqual(rank(all, Math.min(1, q + 0.015)));
    }
    // The same data gives the same figures (CLI and UI alike).
    expect(store.stats().durationMs).toEqual(sampled);
  });
});
