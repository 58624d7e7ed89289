import { metrics, ROOT_CONTEXT, SpanStatusCode, trace, type MeterProvider, type Tracer } from '@opentelemetry/api';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { warnOnce } from '../log.js';
import * as A from '../semconv.js';
import { HealthStore } from '../store/health-store.js';
import { AlertManager, type AlertManagerOptions } from './alerts.js';
import { loadAlertConfig, type AlertConfig } from './alert-config.js';
import { HeartbeatTracker, type HeartbeatInput, type HeartbeatThresholds, type WorkerStatus } from './heartbeats.js';
import { eventLoopCheck, type EventLoopCheckOptions } from './checks/event-loop.js';
import { exporterCheck, type ExporterCheckOptions, type ExportStatsSource } from './checks/exporter.js';
import { memoryCheck, type MemoryCheckOptions } from './checks/memory.js';
import { sqliteCheck, type SqliteCheckOptions } from './checks/sqlite.js';
import { registerHealthGauges } from './metrics.js';
import { zombiesCheck, type ZombieOptions } from './zombies.js';
import { isHealthState, worstOf, type CheckResult, type ComponentHealth, type HealthChangeEvent, type HealthCheckDefinition, type HealthState } from './types.js';

export interface HealthMonitorOptions {
  /** Gauges are created on this provider. Default: the global one. */
  meterProvider?: MeterProvider;
  /** Status changes become spans with a status-change event. Default: the global tracer. */
  tracer?: Tracer;
  /** Database for history, heartbeats and alerts; false keeps everything in memory. Opened on first use. */
  db?: string | false;
  /** An open store to use instead of `db` (not closed by the monitor). */
  store?: HealthStore;
  /** Recorded with each history row. */
  serviceName?: string;
  /** Heartbeat staleness thresholds. */
  heartbeats?: HeartbeatThresholds;
  /** Exporters and processors registerDefaults() watches for failures (the Monitor passes its SQLite mirror). */
  exportSources?: ExportStatsSource[];
  /** Clock (epoch ms); tests pass a fake one. */
  now?: () => number;
}

export interface DefaultChecksOptions {
  eventLoop?: EventLoopCheckOptions | false;
  memory?: MemoryCheckOptions | false;
  sqlite?: SqliteCheckOptions | false;
  exporters?: ExporterCheckOptions | false;
  /** More sources for the exporter check. */
  exportSources?: ExportStatsSource[];
  workers?: false;
  zombies?: (Omit<ZombieOptions, 'now'> & { intervalMs?: number }) | false;
}

type ChangeListener = (event: HealthChangeEvent) => void;

interface Entry {
  def: HealthCheckDefinition;
  intervalMs: number;
  timeoutMs: number;
  state: ComponentHealth;
  timer: NodeJS.Timeout | undefined;
  /** The current run, so overlapping callers share it. */
  current: Promise<ComponentHealth> | undefined;
  /** The check function of an earlier run has not settled (it hung past its timeout). */
  stuck: boolean;
  removed: boolean;
}

const DEFAULT_INTERVAL_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 5_000;
const MAX_MESSAGE_CHARS = 1000;
const HOST = hostname();

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : String(err);
}

function normalise(result: unknown): CheckResult {
  if (result === null || typeof result !== 'object' || !isHealthState((result as CheckResult).status)) {
    return { status: 'unknown', message: 'the check returned no valid { status } (healthy, degraded, unhealthy or unknown)' };
  }
  const r = result as CheckResult;
  const message = typeof r.message === 'string' ? r.message.slice(0, MAX_MESSAGE_CHARS) : undefined;
  return { status: r.status, message, metadata: r.metadata && typeof r.metadata === 'object' ? r.metadata : undefined };
}

/**
 * Health checks with their own intervals and timeouts, a status cache, change events, history
 * rows and observable gauges (seed 001). A check that throws is `unknown`, one that outlives
 * its timeout is `unhealthy`; neither delays the other checks. Timers are unref'd: the monitor
 * never keeps a process alive.
 */
