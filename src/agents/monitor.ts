import { context, createNoopMeter, INVALID_SPAN_CONTEXT, metrics, propagation, SpanKind, trace, type Attributes, type Tracer, type TracerProvider } from '@opentelemetry/api';
import type { Meter, MeterProvider } from '@opentelemetry/api';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider as SdkMeterProvider, type IMetricReader } from '@opentelemetry/sdk-metrics';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { randomBytes } from 'node:crypto';
import { warnOnce } from '../log.js';
import * as A from '../semconv.js';
import { dbFromEnv } from '../store/database.js';
import { SqliteSpanProcessor } from '../store/sqlite-span-processor.js';
import { SpanConversion } from '../spans/span-conversion.js';
import { TelemetryHooks, type TelemetryHooksOptions } from '../telemetry/hooks.js';
import type { Pricing } from '../telemetry/pricing-port.js';
import type { CostResult, TokenUsage } from '../telemetry/types.js';
import { PriceTable } from '../telemetry/pricing.js';
import { MetricsSpanProcessor } from '../metrics/metrics-span-processor.js';
import { metricReadersFromEnv } from '../metrics/metric-readers.js';
import { AgentRun, agentRunFromContext, type RunServices } from './agent-run.js';
import { BAGGAGE_PARENT_AGENT_ID, BAGGAGE_PLAN_ID } from './propagation.js';
import { HealthMonitor, type HealthMonitorOptions } from '../health/health-monitor.js';
import { sqliteProcessorSource } from '../health/checks/exporter.js';
import type { HeartbeatInput } from '../health/heartbeats.js';
import { traceExportersFromEnv } from './trace-exporters.js';
import { nowMs } from './clock.js';
import { holdingLoop, type ExportGate } from './otlp-export.js';
import { installFetchCapture, isCapturing } from '../../instrumentation/fetch-capture.js';
import { readConfig } from '../../instrumentation/config.js';

export interface MonitorOptions {
  /** `service.name` of the resource; default `OTEL_SERVICE_NAME`, else the SDK default. */
  serviceName?: string;
  /**
   * Database path, or false for no SQLite mirror. Default `AGENTLOUPE_DB` (off, false, none or 0
   * turn it off), else `.agentloupe/monitoring.db`.
   */
  db?: string | false;
  /**
   * Use this tracer provider instead of building one. The provider must then carry a
   * SqliteSpanProcessor itself for the SQLite mirror (see docs/instrument.md). Such a monitor is
   * private: it does not join, nor become, the process's shared monitor.
   */
  tracerProvider?: TracerProvider;
  /**
   * Metric instruments are created on this provider. Default: a provider agentloupe builds when
   * `OTEL_METRICS_EXPORTER`, an OTLP endpoint or `metricReaders` asks for one, else the global provider.
   */
  meterProvider?: MeterProvider;
  /** Readers for the meter provider agentloupe builds (e.g. a PrometheusExporter you mount yourself). */
  metricReaders?: IMetricReader[];
  /** More processors for the provider agentloupe builds, e.g. a BatchSpanProcessor with an OTLP exporter. */
  spanProcessors?: SpanProcessor[];
  /**
   * Register the built provider, context manager and W3C propagators globally. Default true. A
   * global monitor is the process's one monitor: a later createMonitor() (or one inside a process
   * started with `--import agentloupe/register`) joins it instead of building a second SDK. False
   * gives a private monitor (tests, several databases in one process).
   */
  registerGlobal?: boolean;
  /** Prices; default the built-in table merged with `AGENTLOUPE_PRICING`. */
  pricing?: Pricing;
  hooks?: TelemetryHooksOptions;
  /** Extra resource attributes. */
  resourceAttributes?: Attributes;
  /**
   * Capture model calls made with fetch (the OpenAI, Anthropic and Gemini SDKs, or by hand) as
   * chat spans under the current agent run, as the register hook does. Default false. Content
   * (prompts and answers) only with AGENTLOUPE_CAPTURE_CONTENT=true.
   */
  captureLlmCalls?: boolean;
  /** `OTEL_TRACES_EXPORTER` when it is unset and no OTLP endpoint is configured. Default 'none'. */
  defaultTracesExporter?: string;
  /** `OTEL_METRICS_EXPORTER` when it is unset and no OTLP endpoint is configured. Default 'none'. */
  defaultMetricsExporter?: string;
  /** Who builds this monitor, named when a later createMonitor() joins it. */
  origin?: string;
}

