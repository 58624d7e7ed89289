import { context, propagation, type Context } from '@opentelemetry/api';
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import { promisify } from 'node:util';
import type { AgentRun } from '../src/agents/agent-run.js';
import { BAGGAGE_PARENT_AGENT_ID, BAGGAGE_PLAN_ID } from '../src/agents/propagation.js';
import { warnOnce } from '../src/log.js';

/** Environment variables that carry W3C context into a child process (the OTel env-carrier names). */
export const ENV_TRACEPARENT = 'TRACEPARENT';
export const ENV_TRACESTATE = 'TRACESTATE';
export const ENV_BAGGAGE = 'BAGGAGE';
/** Set by `agentloupe run` for its own child only; a grandchild is an agent of its own. */
export const ENV_RUN_AGENT_ID = 'AGENTLOUPE_RUN_AGENT_ID';

/**
 * What a child started in `ctx` inherits: the trace context of the current span and baggage
 * naming the current agent run as parent (and its plan).
 */
export function childContextEnv(ctx: Context, run: AgentRun | undefined): Record<string, string> {
  let baggage = propagation.getBaggage(ctx) ?? propagation.createBaggage();
  if (run !== undefined) {
    baggage = baggage.setEntry(BAGGAGE_PARENT_AGENT_ID, { value: run.id });
    if (run.planId) baggage = baggage.setEntry(BAGGAGE_PLAN_ID, { value: run.planId });
  }
  const carrier: Record<string, string> = {};
  propagation.inject(propagation.setBaggage(ctx, baggage), carrier);
  const env: Record<string, string> = {};
  if (carrier['traceparent']) env[ENV_TRACEPARENT] = carrier['traceparent'];
  if (carrier['tracestate']) env[ENV_TRACESTATE] = carrier['tracestate'];
  if (carrier['baggage']) env[ENV_BAGGAGE] = carrier['baggage'];
  return env;
}

type AnyFn = (...args: unknown[]) => unknown;

function isOptions(value: unknown): value is { env?: NodeJS.ProcessEnv } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `args` with the options object (found, or inserted where the function takes it) given an env
 * that carries the context. An env the app wrote a TRACEPARENT into itself is left as it is.
 */
function withContextEnv(args: unknown[], extra: Record<string, string>): unknown[] {
  const out = [...args];
  let at = out.findIndex((a, i) => i > 0 && isOptions(a));
  if (at < 0) {
    at = Array.isArray(out[1]) ? 2 : 1;
    if (out[at] === undefined || out[at] === null) out[at] = {};
    else if (typeof out[at] === 'function') out.splice(at, 0, {});
    else return args;
  }
  const options = out[at] as { env?: NodeJS.ProcessEnv };
  const base = options.env ?? process.env;
  if (base[ENV_TRACEPARENT] !== undefined && base[ENV_TRACEPARENT] !== process.env[ENV_TRACEPARENT]) return args;
  const env: NodeJS.ProcessEnv = { ...base, ...extra };
  delete env[ENV_RUN_AGENT_ID];
  out[at] = { ...options, env };
  return out;
}

const NAMES = ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const;

/**
 * Wraps child_process's spawn/exec/execFile/fork (and the Sync forms) so that a child started
 * inside an agent run inherits TRACEPARENT and BAGGAGE. The module object is patched and the
 * ESM named exports re-synced, so `import { spawn } from 'node:child_process'` sees it too.
 * Returns a function that restores the originals.
 */
export function installChildProcessPropagation(runFor: (ctx: Context) => AgentRun | undefined): () => void {
  const mod = childProcess as unknown as Record<string, AnyFn>;
  const originals = new Map<string, AnyFn>();
  for (const name of NAMES) {
    const original = mod[name];
    if (typeof original !== 'function') continue;
    originals.set(name, original);
    const wrapped = function (this: unknown, ...args: unknown[]): unknown {
      let patched = args;
      try {
        const ctx = context.active();
        patched = withContextEnv(args, childContextEnv(ctx, runFor(ctx)));
      } catch (err) {
        warnOnce('child-process', `could not pass trace context to a child process: ${(err as Error).message}`);
      }
      return original.apply(this, patched);
    };
    Object.defineProperty(wrapped, 'name', { value: original.name });
    if (name === 'exec' || name === 'execFile') {
      // util.promisify(exec) resolves { stdout, stderr } through an internal marker that a
      // wrapper does not carry; give the wrapper the same promisified form.
      Object.defineProperty(wrapped, promisify.custom, {
        value: (...args: unknown[]) => {
          let child: unknown;
          const promise = new Promise((resolve, reject) => {
            child = wrapped(...args, (err: (Error & { stdout?: unknown; stderr?: unknown }) | null, stdout: unknown, stderr: unknown) => {
              if (err) {
                err.stdout = stdout;
                err.stderr = stderr;
                reject(err);
              } else {
                resolve({ stdout, stderr });
              }
            });
          });
          return Object.assign(promise, { child });
        },
      });
    }
    mod[name] = wrapped;
  }
  syncBuiltinESMExports();
  return () => {
    for (const [name, original] of originals) mod[name] = original;
    syncBuiltinESMExports();
  };
}
