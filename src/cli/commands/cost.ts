import type { Command } from 'commander';
import { SUMMARY_GROUPS, summaryTotal, type SummaryGroup, type SummaryRow } from '../../store/reader.js';
import { parseRange, print, printJson, UsageError, withStore, type ReadOptions } from '../context.js';
import * as f from '../format.js';

const GROUPS = SUMMARY_GROUPS;

interface CostOptions extends ReadOptions {
  by: string;
  since?: string;
  until?: string;
  wide?: boolean;
}

export function registerCost(program: Command): void {
  program
    .command('cost')
    .description('tokens and cost of model calls, grouped')
    .option('--by <group>', `group by ${GROUPS.join(' | ')}`, 'model')
    .option('--since <time>', 'calls since (24h, 7d, 2026-11-01)')
    .option('--until <time>', 'calls until')
    .option('--db <path>', 'database file')
    .option('--json', 'print JSON')
    .option('--wide', 'every column in full, whatever the terminal width')
    .addHelpText('after', '\nExamples:\n  agentloupe cost --by day --since 7d\n  agentloupe cost --by plan --json')
    .action((opts: CostOptions) => {
      if (!(GROUPS as readonly string[]).includes(opts.by)) throw new UsageError(`--by takes one of ${GROUPS.join(', ')}, got "${opts.by}"`);
      const by = opts.by as SummaryGroup;
      const range = parseRange(opts);
      withStore(opts, (store) => {
        const rows = store.getTelemetrySummary(by, range);
        const total = summaryTotal(rows);
        if (opts.json) printJson({ by, rows, total });
        else if (rows.length === 0) print('no model calls recorded in this range');
        else print(renderCost(by, rows, total, { wide: opts.wide }));
      });
    });
}

function renderCost(by: SummaryGroup, rows: SummaryRow[], total: Omit<SummaryRow, 'key'>, options: f.TableOptions): string {
  const line = (key: string, r: Omit<SummaryRow, 'key'>): string[] => [
    key,
    String(r.calls),
    f.tokens(r.inputTokens),
    f.tokens(r.cacheReadTokens),
    f.tokens(r.cacheCreationTokens),
    f.tokens(r.outputTokens),
    f.tokens(r.totalTokens),
    f.usd(r.costUsd, r.unpricedCalls),
  ];
  return f.fitTable(
    [
      { header: by, min: 12 },
      { header: 'calls', right: true },
      { header: 'input', right: true },
      { header: 'cache read', right: true, drop: 3 },
      { header: 'cache write', right: true, drop: 1 },
      { header: 'output', right: true },
      { header: 'total', right: true, drop: 2 },
      { header: 'cost', right: true },
    ],
    [...rows.map((r) => line(r.key ?? '(none)', r)), line(f.paint('total', 'bold'), total)],
    options,
  );
}
