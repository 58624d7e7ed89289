/**
 * A Jaeger-compatible query API over the SQLite `spans` table, so Grafana's Jaeger data source
 * and the Jaeger UI can browse local traces with no Jaeger running. `agentloupe collector` mounts
 * it for GET requests under /api/. Shapes follow jaegertracing/jaeger: the v1 HTTP API
 * (cmd/query/app/http_handler.go, internal/uimodel) and the api_v3 HTTP gateway (OTLP JSON in a
 * `{"result": ...}` envelope).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MonitoringStore } from '../../store/reader.js';
import { TraceQueries, type TraceSearch } from '../../store/trace-queries.js';
import { jaegerError, jaegerResponse, spanKindFromName, spanKindName, toJaegerTrace, type JaegerTrace } from './model.js';
import { toV3Traces, v3Error } from './otlp.js';
import {
  ParamError,
  parseGoDuration,
  parseMicros,
  parseMillis,
  parsePositiveInt,
  parseRfc3339,
  parseTagPairs,
  parseTagsJson,
  parseTraceId,
} from './params.js';

/** Jaeger's default number of traces per search (defaultQueryLimit). */
export const DEFAULT_TRACE_LIMIT = 100;
/** Jaeger's default dependencies lookback: one day. */
const DAY_NS = 86_400_000_000_000n;

export type JaegerHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

interface Reply {
  status: number;
  body: unknown;
}

const ok = (body: unknown): Reply => ({ status: 200, body });

function send(req: IncomingMessage, res: ServerResponse, reply: Reply): void {
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : text);
}

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** The first non-empty value among parameter names (v3 accepts camelCase and the older snake_case). */
function first(q: URLSearchParams, ...names: string[]): [string, string] | undefined {
  for (const n of names) {
    const v = q.get(n);
    if (v !== null && v !== '') return [v, n];
  }
  return undefined;
}

function optional<T>(q: URLSearchParams, parse: (text: string, param: string) => T, ...names: string[]): T | undefined {
  const hit = first(q, ...names);
  return hit === undefined ? undefined : parse(hit[0], hit[1]);
}

function kindParam(q: URLSearchParams, ...names: string[]): number | undefined {
  const hit = first(q, ...names);
  if (hit === undefined) return undefined;
  const kind = spanKindFromName(hit[0]);
  if (kind === undefined) throw new ParamError(hit[1], `"${hit[0]}" is not a span kind (internal, server, client, producer or consumer)`);
  return kind;
}

/** The v1 search parameters (`/api/traces?service=...`). */
function v1Search(q: URLSearchParams): TraceSearch {
  const end = optional(q, parseMicros, 'end');
  let start = optional(q, parseMicros, 'start');
  const lookback = q.get('lookback');
  // `lookback=custom` means: use start/end as given (the Jaeger UI sends it with a custom range).
  if (start === undefined && lookback && lookback !== 'custom') start = (end ?? nowNs()) - parseGoDuration(lookback, 'lookback');
  const tags = { ...parseTagPairs(q.getAll('tag'), 'tag'), ...(q.get('tags') ? parseTagsJson(q.get('tags')!, 'tags') : {}) };
  return {
    service: q.get('service') || undefined,
    operation: q.get('operation') || undefined,
    tags,
    startMinNs: start,
    startMaxNs: end,
    durationMinNs: optional(q, parseGoDuration, 'minDuration'),
    durationMaxNs: optional(q, parseGoDuration, 'maxDuration'),
    limit: optional(q, parsePositiveInt, 'limit') || DEFAULT_TRACE_LIMIT,
  };
}

/** The v3 search parameters (`/api/v3/traces?query.service_name=...`). */
function v3Search(q: URLSearchParams): TraceSearch {
  const attributes = first(q, 'query.attributes');
  return {
    service: first(q, 'query.serviceName', 'query.service_name')?.[0],
    operation: first(q, 'query.operationName', 'query.operation_name')?.[0],
    tags: attributes ? parseTagsJson(attributes[0], attributes[1]) : {},
    startMinNs: optional(q, parseRfc3339, 'query.startTimeMin', 'query.start_time_min'),
    startMaxNs: optional(q, parseRfc3339, 'query.startTimeMax', 'query.start_time_max'),
    durationMinNs: optional(q, parseGoDuration, 'query.durationMin', 'query.duration_min'),
    durationMaxNs: optional(q, parseGoDuration, 'query.durationMax', 'query.duration_max'),
    limit: optional(q, parsePositiveInt, 'query.searchDepth', 'query.search_depth', 'query.num_traces') || DEFAULT_TRACE_LIMIT,
  };
}

