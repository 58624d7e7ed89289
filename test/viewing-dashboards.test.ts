/**
 * The viewing stack's files agree with each other and with what agentloupe really exports:
 * every PromQL expression in every dashboard names metrics and labels the demo's Prometheus
 * endpoint serves; the dashboards are valid and use provisioned data sources; the compose file,
 * the collector config, Tempo's and Prometheus' configs reference each other's services and
 * ports; promtool accepts the exposition; a real Prometheus scrapes the demo.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { tempDir } from './helpers.js';
import { allPanels, dashboardQueries, freePort, labelIndex, parseExposition, promRefs, ROOT, serveDemo, type Sample, type ServedDemo } from './viewing-fixture.js';

const GRAFANA = join(ROOT, 'grafana');
const DASHBOARDS = join(GRAFANA, 'dashboards');

type Json = Record<string, unknown>;
const yamlFile = (path: string): Json => parseYaml(readFileSync(path, 'utf8')) as Json;
const dashboards = readdirSync(DASHBOARDS)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, json: JSON.parse(readFileSync(join(DASHBOARDS, f), 'utf8')) as Json }));

/**
 * Metrics served by something other than the demo, by name prefix: the tests cannot start it, so
 * expressions over these metrics are reported, not checked.
 */
const OTHER_SOURCES: { prefix: string; source: string }[] = [{ prefix: 'otelcol_', source: 'the OpenTelemetry Collector container (docker compose)' }];
/** Set when `agentloupe collector` could not be started here: its metrics then go unchecked, with this reason. */
let collectorUnavailable: string | undefined;
const otherSource = (metric: string): string | undefined =>
  OTHER_SOURCES.find((s) => metric.startsWith(s.prefix))?.source ?? (collectorUnavailable && metric.startsWith('agentloupe_collector_') ? collectorUnavailable : undefined);

/**
 * `agentloupe collector`'s own /metrics after it accepted a span, rejected an invalid one and
 * dropped a malformed request, so that its counters all have samples.
 */