export interface AgentOptions {
  /** Run id; default `<type>-<12 hex>`. One id is one run. */
  id?: string;
  /** Stable name across runs (`agent_usage` is keyed by it); default the type. */
  name?: string;
  /** Agent type: architect, developer, reviewer, ... */
  type: string;
  /** Plan / workflow id; default the parent's. */
  planId?: string;
  /** Parent run; default the agent run active in the current context. */
  parent?: AgentRun | string;
  processId?: number;
  logFile?: string;
  category?: string;
  description?: string;
  attributes?: Attributes;
}

function slug(text: string): string {
  const s = text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return s === '' ? 'agent' : s.slice(0, 40);
}

export function newAgentId(type: string): string {
  return `${slug(type)}-${randomBytes(6).toString('hex')}`;
}


const NOOP_METER_CLASS = createNoopMeter().constructor;

/** The API's no-op meter: what `metrics.getMeterProvider()` gives while no provider is registered. */
function isNoopMeter(meter: Meter): boolean {
  return meter.constructor === NOOP_METER_CLASS;
}

/**
 * What every global Monitor of a process shares: one tracer provider, one meter provider, one
 * SQLite writer, one set of exporters and one service name. Kept on globalThis, because the
 * register hook and the app may load different copies of this package.
 */
export interface SharedMonitor {
  readonly version: 1;
  readonly origin: string;
  readonly tracerProvider: TracerProvider;
  readonly meterProvider: MeterProvider;
  readonly sqlite: SqliteSpanProcessor | undefined;
  readonly prometheus: PrometheusExporter | undefined;
  readonly db: string | false;
  readonly serviceName: string | undefined;
  readonly pricing: Pricing;
  /** One per OTLP exporter: did its endpoint answer. */
  readonly gates: readonly ExportGate[];
  /** Monitors using it; the last one to shut down stops it. */
  handles: number;
  flush(): Promise<void>;
  /** Stops everything (once); later calls return the same promise. */
  stop(): Promise<void>;
}

const SHARED_KEY = Symbol.for('agentloupe.process-monitor');

function sharedMonitor(): SharedMonitor | undefined {
  const found = (globalThis as unknown as Record<symbol, SharedMonitor | undefined>)[SHARED_KEY];
  return found?.version === 1 ? found : undefined;
}

function publish(shared: SharedMonitor | undefined): void {
  (globalThis as unknown as Record<symbol, SharedMonitor | undefined>)[SHARED_KEY] = shared;
}

/** A monitor's SDK, built from its options and the OTEL_* environment. */
function buildShared(options: MonitorOptions, db: string | false, pricing: Pricing, shareable: boolean): SharedMonitor {
  const price = (usage: TokenUsage, model: string | undefined, engineId: string | undefined): CostResult => pricing.cost(usage, { model, engineId });
  const register = options.registerGlobal ?? true;
  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(
      resourceFromAttributes({
        ...(options.serviceName ? { [A.SERVICE_NAME]: options.serviceName } : {}),
        [A.PROCESS_PID]: process.pid,
        ...options.resourceAttributes,
      }),
    );
  const gates: ExportGate[] = [];
  const envReaders = options.meterProvider ? { readers: [], prometheus: undefined, gates: [] } : metricReadersFromEnv(process.env, options.defaultMetricsExporter);
  gates.push(...envReaders.gates);
  const readers = [...envReaders.readers, ...(options.metricReaders ?? [])];
  let meterProvider: MeterProvider;
  let ownedMeterProvider: SdkMeterProvider | undefined;
  if (options.meterProvider) {
    meterProvider = options.meterProvider;
  } else if (readers.length > 0) {
    ownedMeterProvider = new SdkMeterProvider({ resource, readers });
    if (register) metrics.setGlobalMeterProvider(ownedMeterProvider);
    meterProvider = ownedMeterProvider;
  } else {
    meterProvider = metrics.getMeterProvider();
  }

  let tracerProvider: TracerProvider;
  let ownedProvider: NodeTracerProvider | undefined;
  let sqlite: SqliteSpanProcessor | undefined;
  if (options.tracerProvider) {
    tracerProvider = options.tracerProvider;
  } else {
    const conversion = new SpanConversion(price);
    const meter = meterProvider.getMeter('agentloupe');
    sqlite = db === false ? undefined : new SqliteSpanProcessor({ path: db, price, conversion });
    const exporters = traceExportersFromEnv(process.env, options.defaultTracesExporter);
    gates.push(...exporters.gates);
    ownedProvider = new NodeTracerProvider({
      resource,
      spanProcessors: [
        ...(sqlite ? [sqlite] : []),
        // With no meter provider anywhere the instruments are no-ops for good (the API has no proxy
        // for metrics): building their attribute sets per span would cost the agent's thread for nothing.
        ...(isNoopMeter(meter) ? [] : [new MetricsSpanProcessor(meter, price, conversion)]),
        ...exporters.processors,
        ...(options.spanProcessors ?? []),
      ],
    });
    if (register) ownedProvider.register();
    tracerProvider = ownedProvider;
  }
  let stopping: Promise<void> | undefined;
  const shared: SharedMonitor = {
    version: 1,
    origin: options.origin ?? 'an earlier createMonitor()',
    tracerProvider,
    meterProvider,
    sqlite,
    prometheus: envReaders.prometheus,
    db,
    serviceName: options.serviceName ?? process.env.OTEL_SERVICE_NAME,
    pricing,
    gates,
    handles: 0,
    async flush() {
      if (ownedProvider) await ownedProvider.forceFlush();
      else await sqlite?.forceFlush();
      await ownedMeterProvider?.forceFlush();
    },
    stop() {
      stopping ??= (async () => {
        if (shareable && sharedMonitor() === shared) publish(undefined);
        if (ownedProvider) await ownedProvider.shutdown();
        await ownedMeterProvider?.shutdown();
      })();
      return stopping;
    },
  };
  return shared;
}