export class HealthMonitor {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<ChangeListener>();
  private readonly tracer: Tracer;
  private readonly now: () => number;
  private readonly serviceName: string | null;
  private readonly dbPath: string | false;
  private readonly ownsStore: boolean;
  private store: HealthStore | undefined;
  private storeFailed = false;
  private tracker: HeartbeatTracker | undefined;
  private readonly heartbeatThresholds: HeartbeatThresholds | undefined;
  private readonly alertManagers: AlertManager[] = [];
  private readonly exportSources: ExportStatsSource[];
  private stopped = false;
  /** History rows that could not be written. */
  writeErrors = 0;

  constructor(options: HealthMonitorOptions = {}) {
    this.tracer = options.tracer ?? trace.getTracer('agentloupe');
    this.now = options.now ?? Date.now;
    this.serviceName = options.serviceName ?? null;
    this.store = options.store;
    this.ownsStore = options.store === undefined;
    this.dbPath = options.store ? false : options.db ?? false;
    this.heartbeatThresholds = options.heartbeats;
    this.exportSources = options.exportSources ?? [];
    registerHealthGauges((options.meterProvider ?? metrics.getMeterProvider()).getMeter('agentloupe'), this, this.now);
  }

  /** Adds a check; its first run starts at once. Throws on a missing or duplicate name. */
  register(def: HealthCheckDefinition): this {
    if (!def || typeof def.name !== 'string' || def.name === '' || typeof def.check !== 'function') {
      throw new TypeError('health.register needs { name: string, check: (signal) => result }');
    }
    if (this.entries.has(def.name)) throw new Error(`a health check named "${def.name}" is already registered; unregister it first or pick another name`);
    const intervalMs = Math.max(10, def.intervalMs ?? DEFAULT_INTERVAL_MS);
    const timeoutMs = Math.max(1, Math.min(def.timeoutMs ?? DEFAULT_TIMEOUT_MS, intervalMs));
    const entry: Entry = {
      def,
      intervalMs,
      timeoutMs,
      state: { name: def.name, status: 'unknown', metadata: {}, runs: 0, critical: def.critical ?? true, registeredAt: this.now() },
      timer: undefined,
      current: undefined,
      stuck: false,
      removed: false,
    };
    this.entries.set(def.name, entry);
    if (!this.stopped) this.schedule(entry, 0);
    return this;
  }

  /**
   * Registers the built-in checks: event-loop delay, process memory, the SQLite store (with a
   * database), exporter failures (with export sources), worker heartbeats and zombie agents
   * (with a database). Pass false to leave one out, or options to tune it.
   */
  registerDefaults(options: DefaultChecksOptions = {}): this {
    const want = <T>(v: T | false | undefined): v is T | undefined => v !== false;
    if (want(options.eventLoop)) this.register(eventLoopCheck(options.eventLoop));
    if (want(options.memory)) this.register(memoryCheck(options.memory));
    if (want(options.sqlite) && this.hasDatabase()) this.register(sqliteCheck(() => this.getStore(), options.sqlite));
    const sources = [...this.exportSources, ...(options.exportSources ?? [])];
    if (want(options.exporters) && sources.length > 0) this.register(exporterCheck(sources, options.exporters));
    if (options.workers !== false) this.register(this.heartbeats.check());
    if (want(options.zombies) && this.hasDatabase()) this.register(zombiesCheck(() => this.getStore(), options.zombies));
    return this;
  }

  unregister(name: string): boolean {
    const entry = this.entries.get(name);
    if (!entry) return false;
    entry.removed = true;
    clearTimeout(entry.timer);
    return this.entries.delete(name);
  }

  on(event: 'change', listener: ChangeListener): this {
    if (event === 'change') this.listeners.add(listener);
    return this;
  }

  off(event: 'change', listener: ChangeListener): this {
    if (event === 'change') this.listeners.delete(listener);
    return this;
  }

  /** Runs one check now (sharing a run already in progress) and returns its cached state. */
  run(name: string): Promise<ComponentHealth> {
    const entry = this.entries.get(name);
    if (!entry) return Promise.reject(new Error(`no health check named "${name}" (registered: ${[...this.entries.keys()].join(', ') || 'none'})`));
    return this.runEntry(entry);
  }

