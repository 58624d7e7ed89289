import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { durationMs, type Duration } from './duration.js';

export type AlertSeverity = 'info' | 'warning' | 'critical';

interface RuleBase {
  /** Unique rule name; with the subject it is the dedup key. */
  name: string;
  severity?: AlertSeverity;
  /** A (rule, subject) fires at most once per cooldown while its condition holds. Default: the config's cooldown. */
  cooldown?: Duration;
}

/** Share of runs ending failed or terminated, over runs that ended within `window`. */
export interface FailureRateRule extends RuleBase {
  kind: 'failure_rate';
  /** 0..1, fires when the rate is above it. */
  threshold: number;
  /** Default 1h. */
  window?: Duration;
  /** Too few runs say nothing: default 5. */
  minRuns?: number;
  agentType?: string;
}

/** A plan's total cost over a budget (one alert per plan). */
export interface PlanCostRule extends RuleBase {
  kind: 'plan_cost';
  budgetUsd: number;
  /** Only this plan; default every plan. */
  planId?: string;
  /** Only calls within this window; default all time. */
  window?: Duration;
}

/** The current UTC day's total cost over a budget. */
export interface DailyCostRule extends RuleBase {
  kind: 'daily_cost';
  budgetUsd: number;
}

/** Heartbeat workers that are stale or down (one alert per worker). */
export interface WorkersRule extends RuleBase {
  kind: 'workers';
  /** Fire for workers at least this bad: `stale` (stale or down) or `down` (default). */
  state?: 'stale' | 'down';
  workerType?: string;
}

/** Health-checked components in a bad state (one alert per component). */
export interface ComponentRule extends RuleBase {
  kind: 'component';
  /** Only this component; default all. */
  component?: string;
  /** Fire at `degraded` (degraded, unhealthy or unknown) or `unhealthy` (default: unhealthy or unknown). */
  status?: 'degraded' | 'unhealthy';
}

/** Database file (plus WAL) larger than a limit. */
export interface DatabaseSizeRule extends RuleBase {
  kind: 'database_size';
  maxBytes?: number;
  /** Megabytes (2^20 bytes); used when maxBytes is not given. Default 100 (seed 003). */
  maxMb?: number;
}

/** Runs still running whose process is gone or that have gone silent (one alert per run). */
export interface ZombieAgentsRule extends RuleBase {
  kind: 'zombie_agents';
  /** Default 1h. */
  silentAfter?: Duration;
  checkProcesses?: boolean;
}

export type AlertRule = FailureRateRule | PlanCostRule | DailyCostRule | WorkersRule | ComponentRule | DatabaseSizeRule | ZombieAgentsRule;

export interface WebhookConfig {
  /** An incoming-webhook URL (Slack-compatible body: `text` plus an `alert` object). */
  url: string;
  /** Default 5s. */
  timeout?: Duration;
  headers?: Record<string, string>;
}

export interface AlertConfig {
  /** How often rules are evaluated. Default 60s. */
  interval?: Duration;
  /** Default cooldown per (rule, subject). Default 1h. */
  cooldown?: Duration;
  webhook?: string | WebhookConfig;
  rules: AlertRule[];
}

/** An alert configuration that does not make sense; the message names the field and what to write. */
export class AlertConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AlertConfigError';
  }
}

const KINDS = ['failure_rate', 'plan_cost', 'daily_cost', 'workers', 'component', 'database_size', 'zombie_agents'] as const;
const SEVERITIES: readonly AlertSeverity[] = ['info', 'warning', 'critical'];

/** Reads and checks a JSON or YAML alert configuration file. */
export function loadAlertConfig(path: string): AlertConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AlertConfigError(`cannot read alert rules from ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    // YAML is a superset of JSON: one parser reads both.
    data = parseYaml(text);
  } catch (err) {
    throw new AlertConfigError(`${path} is not valid JSON or YAML: ${(err as Error).message}`);
  }
  return validateAlertConfig(data, path);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Checks an alert configuration (from code or a file); throws AlertConfigError naming the bad field. */
export function validateAlertConfig(data: unknown, source = 'alert config'): AlertConfig {
  const fail = (where: string, what: string): never => {
    throw new AlertConfigError(`${source}: ${where}: ${what}`);
  };
  if (!isObject(data)) fail('top level', 'expected an object with a `rules` list');
  const cfg = data as Record<string, unknown>;
  const duration = (v: unknown, where: string): void => {
    if (v === undefined) return;
    try {
      durationMs(v as Duration, where);
    } catch (err) {
      fail(where, (err as Error).message.replace(`${where}: `, ''));
    }
  };
  duration(cfg.interval, 'interval');
  duration(cfg.cooldown, 'cooldown');
  if (cfg.webhook !== undefined) {
    const url = typeof cfg.webhook === 'string' ? cfg.webhook : isObject(cfg.webhook) ? cfg.webhook.url : undefined;
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) fail('webhook', 'expected an http(s) URL, or { url, timeout?, headers? }');
    if (isObject(cfg.webhook)) duration(cfg.webhook.timeout, 'webhook.timeout');
  }
  if (!Array.isArray(cfg.rules)) fail('rules', 'expected a list of rules');
  const names = new Set<string>();
  (cfg.rules as unknown[]).forEach((r, i) => {
    const at = `rules[${i}]`;
    if (!isObject(r)) return fail(at, 'expected an object with name and kind');
    if (typeof r.name !== 'string' || r.name === '') fail(`${at}.name`, 'expected a non-empty string');
    if (names.has(r.name as string)) fail(`${at}.name`, `"${String(r.name)}" is used twice; rule names must be unique`);
    names.add(r.name as string);
    if (!(KINDS as readonly unknown[]).includes(r.kind)) fail(`${at}.kind`, `expected one of ${KINDS.join(', ')}`);
    if (r.severity !== undefined && !(SEVERITIES as readonly unknown[]).includes(r.severity)) fail(`${at}.severity`, `expected one of ${SEVERITIES.join(', ')}`);
    duration(r.cooldown, `${at}.cooldown`);
    const positive = (key: string, required: boolean): void => {
      const v = r[key];
      if (v === undefined && !required) return;
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(`${at}.${key}`, 'expected a positive number');
    };
    switch (r.kind) {
      case 'failure_rate':
        if (typeof r.threshold !== 'number' || !(r.threshold >= 0 && r.threshold <= 1)) fail(`${at}.threshold`, 'expected a number between 0 and 1 (0.1 = 10%)');
        duration(r.window, `${at}.window`);
        positive('minRuns', false);
        break;
      case 'plan_cost':
        positive('budgetUsd', true);
        duration(r.window, `${at}.window`);
        break;
      case 'daily_cost':
        positive('budgetUsd', true);
        break;
      case 'workers':
        if (r.state !== undefined && r.state !== 'stale' && r.state !== 'down') fail(`${at}.state`, 'expected stale or down');
        break;
      case 'component':
        if (r.status !== undefined && r.status !== 'degraded' && r.status !== 'unhealthy') fail(`${at}.status`, 'expected degraded or unhealthy');
        break;
      case 'database_size':
        positive('maxBytes', false);
        positive('maxMb', false);
        break;
      case 'zombie_agents':
        duration(r.silentAfter, `${at}.silentAfter`);
        break;
    }
  });
  return data as unknown as AlertConfig;
}
