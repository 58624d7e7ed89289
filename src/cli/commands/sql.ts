import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import { ReadOnlyQueryError, type RowStream, type RowValue } from '../../store/table-export.js';
import { readOnlyQuery } from '../../store/table-export.js';
import { CliError, parseLimit, print, withStoreAsync, type ReadOptions } from '../context.js';
import * as f from '../format.js';
import { withOutput, writeRows } from '../row-output.js';

interface SqlOptions extends ReadOptions {
  limit: string;
  timeout: string;
}

export const DEFAULT_SQL_TIMEOUT_S = 10;

/**
 * better-sqlite3 cannot interrupt a statement, and a thread blocked in one cannot be stopped
 * either (process.exit waits for it). So a bounded query runs in a child process — this command
 * again, with no limit — that is killed when the time is up; its output goes straight through.
 */
function runBounded(seconds: number): Promise<number> {
  const args = [...process.execArgv, process.argv[1]!, ...process.argv.slice(2), '--timeout', '0'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
    let timer: NodeJS.Timeout | undefined;
    // The clock starts when the query does, not while the child loads.
    child.once('message', () => {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new CliError(`the query ran longer than ${seconds} s and was stopped (--timeout ${seconds}); narrow it, or pass --timeout 0 for no limit`));
      }, seconds * 1000);
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? 1);
    });
  });
}

export function registerSql(program: Command): void {
  program
    .command('sql')
    .description('run one read-only SQL query (the database is opened read-only; writes are refused)')
    .argument('<query>', 'one SQL statement, quoted')
    .option('--limit <n>', 'at most this many rows (0: all)', '1000')
    .option('--timeout <seconds>', 'stop the query after this many seconds (0: no limit)', String(DEFAULT_SQL_TIMEOUT_S))
    .option('--db <path>', 'database file')
    .option('--json', 'print JSON (an array of objects)')
    .addHelpText(
      'after',
      `\nExamples:\n  agentloupe sql "SELECT model, SUM(total_tokens) AS tokens FROM telemetry GROUP BY model"\n  agentloupe sql "SELECT * FROM agents WHERE status = 'failed'" --json`,
    )
    .action(async (query: string, opts: SqlOptions) => {
      const limit = parseLimit(opts.limit, '--limit', { zero: 'every row' });
      const timeout = parseLimit(opts.timeout, '--timeout', { zero: 'no time limit' });
      if (timeout > 0) {
        // Refusals and syntax errors are found by preparing the statement, here and at once.
        await withStoreAsync(opts, async (store) => {
          try {
            readOnlyQuery(store.db, query).rows.return?.();
          } catch (err) {
            if (err instanceof ReadOnlyQueryError) throw new CliError(err.message);
            throw err;
          }
        });
        process.exitCode = await runBounded(timeout);
        return;
      }
      await withStoreAsync(opts, async (store) => {
        let rows: RowStream;
        process.send?.('query');
        process.channel?.unref();
        try {
          rows = readOnlyQuery(store.db, query);
        } catch (err) {
          if (err instanceof ReadOnlyQueryError) throw new CliError(err.message);
          throw err;
        }
        try {
          if (opts.json) {
            await withOutput(undefined, (out) => writeRows(rows, 'json', out, limit === 0 ? {} : { limit }));
            return;
          }
          if (rows.columns.length === 0) {
            print('ok (the statement returns no rows)');
            return;
          }
          const body: string[][] = [];
          let more = false;
          for (const row of rows.rows) {
            if (limit !== 0 && body.length >= limit) {
              more = true;
              break;
            }
            body.push(row.map(cell));
          }
          rows.rows.return?.();
          if (body.length === 0) print(`${rows.columns.join('  ')}\n(no rows)`);
          else print(f.table(rows.columns, body, { flex: rows.columns.length - 1 }));
          if (more) process.stderr.write(`(first ${limit} rows shown; use --limit N, or --limit 0 for all)\n`);
        } catch (err) {
          // Errors while stepping (a bad cast, a missing function at run time) are the query's.
          if ((err as { code?: string }).code?.startsWith('SQLITE_')) throw new CliError(`SQL error: ${(err as Error).message}`);
          throw err;
        }
      });
    });
}

function cell(v: RowValue): string {
  if (v === null) return 'NULL';
  if (Buffer.isBuffer(v)) return `<blob ${v.length} bytes>`;
  return String(v);
}
