/**
 * The Jaeger API parts the real Jaeger UI needs beyond search: the Monitor tab's metrics
 * (latencies, call rates, error rates, min step), trace upload (`POST /api/transform`), and
 * Jaeger's error body on every /api route. Spans go in through the collector's OTLP endpoint;
 * expected metric values are computed straight from the spans table, one SQL query per point.
 */
import { describe, expect, it } from 'vitest';
import { post, query, testCollector } from './collector-fixture.js';

const T0_MS = 1_760_000_000_000;
const ms = (n: number): bigint => BigInt(n) * 1_000_000n;
const kv = (attrs: Record<string, string | number>) =>
  Object.entries(attrs).map(([key, v]) => ({ key, value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v } }));

interface SpanSpec {
  service: string;
  name: string;
  kind: number;
  startMs: number;
  durationMs: number;
  error?: boolean;
}

/** A deterministic mix: two services, three operations, server and client spans, some errors, spread over 20 minutes. */
function specs(): SpanSpec[] {
  const out: SpanSpec[] = [];
  for (let i = 0; i < 240; i++) {
    out.push({
      service: i % 3 === 0 ? 'checkout' : 'planner',
      name: ['GET /plan', 'POST /pay', 'chat gpt-4o'][i % 3 === 0 ? 1 : i % 2]!,
      kind: i % 5 === 0 ? 3 : 2, // OTLP: 2 SERVER, 3 CLIENT
      startMs: T0_MS + i * 5_000 + (i % 7) * 111,
      durationMs: 10 + ((i * 37) % 200),
      error: i % 11 === 0,
    });
  }
  return out;
}

function otlpJson(list: SpanSpec[]): string {
  const byService = new Map<string, SpanSpec[]>();
  for (const s of list) byService.set(s.service, [...(byService.get(s.service) ?? []), s]);
  return JSON.stringify({
    resourceSpans: [...byService].map(([service, spans]) => ({
      resource: { attributes: kv({ 'service.name': service }) },
      scopeSpans: [
        {
          scope: { name: 'test' },
          spans: spans.map((s, i) => ({
            traceId: `${service === 'checkout' ? 'c' : 'a'}${String(i).padStart(31, '0')}`,
            spanId: String(i + 1).padStart(16, '0'),
            name: s.name,
            kind: s.kind,
            startTimeUnixNano: String(ms(s.startMs)),
            endTimeUnixNano: String(ms(s.startMs + s.durationMs)),
            attributes: kv({ i }),
            status: s.error ? { code: 2, message: 'boom' } : { code: 1 },
          })),
        },
      ],
    })),
  });
}

interface Family {
  name: string;
  type: string;
  help: string;
  metrics: { labels: { name: string; value: string }[]; metricPoints: { gaugeValue: { doubleValue: number | null }; timestamp: string }[] }[];
}

async function getJson<T>(url: string, status = 200): Promise<T> {
  const res = await fetch(url);
  expect(res.status).toBe(status);
  return (await res.json()) as T;
}

/** The oracle: one SQL query over the spans table per point, then the definition of each metric. */
function expected(db: string, kind: 'latencies' | 'calls' | 'errors', service: string, operation: string | undefined, spanKinds: number[], t: bigint, ratePer: bigint, quantile = 0.95): number | null {
  const rows = query(
    db,
    `SELECT duration_ns AS d, status_code AS s FROM spans WHERE service_name = ? AND kind IN (${spanKinds.join(',')})
       AND start_ns > ? AND start_ns <= ? ${operation ? 'AND name = ?' : ''}`,
    service,
    t - ratePer,
    t,
    ...(operation ? [operation] : []),
  );
  if (kind === 'calls') return rows.length / (Number(ratePer) / 1e9);
  if (rows.length === 0) return null;
  if (kind === 'errors') return rows.filter((r) => r.s === 2n).length / rows.length;
  const sorted = rows.map((r) => Number(r.d as bigint) / 1e6).sort((a, b) => a - b);
  return sorted[Math.ceil(quantile * sorted.length) - 1]!;
}

