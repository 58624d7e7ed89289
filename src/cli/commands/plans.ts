import type { Command } from 'commander';
import type { PlanSummary } from '../../store/reader.js';
import { parseLimit, parseRange, print, printJson, withStore, type ReadOptions } from '../context.js';
import * as f from '../format.js';

interface PlansOptions extends ReadOptions {
  since?: string;
  until?: string;
  limit: string;
  wide?: boolean;
}

export function registerPlans(program: Command): void {
  program
    .command('plans')
    .description('one line per plan: agents, status counts, duration, tokens, cost (newest first)')
    .option('--since <time>', 'plans whose agents started since (24h, 7d, 2026-11-01)')
    .option('--until <time>', 'started until')
    .option('--limit <n>', 'at most this many plans', '50')
    .option('--db <path>', 'database file')
    .option('--json', 'print JSON')
    .option('--wide', 'every column in full, whatever the terminal width')
    .addHelpText('after', '\nExamples:\n  agentloupe plans --since 24h\n  agentloupe tree --plan REQ-49   # then look inside one')
    .action((opts: PlansOptions) => {
      const range = parseRange(opts);
      const limit = parseLimit(opts.limit);
      withStore(opts, (store) => {
        const rows = store.plans({ ...range, limit });
        if (opts.json) printJson(rows);
        else if (rows.length === 0) print('no plans recorded in this range (agents started with a planId appear here)');
        else print(renderPlans(rows, { wide: opts.wide }));
      });
    });
}

const PLAN_COLUMNS: f.Column[] = [
  { header: 'plan', min: 12 },
  { header: 'status' },
  { header: 'agents', right: true, drop: 5 },
  { header: 'done', right: true, drop: 3 },
  { header: 'failed', right: true, drop: 4 },
  { header: 'term', right: true, drop: 1 },
  { header: 'running', right: true, drop: 2 },
  { header: 'started', drop: 7 },
  { header: 'duration', right: true },
  { header: 'tokens', right: true, drop: 6 },
  { header: 'cost', right: true },
];

export function renderPlans(rows: PlanSummary[], options: f.TableOptions = {}): string {
  return f.fitTable(
    PLAN_COLUMNS,
    rows.map((p) => [
      p.planId,
      f.status(p.status),
      String(p.agents),
      String(p.byStatus.completed),
      p.byStatus.failed > 0 ? f.paint(String(p.byStatus.failed), 'red') : '0',
      String(p.byStatus.terminated),
      String(p.byStatus.running + p.byStatus.starting),
      f.time(p.startTime),
      f.duration(p.durationMs),
      f.tokens(p.totalTokens),
      f.usd(p.costUsd, p.unpricedCalls),
    ]),
    options,
  );
}