/** The options a joining createMonitor() cannot apply: the shared monitor is already built. */
function ignoredWhenJoining(options: MonitorOptions, shared: SharedMonitor): string[] {
  const ignored: string[] = [];
  if (options.db !== undefined && options.db !== shared.db) ignored.push(`db (${String(options.db)})`);
  if (options.serviceName !== undefined && options.serviceName !== shared.serviceName) ignored.push(`serviceName (${options.serviceName})`);
  if (options.meterProvider) ignored.push('meterProvider');
  if (options.metricReaders?.length) ignored.push('metricReaders');
  if (options.spanProcessors?.length) ignored.push('spanProcessors');
  if (options.resourceAttributes && Object.keys(options.resourceAttributes).length > 0) ignored.push('resourceAttributes');
  return ignored;
}

/**
 * The entry point: agent runs as OTel spans, mirrored into SQLite, with token and cost
 * accounting. `createMonitor()` gives the process's monitor (a second call, or a call inside a
 * process started with `--import agentloupe/register`, shares the first one's SDK).
 */
export class Monitor {
  readonly tracer: Tracer;
  readonly hooks: TelemetryHooks;
  readonly pricing: Pricing;
  /** The SQLite mirror, when agentloupe built the provider and `db` is not false. */
  readonly sqlite: SqliteSpanProcessor | undefined;
  readonly tracerProvider: TracerProvider;
  readonly meterProvider: MeterProvider;
  /** The Prometheus exporter from `OTEL_METRICS_EXPORTER=prometheus`, if any. */
  readonly prometheus: PrometheusExporter | undefined;
  /** True when this monitor joined one that already ran in the process (the hook's, or an earlier createMonitor()). */
  readonly joined: boolean;
  private readonly shared: SharedMonitor;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly services: RunServices;
  private stopped = false;
  private healthMonitor: HealthMonitor | undefined;
  private readonly healthOptions: HealthMonitorOptions;
  private uncapture: (() => void) | undefined;

  constructor(options: MonitorOptions = {}) {
    this.hooks = new TelemetryHooks(options.hooks);
    const shareable = options.tracerProvider === undefined && (options.registerGlobal ?? true);
    const existing = shareable ? sharedMonitor() : undefined;
    if (existing !== undefined) {
      const ignored = ignoredWhenJoining(options, existing);
      if (ignored.length > 0) {
        warnOnce(
          'monitor:join',
          `createMonitor() joined the monitor this process already has (${existing.origin}): one tracer provider, database (${existing.db === false ? 'off' : existing.db}), exporters and service name per process; ignored: ${ignored.join(', ')}${ignored.some((i) => i.startsWith('serviceName')) ? '. Name the service with OTEL_SERVICE_NAME' : ''}`,
        );
      }
      this.shared = existing;
      this.pricing = options.pricing ?? existing.pricing;
    } else {
      this.pricing = options.pricing ?? pricingFromEnv();
      this.shared = buildShared(options, options.db ?? dbFromEnv(), this.pricing, shareable);
      if (shareable) publish(this.shared);
    }
    this.shared.handles++;
    this.joined = existing !== undefined;
    this.tracerProvider = this.shared.tracerProvider;
    this.meterProvider = this.shared.meterProvider;
    this.sqlite = this.shared.sqlite;
    this.prometheus = this.shared.prometheus;
    ensureContextManager();
    this.tracer = this.tracerProvider.getTracer('agentloupe');
    this.healthOptions = {
      meterProvider: this.meterProvider,
      tracer: this.tracer,
      db: this.shared.db,
      serviceName: this.shared.serviceName,
      exportSources: this.sqlite ? [sqliteProcessorSource(this.sqlite)] : [],
    };
    this.services = {
      tracer: this.tracer,
      pricing: this.pricing,
      hooks: this.hooks,
      track: (work) => this.track(work),
    };
    if (options.captureLlmCalls) this.uncapture = this.captureLlmCalls();
  }

