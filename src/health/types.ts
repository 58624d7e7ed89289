/** A component's health, worst last: the order is used to combine states. */
export type HealthState = 'healthy' | 'degraded' | 'unhealthy' | 'unknown';

export const HEALTH_STATES: readonly HealthState[] = ['healthy', 'degraded', 'unhealthy', 'unknown'];

export function isHealthState(value: unknown): value is HealthState {
  return typeof value === 'string' && (HEALTH_STATES as readonly string[]).includes(value);
}

/** What a check reports. */
export interface CheckResult {
  status: HealthState;
  message?: string;
  /** Small, JSON-serialisable facts (latency, sizes, counts); shown by /readyz and stored with changes. */
  metadata?: Record<string, unknown>;
}

/**
 * A health check. `check` receives an AbortSignal that fires at the timeout, so I/O can stop
 * early; a check that ignores it is still reported `unhealthy` at the timeout.
 */
export interface HealthCheckDefinition {
  /** Component name: unique, low-cardinality (it is a metric attribute). */
  name: string;
  check: (signal: AbortSignal) => Promise<CheckResult> | CheckResult;
  /** Time between the end of one run and the start of the next. Default 30 000 ms. */
  intervalMs?: number;
  /** A run that takes longer is `unhealthy`. Default 5 000 ms (capped at intervalMs). */
  timeoutMs?: number;
  /** Counts towards readiness (/readyz): default true. */
  critical?: boolean;
}

/** The cached state of one component. */
export interface ComponentHealth {
  name: string;
  status: HealthState;
  message?: string;
  metadata: Record<string, unknown>;
  /** Epoch ms of the last finished run; undefined before the first. */
  lastCheckedAt?: number;
  /** Epoch ms of the last `healthy` result. */
  lastSuccessAt?: number;
  /** Epoch ms of the last status change. */
  since?: number;
  /** Duration of the last run (ms). */
  latencyMs?: number;
  /** Runs since registration. */
  runs: number;
  critical: boolean;
  /** Epoch ms the check was registered. */
  registeredAt: number;
}

export interface HealthChangeEvent {
  name: string;
  /** null for the first result of a component. */
  previous: HealthState | null;
  current: ComponentHealth;
}

/** healthy < degraded < unhealthy; unknown counts as unhealthy when combining. */
export function worstOf(states: Iterable<HealthState>): HealthState {
  const rank: Record<HealthState, number> = { healthy: 0, degraded: 1, unknown: 2, unhealthy: 3 };
  let worst: HealthState = 'healthy';
  for (const s of states) if (rank[s] > rank[worst]) worst = s;
  return worst;
}
