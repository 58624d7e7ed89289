import { hostname } from 'node:os';
import { warnOnce } from '../log.js';
import type { HealthStore, WorkerRecord } from '../store/health-store.js';
import { formatDuration } from './duration.js';
import type { HealthCheckDefinition } from './types.js';

export type WorkerState = 'healthy' | 'stale' | 'down';

export interface HeartbeatInput {
  /** Worker kind: orchestrator, sandbox, queue-consumer, ... Default `worker`. Low cardinality: it is a metric attribute. */
  type?: string;
  /** Small JSON-serialisable facts about the worker (capped at 4 KB). */
  metadata?: Record<string, unknown>;
}

export interface HeartbeatThresholds {
  /** Silence after which a worker is `stale`. Default 5 minutes (seed 002). */
  staleAfterMs?: number;
  /** Silence after which a worker is `down`. Default 15 minutes. */
  downAfterMs?: number;
}

export interface WorkerStatus {
  workerId: string;
  workerType: string;
  state: WorkerState;
  lastHeartbeatMs: number;
  silentMs: number;
  beats: number;
  metadata: Record<string, unknown>;
  host: string | null;
  processId: number | null;
}

export const DEFAULT_STALE_AFTER_MS = 5 * 60_000;
export const DEFAULT_DOWN_AFTER_MS = 15 * 60_000;
const MAX_METADATA_CHARS = 4096;
const HOST = hostname();

export function resolveThresholds(t: HeartbeatThresholds = {}): Required<HeartbeatThresholds> {
  const staleAfterMs = t.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const downAfterMs = t.downAfterMs ?? Math.max(DEFAULT_DOWN_AFTER_MS, staleAfterMs * 3);
  if (!(staleAfterMs > 0) || !(downAfterMs > staleAfterMs)) {
    throw new RangeError(`heartbeat thresholds: need 0 < staleAfterMs < downAfterMs, got stale ${staleAfterMs} ms and down ${downAfterMs} ms`);
  }
  return { staleAfterMs, downAfterMs };
}

/** healthy until `staleAfterMs` of silence, stale until `downAfterMs`, then down. */
export function workerState(lastHeartbeatMs: number, nowMs: number, t: Required<HeartbeatThresholds>): WorkerState {
  const silent = nowMs - lastHeartbeatMs;
  if (silent >= t.downAfterMs) return 'down';
  if (silent >= t.staleAfterMs) return 'stale';
  return 'healthy';
}

export function workerStatusOf(w: WorkerRecord, nowMs: number, t: Required<HeartbeatThresholds>): WorkerStatus {
  return {
    workerId: w.workerId,
    workerType: w.workerType,
    state: workerState(w.lastHeartbeatMs, nowMs, t),
    lastHeartbeatMs: w.lastHeartbeatMs,
    silentMs: Math.max(0, nowMs - w.lastHeartbeatMs),
    beats: w.beats,
    metadata: w.metadata,
    host: w.host,
    processId: w.processId,
  };
}

function cappedMetadata(metadata: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!metadata) return {};
  try {
    const text = JSON.stringify(metadata);
    return text.length <= MAX_METADATA_CHARS ? (JSON.parse(text) as Record<string, unknown>) : { truncated: true };
  } catch {
    return { unserializable: true };
  }
}

export interface HeartbeatTrackerOptions extends HeartbeatThresholds {
  /** Where heartbeats are stored; undefined keeps them in memory only. Called lazily. */
  store?: () => HealthStore | undefined;
  now?: () => number;
  /** Most distinct workers held in memory; more are dropped and counted. Default 10 000. */
  maxWorkers?: number;
}

/**
 * Worker heartbeats (seed 002). `beat()` only records in memory and schedules one write for
 * everything that arrived meanwhile, so a worker loop can beat as often as it likes without
 * waiting on the database.
 */
export class HeartbeatTracker {
  readonly thresholds: Required<HeartbeatThresholds>;
  private readonly store: () => HealthStore | undefined;
  private readonly now: () => number;
  private readonly maxWorkers: number;
  private readonly known = new Map<string, WorkerRecord>();
  private pending = new Map<string, { beats: number }>();
  private flushTimer: NodeJS.Timeout | undefined;
  private lastEvaluation: WorkerStatus[] = [];
  private closed = false;
  /** Heartbeats lost: too many workers or a database error. */
  dropped = 0;

  constructor(options: HeartbeatTrackerOptions = {}) {
    this.thresholds = resolveThresholds(options);
    this.store = options.store ?? (() => undefined);
    this.now = options.now ?? Date.now;
    this.maxWorkers = options.maxWorkers ?? 10_000;
  }

