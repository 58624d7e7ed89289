import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMonitor } from '../src/index.js';
import { buildFixedDb, cli, T0 } from './cli-fixture.js';
import { tempDir } from './helpers.js';

function fixedDb(): { path: string; dir: string } {
  const dir = tempDir();
  const logFile = join(dir, 'logs', 'architect-0001.log');
  mkdirSync(join(dir, 'logs'));
  writeFileSync(logFile, Array.from({ length: 30 }, (_, i) => `\u001b[32mline ${i + 1}\u001b[0m`).join('\n') + '\n');
  const path = join(dir, 'monitoring.db');
  buildFixedDb(path, logFile);
  return { path, dir };
}

function ok(args: string[], options?: Parameters<typeof cli>[1]): string {
  const r = cli(args, options);
  if (r.status !== 0) throw new Error(`agentloupe ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

describe('table output on a fixed-clock database', () => {
  it('matches the snapshots of every read command', () => {
    const { path, dir } = fixedDb();
    const db = ['--db', path];
    const out = (args: string[]): string => ok([...args, ...db]).split(dir).join('<dir>');
    expect(out(['agents', '--limit', '10'])).toMatchSnapshot('agents');
    expect(out(['tree', '--plan', 'REQ-49'])).toMatchSnapshot('tree');
    expect(out(['cost', '--by', 'day'])).toMatchSnapshot('cost by day');
    expect(out(['tools'])).toMatchSnapshot('tools');
    expect(out(['plans'])).toMatchSnapshot('plans');
    expect(out(['show', 'architect-0001', '--tail', '3'])).toMatchSnapshot('show');
    expect(out(['sql', 'SELECT agent_type, status, end_time - start_time AS secs FROM agents ORDER BY start_time'])).toMatchSnapshot('sql');
  }, 120_000);

  it('shows the tool approval stats and plan roll-ups with the right numbers', () => {
    const { path } = fixedDb();
    const tools = JSON.parse(ok(['tools', '--json', '--db', path])) as Record<string, unknown>[];
    expect(tools).toEqual([
      { tool: 'bash', calls: 2, approved: 1, denied: 1, unrecorded: 0, byApprovalType: { policy: 1, user: 1 }, agents: 2, avgDurationMs: 1000, lastCall: T0 + 145 },
      { tool: 'write_file', calls: 1, approved: 1, denied: 0, unrecorded: 0, byApprovalType: { user: 1 }, agents: 1, avgDurationMs: 20, lastCall: T0 + 40 },
    ]);
    const plans = JSON.parse(ok(['plans', '--json', '--db', path])) as Record<string, unknown>[];
    expect(plans).toEqual([
      {
        planId: 'REQ-49',
        agents: 3,
        byStatus: { starting: 0, running: 0, completed: 2, failed: 1, terminated: 0 },
        status: 'failed',
        startTime: T0,
        endTime: T0 + 192,
        durationMs: 192_000,
        modelCalls: 3,
        toolCalls: 3,
        totalTokens: 2300 + 15400 + 150,
        costUsd: expect.closeTo(0.01596 + 0.064, 10) as unknown,
        unpricedCalls: 1,
      },
    ]);
  }, 120_000);

  it('show --json has the documented shape, children, tool calls and the log tail without ANSI codes', () => {
    const { path } = fixedDb();
    const r = JSON.parse(ok(['show', 'architect-0001', '--tail', '2', '--json', '--db', path])) as {
      agent: { id: string; status: string; durationMs: number };
      children: { id: string }[];
      telemetry: { modelCalls: number; toolCalls: number; costUsd: number; unpricedCalls: number; tokens: { total: number }; byModel: unknown[] };
      tools: unknown[];
      log: { file: string; exists: boolean; lines: string[] };
    };
    expect(Object.keys(r)).toEqual(['agent', 'children', 'telemetry', 'tools', 'log']);
    expect(r.agent).toMatchObject({ id: 'architect-0001', status: 'completed', durationMs: 192_000 });
    expect(r.children.map((c) => c.id)).toEqual(['developer-0002', 'reviewer-0003']);
    expect(r.telemetry).toMatchObject({ modelCalls: 1, toolCalls: 0, unpricedCalls: 0, tokens: { total: 2300 } });
    expect(r.log.exists).toBe(true);
    expect(r.log.lines).toEqual(['line 29', 'line 30']);

    const dev = JSON.parse(ok(['show', 'developer-0002', '--json', '--db', path])) as typeof r;
    expect(dev.tools).toEqual([
      { timestamp: T0 + 30, toolName: 'bash', toolArgs: '{"cmd":"npm test"}', toolApproved: true, toolApprovalType: 'policy', durationMs: 1500 },
      { timestamp: T0 + 40, toolName: 'write_file', toolArgs: '{"path":"src/a.ts"}', toolApproved: true, toolApprovalType: 'user', durationMs: 20 },
    ]);
    expect(dev.log).toMatchObject({ exists: false, lines: [] });
  }, 120_000);

  it('filters agents by status, time range and limit', () => {
    const { path } = fixedDb();
    const ids = (args: string[]): string[] => (JSON.parse(ok(['agents', '--json', '--db', path, ...args])) as { id: string }[]).map((a) => a.id);
    expect(ids(['--status', 'failed'])).toEqual(['reviewer-0003']);
    expect(ids(['--status', 'running'])).toEqual(['solo-0004']);
    expect(ids(['--since', String(T0 + 100), '--until', String(T0 + 200)])).toEqual(['reviewer-0003']);
    expect(ids(['--sort', 'oldest', '--limit', '2'])).toEqual(['architect-0001', 'developer-0002']);
    expect(ok(['agents', '--csv', '--status', 'failed', '--db', path]).split('\n')[1]).toContain('reviewer-0003,architect-0001,REQ-49,reviewer');
  }, 120_000);
});

describe('a database written through the public API', () => {
  it('reads back what createMonitor wrote: stats, tree, cost, telemetry JSON shapes', async () => {
    const path = join(tempDir(), 'monitoring.db');
    const monitor = createMonitor({ db: path, registerGlobal: false, serviceName: 'cli-test' });
    let leadId = '';
    await monitor.withAgent({ type: 'architect', planId: 'P-7' }, async (lead) => {
      leadId = lead.id;
      lead.recordUsage({ provider: 'openai', model: 'gpt-4o-mini', inputTokens: 1000, outputTokens: 200 });
      await monitor.withAgent({ type: 'developer' }, async (dev) => {
        dev.recordTool({ name: 'bash', args: { cmd: 'ls' }, approved: false, approvalType: 'user' });
      });
    });
    await monitor.shutdown();

    const stats = JSON.parse(ok(['stats', '--json', '--db', path])) as Record<string, unknown>;
    expect(Object.keys(stats)).toEqual(['agents', 'durationMs', 'tokens', 'cost', 'toolCalls', 'topModels', 'modelCount', 'recent']);
    expect(stats.agents).toMatchObject({ total: 2, byStatus: { completed: 2 }, failureRate: 0 });
    expect(stats.toolCalls).toBe(1);

    const tree = JSON.parse(ok(['tree', leadId, '--json', '--db', path])) as { agent: { id: string }; subtree: { agents: number; tokens: number }; children: unknown[] }[];
    expect(tree).toHaveLength(1);
    expect(tree[0]!.agent.id).toBe(leadId);
    expect(tree[0]!.subtree).toMatchObject({ agents: 2, tokens: 1200 });

    const cost = JSON.parse(ok(['cost', '--by', 'plan', '--json', '--db', path])) as { by: string; rows: { key: string; calls: number }[]; total: { calls: number } };
    expect(cost.by).toBe('plan');
    expect(cost.rows).toEqual([expect.objectContaining({ key: 'P-7', calls: 1, totalTokens: 1200 })]);

    const tools = JSON.parse(ok(['tools', '--json', '--db', path])) as { tool: string; denied: number }[];
    expect(tools).toEqual([expect.objectContaining({ tool: 'bash', calls: 1, denied: 1, byApprovalType: { user: 1 } })]);

    const plans = JSON.parse(ok(['plans', '--json', '--db', path])) as { planId: string; agents: number; status: string }[];
    expect(plans).toEqual([expect.objectContaining({ planId: 'P-7', agents: 2, status: 'completed', modelCalls: 1, toolCalls: 1 })]);
  }, 120_000);

  it('finds the database by walking up from the working directory, like git', () => {
    const root = tempDir();
    mkdirSync(join(root, '.agentloupe'));
    buildFixedDb(join(root, '.agentloupe', 'monitoring.db'));
    const deep = join(root, 'a', 'b');
    mkdirSync(deep, { recursive: true });
    const agents = JSON.parse(ok(['agents', '--json'], { cwd: deep })) as unknown[];
    expect(agents).toHaveLength(4);
  });
});

describe('errors and exit codes', () => {
  it('exits 1 with what to do for a missing database', () => {
    const missing = join(tempDir(), 'nope.db');
    for (const cmd of [['stats'], ['agents'], ['show', 'x'], ['tools'], ['plans'], ['export'], ['sql', 'SELECT 1'], ['prune', '--older-than', '1d'], ['vacuum'], ['migrate']]) {
      const r = cli([...cmd, '--db', missing]);
      expect(r.status, cmd.join(' ')).toBe(1);
      expect(r.stderr).toContain(`no agentloupe database at ${missing}`);
      expect(r.stdout).toBe('');
    }
  }, 120_000);

  it('exits 1 for an unknown agent or plan, naming it and how to list them', () => {
    const { path } = fixedDb();
    for (const cmd of [['show', 'ghost-1'], ['tree', 'ghost-1'], ['telemetry', 'ghost-1']]) {
      const r = cli([...cmd, '--db', path]);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe('agentloupe: no agent with id "ghost-1" in this database (list them with: agentloupe agents)\n');
    }
    const plan = cli(['tree', '--plan', 'NOPE', '--db', path]);
    expect(plan.status).toBe(1);
    expect(plan.stderr).toContain('no agents in plan "NOPE" (list plans with: agentloupe plans)');
  }, 120_000);

  it('exits 2 for bad flags and values', () => {
    const { path } = fixedDb();
    const cases: [string[], string][] = [
      [['agents', '--bogus'], "unknown option '--bogus'"],
      [['agents', '--since', 'yesterday-ish'], 'cannot read "yesterday-ish" as a time'],
      [['agents', '--since', '1d', '--until', '7d'], 'is before --since'],
      [['agents', '--status', 'done'], 'unknown status "done"'],
      [['agents', '--limit', 'ten'], '--limit must be a positive whole number'],
      [['stats', '--recent', 'x'], '--recent must be a whole number, 0 or more'],
      [['cost', '--by', 'week'], '--by takes one of'],
      [['export', '--format', 'xml'], '--format takes json, ndjson, csv'],
      [['export', '--table', 'agent_runs', '--since', '1d'], '--since/--until work on'],
      [['prune'], "required option '--older-than <duration>' not specified"],
      [['prune', '--older-than', 'a month'], 'cannot read "a month" as a duration'],
      [['tree'], 'give exactly one of'],
      [['frobnicate'], "unknown command 'frobnicate'"],
    ];
    for (const [args, message] of cases) {
      const r = cli([...args, '--db', path]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(message);
    }
  }, 120_000);

  it('has --help with an example on every command, exit 0', () => {
    const commands = ['stats', 'agents', 'show', 'tree', 'telemetry', 'cost', 'tools', 'plans', 'export', 'sql', 'prune', 'vacuum', 'migrate', 'doctor'];
    const top = cli(['--help']);
    expect(top.status).toBe(0);
    for (const c of commands) {
      expect(top.stdout).toContain(`  ${c}`);
      const r = cli([c, '--help']);
      expect(r.status, c).toBe(0);
      expect(r.stdout, c).toMatch(/Examples?:\n {2}agentloupe /);
      expect(r.stdout, c).toContain('--db <path>');
    }
  }, 120_000);
});