  /** Model calls through fetch become chat spans of the current run (unless the register hook already does it). */
  private captureLlmCalls(): (() => void) | undefined {
    if (isCapturing()) return undefined;
    const config = readConfig(process.env);
    return installFetchCapture({
      runFor: (ctx) => agentRunFromContext(ctx),
      captureContent: config.captureContent,
      maxContentBytes: config.maxContentBytes,
    });
  }

  /**
   * Health checks, heartbeats and alert rules (src/health). Created on first use; no timer runs
   * until a check is registered, and all of them stop at shutdown.
   */
  get health(): HealthMonitor {
    this.healthMonitor ??= new HealthMonitor(this.healthOptions);
    return this.healthMonitor;
  }

  /** Records that a worker is alive (`worker_heartbeats`). Never throws. */
  heartbeat(workerId: string, input: HeartbeatInput = {}): void {
    try {
      this.health.heartbeat(workerId, input);
    } catch {
      /* heartbeats never break the worker */
    }
  }

  /** The agent run active in the current async context, if any. */
  currentAgent(): AgentRun | undefined {
    return agentRunFromContext(context.active());
  }

  /**
   * Starts an agent run (status `starting`). Its parent is `options.parent`, else the run active
   * in the current context, else the parent named by W3C baggage (a sub-agent process).
   */
  startAgent(options: AgentOptions): AgentRun {
    const active = context.active();
    const parentRun = options.parent instanceof AgentRun ? options.parent : options.parent === undefined ? agentRunFromContext(active) : undefined;
    const baggage = propagation.getBaggage(active);
    const parentId =
      typeof options.parent === 'string' ? options.parent : parentRun?.id ?? baggage?.getEntry(BAGGAGE_PARENT_AGENT_ID)?.value;
    const planId = options.planId ?? parentRun?.planId ?? baggage?.getEntry(BAGGAGE_PLAN_ID)?.value;
    const type = options.type;
    const name = options.name ?? type;
    const id = options.id ?? newAgentId(type);
    const attributes: Attributes = {
      ...options.attributes,
      [A.GEN_AI_OPERATION_NAME]: A.OP_INVOKE_AGENT,
      [A.GEN_AI_AGENT_ID]: id,
      [A.GEN_AI_AGENT_NAME]: name,
      [A.AGENTLOUPE_AGENT_TYPE]: type,
      [A.PROCESS_PID]: options.processId ?? process.pid,
    };
    if (planId) attributes[A.AGENTLOUPE_PLAN_ID] = planId;
    if (parentId) attributes[A.AGENTLOUPE_PARENT_AGENT_ID] = parentId;
    if (options.category) attributes[A.AGENTLOUPE_AGENT_CATEGORY] = options.category;
    if (options.logFile) attributes[A.AGENTLOUPE_LOG_FILE] = options.logFile;
    if (options.description) attributes[A.GEN_AI_AGENT_DESCRIPTION] = options.description;
    const parentContext = parentRun ? trace.setSpan(active, parentRun.span) : active;
    const startedMs = nowMs();
    const span = this.tracer.startSpan(`${A.OP_INVOKE_AGENT} ${name}`, { kind: SpanKind.INTERNAL, attributes, startTime: startedMs }, parentContext);
    const run = new AgentRun(id, name, type, planId, parentId, span, this.services, startedMs);
    this.hooks.runLifecycle('agentStart', run);
    return run;
  }

  /**
   * A handle on a run that another process records (e.g. `agentloupe run` around this process):
   * calls recorded on it belong to that run and parent to the active span (its remote span,
   * from TRACEPARENT). This process never starts or ends that run's row.
   */
  attachAgent(options: { id: string; type: string; name?: string; planId?: string; parentId?: string }): AgentRun {
    const span = trace.getSpan(context.active()) ?? trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    return new AgentRun(options.id, options.name ?? options.type, options.type, options.planId, options.parentId, span, this.services);
  }

