#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { AgentNotFoundError } from '../store/reader.js';
import { StoreError } from '../store/database.js';
import { CliError, UsageError } from './context.js';
import { registerAgents } from './commands/agents.js';
import { registerCost } from './commands/cost.js';
import { registerStats } from './commands/stats.js';
import { registerTelemetry } from './commands/telemetry.js';
import { registerTree } from './commands/tree.js';
import { registerHealth } from './commands/health.js';
import { registerShow } from './commands/show.js';
import { registerTools } from './commands/tools.js';
import { registerPlans } from './commands/plans.js';
import { registerExport } from './commands/export.js';
import { registerSql } from './commands/sql.js';
import { registerPrune } from './commands/prune.js';
import { registerVacuum } from './commands/vacuum.js';
import { registerMigrate } from './commands/migrate.js';
import { registerDoctor } from './commands/doctor.js';
import { registerCollector } from './commands/collector.js';
import { registerRun } from './commands/run.js';
import { registerLogs } from './commands/logs.js';
import { registerUi } from './commands/ui.js';
import { registerReprice } from './commands/reprice.js';

const EXIT_OK = 0;
const EXIT_ERROR = 1;
const EXIT_USAGE = 2;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export function buildProgram(): Command {
  const program = new Command('agentloupe')
    .description('Monitoring for AI agent systems: query the local agentloupe database offline, run any command as an agent, receive OTLP from agent processes.')
    .version(version())
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Every read command takes --db PATH (default: AGENTLOUPE_DB, else the nearest .agentloupe/monitoring.db
walking up from here) and --json.

Examples:
  agentloupe stats
  agentloupe agents --status failed
  agentloupe tree --plan REQ-49
  agentloupe cost --by model --since 7d`,
    );
  registerStats(program);
  registerAgents(program);
  registerTree(program);
  registerTelemetry(program);
  registerCost(program);
  registerHealth(program);
  registerShow(program);
  registerTools(program);
  registerPlans(program);
  registerExport(program);
  registerSql(program);
  registerPrune(program);
  registerVacuum(program);
  registerMigrate(program);
  registerReprice(program);
  registerDoctor(program);
  registerCollector(program);
  registerRun(program);
  registerLogs(program);
  registerUi(program);
  program.exitOverride();
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/** A server that could not listen (a busy or forbidden port), as one line that says what to do. */
function listenProblem(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e.code === 'EADDRINUSE' && e.port !== undefined) {
    return `${e.address ?? 'the address'}:${e.port} is already in use by another program (another collector?). Stop it, or pick another port with --port (0 picks a free one).`;
  }
  if (e.code === 'EACCES' && e.port !== undefined) {
    return `not allowed to listen on ${e.address ?? ''}:${e.port} (ports below 1024 need privileges). Pick another port with --port.`;
  }
  // Wrapped listen errors (the gRPC receiver's) already say which flag to change: the message, no stack.
  if (/EADDRINUSE|EACCES/.test(err.message)) return err.message.split('\n')[0];
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT_OK;
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`agentloupe: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof StoreError && err.code === 'IS_DIRECTORY') {
      process.stderr.write(`agentloupe: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof StoreError || err instanceof AgentNotFoundError || err instanceof CliError) {
      process.stderr.write(`agentloupe: ${err.message}\n`);
      return EXIT_ERROR;
    }
    const listen = listenProblem(err);
    if (listen !== undefined) {
      process.stderr.write(`agentloupe: ${listen}\n`);
      return EXIT_ERROR;
    }
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && code.startsWith('SQLITE_')) {
      // SQLITE_BUSY past the busy timeout, a full disk, a read-only file: the message is enough.
      process.stderr.write(`agentloupe: database error (${code}): ${(err as Error).message}\n`);
      return EXIT_ERROR;
    }
    process.stderr.write(`agentloupe: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT_ERROR;
  }
}

main(process.argv).then(
  (code) => {
    // A command may have set exit code 1 itself (doctor finding a problem) and still returned normally.
    const set = typeof process.exitCode === 'number' ? process.exitCode : 0;
    process.exitCode = Math.max(code, set);
  },
  (err: unknown) => {
    process.stderr.write(`agentloupe: ${String(err)}\n`);
    process.exitCode = EXIT_ERROR;
  },
);
