import type { Command } from 'commander';
import { readSchemaVersion } from '../../store/diagnostics.js';
import { schemaVersion } from '../../store/database.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../store/schema.js';
import { print, printJson, resolveDbPath, withWritableDb } from '../context.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description(`upgrade a database to this agentloupe's schema (version ${SCHEMA_VERSION})`)
    .option('--db <path>', 'database file')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nSafe to run on a live database: the migration is one transaction.\n\nExample:\n  agentloupe migrate --db .agentloupe/monitoring.db')
    .action((opts: { db?: string; json?: boolean }) => {
      const path = resolveDbPath(opts.db);
      const from = readSchemaVersion(path);
      const to = withWritableDb(opts, (db) => schemaVersion(db));
      const applied = MIGRATIONS.filter((m) => m.version > (from ?? 0) && m.version <= to).map((m) => ({ version: m.version, description: m.description }));
      if (opts.json) printJson({ path, from, to, applied });
      else if (applied.length === 0) print(`${path} is up to date (schema version ${to})`);
      else print([`${path}: schema version ${from} -> ${to}`, ...applied.map((m) => `  ${m.version}: ${m.description}`)].join('\n'));
    });
}
