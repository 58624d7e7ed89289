import { context, INVALID_SPAN_CONTEXT, metrics, propagation, SpanKind, trace, type Attributes, type Tracer, type TracerProvider } from '@opentelemetry/api';
import type { MeterProvider } from '@opentelemetry/api';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider as SdkMeterProvider, type IMetricReader } from '@opentelemetry/sdk-metrics';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { randomBytes } from 'node:crypto';
import { warnOnce } from '../log.js';
import * as A from '../semconv.js';
import { defaultDbPath } from '../store/database.js';
import { SqliteSpanProcessor } from '../store/sqlite-span-processor.js';
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

export interface MonitorOptions {
  /** `service.name` of the resource; default `OTEL_SERVICE_NAME`, else the SDK default. */
  serviceName?: string;
  /** Database path, or false for no SQLite mirror. Default `AGENTLOUPE_DB` or `.agentloupe/monitoring.db`. */
  db?: string | false;
  /**
   * Use this tracer provider instead of building one. The provider must then carry a
   * SqliteSpanProcessor itself for the SQLite mirror (see the README).
   */
  tracerProvider?: TracerProvider;
  /**
   * Metric instruments are created on this provider. Default: a provider agentloupe builds when
   * `OTEL_METRICS_EXPORTER` or `metricReaders` asks for one, else the global provider.
   */
  meterProvider?: MeterProvider;
  /** Readers for the meter provider agentloupe builds (e.g. a PrometheusExporter you mount yourself). */
  metricReaders?: IMetricReader[];
  /** More processors for the provider agentloupe builds, e.g. a BatchSpanProcessor with an OTLP exporter. */
  spanProcessors?: SpanProcessor[];
  /** Register the built provider, context manager and W3C propagators globally. Default true. */
  registerGlobal?: boolean;
  /** Prices; default the built-in table merged with `AGENTLOUPE_PRICING`. */
  pricing?: Pricing;
  hooks?: TelemetryHooksOptions;
  /** Extra resource attributes. */
  resourceAttributes?: Attributes;
  /** `OTEL_TRACES_EXPORTER` when unset: 'none' for library use; the register hook uses the spec's 'otlp'. */
  defaultTracesExporter?: string;
  /** `OTEL_METRICS_EXPORTER` when unset: 'none' for library use; the register hook uses the spec's 'otlp'. */
  defaultMetricsExporter?: string;
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

/**
 * The entry point: agent runs as OTel spans, mirrored into SQLite, with token and cost
 * accounting. Build one per process with `createMonitor()`.
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
  private readonly ownedProvider: NodeTracerProvider | undefined;
  private readonly ownedMeterProvider: SdkMeterProvider | undefined;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly services: RunServices;
  private stopped = false;
  private healthMonitor: HealthMonitor | undefined;
  private readonly healthOptions: HealthMonitorOptions;

  constructor(options: MonitorOptions = {}) {
    this.hooks = new TelemetryHooks(options.hooks);
    this.pricing = options.pricing ?? pricingFromEnv();
    const pricing = this.pricing;
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

    const envReaders = options.meterProvider ? { readers: [], prometheus: undefined } : metricReadersFromEnv(process.env, options.defaultMetricsExporter);
    const readers = [...envReaders.readers, ...(options.metricReaders ?? [])];
    this.prometheus = envReaders.prometheus;
    if (options.meterProvider) {
      this.meterProvider = options.meterProvider;
    } else if (readers.length > 0) {
      this.ownedMeterProvider = new SdkMeterProvider({ resource, readers });
      if (register) metrics.setGlobalMeterProvider(this.ownedMeterProvider);
      this.meterProvider = this.ownedMeterProvider;
    } else {
      this.meterProvider = metrics.getMeterProvider();
    }

    if (options.tracerProvider) {
      this.tracerProvider = options.tracerProvider;
      this.ownedProvider = undefined;
      this.sqlite = undefined;
    } else {
      this.sqlite = options.db === false ? undefined : new SqliteSpanProcessor({ path: options.db ?? defaultDbPath(), price });
      const provider = new NodeTracerProvider({
        resource,
        spanProcessors: [
          ...(this.sqlite ? [this.sqlite] : []),
          new MetricsSpanProcessor(this.meterProvider.getMeter('agentloupe'), price),
          ...traceExportersFromEnv(process.env, options.defaultTracesExporter),
          ...(options.spanProcessors ?? []),
        ],
      });
      if (register) provider.register();
      this.ownedProvider = provider;
      this.tracerProvider = provider;
    }
    ensureContextManager();
    this.tracer = this.tracerProvider.getTracer('agentloupe');
    this.healthOptions = {
      meterProvider: this.meterProvider,
      tracer: this.tracer,
      db: options.db === false ? false : options.db ?? defaultDbPath(),
      serviceName: options.serviceName ?? process.env.OTEL_SERVICE_NAME,
      exportSources: this.sqlite ? [sqliteProcessorSource(this.sqlite)] : [],
    };
    this.services = {
      tracer: this.tracer,
      pricing: this.pricing,
      hooks: this.hooks,
      track: (work) => this.track(work),
    };
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
    const span = this.tracer.startSpan(`${A.OP_INVOKE_AGENT} ${name}`, { kind: SpanKind.INTERNAL, attributes }, parentContext);
    const run = new AgentRun(id, name, type, planId, parentId, span, this.services);
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
    await this.settlePending();
    if (this.ownedProvider) await this.ownedProvider.forceFlush();
    else await this.sqlite?.forceFlush();
    await this.healthMonitor?.flush();
    await this.ownedMeterProvider?.forceFlush();
  }

  /**
   * Flushes and stops, waiting at most `timeoutMs` for exporters (SQLite is written at once).
   * Resolves false when exporters were still busy, e.g. retrying an OTLP endpoint that is down.
   */
  async shutdownWithin(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([this.shutdown().then(() => true, () => true), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Flushes and stops. Call once, before the process exits. */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.settlePending();
    // Health first: its last status-change spans still reach the exporters.
    await this.healthMonitor?.shutdown();
    if (this.ownedProvider) await this.ownedProvider.shutdown();
    await this.ownedMeterProvider?.shutdown();
  }

  private track(work: Promise<unknown>): void {
    const p = work.catch(() => undefined).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  private async settlePending(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
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
