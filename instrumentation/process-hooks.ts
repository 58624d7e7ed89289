import { constants } from 'node:os';

/** What the process hooks drive; implemented by the auto-instrumentation. */
export interface ProcessLifecycle {
  /** The event loop is empty: end the root run with `exitCode` and flush everything (async allowed). */
  finish(exitCode: number): Promise<void>;
  /** The process is exiting now: end the root run and write what can be written synchronously. */
  finishSync(exitCode: number): void;
  /** A signal that will end the process: end the root run as terminated and flush. */
  terminate(signal: NodeJS.Signals, exitCode: number): Promise<void>;
  /** Flush without ending anything (the app handles the signal and may go on). */
  flush(): Promise<void>;
  /** An uncaught exception will end the process: fail the root run and write synchronously. */
  crash(error: unknown): void;
}

/** Longest wait for exporters when the process ends (loop drained, or a signal): the documented exit bound. */
export const SIGNAL_FLUSH_TIMEOUT_MS = 2000;

/** Waits for `work`, at most `ms`. The timer holds the loop: exports no longer do (src/agents/otlp-export.ts). */
export function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([work.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
}

/**
 * Flushes on every way a process ends, without changing how it ends:
 * - the loop runs dry (`beforeExit`): end the run, flush all exporters;
 * - `process.exit()` or anything else that reaches `exit`: end the run, write SQLite synchronously;
 * - SIGINT/SIGTERM/SIGHUP: with the app's own handler, only flush and leave the rest to the app;
 *   without one, end the run as terminated, flush (bounded), then re-raise the signal so the
 *   process dies of it exactly as it would have;
 * - an uncaught exception with no app handler: fail the run and write synchronously from
 *   `uncaughtExceptionMonitor`, which leaves Node's own printing and exit code 1 untouched.
 */
export function installProcessHooks(life: ProcessLifecycle): () => void {
  let exiting = false;
  const onBeforeExit = (): void => {
    if (exiting) return;
    exiting = true;
    void life.finish(typeof process.exitCode === 'number' ? process.exitCode : Number(process.exitCode ?? 0) || 0);
  };
  const onExit = (code: number): void => {
    life.finishSync(code);
  };
  const onCrash = (error: unknown, origin: string): void => {
    // With an app handler the process may well go on: record nothing final. (An unhandled
    // rejection reaches this monitor only when it is about to be thrown as an exception.)
    void origin;
    if (process.listenerCount('uncaughtException') > 0) return;
    life.crash(error);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const onSignal = (signal: NodeJS.Signals): void => {
    const others = process.listenerCount(signal) - 1;
    if (others > 0) {
      void life.flush();
      return;
    }
    const code = 128 + (constants.signals[signal] ?? 0);
    void withTimeout(life.terminate(signal, code), SIGNAL_FLUSH_TIMEOUT_MS).then(() => {
      uninstall();
      process.kill(process.pid, signal);
    });
  };
  const signalHandlers = new Map<NodeJS.Signals, () => void>();
  process.on('beforeExit', onBeforeExit);
  process.on('exit', onExit);
  process.on('uncaughtExceptionMonitor', onCrash);
  for (const signal of signals) {
    const handler = (): void => onSignal(signal);
    signalHandlers.set(signal, handler);
    process.on(signal, handler);
  }
  const uninstall = (): void => {
    process.off('beforeExit', onBeforeExit);
    process.off('exit', onExit);
    process.off('uncaughtExceptionMonitor', onCrash);
    for (const [signal, handler] of signalHandlers) process.off(signal, handler);
  };
  return uninstall;
}
