import { getHeapStatistics } from 'node:v8';
import type { HealthCheckDefinition } from '../types.js';

export interface MemoryCheckOptions {
  name?: string;
  /** Resident set size above this is degraded (bytes). Default: no RSS limit. */
  rssDegradedBytes?: number;
  /** Resident set size above this is unhealthy (bytes). */
  rssUnhealthyBytes?: number;
  /** Heap used over the V8 heap limit above this is degraded. Default 0.8. */
  heapDegradedRatio?: number;
  /** ... unhealthy. Default 0.95. */
  heapUnhealthyRatio?: number;
  intervalMs?: number;
  critical?: boolean;
}

/** Process memory (seed 003): RSS against optional limits, heap used against V8's heap limit. */
export function memoryCheck(options: MemoryCheckOptions = {}): HealthCheckDefinition {
  const heapDegraded = options.heapDegradedRatio ?? 0.8;
  const heapUnhealthy = options.heapUnhealthyRatio ?? 0.95;
  return {
    name: options.name ?? 'memory',
    intervalMs: options.intervalMs ?? 15_000,
    critical: options.critical ?? false,
    check: () => {
      const m = process.memoryUsage();
      const heapLimit = getHeapStatistics().heap_size_limit;
      const heapRatio = heapLimit > 0 ? m.heapUsed / heapLimit : 0;
      const mb = (b: number): string => `${(b / 1048576).toFixed(0)} MB`;
      const metadata = { rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapLimitBytes: heapLimit, heapRatio: Math.round(heapRatio * 1000) / 1000 };
      if (options.rssUnhealthyBytes !== undefined && m.rss > options.rssUnhealthyBytes) return { status: 'unhealthy', message: `RSS ${mb(m.rss)} > ${mb(options.rssUnhealthyBytes)}`, metadata };
      if (heapRatio > heapUnhealthy) return { status: 'unhealthy', message: `heap ${mb(m.heapUsed)} is ${(heapRatio * 100).toFixed(0)}% of the ${mb(heapLimit)} limit`, metadata };
      if (options.rssDegradedBytes !== undefined && m.rss > options.rssDegradedBytes) return { status: 'degraded', message: `RSS ${mb(m.rss)} > ${mb(options.rssDegradedBytes)}`, metadata };
      if (heapRatio > heapDegraded) return { status: 'degraded', message: `heap ${mb(m.heapUsed)} is ${(heapRatio * 100).toFixed(0)}% of the ${mb(heapLimit)} limit`, metadata };
      return { status: 'healthy', metadata };
    },
  };
}
