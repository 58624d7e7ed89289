import type { ActiveAgentRow, HealthStore } from '../store/health-store.js';
import { formatDuration } from './duration.js';
import type { HealthCheckDefinition } from './types.js';

export interface ZombieOptions {
  /** A run with no status change or model/tool call for this long is a zombie. Default 1 hour. */
  silentAfterMs?: number;
  /**
   * Test `process_id` with signal 0. Default true. This assumes the runs were written on this
   * host; turn it off for a database fed by a collector from other machines.
   */
  checkProcesses?: boolean;
  /** Epoch ms "now". */
  now?: number;
}

export type ZombieReason = 'process_gone' | 'silent';

export interface ZombieAgent {
  agentId: string;
  name: string;
  agentType: string;
  status: string;
  planId: string | null;
  processId: number | null;
  reason: ZombieReason;
  /** Human text, used as the error message when reaped. */
  detail: string;
  /** Epoch seconds. */
  startTime: number;
  lastActivity: number;
}

export const DEFAULT_SILENT_AFTER_MS = 60 * 60_000;

/** Whether a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs still `starting`/`running` whose process is gone or that have been silent too long. */
export function findZombies(store: HealthStore, options: ZombieOptions = {}): ZombieAgent[] {
  const nowMs = options.now ?? Date.now();
  const silentAfterMs = options.silentAfterMs ?? DEFAULT_SILENT_AFTER_MS;
  const checkProcesses = options.checkProcesses ?? true;
  const out: ZombieAgent[] = [];
  for (const run of store.activeAgents()) {
    const z = classify(run, nowMs, silentAfterMs, checkProcesses);
    if (z) out.push(z);
  }
  return out;
}

function classify(run: ActiveAgentRow, nowMs: number, silentAfterMs: number, checkProcesses: boolean): ZombieAgent | undefined {
  const base = {
    agentId: run.id, name: run.name, agentType: run.agentType, status: run.status, planId: run.planId,
    processId: run.processId, startTime: run.startTime, lastActivity: run.lastActivity,
  };
  if (checkProcesses && run.processId !== null && !processAlive(run.processId)) {
    return { ...base, reason: 'process_gone', detail: `process ${run.processId} is gone (run was still ${run.status})` };
  }
  const silentMs = nowMs - run.lastActivity * 1000;
  if (silentMs >= silentAfterMs) {
    return { ...base, reason: 'silent', detail: `no activity for ${formatDuration(silentMs)} (run was still ${run.status})` };
  }
  return undefined;
}

/** How many runs findZombies would return, without reading each running agent's last call. */
export function countZombies(store: HealthStore, options: ZombieOptions = {}): number {
  const nowMs = options.now ?? Date.now();
  const silentAfterMs = options.silentAfterMs ?? DEFAULT_SILENT_AFTER_MS;
  const checkProcesses = options.checkProcesses ?? true;
  let n = 0;
  // Silent as in classify: now - last activity >= silentAfterMs, i.e. nothing after the cutoff.
  for (const run of store.activeAgentSilence((nowMs - silentAfterMs) / 1000)) {
    if ((checkProcesses && run.processId !== null && !processAlive(run.processId)) || run.silent) n++;
  }
  return n;
}

/** Marks zombies `terminated`, their reason as the error message, in one transaction. Returns the count. */
export function reapZombies(store: HealthStore, zombies: readonly ZombieAgent[], nowMs = Date.now()): number {
  return store.terminateAgents(zombies.map((z) => ({ id: z.agentId, reason: `reaped by agentloupe: ${z.detail}` })), nowMs);
}

/** A health check: degraded while zombie runs exist (it reports, never reaps). */
export function zombiesCheck(store: () => HealthStore | undefined, options: Omit<ZombieOptions, 'now'> & { intervalMs?: number } = {}): HealthCheckDefinition {
  return {
    name: 'zombie-agents',
    intervalMs: options.intervalMs ?? 60_000,
    critical: false,
    check: () => {
      const s = store();
      if (!s) return { status: 'unknown', message: 'no database to look for zombie agents in' };
      const zombies = findZombies(s, options);
      const metadata = { zombies: zombies.length, processGone: zombies.filter((z) => z.reason === 'process_gone').length };
      if (zombies.length === 0) return { status: 'healthy', metadata };
      return { status: 'degraded', message: `${zombies.length} zombie run(s): ${zombies.slice(0, 5).map((z) => `${z.agentId} (${z.detail})`).join('; ')}`, metadata };
    },
  };
}
