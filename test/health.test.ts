import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HealthMonitor, HealthStore, healthRoutes, httpCheck, ollamaCheck, exporterCheck, ExportCounter, type HealthChangeEvent, type HealthState } from '../src/index.js';
import { semconv as A } from '../src/index.js';
import { tempDir } from './helpers.js';
import { parseExposition, type Sample } from './prometheus-text.js';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

function track(health: HealthMonitor): HealthMonitor {
  cleanup.push(() => health.shutdown());
  return health;
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; base: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise((r) => (server.closeAllConnections(), server.close(r))));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Polls `cond` every 10 ms, at most `ms`. */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}


describe('HealthMonitor', () => {
  it('healthy -> degraded -> unhealthy -> healthy: one change event, one history row and one span event per transition', async () => {
    const db = join(tempDir(), 'health.db');
    const spans = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    const health = track(new HealthMonitor({ db, tracer: tracerProvider.getTracer('test'), serviceName: 'svc' }));
    let next: HealthState = 'healthy';
    health.register({ name: 'db', check: () => ({ status: next, message: `is ${next}`, metadata: { n: 1 } }), intervalMs: 60_000 });
    const events: HealthChangeEvent[] = [];
    health.on('change', (e) => events.push(e));

    for (const state of ['healthy', 'degraded', 'unhealthy', 'healthy'] as const) {
      next = state;
      // Twice per state: a repeated state is no change.
      await health.run('db');
      await health.run('db');
      expect(health.getStatus('db')?.status).toBe(state);
    }

    expect(events.map((e) => `${e.previous}->${e.current.status}`)).toEqual(['null->healthy', 'healthy->degraded', 'degraded->unhealthy', 'unhealthy->healthy']);
    expect(health.getStatus('db')!.runs).toBeGreaterThanOrEqual(8);

    const store = HealthStore.open(db, { readonly: true });
    cleanup.push(() => store.close());
    const history = store.healthHistory('db').reverse();
    expect(history.map((h) => `${h.previousStatus}->${h.status}`)).toEqual(['null->healthy', 'healthy->degraded', 'degraded->unhealthy', 'unhealthy->healthy']);
    expect(history[1]).toMatchObject({ component: 'db', message: 'is degraded', metadata: { n: 1 }, serviceName: 'svc', processId: process.pid });
    expect(store.latestHealth()).toEqual([expect.objectContaining({ component: 'db', status: 'healthy' })]);

    const changeEvents = spans.getFinishedSpans().flatMap((s) => s.events.filter((e) => e.name === A.HEALTH_STATUS_EVENT));
    expect(changeEvents.map((e) => e.attributes?.[A.HEALTH_ATTR_STATE])).toEqual(['healthy', 'degraded', 'unhealthy', 'healthy']);
    expect(changeEvents[2]!.attributes?.[A.HEALTH_ATTR_PREVIOUS_STATE]).toBe('degraded');
  });

  it('a throwing and a hanging check never stop the others; the hung one is not started twice', async () => {
    const health = track(new HealthMonitor());
    let hangCalls = 0;
    let okCalls = 0;
    health.register({ name: 'hangs', intervalMs: 20, timeoutMs: 40, check: () => (hangCalls++, new Promise(() => undefined)) });
    health.register({ name: 'throws', intervalMs: 20, check: () => { throw new Error('boom'); } });
    health.register({ name: 'rejects', intervalMs: 20, check: async () => Promise.reject(new Error('async boom')) });
    health.register({ name: 'ok', intervalMs: 20, check: () => (okCalls++, { status: 'healthy' }) });

    await until(() => okCalls >= 8 && (health.getStatus('hangs')?.runs ?? 0) >= 3);
    expect(health.getStatus('ok')!.status).toBe('healthy');
    expect(health.getStatus('throws')).toMatchObject({ status: 'unknown', message: 'boom' });
    expect(health.getStatus('rejects')).toMatchObject({ status: 'unknown', message: 'async boom' });
    expect(health.getStatus('hangs')!.status).toBe('unhealthy');
    expect(health.getStatus('hangs')!.message).toMatch(/timed out after 40 ms|previous run has not finished/);
    expect(hangCalls).toBe(1);
    expect(health.isHealthy()).toBe(false);
    expect(health.isReady()).toBe(false);
    expect(health.overall()).toBe('unhealthy');
  });

  it('gauges scraped from a Prometheus endpoint match the cache', async () => {
    const exporter = new PrometheusExporter({ preventServerStart: true });
    const meterProvider = new MeterProvider({ readers: [exporter] });
    cleanup.push(() => meterProvider.shutdown());
    const { base } = await listen((req, res) => exporter.getMetricsRequestHandler(req, res));
    const health = track(new HealthMonitor({ meterProvider }));
    health.register({ name: 'api', intervalMs: 60_000, check: () => ({ status: 'healthy' }) });
    health.register({ name: 'cache', intervalMs: 60_000, check: () => ({ status: 'degraded' }) });
    health.register({ name: 'queue', intervalMs: 60_000, check: () => ({ status: 'unhealthy' }) });
    health.heartbeat('sandbox-1', { type: 'sandbox' });
    await health.runAll();
    health.heartbeats.evaluate();

    const samples = parseExposition(await (await fetch(`${base}/metrics`)).text());
    for (const c of health.getAll()) {
      for (const state of ['healthy', 'degraded', 'unhealthy', 'unknown']) {
        const s = samples.filter((x) => x.name === 'agentloupe_health_status' && x.labels.agentloupe_health_component === c.name && x.labels.agentloupe_health_state === state);
        expect(s, `${c.name}/${state}`).toHaveLength(1);
        expect(s[0]!.value).toBe(c.status === state ? 1 : 0);
      }
      const d = samples.find((x) => x.name === 'agentloupe_health_check_duration' && x.labels.agentloupe_health_component === c.name);
      expect(d?.value).toBe(c.latencyMs! / 1000);
      const age = samples.find((x) => x.name === 'agentloupe_health_last_success_age' && x.labels.agentloupe_health_component === c.name);
      expect(age).toBeDefined();
      if (c.status === 'healthy') expect(age!.value).toBeLessThan(60);
    }
    const workers = samples.filter((x) => x.name === 'agentloupe_workers' && x.labels.agentloupe_worker_type === 'sandbox');
    expect(Object.fromEntries(workers.map((w) => [w.labels.agentloupe_worker_state, w.value]))).toEqual({ healthy: 1, stale: 0, down: 0 });
  });

  it('an HTTP check follows a local server through healthy, degraded and unhealthy; /readyz follows', async () => {
    let delayMs = 0;
    const { server, base } = await listen((req, res) => {
      setTimeout(() => {
        if (req.url === '/api/tags') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ models: [{ name: 'llama3:8b' }, { name: 'qwen2:7b' }] }));
        else res.writeHead(404).end();
      }, delayMs);
    });
    const health = track(new HealthMonitor());
    health.register(ollamaCheck({ baseUrl: base, degradedLatencyMs: 500, timeoutMs: 4000, intervalMs: 60_000, critical: true }));
    health.register(httpCheck({ name: 'missing', url: `${base}/nope`, expectStatus: 404, intervalMs: 60_000 }));
    const routes = healthRoutes(health);
    const { base: probe } = await listen((req, res) => {
      if (!routes(req, res)) res.writeHead(404).end();
    });

    let s = await health.run('ollama');
    expect(s).toMatchObject({ status: 'healthy', metadata: { statusCode: 200, models: 2, modelNames: ['llama3:8b', 'qwen2:7b'] } });
    expect((await health.run('missing')).status).toBe('healthy');
    let ready = await fetch(`${probe}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, components: { ollama: { status: 'healthy' } } });

    delayMs = 1000;
    s = await health.run('ollama');
    expect(s.status).toBe('degraded');
    expect(s.message).toMatch(/took .* ms \(> 500 ms\)/);
    expect((await fetch(`${probe}/readyz`)).status).toBe(200);

    delayMs = 0;
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    s = await health.run('ollama');
    expect(s.status).toBe('unhealthy');
    expect(s.message).toMatch(/ECONNREFUSED/);
    ready = await fetch(`${probe}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, status: 'unhealthy', components: { ollama: { status: 'unhealthy' } } });
    const live = await fetch(`${probe}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.json()).toMatchObject({ status: 'ok', pid: process.pid });
  });

  it('the exporter check turns failures fed through ExportCounter into degraded and unhealthy', async () => {
    const counter = new ExportCounter('otlp');
    const health = track(new HealthMonitor());
    health.register(exporterCheck([counter], { intervalMs: 60_000 }));
    counter.success(10);
    expect((await health.run('exporters')).status).toBe('healthy');
    counter.success(5);
    counter.failure(new Error('ECONNREFUSED'), 2);
    expect(await health.run('exporters')).toMatchObject({ status: 'degraded', metadata: { otlp: { succeeded: 5, failed: 2 } } });
    counter.failure(new Error('ECONNREFUSED'), 3);
    expect(await health.run('exporters')).toMatchObject({ status: 'unhealthy', message: 'otlp: 3 failed (ECONNREFUSED)' });
    expect((await health.run('exporters')).status).toBe('healthy');
  });
});
