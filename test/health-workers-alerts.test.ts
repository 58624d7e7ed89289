import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AlertConfigError,
  createMonitor,
  findZombies,
  HealthMonitor,
  HealthStore,
  loadAlertConfig,
  openDatabase,
  type Monitor,
  type WebhookBody,
} from '../src/index.js';
import { tempDir } from './helpers.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first with npx tsc -p tsconfig.json (npm test does)`);
});

function monitorAt(db: string): Monitor {
  const m = createMonitor({ db, registerGlobal: false });
  cleanup.push(() => m.shutdown());
  return m;
}

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('heartbeats', () => {
  it('a worker goes stale, then down; the workers check and the CLI say so', async () => {
    const db = join(tempDir(), 'hb.db');
    const start = Date.now() - 60_000;
    let clock = start;
    const health = new HealthMonitor({ db, heartbeats: { staleAfterMs: 1000, downAfterMs: 3000 }, now: () => clock });
    cleanup.push(() => health.shutdown());
    health.register(health.heartbeats.check({ intervalMs: 60_000 }));
    health.heartbeat('sandbox-7', { type: 'sandbox', metadata: { image: 'node:20' } });
    health.heartbeat('sandbox-7', { type: 'sandbox' });

    expect(health.heartbeats.evaluate().map((w) => [w.workerId, w.state, w.beats])).toEqual([['sandbox-7', 'healthy', 2]]);
    expect((await health.run('workers')).status).toBe('healthy');
    clock = start + 1500;
    expect(health.heartbeats.evaluate()[0]!.state).toBe('stale');
    expect(await health.run('workers')).toMatchObject({ status: 'degraded', metadata: { stale: 1, down: 0 } });
    clock = start + 3500;
    expect(health.heartbeats.evaluate()[0]!.state).toBe('down');
    expect(await health.run('workers')).toMatchObject({ status: 'unhealthy', metadata: { stale: 0, down: 1 } });
    // A new beat brings it back.
    health.heartbeat('sandbox-7', { type: 'sandbox' });
    expect(health.heartbeats.evaluate()[0]!.state).toBe('healthy');

    // A second worker, last heard 5 s ago (real time): stale under the CLI's thresholds; sandbox-7 (~56 s) is down.
    clock = Date.now() - 5000;
    health.heartbeat('orchestrator-1', { type: 'orchestrator' });
    health.heartbeats.flush();
    const store = HealthStore.open(db, { readonly: true });
    cleanup.push(() => store.close());
    expect(store.listWorkers().find((w) => w.workerId === 'sandbox-7')).toMatchObject({ workerType: 'sandbox', beats: 3, metadata: { image: 'node:20' }, processId: process.pid });

    const r = cli(['health', '--db', db, '--json', '--stale-after', '2s', '--down-after', '30s']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { workers: { workerId: string; state: string }[] };
    expect(Object.fromEntries(report.workers.map((w) => [w.workerId, w.state]))).toEqual({ 'orchestrator-1': 'stale', 'sandbox-7': 'down' });
    const text = cli(['health', '--db', db, '--stale-after', '2s', '--down-after', '30s']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/orchestrator-1\s+orchestrator\s+stale/);
    expect(text.stdout).toMatch(/sandbox-7\s+sandbox\s+down/);
  });
});

describe('zombie agents', () => {
  it('detects a run whose process was SIGKILLed; agentloupe health --reap terminates it', async () => {
    const db = join(tempDir(), 'z.db');
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 100000)'], { stdio: 'ignore' });
    cleanup.push(() => child.kill('SIGKILL'));
    await once(child, 'spawn');
    const monitor = monitorAt(db);
    const zombie = monitor.startAgent({ type: 'sandbox', name: 'sandbox-runner', processId: child.pid!, planId: 'REQ-9' }).running();
    const alive = monitor.startAgent({ type: 'developer' }).running();
    await monitor.forceFlush();

    const store = HealthStore.open(db, { readonly: true });
    cleanup.push(() => store.close());
    expect(findZombies(store)).toEqual([]);

    child.kill('SIGKILL');
    await once(child, 'exit');
    const zombies = findZombies(store);
    expect(zombies).toEqual([expect.objectContaining({ agentId: zombie.id, reason: 'process_gone', processId: child.pid, status: 'running' })]);
    // Silence alone also counts, once past the limit.
    expect(findZombies(store, { now: Date.now() + 2 * 3600_000 }).map((z) => z.agentId).sort()).toEqual([alive.id, zombie.id].sort());

    const listed = cli(['health', '--db', db, '--json']);
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { zombies: { agentId: string }[]; reaped: number })).toMatchObject({ zombies: [{ agentId: zombie.id }], reaped: 0 });

    const reaped = cli(['health', '--reap', '--db', db, '--json']);
    expect(reaped.stderr).toBe('');
    expect(reaped.code).toBe(0);
    expect(JSON.parse(reaped.stdout)).toMatchObject({ reaped: 1, zombies: [{ agentId: zombie.id }] });

    const raw = openDatabase(db, { readonly: true });
    cleanup.push(() => raw.close());
    const row = raw.prepare('SELECT status, end_time, error_message FROM agents WHERE id = ?').get(zombie.id) as { status: string; end_time: number | null; error_message: string };
    expect(row.status).toBe('terminated');
    expect(row.end_time).not.toBeNull();
    expect(row.error_message).toBe(`reaped by agentloupe: process ${child.pid} is gone (run was still running)`);
    expect((raw.prepare('SELECT status FROM agents WHERE id = ?').get(alive.id) as { status: string }).status).toBe('running');
    expect(raw.prepare('SELECT execution_count, failure_count FROM agent_usage WHERE agent_id = ?').get('sandbox-runner')).toEqual({ execution_count: 1, failure_count: 1 });
    expect(findZombies(store)).toEqual([]);
    // Reaping again finds nothing to do.
    expect(JSON.parse(cli(['health', '--reap', '--db', db, '--json']).stdout)).toMatchObject({ reaped: 0, zombies: [] });
  });
});

