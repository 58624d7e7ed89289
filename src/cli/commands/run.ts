import { context } from '@opentelemetry/api';
import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import { basename, dirname, join } from 'node:path';
import { constants } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import { fileURLToPath } from 'node:url';
import { LogManager } from '../../agents/log-manager.js';
import { createMonitor } from '../../agents/monitor.js';
import * as A from '../../semconv.js';
import { childContextEnv } from '../../../instrumentation/child-process.js';
import { resolveDbPath, UsageError } from '../context.js';
import { isDbOff } from '../../store/database.js';

interface RunOptions {
  type?: string;
  plan?: string;
  name?: string;
  db?: string;
}

/** The register hook, as a file URL for NODE_OPTIONS (`--import` takes URLs; spaces are escaped in them). */
function registerHookUrl(): string {
  return new URL('../../../instrumentation/register.js', import.meta.url).href;
}

/** NODE_OPTIONS with the hook added, unless it is there already. */
export function withRegisterHook(nodeOptions: string | undefined, hookUrl = registerHookUrl()): string {
  const current = nodeOptions?.trim() ?? '';
  if (current.includes('agentloupe/register') || current.includes(hookUrl) || current.includes(fileURLToPath(hookUrl))) return current;
  return `${current === '' ? '' : `${current} `}--import ${hookUrl}`;
}

/**
 * Holds back an ANSI escape sequence cut off at the end of a chunk, so that stripping (which
 * works on whole sequences) sees it whole in the next chunk.
 */
class EscapeCarry {
  private rest = '';
  private readonly decoder = new StringDecoder('utf8');

  push(chunk: Buffer): string {
    let text = this.rest + this.decoder.write(chunk);
    this.rest = '';
    const esc = text.lastIndexOf('\u001b');
    // An escape near the end with no final byte yet: keep it for the next chunk (bounded).
    if (esc >= 0 && text.length - esc < 64 && !/^\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])/.test(text.slice(esc))) {
      this.rest = text.slice(esc);
      text = text.slice(0, esc);
    }
    return text;
  }

  end(): string {
    const text = this.rest + this.decoder.end();
    this.rest = '';
    return text;
  }
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run any command as an agent: its exit code, duration and output are recorded')
    .option('--type <type>', 'agent type (default: the command name)')
    .option('--name <name>', 'agent name, stable across runs (default: the type)')
    .option('--plan <id>', 'plan / workflow id')
    .option('--db <path>', 'database file (default: AGENTLOUPE_DB, else the nearest .agentloupe/monitoring.db)')
    .argument('<command>', 'the command to run')
    .argument('[args...]', 'its arguments (put -- before the command)')
    .addHelpText(
      'after',
      `
Node commands get the register hook through NODE_OPTIONS, so their model calls are captured
under this run. stdout and stderr are shown and also written, without colour codes, to
<db dir>/logs/<agent-id>.log (see \`agentloupe logs\`). The command's exit code (128+N for
signal N) is agentloupe's exit code.

Examples:
  agentloupe run --type planner -- node planner.js
  agentloupe run --plan REQ-49 -- python agent.py --task 3`,
    )
    .action(async (command: string, args: string[], opts: RunOptions) => {
      if (command.trim() === '') throw new UsageError('agentloupe run needs a command: agentloupe run -- <command> [args]');
      const code = await runCommand(command, args, opts);
      process.exit(code);
    });
}

/** Longest wait for exporters once the command has ended. */
const EXPORT_WAIT_MS = 2000;

