import type { Meter, ObservableResult } from '@opentelemetry/api';
import * as A from '../semconv.js';
import type { WorkerState, WorkerStatus } from './heartbeats.js';
import { HEALTH_STATES, type ComponentHealth } from './types.js';

/** Health instrument names. Prometheus shows dots as underscores: agentloupe_health_status, ... */
export const HEALTH_METRIC = {
  status: 'agentloupe.health.status',
  checkDuration: 'agentloupe.health.check.duration',
  lastSuccessAge: 'agentloupe.health.last_success.age',
  workers: 'agentloupe.workers',
} as const;

const WORKER_STATES: readonly WorkerState[] = ['healthy', 'stale', 'down'];

/** What the gauges read: the cache only, never I/O (a scrape must not wait on a check). */
export interface HealthCache {
  getAll(): ComponentHealth[];
  workerStatuses(): readonly WorkerStatus[];
}

/**
 * Observable gauges over the health cache.
 * - agentloupe.health.status{component, state}: a state set, as OTel's `hw.status` and
 *   OpenMetrics StateSet: 1 for the component's current state, 0 for the other three. In
 *   PromQL `agentloupe_health_status{agentloupe_health_state="unhealthy"} == 1` selects unhealthy
 *   components and `sum by (agentloupe_health_state) (...)` counts components per state.
 * - agentloupe.health.check.duration{component}: seconds the last run took.
 * - agentloupe.health.last_success.age{component}: seconds since the last healthy result
 *   (since registration while there was none).
 * - agentloupe.workers{type, state}: heartbeat workers per state, as last evaluated.
 */
export function registerHealthGauges(meter: Meter, cache: HealthCache, now: () => number = Date.now): void {
  const status = meter.createObservableGauge(HEALTH_METRIC.status, {
    description: 'Health state set per component: 1 for the current state (healthy, degraded, unhealthy, unknown), 0 for the others.',
    unit: '1',
  });
  const duration = meter.createObservableGauge(HEALTH_METRIC.checkDuration, { description: 'Duration of the last run of each health check.', unit: 's' });
  const age = meter.createObservableGauge(HEALTH_METRIC.lastSuccessAge, {
    description: 'Seconds since each component was last healthy (since registration if never).',
    unit: 's',
  });
  const workers = meter.createObservableGauge(HEALTH_METRIC.workers, { description: 'Heartbeat workers by type and state (healthy, stale, down).', unit: '{worker}' });

  status.addCallback((r: ObservableResult) => {
    for (const c of cache.getAll()) {
      for (const s of HEALTH_STATES) r.observe(c.status === s ? 1 : 0, { [A.HEALTH_ATTR_COMPONENT]: c.name, [A.HEALTH_ATTR_STATE]: s });
    }
  });
  duration.addCallback((r: ObservableResult) => {
    for (const c of cache.getAll()) if (c.latencyMs !== undefined) r.observe(c.latencyMs / 1000, { [A.HEALTH_ATTR_COMPONENT]: c.name });
  });
  age.addCallback((r: ObservableResult) => {
    const t = now();
    for (const c of cache.getAll()) r.observe(Math.max(0, (t - (c.lastSuccessAt ?? c.registeredAt)) / 1000), { [A.HEALTH_ATTR_COMPONENT]: c.name });
  });
  workers.addCallback((r: ObservableResult) => {
    const counts = new Map<string, Record<WorkerState, number>>();
    for (const w of cache.workerStatuses()) {
      const c = counts.get(w.workerType) ?? { healthy: 0, stale: 0, down: 0 };
      c[w.state]++;
      counts.set(w.workerType, c);
    }
    for (const [type, c] of counts) for (const s of WORKER_STATES) r.observe(c[s], { [A.WORKER_ATTR_TYPE]: type, [A.WORKER_ATTR_STATE]: s });
  });
}
