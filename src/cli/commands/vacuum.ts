import type { Command } from 'commander';
import { vacuum } from '../../store/maintenance.js';
import { print, printJson, withWritableDb } from '../context.js';
import * as f from '../format.js';

export function registerVacuum(program: Command): void {
  program
    .command('vacuum')
    .description('compact the database (VACUUM) and empty the write-ahead log (wal_checkpoint(TRUNCATE))')
    .option('--db <path>', 'database file')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nVACUUM rewrites the whole file; it waits for (and briefly blocks) live writers.\n\nExample:\n  agentloupe prune --older-than 30d && agentloupe vacuum')
    .action((opts: { db?: string; json?: boolean }) => {
      const { result, path } = withWritableDb(opts, (db, p) => ({ result: vacuum(db, p), path: p }));
      if (opts.json) {
        printJson({ path, ...result });
        return;
      }
      const lines = [
        f.pairs([
          ['database', path],
          ['before', `${bytes(result.before.total)}  (file ${bytes(result.before.db)}, wal ${bytes(result.before.wal)})`],
          ['after', `${bytes(result.after.total)}  (file ${bytes(result.after.db)}, wal ${bytes(result.after.wal)})`],
          ['freed', bytes(Math.max(0, result.before.total - result.after.total))],
        ]),
      ];
      if (result.checkpoint.busy) lines.push(f.paint('another connection is reading; the WAL could not be emptied fully (run again when it is idle)', 'yellow'));
      print(lines.join('\n'));
    });
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) (v /= 1024), i++;
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}