async function runCommand(command: string, args: string[], opts: RunOptions): Promise<number> {
  const dbOff = opts.db === undefined && isDbOff(process.env.AGENTLOUPE_DB);
  const dbPath = dbOff ? undefined : resolveDbPath(opts.db);
  const type = opts.type ?? basename(command);
  const name = opts.name ?? type;
  const monitor = createMonitor({ db: dbPath ?? false, origin: 'agentloupe run' });
  const logs = new LogManager(join(dirname(dbPath ?? resolveDbPath(undefined)), 'logs'));

  const run = monitor.startAgent({ type, name, ...(opts.plan ? { planId: opts.plan } : {}), description: [command, ...args].join(' ').slice(0, 500) });
  let logFile: string | undefined;
  try {
    logFile = logs.create(run.id);
    run.span.setAttribute(A.AGENTLOUPE_LOG_FILE, logFile);
  } catch (err) {
    process.stderr.write(`agentloupe: cannot write the log file (${(err as Error).message}); output is shown but not saved\n`);
  }
  // The row must exist before the child writes calls against it from its own process. Only
  // SQLite: flushing exporters here could hold the command up (an OTLP endpoint that is down).
  await monitor.sqlite?.forceFlush();

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...childContextEnv(run.context(context.active()), run),
    AGENTLOUPE_RUN_AGENT_ID: run.id,
    AGENTLOUPE_AGENT_TYPE: type,
    AGENTLOUPE_AGENT_NAME: name,
    AGENTLOUPE_DB: dbPath ?? 'off',
    NODE_OPTIONS: withRegisterHook(process.env.NODE_OPTIONS),
  };
  if (opts.plan) env.AGENTLOUPE_PLAN_ID = opts.plan;

  const child = spawn(command, args, { env, stdio: ['inherit', 'pipe', 'pipe'] });
  const forward = (signal: NodeJS.Signals): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  for (const s of signals) process.on(s, forward);

  const tee = (from: NodeJS.ReadableStream, to: NodeJS.WriteStream): Promise<void> => {
    const carry = new EscapeCarry();
    return new Promise((resolve) => {
      from.on('data', (chunk: Buffer) => {
        try {
          to.write(chunk);
        } catch {
          // our terminal went away; keep logging
        }
        if (logFile !== undefined) {
          try {
            logs.append(run.id, carry.push(chunk));
          } catch {
            logFile = undefined;
          }
        }
      });
      from.on('end', () => {
        if (logFile !== undefined) {
          try {
            logs.append(run.id, carry.end());
          } catch {
            // as above
          }
        }
        resolve();
      });
      from.on('error', () => resolve());
    });
  };
  // An EPIPE on our own stdout (e.g. `agentloupe run ... | head`) must not kill the run.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  const piped = Promise.all([tee(child.stdout!, process.stdout), tee(child.stderr!, process.stderr)]);

  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('spawn', () => {
      if (child.pid !== undefined) run.span.setAttribute(A.PROCESS_PID, child.pid);
      run.running();
    });
  });
  for (const s of signals) process.off(s, forward);
  if (outcome.error === undefined) await piped;

  let exitCode: number;
  if (outcome.error !== undefined) {
    const notFound = (outcome.error as NodeJS.ErrnoException).code === 'ENOENT';
    exitCode = notFound ? 127 : 126;
    process.stderr.write(`agentloupe: cannot run ${command}: ${outcome.error.message}\n`);
    run.fail(outcome.error, exitCode);
  } else if (outcome.signal !== null) {
    exitCode = 128 + (constants.signals[outcome.signal] ?? 0);
    run.terminate(`killed by ${outcome.signal}`, exitCode);
  } else {
    exitCode = outcome.code ?? 1;
    if (exitCode === 0) run.complete(0);
    else run.fail(`exited with code ${exitCode}`, exitCode);
  }
  // The run is in the database at once; an OTLP endpoint that is down must not hold the exit up.
  // One line for the run and its command (the command's own hook stays quiet about it).
  const done = await monitor.shutdownWithin(EXPORT_WAIT_MS);
  const problem = done
    ? monitor.exportProblem()
    : `could not export the run's spans within ${EXPORT_WAIT_MS} ms (is the OTLP endpoint at ${process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318'} answering?); they are in the database.`;
  if (problem !== undefined && process.env.AGENTLOUPE_LOG !== 'silent') process.stderr.write(`agentloupe: ${problem}\n`);
  return exitCode;
}
