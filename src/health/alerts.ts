import { diag } from '@opentelemetry/api';
import { statSync } from 'node:fs';
import { warnOnce } from '../log.js';
import type { HealthStore } from '../store/health-store.js';
import { validateAlertConfig, type AlertConfig, type AlertRule, type AlertSeverity, type WebhookConfig } from './alert-config.js';
import { durationMs, formatDuration } from './duration.js';
import { resolveThresholds, workerStatusOf, type HeartbeatThresholds, type WorkerStatus } from './heartbeats.js';
import type { HealthCache } from './metrics.js';
import { postJson } from './webhook.js';
import { findZombies } from './zombies.js';

/** One fired alert, as delivered to listeners, the log, the webhook and the `alerts` table. */
export interface Alert {
  /** Row id in `alerts` (undefined without a database). */
  id?: number;
  rule: string;
  kind: AlertRule['kind'];
  severity: AlertSeverity;
  /** What it is about: a plan id, a worker id, a component, a UTC day; '' for the whole system. */
  subject: string;
  title: string;
  message: string;
  value: number | null;
  threshold: number | null;
  details: Record<string, unknown>;
  /** ISO 8601. */
  time: string;
  timeMs: number;
}

/** The JSON body POSTed to the webhook: `text` for Slack-compatible receivers, `alert` for programs. */
export interface WebhookBody {
  text: string;
  alert: Omit<Alert, 'timeMs'> & { service: string | null };
}

export interface AlertManagerOptions {
  config: AlertConfig;
  /** Component states (a HealthMonitor); without it, component rules read the last stored states. */
  health?: HealthCache;
  /** The database the rules read and alerts are stored in. */
  store?: () => HealthStore | undefined;
  /** Thresholds for worker rules (same as the heartbeat tracker's). */
  heartbeats?: HeartbeatThresholds;
  /** Log line per alert; default stderr (silenced by AGENTLOUPE_LOG=silent) and the OTel diag logger. */
  log?: ((line: string) => void) | false;
  /** Put in the webhook body. */
  serviceName?: string;
  now?: () => number;
}

type Listener = (alert: Alert) => void;

interface Firing {
  subject: string;
  title: string;
  message: string;
  value: number | null;
  threshold: number | null;
  details?: Record<string, unknown>;
}

const MB = 1024 * 1024;

function usd(n: number): string {
  return `$${n.toFixed(n >= 1 ? 2 : 4)}`;
}

function defaultLog(line: string): void {
  diag.warn(line);
  if (process.env.AGENTLOUPE_LOG !== 'silent') process.stderr.write(`${line}\n`);
}

/**
 * Declarative alert rules over what agentloupe knows (seed 002 and 003): evaluated on a timer,
 * deduplicated per (rule, subject) with a cooldown (also across restarts, through the `alerts`
 * table), delivered as events, log lines and an optional webhook POST.
 */
export class AlertManager {
  readonly config: AlertConfig;
  private readonly intervalMs: number;
  private readonly defaultCooldownMs: number;
  private readonly webhook: { url: string; timeoutMs: number; headers: Record<string, string> } | undefined;
  private readonly health: HealthCache | undefined;
  private readonly store: () => HealthStore | undefined;
  private readonly thresholds: Required<HeartbeatThresholds>;
  private readonly log: ((line: string) => void) | undefined;
  private readonly serviceName: string | null;
  private readonly now: () => number;
  private readonly lastFired = new Map<string, number>();
  private readonly listeners = new Set<Listener>();
  private readonly deliveries = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private evaluating: Promise<Alert[]> | undefined;
  private stopped = false;

  constructor(options: AlertManagerOptions) {
    this.config = validateAlertConfig(options.config);
    this.intervalMs = Math.max(100, durationMs(this.config.interval ?? '60s', 'interval'));
    this.defaultCooldownMs = durationMs(this.config.cooldown ?? '1h', 'cooldown');
    const wh: WebhookConfig | undefined = typeof this.config.webhook === 'string' ? { url: this.config.webhook } : this.config.webhook;
    this.webhook = wh ? { url: wh.url, timeoutMs: durationMs(wh.timeout ?? '5s', 'webhook.timeout'), headers: wh.headers ?? {} } : undefined;
    this.health = options.health;
    this.store = options.store ?? (() => undefined);
    this.thresholds = resolveThresholds(options.heartbeats);
    this.log = options.log === false ? undefined : options.log ?? defaultLog;
    this.serviceName = options.serviceName ?? null;
    this.now = options.now ?? Date.now;
  }

  on(event: 'alert', listener: Listener): this {
    if (event === 'alert') this.listeners.add(listener);
    return this;
  }

  off(event: 'alert', listener: Listener): this {
    if (event === 'alert') this.listeners.delete(listener);
    return this;
  }

