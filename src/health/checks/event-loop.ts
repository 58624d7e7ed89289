import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { HealthCheckDefinition } from '../types.js';

export interface EventLoopCheckOptions {
  name?: string;
  /** p99 delay above this is degraded. Default 100 ms. */
  degradedMs?: number;
  /** p99 delay above this is unhealthy. Default 1000 ms. */
  unhealthyMs?: number;
  intervalMs?: number;
  critical?: boolean;
}

/**
 * Event-loop delay (perf_hooks.monitorEventLoopDelay) since the previous run: a blocked loop
 * delays every agent in the process, and everything agentloupe does on it.
 */
export function eventLoopCheck(options: EventLoopCheckOptions = {}): HealthCheckDefinition {
  const degradedMs = options.degradedMs ?? 100;
  const unhealthyMs = options.unhealthyMs ?? 1000;
  let histogram: IntervalHistogram | undefined;
  return {
    name: options.name ?? 'event-loop',
    intervalMs: options.intervalMs ?? 10_000,
    critical: options.critical ?? true,
    check: () => {
      if (!histogram) {
        // Started on the first run, so an unused check costs nothing.
        histogram = monitorEventLoopDelay({ resolution: 10 });
        histogram.enable();
        return { status: 'healthy', message: 'sampling started', metadata: {} };
      }
      const toMs = (ns: number): number => Math.round((ns / 1e6) * 100) / 100;
      const p99 = histogram.count > 0 ? toMs(histogram.percentile(99)) : 0;
      const metadata = { p50Ms: histogram.count > 0 ? toMs(histogram.percentile(50)) : 0, p99Ms: p99, maxMs: histogram.count > 0 ? toMs(histogram.max) : 0 };
      histogram.reset();
      if (p99 > unhealthyMs) return { status: 'unhealthy', message: `event loop p99 delay ${p99} ms > ${unhealthyMs} ms`, metadata };
      if (p99 > degradedMs) return { status: 'degraded', message: `event loop p99 delay ${p99} ms > ${degradedMs} ms`, metadata };
      return { status: 'healthy', metadata };
    },
  };
}