  /**
   * Runs `fn` as an agent run: nested agents started inside parent to it automatically; it is
   * marked running when `fn` starts and completed or failed by `fn`'s outcome (unless `fn`
   * ended it itself). The error of a failing `fn` is rethrown.
   */
  async withAgent<T>(options: AgentOptions, fn: (run: AgentRun) => Promise<T> | T): Promise<T> {
    const run = this.startAgent(options);
    return context.with(run.context(), async () => {
      run.running();
      try {
        const result = await fn(run);
        if (!run.ended) run.complete(0);
        return result;
      } catch (err) {
        if (!run.ended) run.fail(err);
        throw err;
      }
    });
  }

  /** Writes everything recorded so far (SQLite and exporters). */
  async forceFlush(): Promise<void> {
    await holdingLoop(
      (async () => {
        await this.settlePending();
        await this.shared.flush();
        await this.healthMonitor?.flush();
      })(),
    );
  }

  /**
   * Stops the process's monitor (every createMonitor() handle, and the register hook's), waiting
   * at most `timeoutMs` for exporters: SQLite is committed first (up to 10 s, for another
   * writer's lock), then exporters make one attempt each, none to an endpoint already found down. Resolves false when exporters were still busy
   * (e.g. an endpoint that accepts connections but does not answer). For exit paths.
   */
  async shutdownWithin(timeoutMs: number): Promise<boolean> {
    for (const gate of this.shared.gates) gate.final = true;
    this.stopped = true;
    await this.settlePending();
    // SQLite first and outside the exporters' bound: its rows are committed by the writer thread,
    // and an exit that cut that short would lose them.
    if (this.shared.sqlite) await settlesWithin(this.shared.sqlite.forceFlush(), SQLITE_EXIT_WAIT_MS);
    const work = (async () => {
      await this.healthMonitor?.shutdown();
      this.uncapture?.();
      await this.shared.stop();
    })().then(
      () => true,
      () => true,
    );
    return settlesWithin(work, timeoutMs);
  }

  /**
   * Flushes and releases this monitor; the last monitor of the process to shut down stops the
   * shared SDK (a monitor that joined the register hook's only flushes: the hook stops it at exit).
   */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await holdingLoop(
      (async () => {
        await this.settlePending();
        // Health first: its last status-change spans still reach the exporters.
        await this.healthMonitor?.shutdown();
        this.uncapture?.();
        this.shared.handles--;
        if (this.shared.handles <= 0) {
          for (const gate of this.shared.gates) gate.final = true;
          await this.shared.stop();
        } else {
          await this.shared.flush();
        }
      })(),
    );
  }

  /** True when OTLP exporters are configured (an endpoint or OTEL_*_EXPORTER=otlp). */
  get exporting(): boolean {
    return this.shared.gates.length > 0;
  }

  /**
   * One line on what the exporters could not send (an OTLP endpoint that is down), or undefined
   * when everything went out.
   */
  exportProblem(): string | undefined {
    const failed = this.shared.gates.filter((g) => g.failed > 0);
    if (failed.length === 0) return undefined;
    const where = [...new Set(failed.map((g) => `${g.url} (${g.lastError ?? 'failed'})`))].join(', ');
    return `could not export to ${where}; the SQLite database has everything. Start \`agentloupe collector\`, or unset OTEL_EXPORTER_OTLP_ENDPOINT / set OTEL_TRACES_EXPORTER=none and OTEL_METRICS_EXPORTER=none.`;
  }

  private track(work: Promise<unknown>): void {
    const p = work.catch(() => undefined).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  private async settlePending(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}

/** Longest wait at exit for the SQLite writer to commit (another process may hold the write lock). */
const SQLITE_EXIT_WAIT_MS = 10_000;

/** True when `work` settled within `ms`; the timer holds the loop, so an exit path really waits. */
export function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([work.then(() => true, () => true), timeout]).finally(() => clearTimeout(timer));
}

/**
 * The built-in prices merged with AGENTLOUPE_PRICING. A bad file must not stop the agent: it is
 * reported (naming every bad entry; `agentloupe doctor` says the same) and the built-in table is used.
 */
function pricingFromEnv(): Pricing {
  try {
    return PriceTable.fromEnv();
  } catch (err) {
    warnOnce('pricing-file', `${(err as Error).message}; using the built-in prices until it is fixed`);
    return PriceTable.builtIn();
  }
}

let contextManagerChecked = false;

/** withAgent's automatic parenting needs an async context manager; install one if none is. */
function ensureContextManager(): void {
  if (contextManagerChecked) return;
  contextManagerChecked = true;
  const probe = Symbol('probe');
  const seen = context.with(context.active().setValue(probe, true), () => context.active().getValue(probe));
  if (seen !== true) context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

export function createMonitor(options: MonitorOptions = {}): Monitor {
  return new Monitor(options);
}