async function collectorExposition(dir: string): Promise<Sample[]> {
  const { startCollector } = await import('../src/collector/server.js');
  const c = await startCollector({ host: '127.0.0.1', port: 0, db: join(dir, 'collector.db') });
  try {
    const span = (traceId: string, spanId: string) => ({
      traceId, spanId, name: 'probe', kind: 1, startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000001000000', attributes: [], status: {},
    });
    const body = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'probe' } }] }, scopeSpans: [{ scope: { name: 'probe' }, spans: [span('0123456789abcdef0123456789abcdef', '0123456789abcdef'), span('zz', 'zz')] }] }] };
    const post = (text: string) => fetch(`${c.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
    await post(JSON.stringify(body));
    await post('{not json');
    await c.flush();
    return parseExposition(await (await fetch(`${c.url}/metrics`)).text());
  } finally {
    await c.close();
  }
}

function datasourceUids(): Map<string, string> {
  const uids = new Map<string, string>();
  const dir = join(GRAFANA, 'provisioning', 'datasources');
  for (const f of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
    for (const ds of (yamlFile(join(dir, f)).datasources as { uid: string; type: string }[]) ?? []) uids.set(ds.uid, ds.type);
  }
  return uids;
}

/** Every `datasource: {uid}` object anywhere in a dashboard. */
function datasourceRefs(value: unknown, out: { uid: string; type?: string }[] = []): { uid: string; type?: string }[] {
  if (Array.isArray(value)) for (const v of value) datasourceRefs(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'datasource' && v && typeof v === 'object' && typeof (v as Json).uid === 'string') out.push(v as { uid: string; type?: string });
      else datasourceRefs(v, out);
    }
  }
  return out;
}

describe('dashboards are valid Grafana dashboards', () => {
  it('has the four dashboards', () => {
    expect(dashboards.map((d) => d.json.uid).sort()).toEqual(['agentloupe-health', 'agentloupe-overview', 'agentloupe-tokens-cost', 'agentloupe-tools']);
  });

  for (const { file, json } of dashboards) {
    it(`${file}: schemaVersion, unique panel ids, grid, provisioned data sources`, () => {
      expect(typeof json.uid).toBe('string');
      expect(typeof json.title).toBe('string');
      expect(json.schemaVersion).toBeGreaterThanOrEqual(36);
      const panels = allPanels(json.panels as never);
      expect(panels.length).toBeGreaterThan(3);
      const ids = panels.map((p) => (p as Json).id);
      expect(ids.every((id) => Number.isInteger(id))).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
      for (const p of panels as Json[]) {
        const g = p.gridPos as { x: number; y: number; w: number; h: number };
        expect(g.x + g.w, `${p.title} fits the 24-column grid`).toBeLessThanOrEqual(24);
        expect(g.h).toBeGreaterThan(0);
        if (p.type !== 'row') expect((p.targets as unknown[]).length, `${p.title} has queries`).toBeGreaterThan(0);
        for (const t of (p.targets as Json[] | undefined) ?? []) expect(typeof t.refId).toBe('string');
      }
      const uids = datasourceUids();
      const refs = datasourceRefs(json).filter((r) => !r.uid.startsWith('-- ')); // Grafana's built-in annotations source
      expect(refs.length).toBeGreaterThan(0);
      for (const r of refs) {
        expect(uids.has(r.uid), `data source uid ${r.uid} is provisioned`).toBe(true);
        if (r.type) expect(uids.get(r.uid)).toBe(r.type);
      }
    });
  }

  it('links traces: a Jaeger-API (agentloupe) panel, a Tempo panel and data links into Tempo and Jaeger', () => {
    const text = JSON.stringify(dashboards.map((d) => d.json));
    const all = dashboards.flatMap((d) => allPanels(d.json.panels as never)) as Json[];
    expect(all.some((p) => (p.datasource as Json | undefined)?.uid === 'agentloupe-sqlite')).toBe(true);
    expect(all.some((p) => (p.datasource as Json | undefined)?.uid === 'agentloupe-tempo')).toBe(true);
    expect(text).toContain('/explore?schemaVersion=1&panes=');
    expect(text).toContain('http://localhost:16686/search?service=');
  });
});

describe('provisioning, compose and collector config agree', () => {
  const compose = yamlFile(join(GRAFANA, 'docker-compose.yml'));
  const services = compose.services as Record<string, Json>;
  const collector = yamlFile(join(ROOT, 'otel-collector.yaml'));
  const tempo = yamlFile(join(GRAFANA, 'tempo.yaml'));
  const prometheus = yamlFile(join(GRAFANA, 'prometheus.yml'));

  /** Ports each compose service listens on inside the network, from its own config where there is one. */
  const listens = (): Map<string, Set<number>> => {
    const portOf = (endpoint: string): number => Number(/:(\d+)$/.exec(endpoint)![1]);
    const recv = (collector.receivers as Json).otlp as { protocols: Record<string, { endpoint: string }> };
    const otel = new Set([...Object.values(recv.protocols).map((p) => portOf(p.endpoint)), portOf(((collector.exporters as Json).prometheus as Json).endpoint as string), 8888, 13133]);
    const t = tempo as { server: { http_listen_port: number }; distributor: { receivers: { otlp: { protocols: Record<string, { endpoint: string }> } } } };
    const tempoPorts = new Set([t.server.http_listen_port, ...Object.values(t.distributor.receivers.otlp.protocols).map((p) => portOf(p.endpoint))]);
    // Jaeger v2: the OTLP endpoints are set on its command line; 16686 is its UI and query API.
    const jaegerCmd = (services.jaeger!.command as string[]).join(' ');
    const jaeger = new Set([16686, ...[...jaegerCmd.matchAll(/endpoint=[\d.]+:(\d+)/g)].map((m) => Number(m[1]))]);
    return new Map([
      ['otel-collector', otel],
      ['tempo', tempoPorts],
      ['jaeger', jaeger],
      ['prometheus', new Set([9090])],
      ['grafana', new Set([3000])],
    ]);
  };

  it('pins every image and uses Jaeger v2, not the retired all-in-one', () => {
    for (const [name, svc] of Object.entries(services)) {
      expect(svc.image, name).toMatch(/^[\w./-]+:v?\d+\.\d+\.\d+$/);
    }
    expect(services.jaeger!.image).toMatch(/^jaegertracing\/jaeger:2\./);
    expect(JSON.stringify(compose)).not.toContain('all-in-one');
  });

  it('mounts files that exist, and publishes only ports the services listen on', () => {
    const ports = listens();
    for (const [name, svc] of Object.entries(services)) {
      for (const v of (svc.volumes as string[] | undefined) ?? []) {
        const src = v.split(':')[0]!;
        if (src.startsWith('.') || src.startsWith('/')) expect(existsSync(resolve(GRAFANA, src)), `${name} mounts ${src}`).toBe(true);
        else expect(Object.keys(compose.volumes as Json), `${name} volume ${src} is declared`).toContain(src);
      }
      for (const p of (svc.ports as string[] | undefined) ?? []) {
        const container = Number(p.split(':').pop());
        expect(ports.get(name)?.has(container), `${name} listens on ${container}`).toBe(true);
      }
      for (const dep of (svc.depends_on as string[] | undefined) ?? []) expect(services[dep], `${name} depends on ${dep}`).toBeDefined();
    }
    // Host :4318 belongs to `agentloupe collector`; the OpenTelemetry Collector must not take it.
    const hostPorts = Object.values(services).flatMap((s) => ((s.ports as string[] | undefined) ?? []).map((p) => Number(p.split(':')[0])));
    expect(hostPorts).not.toContain(4318);
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it('the collector config uses 2026 component names and sends traces to Jaeger, Tempo, span metrics and agentloupe collector', () => {
    const exporters = collector.exporters as Record<string, Json>;
    const names = Object.keys(exporters).map((k) => k.split('/')[0]);
    for (const old of ['otlp', 'otlphttp', 'prometheusremotewrite']) expect(names).not.toContain(old);
    expect(Object.keys(collector.connectors as Json)).toEqual(['span_metrics']);
    const ports = listens();
    for (const [id, cfg] of Object.entries(exporters)) {
      const endpoint = String(cfg.endpoint);
      const m = /^(?:https?:\/\/)?([\w.-]+):(\d+)/.exec(endpoint.replace(/^\$\{env:[A-Z_]+:-(.*)\}$/, '$1'));
      expect(m, `${id} endpoint ${endpoint}`).not.toBeNull();
      const [, host, port] = m!;
      if (host === 'host.docker.internal') expect(Number(port)).toBe(4318); // agentloupe collector's default port
      else if (host !== '0.0.0.0') expect(ports.get(host!)?.has(Number(port)), `${id}: ${host} listens on ${port}`).toBe(true);
    }
    const pipelines = (collector.service as Json).pipelines as Record<string, { receivers: string[]; processors: string[]; exporters: string[] }>;
    const declared = (section: string): string[] => Object.keys((collector[section] as Json | undefined) ?? {});
    for (const [name, p] of Object.entries(pipelines)) {
      expect(p.processors[0], `${name} starts with memory_limiter`).toBe('memory_limiter');
      expect(p.processors).toContain('batch');
      for (const r of p.receivers) expect([...declared('receivers'), ...declared('connectors')]).toContain(r);
      for (const e of p.exporters) expect([...declared('exporters'), ...declared('connectors')]).toContain(e);
      for (const x of p.processors) expect(declared('processors')).toContain(x);
    }
    const traceExporters = Object.entries(pipelines).filter(([n]) => n.startsWith('traces')).flatMap(([, p]) => p.exporters);
    expect(traceExporters).toEqual(expect.arrayContaining(['otlp_grpc/jaeger', 'otlp_grpc/tempo', 'span_metrics', 'otlp_http/agentloupe']));
    expect(pipelines.metrics!.receivers).toContain('span_metrics');
    expect(pipelines.metrics!.exporters).toEqual(['prometheus']);
  });

  it('Prometheus scrapes the collector and the agentloupe endpoint; data sources point at compose services', () => {
    const ports = listens();
    const targets = (prometheus.scrape_configs as { static_configs: { targets: string[] }[] }[]).flatMap((s) => s.static_configs.flatMap((c) => c.targets));
    expect(targets).toContain('host.docker.internal:9464');
    for (const t of targets) {
      const [host, port] = t.split(':');
      if (host !== 'host.docker.internal') expect(ports.get(host!)?.has(Number(port)), `scrape target ${t}`).toBe(true);
    }
    expect(targets.filter((t) => t.startsWith('otel-collector:')).length).toBe(2);
    const dsDir = join(GRAFANA, 'provisioning', 'datasources');
    const sources = readdirSync(dsDir).flatMap((f) => (yamlFile(join(dsDir, f)).datasources as { uid: string; type: string; url: string }[]));
    expect(sources.map((s) => s.type).sort()).toEqual(['jaeger', 'jaeger', 'prometheus', 'tempo']);
    for (const s of sources) {
      const u = new URL(s.url);
      if (u.hostname === 'host.docker.internal') expect(u.port).toBe('4318');
      else expect(ports.get(u.hostname)?.has(Number(u.port)), `data source ${s.uid} -> ${s.url}`).toBe(true);
    }
    const dashProviders = yamlFile(join(GRAFANA, 'provisioning', 'dashboards', 'agentloupe.yaml')).providers as { options: { path: string } }[];
    const grafanaVolumes = services.grafana!.volumes as string[];
    for (const p of dashProviders) expect(grafanaVolumes.some((v) => v.startsWith('./dashboards:') && v.split(':')[1] === p.options.path)).toBe(true);
  });
});

describe('against the running demo', () => {
  let demo: ServedDemo;
  let exposition = '';
  let samples: Sample[] = [];
  let collectorSamples: Sample[] = [];

  beforeAll(async () => {
    const dir = tempDir('agentloupe-viewing-');
    demo = await serveDemo(join(dir, 'm.db'), dir);
    exposition = await (await fetch(demo.metricsUrl)).text();
    samples = parseExposition(exposition);
    try {
      collectorSamples = await collectorExposition(dir);
    } catch (err) {
      collectorUnavailable = `agentloupe collector (could not start it here: ${(err as Error).message})`;
    }
  }, 90_000);
  afterAll(async () => {
    await demo?.stop();
  });

  it('every metric and label referenced by every dashboard query exists in the exposition', () => {
    const index = labelIndex([...samples, ...collectorSamples]);
    const problems: string[] = [];
    let checked = 0;
    for (const { file, json } of dashboards) {
      const { queries, labelValues } = dashboardQueries(file, json as never);
      expect(queries.length, `${file} has PromQL`).toBeGreaterThan(0);
      for (const q of queries) {
        const refs = promRefs(q.expr);
        const metrics = refs.selectors.map((s) => s.metric);
        // Only a constant line (the budget: `vector($budget)`) may read no metric at all.
        if (!/^vector\(/.test(q.expr.trim())) expect(metrics.length, `${file} / ${q.panel}: ${q.expr}`).toBeGreaterThan(0);
        if (metrics.some((m) => otherSource(m))) continue;
        for (const s of refs.selectors) {
          checked++;
          const labels = index.get(s.metric);
          if (!labels) problems.push(`${file} / ${q.panel}: metric ${s.metric} is not exported`);
          else for (const l of s.labels) if (!labels.has(l)) problems.push(`${file} / ${q.panel}: ${s.metric} has no label ${l}`);
        }
        for (const g of refs.grouping) {
          if (!metrics.some((m) => index.get(m)?.has(g))) problems.push(`${file} / ${q.panel}: no metric of "${q.expr}" has the grouping label ${g}`);
        }
      }
      for (const v of labelValues) {
        checked++;
        if (!index.get(v.metric)?.has(v.label)) problems.push(`${file}: variable ${v.variable} reads ${v.metric}/${v.label}, which is not exported`);
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(50);
  });

  it('expressions over metrics of other programs are only those programs\' (reported, not checkable here)', (ctx) => {
    const other = dashboards.flatMap(({ file, json }) =>
      dashboardQueries(file, json as never).queries.filter((q) => promRefs(q.expr).selectors.some((s) => otherSource(s.metric))),
    );
    for (const q of other) {
      // Such an expression must not mix in agentloupe metrics, which would go unchecked.
      for (const s of promRefs(q.expr).selectors) expect(otherSource(s.metric), `${q.dashboard} / ${q.panel}: ${s.metric}`).toBeDefined();
    }
    if (other.length > 0) ctx.skip(`${other.length} expressions read metrics of ${[...new Set(other.flatMap((q) => promRefs(q.expr).selectors.map((s) => otherSource(s.metric))))].join(', ')}, which the tests cannot start`);
  });

  it('the parser finds what it should (guards the check above against finding nothing)', () => {
    const r = promRefs('histogram_quantile(0.95, sum by (le, gen_ai_agent_name) (rate(agentloupe_agent_duration_bucket{gen_ai_agent_name=~"$agent"}[$__rate_interval]))) / on (x) group_left (y) vector($budget)');
    expect(r.selectors).toEqual([{ metric: 'agentloupe_agent_duration_bucket', labels: ['gen_ai_agent_name'] }]);
    expect(r.grouping).toEqual(['le', 'gen_ai_agent_name', 'x', 'y']);
    expect(promRefs('sum(increase(a_total{k="v", j!~"w|z"}[5m] offset 1h)) by (k) > bool 0').selectors).toEqual([{ metric: 'a_total', labels: ['k', 'j'] }]);
  });

  it('promtool check metrics accepts the exposition', (ctx) => {
    const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));
    if (!promtool) return ctx.skip('promtool not installed (Debian package `prometheus`): exposition lint not run');
    const r = spawnSync(promtool, ['check', 'metrics'], { input: exposition, encoding: 'utf8', timeout: 30_000 });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('a real Prometheus scrapes the demo and answers a token query through its HTTP API', async (ctx) => {
    const bin = ['/usr/bin/prometheus', '/usr/local/bin/prometheus'].find((p) => existsSync(p));
    if (!bin) return ctx.skip('prometheus not installed (Debian package `prometheus`): real-server test not run');
    const dir = tempDir('agentloupe-prom-');
    const port = await freePort();
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: agentloupe\n    static_configs:\n      - targets: ['127.0.0.1:${demo.port}']\n`);
    const prom = spawn(bin, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    prom.stderr!.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-4000)));
    try {
      const expected = samples.find((s) => s.name === 'agentloupe_tokens_total' && s.labels.gen_ai_agent_name === 'planner' && s.labels.agentloupe_token_kind === 'input');
      expect(expected?.value).toBe(12_400);
      const query = encodeURIComponent('sum(agentloupe_tokens_total{gen_ai_agent_name="planner", agentloupe_token_kind="input"})');
      const deadline = Date.now() + 45_000;
      let value: string | undefined;
      while (Date.now() < deadline && value === undefined) {
        if (prom.exitCode !== null) throw new Error(`prometheus exited (${prom.exitCode}): ${log}`);
        try {
          const body = (await (await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${query}`)).json()) as { status: string; data: { result: { value: [number, string] }[] } };
          value = body.status === 'success' ? body.data.result[0]?.value[1] : undefined;
        } catch {
          /* not listening yet */
        }
        if (value === undefined) await new Promise((r) => setTimeout(r, 250));
      }
      expect(value, `Prometheus log: ${log}`).toBe('12400');
    } finally {
      const exited = new Promise((r) => prom.once('exit', r));
      prom.kill('SIGTERM');
      const t = setTimeout(() => prom.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
  }, 60_000);
});
