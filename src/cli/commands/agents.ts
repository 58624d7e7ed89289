import type { Command } from 'commander';
import { AGENT_STATUSES, type AgentStatus } from '../../spans/rows.js';
import type { AgentRecord } from '../../store/reader.js';
import { parseLimit, parseRange, print, printJson, UsageError, withStore, type ReadOptions } from '../context.js';
import * as f from '../format.js';

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
}

export function registerAgents(program: Command): void {
  program
    .command('agents')
    .description('list agent runs, newest first')
    .option('--db <path>', 'database file')
    .option('--json', 'print JSON')
    .option('--csv', 'print CSV')
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
        else print(renderAgents(rows));
      });
    });
}

export function renderAgents(rows: AgentRecord[]): string {
  return f.table(
    ['id', 'type', 'plan', 'parent', 'status', 'exit', 'started', 'duration', 'error'],
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
    { right: [5, 7], flex: 8 },
  );
}

const CSV_COLUMNS: (keyof AgentRecord)[] = [
  'id', 'parentId', 'planId', 'agentType', 'name', 'status', 'processId', 'startTime', 'endTime', 'durationMs', 'exitCode', 'errorMessage', 'logFile', 'category', 'traceId',
];

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(rows: AgentRecord[]): string {
  return [CSV_COLUMNS.join(','), ...rows.map((r) => CSV_COLUMNS.map((c) => csvCell(r[c])).join(','))].join('\n');
}