  /** Runs every check now, in parallel. */
  async runAll(): Promise<ComponentHealth[]> {
    return Promise.all([...this.entries.values()].map((e) => this.runEntry(e)));
  }

  getStatus(name: string): ComponentHealth | undefined {
    const e = this.entries.get(name);
    return e ? copy(e.state) : undefined;
  }

  getAll(): ComponentHealth[] {
    return [...this.entries.values()].map((e) => copy(e.state));
  }

  /** The worst state over all components (`healthy` with none). */
  overall(): HealthState {
    return worstOf([...this.entries.values()].map((e) => e.state.status));
  }

  /** Every component has reported and is healthy. */
  isHealthy(): boolean {
    return [...this.entries.values()].every((e) => e.state.runs > 0 && e.state.status === 'healthy');
  }

  /** Every critical component has reported and is healthy or degraded (degraded still serves). */
  isReady(): boolean {
    return [...this.entries.values()].every((e) => !e.state.critical || (e.state.runs > 0 && (e.state.status === 'healthy' || e.state.status === 'degraded')));
  }

  /** Worker heartbeats (created on first use). */
  get heartbeats(): HeartbeatTracker {
    this.tracker ??= new HeartbeatTracker({ ...this.heartbeatThresholds, store: () => this.getStore(), now: this.now });
    return this.tracker;
  }

  /** Records a heartbeat of `workerId`. Never throws. */
  heartbeat(workerId: string, input: HeartbeatInput = {}): void {
    this.heartbeats.beat(workerId, input);
  }

  /**
   * Starts evaluating alert rules, given in code or as the path of a JSON/YAML file. Alerts
   * about components read this monitor's cache; the rest read the database.
   */
  startAlerts(config: AlertConfig | string, options: Omit<AlertManagerOptions, 'health' | 'store' | 'config' | 'heartbeats'> = {}): AlertManager {
    const resolved = typeof config === 'string' ? loadAlertConfig(config) : config;
    const manager = new AlertManager({
      ...options,
      config: resolved,
      health: this,
      store: () => this.getStore(),
      heartbeats: this.heartbeatThresholds,
      now: options.now ?? this.now,
    });
    this.alertManagers.push(manager);
    if (!this.stopped) manager.start();
    return manager;
  }

  /** The database behind history, heartbeats and alerts, opened on first use; undefined without one. */
  getStore(): HealthStore | undefined {
    if (this.store || this.storeFailed || this.dbPath === false || this.stopped) return this.store;
    try {
      // A short busy timeout: another writer's lock must not stall the agent.
      this.store = HealthStore.open(this.dbPath, { busyTimeoutMs: 20 });
    } catch (err) {
      this.storeFailed = true;
      warnOnce(`health:open:${this.dbPath}`, `cannot open ${this.dbPath} for health data; it stays in memory: ${errorMessage(err)}`);
    }
    return this.store;
  }

  /** Writes pending heartbeats and waits for alert webhooks in flight. */
  async flush(): Promise<void> {
    this.tracker?.flush();
    for (const m of this.alertManagers) await m.flush();
  }

  private hasDatabase(): boolean {
    return this.store !== undefined || this.dbPath !== false;
  }