describe('alert rules', () => {
  it('a plan budget rule fires exactly once per cooldown; the webhook gets the documented JSON', async () => {
    const bodies: WebhookBody[] = [];
    const receiver: Server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString('utf8')));
      req.on('end', () => {
        expect(req.headers['content-type']).toBe('application/json');
        bodies.push(JSON.parse(text) as WebhookBody);
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => receiver.close(r)));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

    const db = join(tempDir(), 'a.db');
    const monitor = monitorAt(db);
    const t0 = Date.now();
    let clock = t0;
    const lines: string[] = [];
    const alerts = monitor.health.startAlerts(
      { interval: '1h', cooldown: '10m', webhook: url, rules: [{ name: 'plan-budget', kind: 'plan_cost', budgetUsd: 5, severity: 'critical' }] },
      { now: () => clock, log: (l) => lines.push(l), serviceName: 'swarm' },
    );
    const fired: string[] = [];
    alerts.on('alert', (a) => fired.push(a.subject));

    const run = monitor.startAgent({ type: 'developer', planId: 'REQ-7' }).running();
    run.recordUsage({ provider: 'openai', model: 'gpt-4o', inputTokens: 1000, outputTokens: 100, costUsd: 3 });
    const other = monitor.startAgent({ type: 'developer', planId: 'REQ-8' }).running();
    other.recordUsage({ provider: 'openai', model: 'gpt-4o', inputTokens: 10, outputTokens: 10, costUsd: 1 });
    await monitor.forceFlush();
    expect(await alerts.evaluate()).toEqual([]);

    run.recordUsage({ provider: 'openai', model: 'gpt-4o', inputTokens: 1000, outputTokens: 100, costUsd: 3 });
    await monitor.forceFlush();
    const first = await alerts.evaluate();
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ rule: 'plan-budget', kind: 'plan_cost', subject: 'REQ-7', severity: 'critical', value: 6, threshold: 5 });
    for (const minutes of [1, 5, 9.9]) {
      clock = t0 + minutes * 60_000;
      expect(await alerts.evaluate(), `at +${minutes} min`).toEqual([]);
    }
    clock = t0 + 10 * 60_000;
    expect((await alerts.evaluate()).map((a) => a.subject)).toEqual(['REQ-7']);
    await alerts.flush();

    expect(fired).toEqual(['REQ-7', 'REQ-7']);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('agentloupe: ALERT [critical] plan-budget (REQ-7): plan REQ-7 has cost $6.00 over 2 call(s), over its $5.00 budget');
    expect(bodies).toHaveLength(2);
    expect(bodies[0]).toEqual({
      text: '[CRITICAL] Plan REQ-7 over budget: plan REQ-7 has cost $6.00 over 2 call(s), over its $5.00 budget',
      alert: {
        id: first[0]!.id,
        rule: 'plan-budget',
        kind: 'plan_cost',
        severity: 'critical',
        subject: 'REQ-7',
        title: 'Plan REQ-7 over budget',
        message: 'plan REQ-7 has cost $6.00 over 2 call(s), over its $5.00 budget',
        value: 6,
        threshold: 5,
        details: { planId: 'REQ-7', calls: 2 },
        time: new Date(t0).toISOString(),
        service: 'swarm',
      },
    });

    const store = HealthStore.open(db, { readonly: true });
    cleanup.push(() => store.close());
    const stored = store.listAlerts();
    expect(stored.map((a) => [a.rule, a.subject, a.delivery])).toEqual([
      ['plan-budget', 'REQ-7', 'ok 200'],
      ['plan-budget', 'REQ-7', 'ok 200'],
    ]);

    // The cooldown survives a restart: a fresh manager reads the last firing from the alerts table.
    await alerts.stop();
    clock = t0 + 15 * 60_000;
    const again = monitor.health.startAlerts({ cooldown: '10m', rules: [{ name: 'plan-budget', kind: 'plan_cost', budgetUsd: 5 }] }, { now: () => clock, log: false });
    expect(await again.evaluate()).toEqual([]);
    clock = t0 + 21 * 60_000;
    expect((await again.evaluate()).map((a) => a.subject)).toEqual(['REQ-7']);
  });

  it('reads rules from YAML and names the bad field of a broken file', () => {
    const dir = tempDir();
    const good = join(dir, 'alerts.yaml');
    writeFileSync(
      good,
      [
        'interval: 30s',
        'cooldown: 1h',
        'webhook: { url: "https://hooks.example.com/T000/B000", timeout: 3s }',
        'rules:',
        '  - { name: failures, kind: failure_rate, threshold: 0.1, window: 1h, minRuns: 10, severity: critical }',
        '  - { name: daily, kind: daily_cost, budgetUsd: 50 }',
        '  - { name: workers-down, kind: workers, state: down }',
        '  - { name: unhealthy, kind: component, status: unhealthy }',
        '  - { name: db-size, kind: database_size, maxMb: 500 }',
        '  - { name: zombies, kind: zombie_agents, silentAfter: 30m }',
      ].join('\n'),
    );
    const cfg = loadAlertConfig(good);
    expect(cfg.rules.map((r) => r.kind)).toEqual(['failure_rate', 'daily_cost', 'workers', 'component', 'database_size', 'zombie_agents']);

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ rules: [{ name: 'p', kind: 'plan_cost', budgetUsd: -1 }] }));
    expect(() => loadAlertConfig(bad)).toThrow(AlertConfigError);
    expect(() => loadAlertConfig(bad)).toThrow(/rules\[0\]\.budgetUsd: expected a positive number/);
    writeFileSync(bad, JSON.stringify({ rules: [{ name: 'p', kind: 'failure_rate', threshold: 0.1, window: 'soon' }] }));
    expect(() => loadAlertConfig(bad)).toThrow(/rules\[0\]\.window: cannot read "soon" as a duration/);
  });

  it('failure-rate, worker and component rules fire from real data', async () => {
    const db = join(tempDir(), 'r.db');
    const monitor = monitorAt(db);
    for (let i = 0; i < 4; i++) await monitor.withAgent({ type: 'tester' }, async () => undefined);
    for (let i = 0; i < 2; i++) await monitor.withAgent({ type: 'tester' }, async () => Promise.reject(new Error('flaky'))).catch(() => undefined);
    await monitor.forceFlush();
    const health = monitor.health;
    health.register({ name: 'vector-db', intervalMs: 60_000, check: () => ({ status: 'unhealthy', message: 'connection refused' }) });
    await health.run('vector-db');
    let clock = Date.now();
    health.heartbeat('w1', { type: 'sandbox' });
    health.heartbeats.flush();
    clock += 20 * 60_000;
    const alerts = health.startAlerts(
      {
        rules: [
          { name: 'failures', kind: 'failure_rate', threshold: 0.25, minRuns: 5 },
          { name: 'down', kind: 'workers' },
          { name: 'components', kind: 'component' },
          { name: 'size', kind: 'database_size', maxBytes: 1 },
        ],
      },
      { now: () => clock, log: false },
    );
    const fired = await alerts.evaluate();
    expect(fired.map((a) => `${a.rule}:${a.subject}`).sort()).toEqual(['components:vector-db', 'down:w1', 'failures:', 'size:']);
    expect(fired.find((a) => a.rule === 'failures')).toMatchObject({ value: 2 / 6, threshold: 0.25 });
  });
});