/**
 * The router: answers GET/HEAD requests for the Jaeger endpoints and returns true; returns false
 * (leaving the response alone) for anything else. It never throws: a failing query is a 500
 * with the reason in Jaeger's error shape.
 */
export function jaegerRoutes(store: MonitoringStore): JaegerHandler {
  const queries = new TraceQueries(store.db);
  const traces = (ids: readonly string[]): JaegerTrace[] => ids.map((id) => toJaegerTrace(id, store.getTrace(id)));

  const v1 = (path: string, q: URLSearchParams): Reply | undefined => {
    if (path === '/api/services') {
      const services = queries.services();
      return ok(jaegerResponse(services, services.length));
    }
    let m = /^\/api\/services\/([^/]+)\/operations$/.exec(path);
    if (m) {
      const names = [...new Set(queries.operations(decodeURIComponent(m[1]!)).map((o) => o.name))];
      return ok(jaegerResponse(names, names.length));
    }
    if (path === '/api/operations') {
      const service = q.get('service');
      if (!service) return { status: 400, body: jaegerError(400, 'parameter service is required') };
      const ops = queries.operations(service, kindParam(q, 'spanKind')).map((o) => ({ name: o.name, spanKind: spanKindName(o.kind) }));
      return ok(jaegerResponse(ops, ops.length));
    }
    if (path === '/api/traces') {
      // Like Jaeger: traceID=... fetches those traces instead of searching.
      const ids = q.getAll('traceID').map((t) => parseTraceId(t, 'traceID'));
      const found = ids.length > 0 ? ids : queries.findTraceIds(v1Search(q));
      return ok(jaegerResponse(traces(found).filter((t) => t.spans.length > 0)));
    }
    m = /^\/api\/traces\/([^/]+)$/.exec(path);
    if (m) {
      const id = parseTraceId(decodeURIComponent(m[1]!), 'traceID');
      const trace = toJaegerTrace(id, store.getTrace(id));
      if (trace.spans.length === 0) return { status: 404, body: jaegerError(404, 'trace not found') };
      return ok(jaegerResponse([trace]));
    }
    if (path === '/api/dependencies') {
      const end = optional(q, parseMillis, 'endTs') ?? nowNs();
      const lookbackMs = optional(q, parsePositiveInt, 'lookback');
      const lookback = lookbackMs !== undefined ? BigInt(lookbackMs) * 1_000_000n : DAY_NS;
      const deps = queries.dependencies(end - lookback, end);
      return ok(jaegerResponse(deps, deps.length));
    }
    return undefined;
  };

  const v3 = (path: string, q: URLSearchParams): Reply | undefined => {
    if (path === '/api/v3/services') return ok({ services: queries.services() });
    if (path === '/api/v3/operations') {
      const service = first(q, 'service')?.[0];
      const ops = queries.operations(service, kindParam(q, 'spanKind', 'span_kind'));
      return ok({ operations: ops.map((o) => ({ name: o.name, spanKind: spanKindName(o.kind) })) });
    }
    if (path === '/api/v3/traces') {
      const ids = queries.findTraceIds(v3Search(q));
      return ok(toV3Traces(ids.flatMap((id) => store.getTrace(id))));
    }
    const m = /^\/api\/v3\/traces\/([^/]+)$/.exec(path);
    if (m) {
      const id = parseTraceId(decodeURIComponent(m[1]!), 'trace_id');
      const spans = store.getTrace(id);
      if (spans.length === 0) return { status: 404, body: v3Error(404, 'trace not found') };
      return ok(toV3Traces(spans));
    }
    return undefined;
  };

  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return false;
    }
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    if (!path.startsWith('/api/')) return false;
    const isV3 = path.startsWith('/api/v3/');
    let reply: Reply | undefined;
    try {
      reply = isV3 ? v3(path, url.searchParams) : v1(path, url.searchParams);
    } catch (err) {
      const status = err instanceof ParamError || err instanceof URIError ? 400 : 500;
      const message = err instanceof Error ? err.message : String(err);
      reply = { status, body: isV3 ? v3Error(status, message) : jaegerError(status, message) };
    }
    if (reply === undefined) return false;
    try {
      send(req, res, reply);
    } catch {
      /* the client went away */
    }
    return true;
  };
}
