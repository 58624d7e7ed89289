#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { AgentNotFoundError } from '../store/reader.js';
import { StoreError } from '../store/database.js';
import { UsageError } from './context.js';
import { registerAgents } from './commands/agents.js';
import { registerCost } from './commands/cost.js';
import { registerStats } from './commands/stats.js';
import { registerTelemetry } from './commands/telemetry.js';
import { registerTree } from './commands/tree.js';

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
  const program = new Command('agentrace')
    .description('Monitoring for AI agent systems: query the local agentrace database offline.')
    .version(version())
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Every read command takes --db PATH (default: AGENTRACE_DB, else the nearest .agentrace/monitoring.db
walking up from here) and --json.

Examples:
  agentrace stats
  agentrace agents --status failed
  agentrace tree --plan REQ-49
  agentrace cost --by model --since 7d`,
    );
  registerStats(program);
  registerAgents(program);
  registerTree(program);
  registerTelemetry(program);
  registerCost(program);
  program.exitOverride();
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
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
      process.stderr.write(`agentrace: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof StoreError || err instanceof AgentNotFoundError) {
      process.stderr.write(`agentrace: ${err.message}\n`);
      return EXIT_ERROR;
    }
    process.stderr.write(`agentrace: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT_ERROR;
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`agentrace: ${String(err)}\n`);
    process.exitCode = EXIT_ERROR;
  },
);
