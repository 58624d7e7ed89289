/**
 * Shared parts of the viewing tests: run the demo (optionally serving its Prometheus endpoint),
 * parse a Prometheus exposition, and pull metric names and label names out of PromQL.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sample } from './prometheus-text.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DEMO = join(ROOT, 'examples', 'demo.mjs');

/** A port that was free a moment ago (the demo's Prometheus port cannot be 0). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Runs the demo to completion into `db` (no endpoint). */
export function runDemo(db: string, cwd: string): void {
  const r = spawnSync(process.execPath, [DEMO], {
    cwd,
    env: { ...process.env, AGENTLOUPE_DB: db, OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', AGENTLOUPE_LOG: 'silent', NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`demo failed (${r.status}): ${r.stderr}\n${r.stdout}`);
}

export interface ServedDemo {
  child: ChildProcess;
  metricsUrl: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts `node examples/demo.mjs --serve` with the Prometheus exporter and waits for its metrics URL line. */
export async function serveDemo(db: string, cwd: string): Promise<ServedDemo> {
  const port = await freePort();
  const child = spawn(process.execPath, [DEMO, '--serve'], {
    cwd,
    env: {
      ...process.env,
      AGENTLOUPE_DB: db,
      OTEL_METRICS_EXPORTER: 'prometheus',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_TRACES_EXPORTER: 'none',
      AGENTLOUPE_LOG: 'silent',
      NO_COLOR: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 60_000;
  while (!/Serving metrics at (\S+)/.test(out)) {
    if (child.exitCode !== null) throw new Error(`demo exited (${child.exitCode}) before serving:\n${out}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`demo did not serve within 60 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, port, metricsUrl: /Serving metrics at (\S+)/.exec(out)![1]!, stop };
}

export { parseExposition, type Sample } from './prometheus-text.js';

/** Metric name -> every label name seen on its samples. */
export function labelIndex(samples: readonly Sample[]): Map<string, Set<string>> {
  const index = new Map<string, Set<string>>();
  for (const s of samples) {
    let set = index.get(s.name);
    if (!set) index.set(s.name, (set = new Set()));
    for (const l of Object.keys(s.labels)) set.add(l);
  }
  return index;
}

// ------------------------------------------------------------------------------------------------
// PromQL references

export interface Selector {
  metric: string;
  /** Label names used in the selector's matchers. */
  labels: string[];
}

export interface PromRefs {
  selectors: Selector[];
  /** Labels named in by / without / on / ignoring / group_left / group_right clauses. */
  grouping: string[];
}

const AGGREGATIONS = new Set(['sum', 'avg', 'min', 'max', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group', 'limitk', 'limit_ratio']);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan', 'Inf', 'NaN']);

type Token = { kind: 'id' | 'num' | 'str' | 'punct'; text: string };

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  // Grafana variables: $__rate_interval, ${name}, $name, [[name]] -> a neutral number.
  const src = expr.replace(/\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[^\]]*\]\]/g, '1');
  const re = /\s+|#[^\n]*|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)|([a-zA-Z_:][a-zA-Z0-9_:]*)|(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[a-zA-Z]*)|(=~|!~|!=|==|>=|<=|[-+*/%^(){}\[\],=<>@:])/y;
  let i = 0;
  while (i < src.length) {
    re.lastIndex = i;
    const m = re.exec(src);
    if (!m) throw new Error(`cannot tokenize PromQL at ${JSON.stringify(src.slice(i, i + 20))} in: ${expr}`);
    i = re.lastIndex;
    if (m[1] !== undefined) tokens.push({ kind: 'str', text: m[1] });
    else if (m[2] !== undefined) tokens.push({ kind: 'id', text: m[2] });
    else if (m[3] !== undefined) tokens.push({ kind: 'num', text: m[3] });
    else if (m[4] !== undefined) tokens.push({ kind: 'punct', text: m[4] });
  }
  return tokens;
}

/** The metric selectors and grouping labels of one PromQL expression (a small parser, enough for dashboards). */
export function promRefs(expr: string): PromRefs {
  const t = tokenize(expr);
  const selectors: Selector[] = [];
  const grouping: string[] = [];
  const matchers = (from: number): { labels: string[]; end: number } => {
    const labels: string[] = [];
    let j = from + 1;
    while (j < t.length && t[j]!.text !== '}') {
      if (t[j]!.kind === 'id' && ['=', '!=', '=~', '!~'].includes(t[j + 1]?.text ?? '')) labels.push(t[j]!.text);
      j++;
    }
    return { labels, end: j };
  };
  for (let i = 0; i < t.length; i++) {
    const tok = t[i]!;
    const next = t[i + 1];
    if (tok.text === '[') {
      while (i < t.length && t[i]!.text !== ']') i++;
      continue;
    }
    if (tok.kind === 'punct' && tok.text === '{') {
      const { labels, end } = matchers(i);
      selectors.push({ metric: '', labels });
      i = end;
      continue;
    }
    if (tok.kind !== 'id') continue;
    if (GROUPING.has(tok.text)) {
      if (next?.text === '(') {
        let j = i + 2;
        for (; j < t.length && t[j]!.text !== ')'; j++) if (t[j]!.kind === 'id') grouping.push(t[j]!.text);
        i = j;
      }
      continue;
    }
    if (KEYWORDS.has(tok.text)) continue;
    if (next?.text === '(') continue; // a function call
    if (AGGREGATIONS.has(tok.text) && (next?.text === 'by' || next?.text === 'without')) continue;
    if (next?.text === '{') {
      const { labels, end } = matchers(i + 1);
      selectors.push({ metric: tok.text, labels });
      i = end;
    } else {
      selectors.push({ metric: tok.text, labels: [] });
    }
  }
  return { selectors, grouping };
}

// ------------------------------------------------------------------------------------------------
// Dashboards

export interface DashboardQuery {
  dashboard: string;
  panel: string;
  expr: string;
}

interface PanelLike {
  title?: string;
  type?: string;
  panels?: PanelLike[];
  targets?: { expr?: unknown; datasource?: { uid?: string; type?: string } }[];
  datasource?: { uid?: string; type?: string };
}

export function allPanels(panels: readonly PanelLike[] | undefined): PanelLike[] {
  const out: PanelLike[] = [];
  for (const p of panels ?? []) {
    out.push(p);
    if (Array.isArray(p.panels)) out.push(...allPanels(p.panels));
  }
  return out;
}

/** Every PromQL expression of a dashboard: panel targets and `label_values(metric, label)` variables. */
export function dashboardQueries(name: string, dash: { panels?: PanelLike[]; templating?: { list?: { name: string; definition?: string; query?: unknown; datasource?: { type?: string } }[] } }): {
  queries: DashboardQuery[];
  labelValues: { dashboard: string; variable: string; metric: string; label: string }[];
} {
  const queries: DashboardQuery[] = [];
  for (const p of allPanels(dash.panels)) {
    for (const target of p.targets ?? []) {
      const type = target.datasource?.type ?? p.datasource?.type;
      if (type === 'prometheus' && typeof target.expr === 'string') queries.push({ dashboard: name, panel: p.title ?? '(untitled)', expr: target.expr });
    }
  }
  const labelValues: { dashboard: string; variable: string; metric: string; label: string }[] = [];
  for (const v of dash.templating?.list ?? []) {
    if (v.datasource?.type !== 'prometheus') continue;
    const text = typeof v.query === 'string' ? v.query : ((v.query as { query?: string } | undefined)?.query ?? v.definition ?? '');
    const m = /^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/.exec(text.trim());
    if (!m) throw new Error(`${name}: variable ${v.name} has a query this test cannot read: ${text}`);
    labelValues.push({ dashboard: name, variable: v.name, metric: m[1]!, label: m[2]! });
  }
  return { queries, labelValues };
}