  /** Records that `workerId` is alive. Never throws. */
  beat(workerId: string, input: HeartbeatInput = {}): void {
    try {
      if (this.closed || typeof workerId !== 'string' || workerId === '') return;
      const now = this.now();
      const existing = this.known.get(workerId);
      if (!existing && this.known.size >= this.maxWorkers) {
        this.dropped++;
        warnOnce('heartbeat:max-workers', `more than ${this.maxWorkers} heartbeat workers; heartbeats of new workers are dropped`);
        return;
      }
      this.known.set(workerId, {
        workerId,
        workerType: input.type ?? existing?.workerType ?? 'worker',
        status: 'healthy',
        metadata: input.metadata ? cappedMetadata(input.metadata) : existing?.metadata ?? {},
        host: HOST,
        processId: process.pid,
        beats: (existing?.beats ?? 0) + 1,
        lastHeartbeatMs: now,
        createdAtMs: existing?.createdAtMs ?? now,
        updatedAtMs: now,
      });
      const p = this.pending.get(workerId);
      if (p) p.beats++;
      else this.pending.set(workerId, { beats: 1 });
      this.scheduleFlush();
    } catch (err) {
      this.dropped++;
      warnOnce('heartbeat:beat', `heartbeat failed: ${(err as Error).message}`);
    }
  }

  /** Writes pending heartbeats now. Never throws. */
  flush(): void {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    if (this.pending.size === 0) return;
    const store = this.safeStore();
    if (!store) {
      this.pending.clear();
      return;
    }
    const batch = this.pending;
    this.pending = new Map();
    try {
      store.recordHeartbeats(
        [...batch].flatMap(([id, p]) => {
          const w = this.known.get(id);
          return w ? [{ workerId: id, workerType: w.workerType, metadata: w.metadata, host: w.host, processId: w.processId, beats: p.beats, timeMs: w.lastHeartbeatMs }] : [];
        }),
      );
    } catch (err) {
      this.dropped += batch.size;
      warnOnce(`heartbeat:write:${(err as Error).message}`, `could not store heartbeats: ${(err as Error).message}`);
    }
  }

  /**
   * Every known worker with its state now: from the database when there is one (so workers
   * of other processes count too), else from memory. Stores changed states. Never throws.
   */
  evaluate(): WorkerStatus[] {
    this.flush();
    const now = this.now();
    const store = this.safeStore();
    let records: WorkerRecord[] = [...this.known.values()];
    if (store) {
      try {
        records = store.listWorkers();
        const changed = records.filter((w) => workerState(w.lastHeartbeatMs, now, this.thresholds) !== w.status);
        store.setWorkerStatuses(changed.map((w) => ({ workerId: w.workerId, status: workerState(w.lastHeartbeatMs, now, this.thresholds), timeMs: now })));
      } catch (err) {
        warnOnce(`heartbeat:read:${(err as Error).message}`, `could not read worker heartbeats: ${(err as Error).message}`);
      }
    }
    this.lastEvaluation = records.map((w) => workerStatusOf(w, now, this.thresholds));
    return this.lastEvaluation;
  }

  /** The result of the last evaluate(), for gauges (no I/O). */
  lastStatuses(): readonly WorkerStatus[] {
    return this.lastEvaluation;
  }

  /** A health check over all workers: degraded when any is stale, unhealthy when any is down. */
  check(options: { name?: string; intervalMs?: number; critical?: boolean } = {}): HealthCheckDefinition {
    return {
      name: options.name ?? 'workers',
      intervalMs: options.intervalMs ?? Math.max(1000, Math.min(30_000, Math.floor(this.thresholds.staleAfterMs / 2))),
      critical: options.critical ?? false,
      check: () => {
        const workers = this.evaluate();
        const stale = workers.filter((w) => w.state === 'stale');
        const down = workers.filter((w) => w.state === 'down');
        const metadata = { workers: workers.length, stale: stale.length, down: down.length };
        const name = (w: WorkerStatus): string => `${w.workerId} (${formatDuration(w.silentMs)} silent)`;
        if (down.length > 0) return { status: 'unhealthy', message: `down: ${down.slice(0, 5).map(name).join(', ')}`, metadata };
        if (stale.length > 0) return { status: 'degraded', message: `stale: ${stale.slice(0, 5).map(name).join(', ')}`, metadata };
        return { status: 'healthy', metadata };
      },
    };
  }

  close(): void {
    this.flush();
    this.closed = true;
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, 0);
    this.flushTimer.unref();
  }

  private safeStore(): HealthStore | undefined {
    try {
      return this.store();
    } catch {
      return undefined;
    }
  }
}