describe('Jaeger API: Monitor tab metrics, trace upload, error bodies', () => {
  it('/api/metrics/{latencies,calls,errors} equal a direct computation over the spans table, per service and per operation', async () => {
    const c = await testCollector();
    expect((await post(`${c.url}/v1/traces`, otlpJson(specs()), { 'content-type': 'application/json' })).status).toBe(200);
    await c.flush();
    const endTs = T0_MS + 20 * 60_000;
    // The Monitor tab's query (jaeger-ui ServicesView): step 60 s, ratePer 10 min, lookback the chosen range.
    const common = `endTs=${endTs}&lookback=${20 * 60_000}&step=60000&ratePer=600000`;
    let checkedPoints = 0;
    let nonNull = 0;
    for (const [kind, extra] of [['latencies', '&quantile=0.95'], ['latencies', '&quantile=0.5'], ['calls', ''], ['errors', '']] as const) {
      for (const group of [false, true]) {
        for (const spanKind of ['server', 'client']) {
          const url = `${c.url}/api/metrics/${kind}?service=planner&spanKind=${spanKind}&groupByOperation=${group}&${common}${extra}`;
          const family = await getJson<Family>(url);
          expect(family.type).toBe('GAUGE');
          expect(family.name).toBe(group ? `service_operation_${kind === 'latencies' ? 'latencies' : kind === 'calls' ? 'call_rate' : 'error_rate'}` : `service_${kind === 'latencies' ? 'latencies' : kind === 'calls' ? 'call_rate' : 'error_rate'}`);
          const ops = [...new Set(specs().filter((s) => s.service === 'planner' && s.kind === (spanKind === 'server' ? 2 : 3)).map((s) => s.name))].sort();
          expect(family.metrics.map((m) => m.labels)).toEqual(
            group ? ops.map((op) => [{ name: 'service_name', value: 'planner' }, { name: 'operation', value: op }]) : [[{ name: 'service_name', value: 'planner' }]],
          );
          for (const series of family.metrics) {
            expect(series.metricPoints).toHaveLength(21);
            const op = series.labels.find((l) => l.name === 'operation')?.value;
            for (const p of series.metricPoints) {
              const t = BigInt(Date.parse(p.timestamp)) * 1_000_000n;
              const want = expected(c.dbPath, kind, 'planner', op, [spanKind === 'server' ? 1 : 2], t, ms(600_000), extra ? Number(extra.split('=')[1]) : 0.95);
              if (want === null) expect(p.gaugeValue.doubleValue).toBeNull();
              else expect(p.gaugeValue.doubleValue).toBeCloseTo(want, 9);
              checkedPoints++;
              if (p.gaugeValue.doubleValue !== null && p.gaugeValue.doubleValue > 0) nonNull++;
            }
          }
        }
      }
    }
    expect(checkedPoints).toBeGreaterThan(500);
    expect(nonNull).toBeGreaterThan(300);
    // Two services at once, and the default span kind (server).
    const both = await getJson<Family>(`${c.url}/api/metrics/calls?service=planner&service=checkout&${common}`);
    expect(both.metrics.map((m) => m.labels[0]!.value)).toEqual(['checkout', 'planner']);
    expect(await getJson(`${c.url}/api/metrics/minstep`)).toEqual({ data: 1000, total: 0, limit: 0, offset: 0, errors: null });
    // A service with no spans: no series, as Prometheus answers.
    expect((await getJson<Family>(`${c.url}/api/metrics/calls?service=nobody&${common}`)).metrics).toEqual([]);
  });

  it('bad metric parameters, unknown paths, wrong methods and a missing token answer in Jaeger\'s error shape', async () => {
    const c = await testCollector({ token: 't0k' });
    const auth = { authorization: 'Bearer t0k' };
    const err = async (path: string, status: number, init: RequestInit = {}): Promise<{ code: number; msg: string }> => {
      const res = await fetch(`${c.url}${path}`, { ...init, headers: { ...auth, ...(init.headers as Record<string, string> | undefined) } });
      expect(res.status).toBe(status);
      const body = (await res.json()) as { data: unknown; total: number; limit: number; offset: number; errors: { code: number; msg: string }[] };
      expect(body).toEqual({ data: null, total: 0, limit: 0, offset: 0, errors: [{ code: status, msg: expect.any(String) }] });
      return body.errors[0]!;
    };
    expect((await err('/api/metrics/latencies?service=a', 400)).msg).toMatch(/quantile/);
    expect((await err('/api/metrics/calls', 400)).msg).toMatch(/service/);
    expect((await err('/api/metrics/calls?service=a&spanKind=sideways', 400)).msg).toMatch(/span kind/);
    expect((await err('/api/metrics/calls?service=a&step=abc', 400)).msg).toMatch(/step/);
    expect((await err('/api/metrics/calls?service=a&lookback=86400000&step=1000', 400)).msg).toMatch(/points/);
    expect((await err('/api/nothing-here', 404)).msg).toMatch(/no such endpoint/);
    expect((await err('/api/transform', 405)).msg).toMatch(/POST/);
    expect((await err('/api/services', 405, { method: 'POST', body: '{}' })).msg).toMatch(/GET/);
    expect((await err('/api/transform', 400, { method: 'POST', body: '{"resourceSpans": 7}' })).msg).toMatch(/resourceSpans/);
    const noToken = await fetch(`${c.url}/api/services`);
    expect(noToken.status).toBe(401);
    expect(await noToken.json()).toEqual({ data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 401, msg: expect.stringMatching(/token/) }] });
  });

  it('POST /api/transform turns OTLP JSON into the Jaeger traces the API serves for the same spans once stored', async () => {
    const c = await testCollector();
    const body = otlpJson(specs().slice(0, 30));
    const transformed = await fetch(`${c.url}/api/transform`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expect(transformed.status).toBe(200);
    const upload = (await transformed.json()) as { data: { traceID: string; spans: unknown[] }[]; errors: unknown };
    expect(upload.errors).toBeNull();
    expect(upload.data).toHaveLength(30);
    // Nothing was stored by the transform.
    await c.flush();
    expect(query(c.dbPath, 'SELECT COUNT(*) AS n FROM spans')).toEqual([{ n: 0n }]);
    // The same payload stored, then read back through the trace API: identical Jaeger traces.
    await post(`${c.url}/v1/traces`, body, { 'content-type': 'application/json' });
    await c.flush();
    for (const trace of upload.data) {
      const stored = await getJson<{ data: unknown[] }>(`${c.url}/api/traces/${trace.traceID}`);
      expect(stored.data).toEqual([trace]);
    }
  });
});
