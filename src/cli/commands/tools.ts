import type { Command } from 'commander';
import type { ToolStatsRow } from '../../store/reader.js';
import { parseLimit, parseRange, print, printJson, withStore, type ReadOptions } from '../context.js';
import * as f from '../format.js';

interface ToolsOptions extends ReadOptions {
  since?: string;
  until?: string;
  limit: string;
  wide?: boolean;
}

export function registerTools(program: Command): void {
  program
    .command('tools')
    .description('tool calls per tool, with approval stats: approved, denied, by approval type')
    .option('--since <time>', 'calls since (24h, 7d, 2026-11-01)')
    .option('--until <time>', 'calls until')
    .option('--limit <n>', 'at most this many tools (most called first)', '50')
    .option('--db <path>', 'database file')
    .option('--json', 'print JSON')
    .option('--wide', 'every column in full, whatever the terminal width')
    .addHelpText('after', '\nExamples:\n  agentloupe tools --since 7d\n  agentloupe tools --json')
    .action((opts: ToolsOptions) => {
      const range = parseRange(opts);
      const limit = parseLimit(opts.limit);
      withStore(opts, (store) => {
        const rows = store.toolStats({ ...range, limit });
        if (opts.json) printJson(rows);
        else if (rows.length === 0) print('no tool calls recorded in this range');
        else print(renderTools(rows, { wide: opts.wide }));
      });
    });
}

const TOOL_COLUMNS: f.Column[] = [
  { header: 'tool', min: 12 },
  { header: 'calls', right: true },
  { header: 'approved', right: true },
  { header: 'denied', right: true },
  { header: 'unrecorded', right: true, drop: 1 },
  { header: 'agents', right: true, drop: 2 },
  { header: 'avg time', right: true, drop: 4 },
  { header: 'last call', drop: 3 },
  { header: 'by approval type', min: 10, drop: 5 },
];

export function renderTools(rows: ToolStatsRow[], options: f.TableOptions = {}): string {
  return f.fitTable(
    TOOL_COLUMNS,
    rows.map((r) => [
      r.tool,
      String(r.calls),
      String(r.approved),
      r.denied > 0 ? f.paint(String(r.denied), 'red') : '0',
      String(r.unrecorded),
      String(r.agents),
      f.duration(r.avgDurationMs),
      f.time(r.lastCall),
      Object.entries(r.byApprovalType)
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ]),
    options,
  );
}