  /** Stops every timer, writes pending heartbeats and closes the database it opened. */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    for (const m of this.alertManagers) await m.stop();
    this.tracker?.close();
    this.stopped = true;
    for (const e of this.entries.values()) clearTimeout(e.timer);
    if (this.ownsStore) this.store?.close();
    this.store = undefined;
  }

  /** Worker states as of the last heartbeat evaluation (no I/O; for gauges). */
  workerStatuses(): readonly WorkerStatus[] {
    return this.tracker?.lastStatuses() ?? [];
  }

  private schedule(entry: Entry, delayMs: number): void {
    if (this.stopped || entry.removed) return;
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      void this.runEntry(entry).finally(() => this.schedule(entry, entry.intervalMs));
    }, delayMs);
    entry.timer.unref();
  }

  private runEntry(entry: Entry): Promise<ComponentHealth> {
    entry.current ??= this.execute(entry).finally(() => {
      entry.current = undefined;
    });
    return entry.current;
  }

  private async execute(entry: Entry): Promise<ComponentHealth> {
    const started = performance.now();
    let result: CheckResult;
    if (entry.stuck) {
      // Never start a second copy of a check that is still hanging: they would pile up.
      result = { status: 'unhealthy', message: `the previous run has not finished (timeout ${entry.timeoutMs} ms)` };
    } else {
      result = await this.invoke(entry);
    }
    this.apply(entry, result, performance.now() - started);
    return copy(entry.state);
  }

  private invoke(entry: Entry): Promise<CheckResult> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const outcome = new Promise<CheckResult>((resolve) => {
      try {
        resolve(entry.def.check(controller.signal));
      } catch (err) {
        resolve({ status: 'unknown', message: errorMessage(err) });
      }
    }).then(normalise, (err: unknown) => ({ status: 'unknown' as const, message: errorMessage(err) }));
    void outcome.then(() => {
      settled = true;
      entry.stuck = false;
    });
    const timeout = new Promise<CheckResult>((resolve) => {
      timer = setTimeout(() => {
        if (!settled) entry.stuck = true;
        controller.abort(new Error('health check timed out'));
        resolve({ status: 'unhealthy', message: `timed out after ${entry.timeoutMs} ms` });
      }, entry.timeoutMs);
      timer.unref();
    });
    return Promise.race([outcome, timeout]).finally(() => clearTimeout(timer));
  }

  private apply(entry: Entry, result: CheckResult, latencyMs: number): void {
    if (entry.removed) return;
    const now = this.now();
    const s = entry.state;
    const previous: HealthState | null = s.runs === 0 ? null : s.status;
    s.status = result.status;
    s.message = result.message;
    s.metadata = result.metadata ?? {};
    s.lastCheckedAt = now;
    s.latencyMs = latencyMs;
    s.runs++;
    if (result.status === 'healthy') s.lastSuccessAt = now;
    if (previous === result.status) return;
    s.since = now;
    const event: HealthChangeEvent = { name: s.name, previous, current: copy(s) };
    this.recordSpan(event);
    this.recordHistory(event);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        warnOnce(`health:listener:${errorMessage(err)}`, `a health 'change' listener threw: ${errorMessage(err)}`);
      }
    }
  }

  private recordSpan(event: HealthChangeEvent): void {
    try {
      const c = event.current;
      const attributes = {
        [A.HEALTH_ATTR_COMPONENT]: c.name,
        [A.HEALTH_ATTR_STATE]: c.status,
        ...(event.previous ? { [A.HEALTH_ATTR_PREVIOUS_STATE]: event.previous } : {}),
        ...(c.message ? { [A.HEALTH_ATTR_MESSAGE]: c.message } : {}),
        ...(c.latencyMs !== undefined ? { [A.HEALTH_ATTR_LATENCY_MS]: c.latencyMs } : {}),
      };
      // Its own trace: a health change belongs to no agent run that happens to be active.
      const span = this.tracer.startSpan(`health ${c.name}`, { root: true, attributes: { [A.HEALTH_ATTR_COMPONENT]: c.name } }, ROOT_CONTEXT);
      span.addEvent(A.HEALTH_STATUS_EVENT, attributes);
      if (c.status === 'unhealthy' || c.status === 'unknown') span.setStatus({ code: SpanStatusCode.ERROR, message: c.message ?? c.status });
      span.end();
    } catch (err) {
      warnOnce('health:span', `could not record a health change span: ${errorMessage(err)}`);
    }
  }

  private recordHistory(event: HealthChangeEvent): void {
    const store = this.getStore();
    if (!store) return;
    const c = event.current;
    try {
      store.recordHealthChange({
        component: c.name,
        status: c.status,
        previousStatus: event.previous,
        message: c.message ?? null,
        metadata: c.metadata,
        latencyMs: c.latencyMs ?? null,
        serviceName: this.serviceName,
        host: HOST,
        processId: process.pid,
        timeMs: c.since ?? this.now(),
      });
    } catch (err) {
      this.writeErrors++;
      warnOnce(`health:write:${errorMessage(err)}`, `could not store a health change: ${errorMessage(err)}`);
    }
  }
}

function copy(s: ComponentHealth): ComponentHealth {
  return { ...s, metadata: { ...s.metadata } };
}
