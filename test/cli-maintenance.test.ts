import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMonitor } from '../src/index.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../src/store/schema.js';
import { agentRow, buildFixedDb, cli, spanRow, telemetryRow, writeOps } from './cli-fixture.js';
import { tempDir } from './helpers.js';

type Row = Record<string, unknown>;
function query(path: string, sql: string): Row[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all() as Row[];
  } finally {
    db.close();
  }
}
const count = (path: string, table: string): number => (query(path, `SELECT COUNT(*) AS n FROM ${table}`)[0]!.n as number);
const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

function fixed(): string {
  const path = join(tempDir(), 'monitoring.db');
  buildFixedDb(path);
  return path;
}

describe('agentloupe sql is read-only', () => {
  it('refuses INSERT, UPDATE, DELETE, DROP and writing PRAGMAs, and leaves the file unchanged', () => {
    const path = fixed();
    const before = sha(path);
    const agents = count(path, 'agents');
    for (const q of [
      "INSERT INTO agents (id, agent_type, status, start_time) VALUES ('x', 't', 'running', 1)",
      "UPDATE agents SET status = 'failed'",
      'DELETE FROM telemetry',
      'DROP TABLE spans',
      'PRAGMA user_version = 9',
      'CREATE TABLE t (x)',
    ]) {
      const r = cli(['sql', q, '--db', path]);
      expect(r.status, q).toBe(1);
      expect(r.stderr, q).toContain('refused: this statement would change the database');
    }
    expect(sha(path)).toBe(before);
    expect(count(path, 'agents')).toBe(agents);
  }, 120_000);

  it('runs a query and prints --json with exact integers; reports SQL errors with exit 1', () => {
    const path = fixed();
    const r = cli(['sql', 'SELECT id, start_time, 9007199254740993 AS big FROM agents ORDER BY start_time LIMIT 2', '--json', '--db', path]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('"big":9007199254740993');
    expect((JSON.parse(r.stdout) as Row[]).map((x) => x.id)).toEqual(['architect-0001', 'developer-0002']);
    const bad = cli(['sql', 'SELECT nope FROM agents', '--db', path]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe('agentloupe: SQL error: no such column: nope\n');
  });

  it('reads beside a live writer holding an open transaction (WAL)', () => {
    const path = fixed();
    const writer = new Database(path);
    writer.pragma('busy_timeout = 5000');
    writer.exec('BEGIN IMMEDIATE');
    writer.prepare("INSERT INTO agents (id, agent_type, status, start_time) VALUES ('uncommitted', 't', 'running', 1)").run();
    try {
      const r = cli(['agents', '--json', '--limit', '100', '--db', path]);
      expect(r.status).toBe(0);
      const ids = (JSON.parse(r.stdout) as { id: string }[]).map((a) => a.id);
      expect(ids).toHaveLength(4);
      expect(ids).not.toContain('uncommitted');
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
  });
});

describe('older and newer databases', () => {
  it('an older schema gets a message saying exactly what to run; migrate upgrades it and says from which version', () => {
    const path = join(tempDir(), 'old.db');
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    for (const sql of MIGRATIONS[0]!.statements(false)) db.exec(sql);
    db.pragma('user_version = 1');
    db.prepare("INSERT INTO agents (id, agent_type, status, start_time) VALUES ('old-1', 'legacy', 'completed', 1700000000)").run();
    db.close();

    const r = cli(['stats', '--db', path]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `agentloupe: ${path} has schema version 1; this agentloupe uses ${SCHEMA_VERSION}. Run \`agentloupe migrate --db ${path}\` (or any instrumented agent) once to upgrade it.\n`,
    );
    const doctor = JSON.parse(cli(['doctor', '--json', '--db', path]).stdout) as { ok: boolean; checks: { name: string; status: string; fix?: string }[] };
    expect(doctor.ok).toBe(false);
    expect(doctor.checks.find((c) => c.name === 'schema version')).toMatchObject({ status: 'fail', fix: `run \`agentloupe migrate --db ${path}\`` });

    const m = cli(['migrate', '--json', '--db', path]);
    expect(m.status).toBe(0);
    const report = JSON.parse(m.stdout) as { from: number; to: number; applied: { version: number }[] };
    expect(report).toMatchObject({ from: 1, to: SCHEMA_VERSION });
    expect(report.applied.map((a) => a.version)).toEqual(MIGRATIONS.filter((x) => x.version > 1).map((x) => x.version));
    expect(cli(['migrate', '--db', path]).stdout).toBe(`${path} is up to date (schema version ${SCHEMA_VERSION})\n`);
    expect(JSON.parse(cli(['agents', '--json', '--db', path]).stdout)).toEqual([expect.objectContaining({ id: 'old-1' })]);
  }, 120_000);

  it('a newer schema is refused with how to upgrade agentloupe', () => {
    const path = fixed();
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    db.close();
    const r = cli(['agents', '--db', path]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('written by a newer agentloupe');
    expect(r.stderr).toContain('npm install agentloupe@latest');
  });
});

const DAY = 86_400;

/** Runs relative to now: an old tree with one child still running, an old child, a recent run, health rows. */
function retentionDb(): { path: string; dir: string; now: number; logs: Record<string, string> } {
  const dir = tempDir();
  const path = join(dir, 'monitoring.db');
  const now = Math.floor(Date.now() / 1000);
  mkdirSync(join(dir, 'logs'));
  const logs = {
    old: join(dir, 'old-root.txt'),
    oldChild: join(dir, 'logs', 'old-child.log'),
    recent: join(dir, 'logs', 'recent.log'),
  };
  for (const f of Object.values(logs)) writeFileSync(f, 'log line\n');
  const root = agentRow({ id: 'old-root', agentType: 'architect', planId: 'OLD', startTime: now - 50 * DAY, logFile: logs.old });
  const child = agentRow({ id: 'old-child', agentType: 'developer', planId: 'OLD', parentId: 'old-root', startTime: now - 49 * DAY });
  const grandchild = agentRow({ id: 'old-grandchild', agentType: 'tester', planId: 'OLD', parentId: 'old-child', startTime: now - 48 * DAY });
  const survivor = agentRow({ id: 'long-runner', agentType: 'watcher', planId: 'OLD', parentId: 'old-root', startTime: now - 49 * DAY });
  const recent = agentRow({ id: 'recent', agentType: 'developer', planId: 'NEW', startTime: now - 2 * DAY, logFile: logs.recent });
  const endOp = (row: typeof root, endTime: number): { kind: 'agentEnd'; row: typeof root; durationMs: number } => ({
    kind: 'agentEnd',
    row: { ...row, status: 'completed', endTime, endNs: BigInt(endTime) * 1_000_000_000n, exitCode: 0 },
    durationMs: (endTime - row.startTime) * 1000,
  });
  const ops = [
    { kind: 'agentStart' as const, row: root },
    { kind: 'agentStart' as const, row: child },
    { kind: 'agentStart' as const, row: grandchild },
    { kind: 'agentStart' as const, row: survivor },
    { kind: 'agentStart' as const, row: recent },
  ];
  const tel = [];
  for (const [id, t] of [['old-root', now - 50 * DAY], ['old-child', now - 49 * DAY], ['old-grandchild', now - 48 * DAY], ['long-runner', now - 45 * DAY], ['recent', now - 2 * DAY]] as const) {
    tel.push({ kind: 'telemetry' as const, dedupe: false, row: telemetryRow({ agentId: id, timestamp: t, provider: 'openai', model: 'gpt-4o', inputTokens: 10, outputTokens: 5, estimatedCost: 0.001 }) });
    tel.push({ kind: 'telemetry' as const, dedupe: false, row: telemetryRow({ agentId: id, timestamp: t + 1, toolName: 'bash', toolApproved: true }) });
  }
  writeOps(path, [
    ...ops,
    ...tel,
    endOp(grandchild, now - 47 * DAY),
    endOp(child, now - 46 * DAY),
    endOp(root, now - 40 * DAY),
    endOp(recent, now - 1 * DAY),
    { kind: 'span', row: spanRow('old-root', '00000000000000a1', now - 50 * DAY, now - 40 * DAY) },
    { kind: 'span', row: spanRow('old-child', '00000000000000a2', now - 49 * DAY, now - 46 * DAY) },
    { kind: 'span', row: spanRow('old-grandchild', '00000000000000a3', now - 48 * DAY, now - 47 * DAY) },
    { kind: 'span', row: spanRow('long-runner', '00000000000000a4', now - 45 * DAY, now - 45 * DAY) },
    { kind: 'span', row: spanRow('recent', '00000000000000a5', now - 2 * DAY, now - DAY) },
    { kind: 'span', row: spanRow(null, '00000000000000a6', now - 60 * DAY, now - 60 * DAY, 'GET /health') },
    { kind: 'span', row: spanRow(null, '00000000000000a7', now - DAY, now - DAY, 'GET /health') },
  ]);
  // Health rows (migration 2) in epoch milliseconds: one old and one recent of each.
  const db = new Database(path);
  for (const t of [now - 40 * DAY, now - DAY]) {
    db.prepare("INSERT INTO health_checks (component, status, time_ms) VALUES ('db', 'healthy', ?)").run(t * 1000);
    db.prepare("INSERT INTO alerts (rule, kind, severity, title, message, time_ms) VALUES ('r', 'k', 'warning', 't', 'm', ?)").run(t * 1000);
    db.prepare("INSERT INTO worker_heartbeats (worker_id, worker_type, last_heartbeat_ms, created_at_ms, updated_at_ms) VALUES (?, 'w', ?, ?, ?)").run(`w${t}`, t * 1000, t * 1000, t * 1000);
  }
  db.close();
  return { path, dir, now, logs };
}

function assertConsistent(path: string): void {
  expect(query(path, 'SELECT id FROM telemetry WHERE agent_id NOT IN (SELECT id FROM agents)')).toEqual([]);
  expect(query(path, 'SELECT telemetry_id FROM telemetry_calls WHERE telemetry_id NOT IN (SELECT id FROM telemetry)')).toEqual([]);
  expect(query(path, 'SELECT span_id FROM spans WHERE agent_id IS NOT NULL AND agent_id NOT IN (SELECT id FROM agents)')).toEqual([]);
  expect(query(path, 'SELECT agent_id FROM agent_runs WHERE agent_id NOT IN (SELECT id FROM agents)')).toEqual([]);
  expect(query(path, 'SELECT id FROM agents WHERE parent_id IS NOT NULL AND parent_id NOT IN (SELECT id FROM agents)')).toEqual([]);
  expect(query(path, 'PRAGMA foreign_key_check')).toEqual([]);
  expect(query(path, 'PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
}

describe('agentloupe prune', () => {
  it('deletes old runs with their telemetry, spans, health rows and logs in one go, re-roots survivors, keeps agent_usage', () => {
    const { path, logs } = retentionDb();
    const usage = query(path, 'SELECT * FROM agent_usage ORDER BY agent_id');
    expect(usage.length).toBeGreaterThan(0);
    const dry = cli(['prune', '--older-than', '30d', '--dry-run', '--json', '--db', path]);
    expect(dry.status).toBe(0);
    const planned = JSON.parse(dry.stdout) as { dryRun: boolean; deleted: Record<string, unknown>; reparented: number };
    expect(planned.dryRun).toBe(true);
    expect(count(path, 'agents')).toBe(5);
    expect(count(path, 'telemetry')).toBe(10);
    expect(existsSync(logs.old)).toBe(true);

    const real = cli(['prune', '--older-than', '30d', '--json', '--db', path]);
    expect(real.status).toBe(0);
    const done = JSON.parse(real.stdout) as typeof planned;
    expect(done.dryRun).toBe(false);
    expect(done.deleted).toEqual(planned.deleted);
    expect(done.deleted).toEqual({
      agents: 3,
      agentRuns: 3,
      telemetry: 6,
      telemetryCalls: 6,
      spans: 4,
      health: { health_checks: 1, worker_heartbeats: 1, alerts: 1 },
      logFiles: 2,
    });
    expect(done.reparented).toBe(1);

    expect(query(path, 'SELECT id, parent_id, plan_id FROM agents ORDER BY id')).toEqual([
      { id: 'long-runner', parent_id: null, plan_id: 'OLD' },
      { id: 'recent', parent_id: null, plan_id: 'NEW' },
    ]);
    expect(count(path, 'telemetry')).toBe(4);
    expect(query(path, 'SELECT span_id FROM spans ORDER BY span_id').map((r) => r.span_id)).toEqual(['00000000000000a4', '00000000000000a5', '00000000000000a7']);
    for (const t of ['health_checks', 'worker_heartbeats', 'alerts']) expect(count(path, t)).toBe(1);
    expect(query(path, 'SELECT * FROM agent_usage ORDER BY agent_id')).toEqual(usage);
    expect(existsSync(logs.old)).toBe(false);
    expect(existsSync(logs.oldChild)).toBe(false);
    expect(existsSync(logs.recent)).toBe(true);
    assertConsistent(path);

    // Nothing left to prune: a second run changes nothing.
    const again = JSON.parse(cli(['prune', '--older-than', '30d', '--json', '--db', path]).stdout) as typeof planned;
    expect(again.deleted).toMatchObject({ agents: 0, telemetry: 0, spans: 0 });
  });

  it('--keep-logs leaves log files; the table output names what was deleted', () => {
    const { path, logs } = retentionDb();
    const r = cli(['prune', '--older-than', '30d', '--keep-logs', '--db', path]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/agents deleted\s+3\n/);
    expect(r.stdout).toMatch(/re-rooted children\s+1\n/);
    expect(r.stdout).toContain('run `agentloupe vacuum`');
    expect(existsSync(logs.old)).toBe(true);
    assertConsistent(path);
  });

  it('prunes a database written through the public API down to agent_usage, consistently', async () => {
    const path = join(tempDir(), 'monitoring.db');
    const monitor = createMonitor({ db: path, registerGlobal: false });
    await monitor.withAgent({ type: 'architect', planId: 'P' }, async (lead) => {
      lead.recordUsage({ provider: 'openai', model: 'gpt-4o', inputTokens: 100, outputTokens: 10 });
      await monitor.withAgent({ type: 'developer' }, async (dev) => dev.recordTool({ name: 'bash', approved: true }));
    });
    await monitor.shutdown();
    const ended = Math.max(...query(path, 'SELECT end_time FROM agents').map((r) => r.end_time as number));
    // Runs ended before the cut-off second are pruned; wait until "now" is past their end second.
    const deadline = Date.now() + 3000;
    while (Math.floor(Date.now() / 1000) <= ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(count(path, 'spans')).toBeGreaterThan(0);
    const r = cli(['prune', '--older-than', '0s', '--json', '--db', path]);
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as { deleted: { agents: number } }).deleted.agents).toBe(2);
    for (const t of ['agents', 'agent_runs', 'telemetry', 'telemetry_calls', 'spans']) expect(count(path, t), t).toBe(0);
    expect(count(path, 'agent_usage')).toBe(2);
    assertConsistent(path);
  });
});

describe('agentloupe vacuum and export', () => {
  it('vacuum reports sizes before and after and empties the WAL', () => {
    const { path } = retentionDb();
    cli(['prune', '--older-than', '30d', '--db', path]);
    const r = cli(['vacuum', '--json', '--db', path]);
    expect(r.status).toBe(0);
    const v = JSON.parse(r.stdout) as { path: string; before: { db: number; wal: number; total: number }; after: { db: number; wal: number; total: number }; checkpoint: { busy: number } };
    expect(v.path).toBe(path);
    expect(v.after.wal).toBe(0);
    expect(v.checkpoint.busy).toBe(0);
    expect(v.after.total).toBeLessThanOrEqual(v.before.total);
    expect(v.after.db).toBe(readFileSync(path).length);
    expect(cli(['vacuum', '--db', path]).stdout).toMatch(/^database {2}.*\nbefore {4}.*\nafter {5}.*\nfreed {5}/);
  });

  it('exports every format with the same rows, exact nanosecond times, to stdout or a file', () => {
    const path = fixed();
    const n = count(path, 'telemetry');
    const ndjson = cli(['export', '--table', 'telemetry', '--format', 'ndjson', '--db', path]);
    expect(ndjson.status).toBe(0);
    const lines = ndjson.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Row);
    expect(lines).toHaveLength(n);
    expect(lines).toEqual(query(path, 'SELECT * FROM telemetry ORDER BY id'));

    const json = JSON.parse(cli(['export', '--table', 'telemetry', '--db', path]).stdout) as Row[];
    expect(json).toEqual(lines);

    const csv = cli(['export', '--table', 'telemetry', '--format', 'csv', '--db', path]).stdout.split('\r\n');
    expect(csv[0]).toBe('id,agent_id,timestamp,input_tokens,output_tokens,cached_tokens,cache_creation_tokens,cache_read_tokens,total_tokens,estimated_cost,model,provider,tool_name,tool_args,tool_approved,tool_approval_type,engine_id');
    expect(csv).toHaveLength(n + 2);
    expect(csv).toContain('3,developer-0002,1780000030,0,0,0,0,0,0,0,,,bash,"{""cmd"":""npm test""}",1,policy,');

    const spans = cli(['export', '--table', 'spans', '--format', 'ndjson', '--limit', '1', '--db', path]).stdout;
    const exact = query(path, 'SELECT CAST(start_ns AS TEXT) AS s FROM spans ORDER BY start_ns LIMIT 1')[0]!.s as string;
    expect(spans).toContain(`"start_ns":${exact},`);

    const out = join(tempDir(), 'agents.csv');
    const f = cli(['export', '--table', 'agents', '--format', 'csv', '--out', out, '--since', '1780000100', '--db', path]);
    expect(f.status).toBe(0);
    expect(f.stdout).toBe('');
    expect(f.stderr).toBe(`wrote 2 agents rows to ${out}\n`);
    expect(readFileSync(out, 'utf8').split('\r\n').filter((l) => l !== '').map((l) => l.split(',')[0])).toEqual(['id', 'reviewer-0003', 'solo-0004']);

    const empty = cli(['export', '--table', 'alerts', '--db', path]);
    expect(empty.stdout).toBe('[]\n');
    const unknown = cli(['export', '--table', 'secrets', '--out', join(tempDir(), 'x.json'), '--db', path]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('no table "secrets" in this database; export one of: agent_runs, agent_usage, agents');
  }, 120_000);
});

describe('agentloupe doctor', () => {
  it('passes a healthy database and exits 0', () => {
    const path = fixed();
    const r = cli(['doctor', '--db', path]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/ok {4}integrity +PRAGMA integrity_check: ok/);
    // The fixed database holds one call of a model with no price: a warning that names reprice, not a problem.
    expect(r.stdout).toMatch(/warn {2}prices +1 model call is unpriced/);
    expect(r.stdout).toContain('no problems, 1 warning');
    const j = JSON.parse(cli(['doctor', '--json', '--db', path]).stdout) as { ok: boolean; database: string; checks: { area: string; status: string }[] };
    expect(j.ok).toBe(true);
    expect(j.database).toBe(path);
    expect(new Set(j.checks.map((c) => c.area))).toEqual(new Set(['database', 'configuration', 'environment']));
  });

  it('says what to fix and exits 1: missing database, bad pricing file, bad OTLP endpoint', () => {
    const dir = tempDir();
    const prices = join(dir, 'prices.json');
    writeFileSync(prices, '{"models": {"gpt-x": {"input": "cheap"}}}');
    const r = cli(['doctor', '--json', '--db', join(dir, 'none.db')], {
      env: { AGENTLOUPE_PRICING: prices, OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318', OTEL_TRACES_EXPORTER: 'otlp,zipkin' },
    });
    expect(r.status).toBe(1);
    const checks = (JSON.parse(r.stdout) as { checks: { name: string; status: string; detail: string; fix?: string }[] }).checks;
    const by = (name: string): { status: string; detail: string; fix?: string } | undefined => checks.find((c) => c.name === name);
    expect(by('exists')).toMatchObject({ status: 'fail' });
    expect(by('exists')!.fix).toContain('AGENTLOUPE_DB');
    expect(by('AGENTLOUPE_PRICING')).toMatchObject({ status: 'fail' });
    expect(by('AGENTLOUPE_PRICING')!.detail).toContain('gpt-x');
    expect(by('OTEL_EXPORTER_OTLP_ENDPOINT')).toMatchObject({ status: 'fail', fix: 'set it like http://localhost:4318' });
    expect(by('OTEL_TRACES_EXPORTER')).toMatchObject({ status: 'warn' });
    expect(by('node')).toMatchObject({ status: 'ok' });
    expect(by('better-sqlite3')).toMatchObject({ status: 'ok' });
  });

  it('flags a file that is not an agentloupe database', () => {
    const path = join(tempDir(), 'other.db');
    const db = new Database(path);
    db.exec('CREATE TABLE notes (x)');
    db.close();
    const r = cli(['doctor', '--db', path]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('this is not an agentloupe database');
    const stats = cli(['stats', '--db', path]);
    expect(stats.status).toBe(1);
    expect(stats.stderr).toContain('is a SQLite database but not an agentloupe one');
  });
});
