import type { Command } from 'commander';
import { AGENT_STATUSES, type AgentStatus } from '../../spans/rows.js';
import type { AgentRecord } from '../../store/reader.js';
import { parseLimit, parseRange, print, printJson, UsageError, withStore, type ReadOptions } from '../context.js';
import * as f from '../format.js';
import { csvCell } from '../row-output.js';
import type { RowValue } from '../../store/table-export.js';

interface AgentsOptions extends ReadOptions {
  status?: string;
  type?: string;
  plan?: string;
  parent?: string;
  since?: string;
  until?: string;
  limit: string;
  sort: string;
  csv?: boolean;
  wide?: boolean;
}

export function registerAgents(program: Command): void {
  program
    .command('agents')
    .description('list agent runs, newest first')
    .option('--db <path>', 'database file')
    .option('--json', 'print JSON')
    .option('--csv', 'print CSV')
    .option('--wide', 'every column in full, whatever the terminal width')
    .option('--status <status>', `only this status (comma-separated): ${AGENT_STATUSES.join(', ')}`)
    .option('--type <type>', 'only this agent type')
    .option('--plan <id>', 'only this plan')
    .option('--parent <agent-id>', 'only children of this agent')
    .option('--since <time>', 'started since (24h, 7d, 2026-11-01)')
    .option('--until <time>', 'started until')
    .option('--sort <order>', 'newest, oldest or duration', 'newest')
    .option('--limit <n>', 'at most this many', '50')
    .addHelpText('after', '\nExamples:\n  agentloupe agents --status failed --limit 20\n  agentloupe agents --plan REQ-49 --json')
    .action((opts: AgentsOptions) => {
      const statuses = opts.status?.split(',').map((s) => s.trim()).filter((s) => s !== '');
      for (const s of statuses ?? []) {
        if (!(AGENT_STATUSES as readonly string[]).includes(s)) throw new UsageError(`unknown status "${s}": use one of ${AGENT_STATUSES.join(', ')}`);
      }
      if (!['newest', 'oldest', 'duration'].includes(opts.sort)) throw new UsageError(`--sort takes newest, oldest or duration, got "${opts.sort}"`);
      if (opts.json && opts.csv) throw new UsageError('give --json or --csv, not both');
      const range = parseRange(opts);
      const limit = parseLimit(opts.limit);
      withStore(opts, (store) => {
        const rows = store.listAgents({
          status: statuses as AgentStatus[] | undefined,
          type: opts.type,
          plan: opts.plan,
          parent: opts.parent,
          ...range,
          limit,
          order: opts.sort as 'newest' | 'oldest' | 'duration',
        });
        if (opts.json) printJson(rows);
        else if (opts.csv) print(toCsv(rows));
        else if (rows.length === 0) print('no agents match');
        else print(renderAgents(rows, { wide: opts.wide }));
      });
    });
}

const AGENT_COLUMNS: f.Column[] = [
  { header: 'id', min: 20 },
  { header: 'type', min: 8, drop: 3 },
  { header: 'plan', min: 10, drop: 4 },
  { header: 'parent', min: 12, drop: 2 },
  { header: 'status' },
  { header: 'exit', right: true, drop: 1 },
  { header: 'started', drop: 5 },
  { header: 'duration', right: true },
  { header: 'error', min: 8 },
];

export function renderAgents(rows: AgentRecord[], options: f.TableOptions = {}): string {
  return f.fitTable(
    AGENT_COLUMNS,
    rows.map((a) => [
      a.id,
      a.agentType,
      a.planId ?? '-',
      a.parentId ?? '-',
      f.status(a.status),
      a.exitCode === null ? '-' : String(a.exitCode),
      f.time(a.startTime),
      f.duration(a.durationMs),
      a.errorMessage ?? '',
    ]),
    options,
  );
}

/** The CSV header names the columns as `export --format csv` does: the database's snake_case. */
const CSV_COLUMNS: [string, keyof AgentRecord][] = [
  ['id', 'id'],
  ['parent_id', 'parentId'],
  ['plan_id', 'planId'],
  ['agent_type', 'agentType'],
  ['name', 'name'],
  ['status', 'status'],
  ['process_id', 'processId'],
  ['start_time', 'startTime'],
  ['end_time', 'endTime'],
  ['duration_ms', 'durationMs'],
  ['exit_code', 'exitCode'],
  ['error_message', 'errorMessage'],
  ['log_file', 'logFile'],
  ['category', 'category'],
  ['trace_id', 'traceId'],
];

export function toCsv(rows: AgentRecord[]): string {
  const line = (cells: RowValue[]): string => cells.map(csvCell).join(',');
  return [line(CSV_COLUMNS.map(([h]) => h)), ...rows.map((r) => line(CSV_COLUMNS.map(([, k]) => r[k] as RowValue)))].join('\n');
}
