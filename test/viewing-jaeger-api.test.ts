/**
 * The Jaeger-compatible query API over the SQLite spans table, against the demo's real trace:
 * Jaeger v1 JSON (references, processes, µs times, typed tags), search by service, operation,
 * tag and duration, and the api_v3 OTLP JSON, which must decode into the very rows it came from.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jaegerRoutes, type JaegerResponse, type JaegerTrace } from '../src/collector/jaeger/index.js';
import { decodeTraces } from '../src/collector/otlp/decode.js';
import { openDatabase } from '../src/store/database.js';
import { ownerAgentIdOf, spanRowFromSpan } from '../src/spans/mapping.js';
import { MonitoringStore } from '../src/store/reader.js';
import { SqliteWriter } from '../src/store/writer.js';
import { tempDir } from './helpers.js';
import { runDemo } from './viewing-fixture.js';

let dir: string;
let db: string;
let store: MonitoringStore;
let server: Server;
let base: string;
let traceId: string;

beforeAll(async () => {
  // Not tempDir(): that is removed after each test, and this database serves the whole file.
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  dir = mkdtempSync(join(tmpdir(), 'agentloupe-jaeger-'));
  db = join(dir, 'monitoring.db');
  runDemo(db, dir);
  store = MonitoringStore.open(db);
  const routes = jaegerRoutes(store);
  server = createServer((req, res) => {
    if (!routes(req, res)) res.writeHead(404, { 'content-type': 'text/plain' }).end('not a Jaeger route');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  traceId = store.listAgents({ type: 'planner' })[0]!.traceId!;
}, 90_000);

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  store?.close();
  const { rmSync } = await import('node:fs');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function get<T>(path: string, status = 200): Promise<T> {
  const res = await fetch(base + path);
  expect(res.status, `${path}`).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return (await res.json()) as T;
}

const tracesOf = async (query: string): Promise<string[]> =>
  (await get<JaegerResponse<JaegerTrace[]>>(`/api/traces?${query}`)).data.map((t) => t.traceID);
const enc = encodeURIComponent;

describe('Jaeger v1 API', () => {
  it('returns the demo trace with references, processes, µs times and typed tags', async () => {
    const body = await get<JaegerResponse<JaegerTrace[]>>(`/api/traces/${traceId}`);
    expect(body.errors).toBeNull();
    expect(body.data).toHaveLength(1);
    const trace = body.data[0]!;
    const stored = store.getTrace(traceId);
    expect(trace.traceID).toBe(traceId);
    expect(trace.spans).toHaveLength(stored.length);
    expect(stored.length).toBe(15); // 5 agent runs, 6 model calls (one unpriced), 4 tool calls

    const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
    const roots = trace.spans.filter((s) => s.references.length === 0);
    expect(roots.map((s) => s.operationName)).toEqual(['invoke_agent planner']);
    for (const s of stored) {
      const j = byId.get(s.spanId)!;
      expect(j.startTime).toBe(Number(s.startNs / 1000n));
      expect(j.duration).toBe(Number(s.durationNs / 1000n));
      if (s.parentSpanId) expect(j.references).toEqual([{ refType: 'CHILD_OF', traceID: traceId, spanID: s.parentSpanId }]);
      expect(trace.processes[j.processID]?.serviceName).toBe('agentloupe-demo');
    }
    // µs, not ms or ns: within the last hour.
    const nowUs = Date.now() * 1000;
    expect(roots[0]!.startTime).toBeGreaterThan(nowUs - 3600e6);
    expect(roots[0]!.startTime).toBeLessThanOrEqual(nowUs);
    expect(Object.keys(trace.processes)).toEqual(['p1']);
    expect(trace.processes.p1!.tags.find((t) => t.key === 'service.name')).toBeUndefined();
    expect(trace.processes.p1!.tags).toContainEqual({ key: 'telemetry.sdk.language', type: 'string', value: 'nodejs' });

    const developer = trace.spans.find((s) => s.operationName === 'invoke_agent developer')!;
    const documenter = trace.spans.find((s) => s.operationName === 'invoke_agent documenter')!;
    expect(documenter.references[0]!.spanID).toBe(developer.spanID);

    const chat = trace.spans.find((s) => s.operationName.startsWith('chat claude-sonnet-4-5'))!;
    const tag = (s: typeof chat, key: string) => s.tags.find((t) => t.key === key);
    expect(tag(chat, 'gen_ai.usage.input_tokens')).toEqual({ key: 'gen_ai.usage.input_tokens', type: 'int64', value: 12_400 });
    expect(tag(chat, 'gen_ai.provider.name')).toEqual({ key: 'gen_ai.provider.name', type: 'string', value: 'anthropic' });
    expect(tag(chat, 'agentloupe.cost.usd')?.type).toBe('float64');
    expect(tag(chat, 'span.kind')?.value).toBe('client');
    const push = trace.spans.find((s) => s.operationName === 'execute_tool git_push')!;
    expect(tag(push, 'agentloupe.tool.approved')).toEqual({ key: 'agentloupe.tool.approved', type: 'bool', value: false });
    const reviewer = trace.spans.find((s) => s.operationName === 'invoke_agent reviewer')!;
    expect(tag(reviewer, 'error')).toEqual({ key: 'error', type: 'bool', value: true });
    expect(tag(reviewer, 'otel.status_code')?.value).toBe('ERROR');
    expect(tag(developer, 'error')).toBeUndefined();
    // Span events become logs with the event name in the `event` field.
    const status = developer.logs.find((l) => l.fields.some((f) => f.key === 'event' && f.value === 'agentloupe.agent.status_change'));
    expect(status?.timestamp).toBeGreaterThanOrEqual(developer.startTime);
  });

  it('lists services and operations', async () => {
    const services = await get<JaegerResponse<string[]>>('/api/services');
    expect(services.data).toEqual(['agentloupe-demo']);
    expect(services.total).toBe(1);
    const ops = await get<JaegerResponse<string[]>>('/api/services/agentloupe-demo/operations');
    expect(ops.data).toEqual(expect.arrayContaining(['invoke_agent planner', 'execute_tool bash', 'chat gpt-4o-mini']));
    const client = await get<JaegerResponse<{ name: string; spanKind: string }[]>>('/api/operations?service=agentloupe-demo&spanKind=client');
    expect(client.data.length).toBe(6);
    expect(client.data.every((o) => o.spanKind === 'client' && o.name.startsWith('chat '))).toBe(true);
    expect((await get<JaegerResponse<string[]>>('/api/services/nobody/operations')).data).toEqual([]);
  });

  it('searches by service, operation, tag and duration', async () => {
    expect(await tracesOf('service=agentloupe-demo')).toEqual([traceId]);
    expect(await tracesOf('service=nobody')).toEqual([]);
    expect(await tracesOf(`service=agentloupe-demo&operation=${enc('invoke_agent reviewer')}`)).toEqual([traceId]);
    expect(await tracesOf(`service=agentloupe-demo&operation=${enc('invoke_agent nobody')}`)).toEqual([]);
    expect(await tracesOf(`service=agentloupe-demo&tags=${enc('{"gen_ai.agent.name":"reviewer"}')}`)).toEqual([traceId]);
    expect(await tracesOf(`service=agentloupe-demo&tags=${enc('{"gen_ai.agent.name":"nobody"}')}`)).toEqual([]);
    expect(await tracesOf(`service=agentloupe-demo&tags=${enc('{"gen_ai.usage.input_tokens":"12400"}')}`)).toEqual([traceId]);
    expect(await tracesOf(`service=agentloupe-demo&tags=${enc('{"error":"true","gen_ai.agent.name":"reviewer"}')}`)).toEqual([traceId]);
    expect(await tracesOf(`service=agentloupe-demo&tags=${enc('{"error":"true","gen_ai.agent.name":"planner"}')}`)).toEqual([]);
    expect(await tracesOf(`service=agentloupe-demo&tag=${enc('agentloupe.tool.approved:false')}`)).toEqual([traceId]);
    expect(await tracesOf(`service=agentloupe-demo&tags=${enc('{"telemetry.sdk.language":"nodejs"}')}`)).toEqual([traceId]); // a process tag
    // Duration: the planner run lasts at least its 30 ms sleep plus its children; no span lasts an hour.
    const planner = `service=agentloupe-demo&operation=${enc('invoke_agent planner')}`;
    expect(await tracesOf(`${planner}&minDuration=20ms`)).toEqual([traceId]);
    expect(await tracesOf(`${planner}&maxDuration=1us`)).toEqual([]);
    expect(await tracesOf(`${planner}&minDuration=0.01s&maxDuration=1h`)).toEqual([traceId]);
    expect(await tracesOf('service=agentloupe-demo&minDuration=1h')).toEqual([]);
    // Time window in µs, and lookback.
    const startUs = Number(store.getTrace(traceId)[0]!.startNs / 1000n);
    expect(await tracesOf(`service=agentloupe-demo&start=${startUs - 1_000_000}&end=${startUs + 60_000_000}`)).toEqual([traceId]);
    expect(await tracesOf(`service=agentloupe-demo&end=${startUs - 1_000_000}`)).toEqual([]);
    expect(await tracesOf('service=agentloupe-demo&lookback=1h')).toEqual([traceId]);
    const limited = await get<JaegerResponse<JaegerTrace[]>>('/api/traces?service=agentloupe-demo&limit=1');
    expect(limited.data).toHaveLength(1);
    expect(limited.data[0]!.spans.length).toBe(store.getTrace(traceId).length);
  });

  it('answers bad input and unknown traces in Jaeger\'s error shape', async () => {
    const bad = await get<JaegerResponse<null>>('/api/traces?service=agentloupe-demo&minDuration=soon', 400);
    expect(bad.errors?.[0]?.msg).toMatch(/minDuration/);
    expect((await get<JaegerResponse<null>>('/api/traces?service=x&tags=notjson', 400)).errors?.[0]?.msg).toMatch(/tags/);
    expect((await get<JaegerResponse<null>>('/api/traces/xyz', 400)).errors?.[0]?.code).toBe(400);
    const missing = await get<JaegerResponse<null>>(`/api/traces/${'f'.repeat(32)}`, 404);
    expect(missing).toEqual({ data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 404, msg: 'trace not found' }] });
    expect((await fetch(`${base}/api/nothing-here`)).status).toBe(404);
    expect((await fetch(`${base}/api/services`, { method: 'POST' })).status).toBe(405);
  });

  it('reports dependencies between services', async () => {
    const deps = await get<JaegerResponse<{ parent: string; child: string; callCount: number }[]>>(`/api/dependencies?endTs=${Date.now()}&lookback=3600000`);
    expect(deps.data).toEqual([]); // one service calls no other
    expect(deps.errors).toBeNull();
  });
});

describe('Jaeger api_v3', () => {
  it('lists services and operations', async () => {
    expect(await get('/api/v3/services')).toEqual({ services: ['agentloupe-demo'] });
    const ops = await get<{ operations: { name: string; spanKind: string }[] }>('/api/v3/operations?service=agentloupe-demo&span_kind=client');
    expect(ops.operations).toHaveLength(6);
  });

  it('finds traces (OTLP JSON in a result envelope)', async () => {
    const now = new Date();
    const q = `query.service_name=agentloupe-demo&query.start_time_min=${new Date(now.getTime() - 3600_000).toISOString()}&query.start_time_max=${now.toISOString()}`;
    const body = await get<{ result: { resourceSpans: { scopeSpans: { spans: { traceId: string }[] }[] }[] } }>(`/api/v3/traces?${q}`);
    const ids = new Set(body.result.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans.map((x) => x.traceId))));
    expect([...ids]).toEqual([traceId]);
    const none = await get<{ result: { resourceSpans: unknown[] } }>(`/api/v3/traces?${q}&query.attributes=${enc('{"gen_ai.agent.name":"nobody"}')}`);
    expect(none.result.resourceSpans).toEqual([]);
    const camel = await get<{ result: { resourceSpans: unknown[] } }>(`/api/v3/traces?query.serviceName=agentloupe-demo&query.durationMin=20ms&query.operationName=${enc('invoke_agent planner')}`);
    expect(camel.result.resourceSpans).toHaveLength(1);
    expect((await get<{ error: { httpCode: number; message: string } }>('/api/v3/traces?query.start_time_min=yesterday', 400)).error.message).toMatch(/start_time_min/);
    expect((await get<{ error: { httpCode: number } }>(`/api/v3/traces/${'a'.repeat(32)}`, 404)).error.httpCode).toBe(404);
  });

  it('returns a trace as OTLP JSON that decodes into identical rows', async () => {
    const body = await get<{ result: unknown }>(`/api/v3/traces/${traceId}`);
    const text = JSON.stringify(body.result);
    // OTLP JSON: lowercase hex ids, 64-bit integers as decimal strings.
    const spans = (body.result as { resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[] }).resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    for (const s of spans) {
      expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(s.startTimeUnixNano).toMatch(/^\d{19}$/);
      expect(s.endTimeUnixNano).toMatch(/^\d{19}$/);
    }
    expect(text).toContain('{"key":"gen_ai.usage.input_tokens","value":{"intValue":"12400"}}');

    const decoded = decodeTraces(Buffer.from(text), 'json');
    expect(decoded.rejected).toBe(0);
    const copy = openDatabase(join(tempDir(), 'copy.db'));
    try {
      const result = new SqliteWriter(copy).apply(decoded.spans.map((s) => ({ kind: 'span', row: spanRowFromSpan(s, ownerAgentIdOf(s) ?? null) })));
      expect(result.failed).toBe(0);
      const rows = (d: typeof copy) =>
        (d.prepare('SELECT * FROM spans WHERE trace_id = ? ORDER BY span_id').safeIntegers(true).all(traceId) as Record<string, unknown>[]).map((r) => ({
          ...r,
          attributes: JSON.parse(r.attributes as string),
          events: JSON.parse(r.events as string),
          links: JSON.parse(r.links as string),
          resource: JSON.parse(r.resource as string),
        }));
      const original = rows(store.db);
      expect(original.length).toBe(spans.length);
      expect(rows(copy)).toEqual(original);
    } finally {
      copy.close();
    }
  });

  it('round-trips through the collector\'s own /v1/traces into identical rows', async () => {
    const { startCollector } = await import('../src/collector/server.js');
    const body = await get<{ result: unknown }>(`/api/v3/traces/${traceId}`);
    const collectorDb = join(tempDir(), 'collector.db');
    const c = await startCollector({ host: '127.0.0.1', port: 0, db: collectorDb });
    try {
      const res = await fetch(`${c.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body.result) });
      expect(res.status).toBe(200);
      await c.flush();
    } finally {
      await c.close();
    }
    const copy = MonitoringStore.open(collectorDb);
    try {
      const rows = (d: MonitoringStore['db']) =>
        (d.prepare('SELECT * FROM spans WHERE trace_id = ? ORDER BY span_id').safeIntegers(true).all(traceId) as Record<string, unknown>[]).map((r) => ({
          ...r,
          attributes: JSON.parse(r.attributes as string),
          events: JSON.parse(r.events as string),
          links: JSON.parse(r.links as string),
          resource: JSON.parse(r.resource as string),
        }));
      const original = rows(store.db);
      expect(original).toHaveLength(15);
      expect(rows(copy.db)).toEqual(original);
    } finally {
      copy.close();
    }
  });
});
