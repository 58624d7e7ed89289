import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_DB_PATH } from '../../store/database.js';
import { inspectDatabase, sqliteLibraryVersion } from '../../store/diagnostics.js';
import { printJson, print, resolveDbPath } from '../context.js';
import { configurationChecks, databaseChecks, environmentChecks, type Check } from '../doctor-checks.js';
import * as f from '../format.js';

/** Where the database path came from, so a surprise can be traced. */
function dbSource(explicit: string | undefined, path: string): string {
  if (explicit) return 'from --db';
  if (process.env.AGENTLOUPE_DB && process.env.AGENTLOUPE_DB.trim() !== '') return 'from AGENTLOUPE_DB';
  if (existsSync(path) && path !== resolve(DEFAULT_DB_PATH)) return `found walking up from ${process.cwd()}`;
  return `default ${join('.', DEFAULT_DB_PATH)}`;
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check the database, the configuration and the environment, and say what to fix (exit 1 when something is wrong)')
    .option('--db <path>', 'database file')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  agentloupe doctor --db .agentloupe/monitoring.db')
    .action((opts: { db?: string; json?: boolean }) => {
      const path = resolveDbPath(opts.db);
      let sqlite: { version?: string; error?: string };
      try {
        sqlite = { version: sqliteLibraryVersion() };
      } catch (err) {
        sqlite = { error: (err as Error).message };
      }
      const checks: Check[] = [
        ...environmentChecks(process.version, sqlite),
        ...(sqlite.version !== undefined ? databaseChecks(inspectDatabase(path), dbSource(opts.db, path)) : []),
        ...configurationChecks(process.env),
      ];
      const ok = !checks.some((c) => c.status === 'fail');
      if (opts.json) printJson({ ok, database: path, checks });
      else print(renderDoctor(checks, ok));
      if (!ok) process.exitCode = 1;
    });
}

const MARK = { ok: ['ok', 'green'], warn: ['warn', 'yellow'], fail: ['FAIL', 'red'] } as const;

export function renderDoctor(checks: Check[], ok: boolean): string {
  const out: string[] = [];
  for (const area of ['database', 'configuration', 'environment'] as const) {
    const mine = checks.filter((c) => c.area === area);
    if (mine.length === 0) continue;
    out.push(f.heading(area[0]!.toUpperCase() + area.slice(1)));
    const w = Math.max(...mine.map((c) => c.name.length));
    for (const c of mine) {
      const [label, color] = MARK[c.status];
      out.push(`  ${f.paint(label.padEnd(4), color)}  ${c.name.padEnd(w)}  ${c.detail}`);
      if (c.fix) out.push(`  ${' '.repeat(4)}  ${' '.repeat(w)}  ${f.paint(`-> ${c.fix}`, 'dim')}`);
    }
    out.push('');
  }
  const fails = checks.filter((c) => c.status === 'fail').length;
  const warns = checks.filter((c) => c.status === 'warn').length;
  out.push(ok ? (warns > 0 ? `no problems, ${warns} warning${warns === 1 ? '' : 's'}` : 'no problems found') : f.paint(`${fails} problem${fails === 1 ? '' : 's'} to fix`, 'red'));
  return out.join('\n');
}
