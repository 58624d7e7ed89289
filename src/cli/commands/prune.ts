import type { Command } from 'commander';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { prune, type PruneCounts } from '../../store/maintenance.js';
import { parseDuration, print, printJson, withWritableDb } from '../context.js';
import * as f from '../format.js';

interface PruneOptions {
  db?: string;
  json?: boolean;
  olderThan: string;
  dryRun?: boolean;
  keepLogs?: boolean;
}

/** The stable --json shape of `agentloupe prune`. */
export interface PruneReport {
  dryRun: boolean;
  /** Epoch seconds. */
  cutoff: number;
  deleted: { agents: number; agentRuns: number; telemetry: number; telemetryCalls: number; spans: number; health: Record<string, number>; logFiles: number };
  reparented: number;
  /** Log files that could not be removed, with why. */
  logErrors: string[];
}

export function registerPrune(program: Command): void {
  program
    .command('prune')
    .description('retention: delete agent runs that ended before a cut-off, with their telemetry, spans and log files, in one transaction')
    .requiredOption('--older-than <duration>', 'runs that ended more than this long ago (30d, 12h, 2w)')
    .option('--dry-run', 'say what would be deleted; change nothing')
    .option('--keep-logs', 'do not delete the log files of pruned runs')
    .option('--db <path>', 'database file')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Runs still starting or running are never pruned. A kept run whose parent is pruned becomes a root
(parent_id NULL; its plan id stays). agent_usage is aggregate history and is kept. Rows of the
health tables (health_checks, worker_heartbeats, alerts), when present, older than the cut-off go too.
Follow with \`agentloupe vacuum\` to give the space back to the file system.

Examples:
  agentloupe prune --older-than 30d --dry-run
  agentloupe prune --older-than 90d && agentloupe vacuum`,
    )
    .action((opts: PruneOptions) => {
      const cutoff = Math.floor(Date.now() / 1000 - parseDuration(opts.olderThan));
      const dryRun = opts.dryRun === true;
      const { counts, dbPath } = withWritableDb(opts, (db, path) => ({ counts: prune(db, cutoff, { dryRun }), dbPath: path }));
      const logErrors: string[] = [];
      let logFiles = 0;
      if (!opts.keepLogs) {
        // Files go after the commit: a rolled-back prune must not have lost any log.
        const files = new Set([...counts.logFiles, ...counts.agentIds.map((id) => join(dirname(dbPath), 'logs', `${id}.log`))]);
        for (const file of files) {
          if (!existsSync(file)) continue;
          logFiles++;
          if (dryRun) continue;
          try {
            rmSync(file);
          } catch (err) {
            logErrors.push(`${file}: ${(err as Error).message}`);
          }
        }
      }
      const report = toReport(counts, dryRun, logFiles, logErrors);
      if (opts.json) printJson(report);
      else print(renderPrune(report));
      if (logErrors.length > 0) process.exitCode = 1;
    });
}

function toReport(c: PruneCounts, dryRun: boolean, logFiles: number, logErrors: string[]): PruneReport {
  return {
    dryRun,
    cutoff: c.cutoff,
    deleted: { agents: c.agents, agentRuns: c.agentRuns, telemetry: c.telemetry, telemetryCalls: c.telemetryCalls, spans: c.spans, health: c.health, logFiles },
    reparented: c.reparented,
    logErrors,
  };
}

export function renderPrune(r: PruneReport): string {
  const d = r.deleted;
  const verb = r.dryRun ? 'would delete' : 'deleted';
  const lines = [
    `${r.dryRun ? f.paint('dry run: ', 'yellow') : ''}runs that ended before ${f.time(r.cutoff)}`,
    f.pairs([
      [`agents ${verb}`, String(d.agents)],
      ['telemetry rows', String(d.telemetry)],
      ['spans', String(d.spans)],
      ['log files', String(d.logFiles)],
      ...Object.entries(d.health).map(([t, n]): [string, string] => [t, String(n)]),
      ['re-rooted children', String(r.reparented)],
    ]),
  ];
  for (const e of r.logErrors) lines.push(f.paint(`could not remove ${e}`, 'red'));
  if (!r.dryRun && d.agents > 0) lines.push('', 'run `agentloupe vacuum` to return the freed space to the file system');
  return lines.join('\n');
}
