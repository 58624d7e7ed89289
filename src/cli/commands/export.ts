import type { Command } from 'commander';
import { iterateTable, timeFilterable, UnknownTableError } from '../../store/table-export.js';
import { CliError, parseLimit, parseRange, UsageError, withStoreAsync, type ReadOptions } from '../context.js';
import { ROW_FORMATS, withOutput, writeRows, type RowFormat } from '../row-output.js';

interface ExportOptions extends ReadOptions {
  format: string;
  table: string;
  out?: string;
  since?: string;
  until?: string;
  limit?: string;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write a whole table as JSON, NDJSON or CSV, streamed row by row, to stdout or a file')
    .option('--format <format>', `${ROW_FORMATS.join(' | ')}`, 'json')
    .option('--table <table>', 'agents, telemetry, agent_usage, agent_runs, telemetry_calls, spans, or any other table in the file', 'agents')
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--since <time>', 'rows since (tables with a time column: agents, telemetry, agent_usage, spans, health tables)')
    .option('--until <time>', 'rows until')
    .option('--limit <n>', 'at most this many rows')
    .option('--db <path>', 'database file')
    .addHelpText(
      'after',
      '\nExamples:\n  agentloupe export --table telemetry --format csv --out telemetry.csv\n  agentloupe export --table spans --format ndjson --since 24h | jq .name',
    )
    .action(async (opts: ExportOptions) => {
      if (!(ROW_FORMATS as readonly string[]).includes(opts.format)) throw new UsageError(`--format takes ${ROW_FORMATS.join(', ')}, got "${opts.format}"`);
      const range = parseRange(opts);
      if ((range.since !== undefined || range.until !== undefined) && !timeFilterable(opts.table)) {
        throw new UsageError(`--since/--until work on agents, telemetry, agent_usage, spans, health_checks, worker_heartbeats and alerts, not on ${opts.table}`);
      }
      const limit = opts.limit !== undefined ? parseLimit(opts.limit) : undefined;
      await withStoreAsync(opts, async (store) => {
        let rows;
        try {
          rows = iterateTable(store.db, opts.table, { ...range, limit });
        } catch (err) {
          if (err instanceof UnknownTableError) throw new CliError(err.message);
          throw err;
        }
        const n = await withOutput(opts.out, (out) => writeRows(rows, opts.format as RowFormat, out));
        if (opts.out !== undefined) process.stderr.write(`wrote ${n} ${opts.table} rows to ${opts.out}\n`);
      });
    });
}
