import type { Command } from 'commander';
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LogManager } from '../../agents/log-manager.js';
import { MonitoringStore } from '../../store/reader.js';
import { CliError, parseLimit, printJson, resolveDbPath, type ReadOptions } from '../context.js';
import * as f from '../format.js';

interface LogsOptions extends ReadOptions {
  tail?: string;
  follow?: boolean;
  list?: boolean;
}

/** How often --follow looks for new output and for the end of the run. */
const FOLLOW_POLL_MS = 250;

function agentStatus(dbPath: string, agentId: string): { status: string; logFile: string | null } | undefined {
  if (!existsSync(dbPath)) return undefined;
  let store: MonitoringStore | undefined;
  try {
    store = MonitoringStore.open(dbPath, { readonly: true });
    const agent = store.findAgent(agentId);
    return agent === undefined ? undefined : { status: agent.status, logFile: agent.logFile };
  } catch {
    return undefined;
  } finally {
    store?.close();
  }
}

/** Bytes of `path` from `offset` on, as text, and the new offset. */
function readFrom(path: string, offset: number): { text: string; offset: number } {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < offset) offset = 0; // truncated or recreated: start over
    if (size === offset) return { text: '', offset };
    const buf = Buffer.alloc(size - offset);
    readSync(fd, buf, 0, buf.length, offset);
    return { text: buf.toString('utf8'), offset: size };
  } finally {
    closeSync(fd);
  }
}

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description("show an agent's log file (written by `agentloupe run`), or list the logs")
    .argument('[agent-id]', 'the agent run')
    .option('--db <path>', 'database file (the logs live in logs/ next to it)')
    .option('--json', 'print JSON')
    .option('--tail <n>', 'only the last n lines')
    .option('-f, --follow', 'keep printing new output until the agent is no longer running (or Ctrl-C)')
    .option('--list', 'list the log files, newest first')
    .addHelpText('after', '\nExamples:\n  agentloupe logs developer-3f2a9c01b2d4 --tail 50\n  agentloupe logs developer-3f2a9c01b2d4 --follow\n  agentloupe logs --list')
    .action(async (agentId: string | undefined, opts: LogsOptions) => {
      const dbPath = resolveDbPath(opts.db);
      const logs = new LogManager(join(dirname(dbPath), 'logs'));
      if (opts.list || agentId === undefined) {
        const all = logs.list();
        if (opts.json) printJson(all.map((l) => ({ ...l, modifiedAt: l.modifiedAt.toISOString() })));
        else if (all.length === 0) process.stdout.write(`no agent logs in ${logs.dir}\n`);
        else {
          // The same aligned local time as every other table (JSON keeps the ISO instant).
          const rows = all.map((l) => [l.agentId, String(l.bytes), f.time(l.modifiedAt.getTime() / 1000)]);
          process.stdout.write(`${f.table(['agent', 'bytes', 'modified'], rows, { right: [1], flex: 0 })}\n`);
        }
        return;
      }
      const tail = opts.tail === undefined ? undefined : parseLimit(opts.tail, '--tail', { zero: 'only output written from now on, with --follow' });
      const known = agentStatus(dbPath, agentId);
      // The row knows where `agentloupe run` put the file; the logs dir is the fallback.
      const path = known?.logFile && existsSync(known.logFile) ? known.logFile : logs.pathFor(agentId);
      if (!existsSync(path)) {
        throw new CliError(
          known === undefined
            ? `no log for agent ${agentId} in ${logs.dir}. List them with \`agentloupe logs --list\`; logs are written by \`agentloupe run\`.`
            : `agent ${agentId} has no log file (only \`agentloupe run\` writes one).`,
        );
      }
      if (opts.json && !opts.follow) {
        const lines = tail !== undefined ? new LogManager(dirname(path)).tail(agentId, tail) : undefined;
        printJson({ agentId, path, status: known?.status ?? null, ...(lines ? { lines } : { text: readFrom(path, 0).text }) });
        return;
      }
      let offset = 0;
      if (tail !== undefined) {
        const lines = new LogManager(dirname(path)).tail(agentId, tail);
        if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
        offset = fstatSizeOf(path);
      } else {
        const first = readFrom(path, 0);
        process.stdout.write(first.text);
        offset = first.offset;
      }
      if (!opts.follow) return;
      await follow(path, offset, () => {
        const s = agentStatus(dbPath, agentId)?.status;
        return s === 'starting' || s === 'running';
      });
    });
}

function fstatSizeOf(path: string): number {
  const fd = openSync(path, 'r');
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

/** Prints what is appended to `path` until `running()` says no (one last read after) or Ctrl-C. */
async function follow(path: string, offset: number, running: () => boolean): Promise<void> {
  let stop = false;
  const onSigint = (): void => {
    stop = true;
  };
  process.once('SIGINT', onSigint);
  try {
    for (;;) {
      const still = running();
      const next = readFrom(path, offset);
      if (next.text !== '') process.stdout.write(next.text);
      offset = next.offset;
      if (!still || stop) return;
      await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
}
