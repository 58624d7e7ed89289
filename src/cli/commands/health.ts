import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { workerStatusOf, resolveThresholds, type WorkerStatus } from '../../health/heartbeats.js';
import { findZombies, reapZombies, type ZombieAgent } from '../../health/zombies.js';
import { HealthStore, type AlertRecord, type HealthChangeRecord } from '../../store/health-store.js';
import { parseDuration, print, printJson, resolveDbPath, UsageError, type ReadOptions } from '../context.js';
import * as f from '../format.js';

interface HealthOptions extends ReadOptions {
  reap?: boolean;
  staleAfter: string;
  downAfter: string;
  silentAfter: string;
  pidCheck: boolean;
  alerts: string;
}

export interface HealthReport {
  /** Each component's last recorded state (as of its last change). */
  components: HealthChangeRecord[];
  workers: WorkerStatus[];
  zombies: ZombieAgent[];
  /** Runs marked terminated by --reap. */
  reaped: number;
  alerts: AlertRecord[];
}

export function registerHealth(program: Command): void {
  program
    .command('health')
    .description('components (last recorded state), heartbeat workers and zombie agent runs; --reap terminates the zombies')
    .option('--db <path>', 'database file')
    .option('--json', 'print JSON')
    .option('--reap', 'mark zombie runs terminated, with the reason as their error message')
    .option('--stale-after <duration>', 'a worker silent this long is stale', '5m')
    .option('--down-after <duration>', 'a worker silent this long is down', '15m')
    .option('--silent-after <duration>', 'a running agent silent this long is a zombie', '1h')
    .option('--no-pid-check', 'do not test process ids (the database is fed from other hosts)')
    .option('--alerts <n>', 'show this many recent alerts', '10')
    .addHelpText('after', '\nExamples:\n  agentloupe health\n  agentloupe health --json\n  agentloupe health --reap --silent-after 30m')
    .action((opts: HealthOptions) => {
      const thresholds = (() => {
        try {
          return resolveThresholds({ staleAfterMs: parseDuration(opts.staleAfter) * 1000, downAfterMs: parseDuration(opts.downAfter) * 1000 });
        } catch (err) {
          if (err instanceof UsageError) throw err;
          throw new UsageError(`--down-after must be longer than --stale-after (got ${opts.staleAfter} and ${opts.downAfter})`);
        }
      })();
      const silentAfterMs = parseDuration(opts.silentAfter) * 1000;
      const alertLimit = Number(opts.alerts);
      if (!Number.isInteger(alertLimit) || alertLimit < 0) throw new UsageError(`--alerts takes a whole number, got "${opts.alerts}"`);
      // Only --reap writes; plain reads open read-only so they can run beside a live writer.
      const path = resolveDbPath(opts.db);
      // A missing file gets the read-only open's "no database here" message, not a new empty database.
      if (opts.reap && !existsSync(path)) HealthStore.open(path, { readonly: true }).close();
      const store = HealthStore.open(path, { readonly: !opts.reap });
      try {
        const now = Date.now();
        const zombies = findZombies(store, { now, silentAfterMs, checkProcesses: opts.pidCheck });
        const report: HealthReport = {
          components: store.latestHealth(),
          workers: store.listWorkers().map((w) => workerStatusOf(w, now, thresholds)),
          zombies,
          reaped: opts.reap ? reapZombies(store, zombies, now) : 0,
          alerts: alertLimit > 0 ? store.listAlerts({ limit: alertLimit }) : [],
        };
        if (opts.json) printJson(report);
        else print(render(report, opts.reap === true));
      } finally {
        store.close();
      }
    });
}

function ago(ms: number): string {
  return `${f.duration(Math.max(0, Date.now() - ms))} ago`;
}

export function render(r: HealthReport, reaping: boolean): string {
  const out: string[] = [];
  out.push(f.heading('Components'));
  out.push(
    r.components.length === 0
      ? 'no health changes recorded (register checks with monitor.health.register / registerDefaults)'
      : f.table(
          ['component', 'status', 'since', 'latency', 'service', 'pid', 'message'],
          r.components.map((c) => [c.component, f.status(c.status), ago(c.timeMs), f.duration(c.latencyMs), c.serviceName ?? '-', c.processId === null ? '-' : String(c.processId), c.message ?? '']),
          { right: [3, 5], flex: 6 },
        ),
  );
  out.push('', f.heading('Workers'));
  out.push(
    r.workers.length === 0
      ? 'no heartbeats recorded (monitor.heartbeat(workerId, { type }))'
      : f.table(
          ['worker', 'type', 'state', 'last heartbeat', 'beats', 'host', 'pid'],
          r.workers.map((w) => [w.workerId, w.workerType, f.status(w.state), ago(w.lastHeartbeatMs), String(w.beats), w.host ?? '-', w.processId === null ? '-' : String(w.processId)]),
          { right: [4, 6] },
        ),
  );
  out.push('', f.heading('Zombie agents'));
  out.push(
    r.zombies.length === 0
      ? 'none'
      : f.table(
          ['agent', 'name', 'status', 'pid', 'started', 'reason'],
          r.zombies.map((z) => [z.agentId, z.name, f.status(z.status), z.processId === null ? '-' : String(z.processId), f.time(z.startTime), z.detail]),
          { right: [3], flex: 5 },
        ),
  );
  if (reaping) out.push(`reaped ${r.reaped} run(s): marked terminated`);
  else if (r.zombies.length > 0) out.push(f.paint('run `agentloupe health --reap` to mark them terminated', 'dim'));
  if (r.alerts.length > 0) {
    out.push('', f.heading('Recent alerts'));
    out.push(
      f.table(
        ['time', 'severity', 'rule', 'subject', 'delivery', 'message'],
        r.alerts.map((a) => [f.time(Math.floor(a.timeMs / 1000)), a.severity, a.rule, a.subject || '-', a.delivery ?? '-', a.message]),
        { flex: 5 },
      ),
    );
  }
  return out.join('\n');
}