  /** Evaluates on a timer (unref'd). */
  start(): this {
    if (this.timer || this.stopped) return this;
    this.timer = setInterval(() => void this.evaluate(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  /** Stops the timer and waits for webhook deliveries in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.evaluating;
    await this.flush();
  }

  /** Waits for webhook deliveries in flight. */
  async flush(): Promise<void> {
    while (this.deliveries.size > 0) await Promise.all([...this.deliveries]);
  }

  /** Evaluates every rule once; returns the alerts that fired (cooldowns applied). Never throws. */
  evaluate(): Promise<Alert[]> {
    this.evaluating ??= Promise.resolve()
      .then(() => this.evaluateNow())
      .catch((err: unknown) => {
        warnOnce(`alert:evaluate:${String(err)}`, `alert evaluation failed: ${String(err)}`);
        return [];
      })
      .finally(() => {
        this.evaluating = undefined;
      });
    return this.evaluating;
  }

  private evaluateNow(): Alert[] {
    const fired: Alert[] = [];
    const now = this.now();
    for (const rule of this.config.rules) {
      let firings: Firing[];
      try {
        firings = this.check(rule, now);
      } catch (err) {
        warnOnce(`alert:${rule.name}:${(err as Error).message}`, `alert rule "${rule.name}" could not be evaluated: ${(err as Error).message}`);
        continue;
      }
      const cooldownMs = rule.cooldown !== undefined ? durationMs(rule.cooldown, `${rule.name}.cooldown`) : this.defaultCooldownMs;
      for (const f of firings) {
        if (this.coolingDown(rule.name, f.subject, now, cooldownMs)) continue;
        fired.push(this.fire(rule, f, now));
      }
    }
    return fired;
  }

  private coolingDown(rule: string, subject: string, now: number, cooldownMs: number): boolean {
    const key = `${rule}\u0000${subject}`;
    let last = this.lastFired.get(key);
    if (last === undefined) {
      try {
        last = this.store()?.lastAlertTime(rule, subject);
      } catch {
        /* no history: judge from memory only */
      }
    }
    if (last !== undefined && now - last < cooldownMs) return true;
    this.lastFired.set(key, now);
    return false;
  }

  private fire(rule: AlertRule, f: Firing, now: number): Alert {
    const alert: Alert = {
      rule: rule.name,
      kind: rule.kind,
      severity: rule.severity ?? 'warning',
      subject: f.subject,
      title: f.title,
      message: f.message,
      value: f.value,
      threshold: f.threshold,
      details: f.details ?? {},
      time: new Date(now).toISOString(),
      timeMs: now,
    };
    const store = this.store();
    try {
      if (store) alert.id = store.insertAlert({ ...alert }, this.webhook ? 'pending' : null);
    } catch (err) {
      warnOnce(`alert:store:${(err as Error).message}`, `could not store an alert: ${(err as Error).message}`);
    }
    this.log?.(`agentloupe: ALERT [${alert.severity}] ${alert.rule}${alert.subject ? ` (${alert.subject})` : ''}: ${alert.message}`);
    for (const l of this.listeners) {
      try {
        l(alert);
      } catch (err) {
        warnOnce(`alert:listener:${(err as Error).message}`, `an 'alert' listener threw: ${(err as Error).message}`);
      }
    }
    if (this.webhook) this.deliver(alert, this.webhook);
    return alert;
  }

  private deliver(alert: Alert, webhook: NonNullable<AlertManager['webhook']>): void {
    const { timeMs: _omit, ...rest } = alert;
    const body: WebhookBody = {
      text: `[${alert.severity.toUpperCase()}] ${alert.title}: ${alert.message}`,
      alert: { ...rest, service: this.serviceName },
    };
    const p = postJson(webhook.url, body, { timeoutMs: webhook.timeoutMs, headers: webhook.headers }).then((r) => {
      const outcome = r.ok ? `ok ${r.status}` : `failed: ${r.error ?? 'unknown error'}`;
      if (!r.ok) warnOnce(`alert:webhook:${r.error}`, `alert webhook ${webhook.url} failed: ${r.error}`);
      try {
        if (alert.id !== undefined) this.store()?.setAlertDelivery(alert.id, outcome);
      } catch {
        /* the alert itself is stored; only its delivery note is lost */
      }
    });
    const tracked = p.finally(() => this.deliveries.delete(tracked));
    this.deliveries.add(tracked);
  }

  private check(rule: AlertRule, now: number): Firing[] {
    const nowSec = Math.floor(now / 1000);
    switch (rule.kind) {
      case 'failure_rate': {
        const store = this.requireStore(rule.name);
        const windowMs = durationMs(rule.window ?? '1h', 'window');
        const o = store.agentOutcomes(nowSec - Math.floor(windowMs / 1000), rule.agentType);
        const ended = o.completed + o.failed + o.terminated;
        if (ended === 0 || ended < (rule.minRuns ?? 5)) return [];
        const rate = (o.failed + o.terminated) / ended;
        if (rate <= rule.threshold) return [];
        const who = rule.agentType ? `${rule.agentType} agents` : 'agents';
        return [{
          subject: rule.agentType ?? '',
          title: `High ${who} failure rate`,
          message: `${(rate * 100).toFixed(1)}% of ${ended} ${who} runs in the last ${formatDuration(windowMs)} failed (threshold ${(rule.threshold * 100).toFixed(1)}%)`,
          value: rate,
          threshold: rule.threshold,
          details: { ...o, windowMs },
        }];
      }
      case 'plan_cost': {
        const store = this.requireStore(rule.name);
        const sinceSec = rule.window !== undefined ? nowSec - Math.floor(durationMs(rule.window, 'window') / 1000) : 0;
        return store
          .planCosts({ sinceSec, planId: rule.planId })
          .filter((p) => p.costUsd > rule.budgetUsd)
          .map((p) => ({
            subject: p.planId,
            title: `Plan ${p.planId} over budget`,
            message: `plan ${p.planId} has cost ${usd(p.costUsd)} over ${p.calls} call(s), over its ${usd(rule.budgetUsd)} budget`,
            value: p.costUsd,
            threshold: rule.budgetUsd,
            details: { planId: p.planId, calls: p.calls },
          }));
      }
      case 'daily_cost': {
        const store = this.requireStore(rule.name);
        const dayStart = Math.floor(nowSec / 86_400) * 86_400;
        const cost = store.costBetween(dayStart, dayStart + 86_400);
        if (cost <= rule.budgetUsd) return [];
        const day = new Date(dayStart * 1000).toISOString().slice(0, 10);
        return [{ subject: day, title: `Daily cost over budget`, message: `${day} (UTC) has cost ${usd(cost)} so far, over the ${usd(rule.budgetUsd)} daily budget`, value: cost, threshold: rule.budgetUsd }];
      }
      case 'workers': {
        const bad = rule.state === 'stale' ? new Set(['stale', 'down']) : new Set(['down']);
        return this.workers(now)
          .filter((w) => bad.has(w.state) && (rule.workerType === undefined || w.workerType === rule.workerType))
          .map((w) => ({
            subject: w.workerId,
            title: `Worker ${w.workerId} is ${w.state}`,
            message: `${w.workerType} worker ${w.workerId} is ${w.state}: no heartbeat for ${formatDuration(w.silentMs)}`,
            value: w.silentMs / 1000,
            threshold: (w.state === 'down' ? this.thresholds.downAfterMs : this.thresholds.staleAfterMs) / 1000,
            details: { workerType: w.workerType, state: w.state, lastHeartbeat: new Date(w.lastHeartbeatMs).toISOString() },
          }));
      }
      case 'component': {
        const bad = rule.status === 'degraded' ? new Set(['degraded', 'unhealthy', 'unknown']) : new Set(['unhealthy', 'unknown']);
        const components = this.health
          ? this.health.getAll().filter((c) => c.runs > 0).map((c) => ({ name: c.name, status: c.status as string, message: c.message ?? null }))
          : (this.store()?.latestHealth() ?? []).map((c) => ({ name: c.component, status: c.status, message: c.message }));
        return components
          .filter((c) => bad.has(c.status) && (rule.component === undefined || c.name === rule.component))
          .map((c) => ({
            subject: c.name,
            title: `${c.name} is ${c.status}`,
            message: `component ${c.name} is ${c.status}${c.message ? `: ${c.message}` : ''}`,
            value: null,
            threshold: null,
            details: { component: c.name, status: c.status },
          }));
      }
      case 'database_size': {
        const store = this.requireStore(rule.name);
        const limit = rule.maxBytes ?? (rule.maxMb ?? 100) * MB;
        const size = fileSize(store.db.name) + fileSize(`${store.db.name}-wal`);
        if (size <= limit) return [];
        return [{ subject: '', title: 'Database size over limit', message: `${store.db.name} is ${(size / MB).toFixed(1)} MB (with its WAL), over the ${(limit / MB).toFixed(1)} MB limit`, value: size, threshold: limit }];
      }
      case 'zombie_agents': {
        const store = this.requireStore(rule.name);
        const silentAfterMs = rule.silentAfter !== undefined ? durationMs(rule.silentAfter, 'silentAfter') : undefined;
        return findZombies(store, { now, silentAfterMs, checkProcesses: rule.checkProcesses }).map((z) => ({
          subject: z.agentId,
          title: `Zombie agent ${z.agentId}`,
          message: `${z.name} run ${z.agentId}: ${z.detail}`,
          value: null,
          threshold: null,
          details: { agentId: z.agentId, reason: z.reason, processId: z.processId, planId: z.planId },
        }));
      }
    }
  }

  private workers(now: number): WorkerStatus[] {
    const store = this.store();
    if (store) return store.listWorkers().map((w) => workerStatusOf(w, now, this.thresholds));
    return [...(this.health?.workerStatuses() ?? [])];
  }

  private requireStore(rule: string): HealthStore {
    const store = this.store();
    if (!store) throw new Error(`rule "${rule}" reads the database, and this monitor has none (db: false)`);
    return store;
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
