import { context, propagation, ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { isMainThread } from 'node:worker_threads';
import { agentRunFromContext, type AgentRun } from '../src/agents/agent-run.js';
import { createMonitor, type Monitor } from '../src/agents/monitor.js';
import { warnOnce } from '../src/log.js';
import { installChildProcessPropagation, ENV_BAGGAGE, ENV_TRACEPARENT, ENV_TRACESTATE } from './child-process.js';
import { readConfig, type AutoConfig } from './config.js';
import { installFetchCapture } from './fetch-capture.js';
import { installProcessHooks, withTimeout, SIGNAL_FLUSH_TIMEOUT_MS } from './process-hooks.js';
import { RootRunContextManager } from './root-context.js';

/** What `agentloupe/register` set up in this process. */
export interface AutoInstrumentation {
  readonly config: AutoConfig;
  readonly monitor: Monitor;
  /** The process-level run: this process's own, or the `agentloupe run` run it attached to. */
  readonly root: AgentRun;
  /** True when `root` belongs to `agentloupe run` (this process never ends it). */
  readonly attached: boolean;
  /** Ends the root run (if it is ours), flushes and stops; removes every patch. */
  shutdown(exitCode?: number): Promise<void>;
}

const INSTANCE_KEY = Symbol.for('agentloupe.auto-instrumentation');

/** The auto-instrumentation of this process, when the register hook ran. */
export function autoInstrumentation(): AutoInstrumentation | undefined {
  return (globalThis as unknown as Record<symbol, AutoInstrumentation | undefined>)[INSTANCE_KEY];
}

/** The W3C context this process was started in (TRACEPARENT / BAGGAGE from its parent). */
function contextFromEnv(env: NodeJS.ProcessEnv): Context {
  const carrier: Record<string, string> = {};
  if (env[ENV_TRACEPARENT]) carrier['traceparent'] = env[ENV_TRACEPARENT]!;
  if (env[ENV_TRACESTATE]) carrier['tracestate'] = env[ENV_TRACESTATE]!;
  if (env[ENV_BAGGAGE]) carrier['baggage'] = env[ENV_BAGGAGE]!;
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/**
 * Builds the SDK from the environment and instruments the process: tracer and meter providers,
 * the SQLite mirror, a root agent run, model-call capture on fetch, context into child
 * processes, flush on every exit path. Local first: OTLP exporters only when OTEL_*_EXPORTER or
 * an OTLP endpoint asks for them. The app's own createMonitor() joins this monitor.
 * Idempotent: a second call (the hook given twice) returns the first setup.
 */
export function startAutoInstrumentation(env: NodeJS.ProcessEnv = process.env): AutoInstrumentation | undefined {
  const existing = autoInstrumentation();
  if (existing) return existing;
  // Preloads run again in every worker thread; the process is instrumented once, on its main thread.
  if (!isMainThread) return undefined;
  const config = readConfig(env);
  if (config.disabled) return undefined;

  const monitor = createMonitor({ db: config.db, origin: 'the register hook' });
  const parentContext = contextFromEnv(env);
  const attached = config.attachRunId !== undefined;
  const root = context.with(parentContext, () =>
    config.attachRunId !== undefined
      ? monitor.attachAgent({ id: config.attachRunId, type: config.agentType, name: config.agentName, planId: config.planId })
      : monitor.startAgent({ type: config.agentType, name: config.agentName, ...(config.planId ? { planId: config.planId } : {}) }),
  );
  if (!attached) root.running();

  // Code that runs outside any withAgent() runs in the root run.
  context.disable();
  context.setGlobalContextManager(new RootRunContextManager(root.context(parentContext)).enable());

  const runFor = (ctx: Context): AgentRun => agentRunFromContext(ctx) ?? root;
  const undo: (() => void)[] = [];
  undo.push(installFetchCapture({ runFor, captureContent: config.captureContent, maxContentBytes: config.maxContentBytes }));
  undo.push(installChildProcessPropagation(runFor));

  let ended = false;
  const endRoot = (exitCode: number, error?: unknown): void => {
    if (ended || attached) return;
    ended = true;
    if (error !== undefined) root.fail(error, exitCode);
    else if (exitCode === 0) root.complete(0);
    else root.fail(`exited with code ${exitCode}`, exitCode);
  };
  const flushSync = (): void => {
    // Waits (bounded) for the SQLite writer thread; exporters that need the loop cannot run here.
    monitor.sqlite?.flushSync(SIGNAL_FLUSH_TIMEOUT_MS);
  };

  // Under `agentloupe run`, that process says once what could not be exported.
  const sayExportProblem = (problem: string | undefined): void => {
    if (problem !== undefined && !attached) warnOnce('auto:exit-flush', problem);
  };
  undo.push(
    installProcessHooks({
      finish: async (code) => {
        endRoot(code);
        // SQLite first, outside the exporters' bound: its writer thread commits what is queued.
        // Exporters can take time, and at most the bound: one attempt each, none to an endpoint
        // already found down.
        await monitor.sqlite?.forceFlush();
        const done = await monitor.shutdownWithin(SIGNAL_FLUSH_TIMEOUT_MS);
        if (done) {
          sayExportProblem(monitor.exportProblem());
          return;
        }
        sayExportProblem(
          monitor.exporting
            ? `exporters did not finish within ${SIGNAL_FLUSH_TIMEOUT_MS} ms (is the OTLP endpoint at ${process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318'} answering?); exiting without them. The SQLite database has everything.`
            : `the final flush did not finish within ${SIGNAL_FLUSH_TIMEOUT_MS} ms; exiting (SQLite was written first).`,
        );
        process.exit();
      },
      finishSync: (code) => {
        endRoot(code);
        flushSync();
      },
      terminate: async (signal, code) => {
        if (!ended && !attached) {
          ended = true;
          root.terminate(`received ${signal}`, code);
        }
        flushSync();
        await monitor.shutdownWithin(SIGNAL_FLUSH_TIMEOUT_MS);
      },
      flush: () => withTimeout(monitor.forceFlush(), SIGNAL_FLUSH_TIMEOUT_MS),
      crash: (error) => {
        endRoot(1, error);
        flushSync();
      },
    }),
  );

  const instance: AutoInstrumentation = {
    config,
    monitor,
    root,
    attached,
    async shutdown(exitCode = 0) {
      endRoot(exitCode);
      for (const fn of undo.reverse()) {
        try {
          fn();
        } catch (err) {
          warnOnce('auto:undo', `could not remove a patch: ${(err as Error).message}`);
        }
      }
      await monitor.shutdown();
    },
  };
  (globalThis as unknown as Record<symbol, AutoInstrumentation>)[INSTANCE_KEY] = instance;
  return instance;
}
