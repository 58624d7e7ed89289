/**
 * A Jaeger-compatible query API over the SQLite `spans` table, so Grafana's Jaeger data source
 * and the Jaeger UI (search, trace view, Monitor tab, trace upload) can browse local traces with
 * no Jaeger running. `agentloupe collector` mounts `jaegerApp` (all of /api/) in its one Hono
 * app. Shapes follow jaegertracing/jaeger: the v1 HTTP API (cmd/query/app/http_handler.go,
 * internal/uimodel) and the api_v3 HTTP gateway (OTLP JSON in a `{"result": ...}` envelope).
 */
import { Hono } from 'hono';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isRead, nodeRoutes, type NodeEnv } from '../../http/node.js';
import { jsonReply } from '../../http/reply.js';
import type { MonitoringStore, SpanRecord } from '../../store/reader.js';
import { SpanRateQueries, SpanSampleLimitError } from '../../store/span-rates.js';
import { TraceQueries, type TraceSearch } from '../../store/trace-queries.js';
import { BodyError, readBody } from '../body.js';
import { decodeTraces, OtlpDecodeError } from '../otlp/index.js';
import type { TokenCheck } from '../token.js';
import { computeMetrics, MAX_SPANS, MIN_STEP_MS, parseMetricsQuery, sampleRange, type MetricKind } from './metrics.js';
import { jaegerError, jaegerResponse, spanKindFromName, spanKindName, toJaegerTrace, type JaegerTrace } from './model.js';
import { recordFromSpanData, toV3Traces, v3Error } from './otlp.js';
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

type Reply = JaegerReply;

const ok = (body: unknown): Reply => ({ status: 200, body });

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

/** The API as plain functions (request in, reply out), so it mounts in any router. */
export interface JaegerApi {
  /** A GET (or HEAD) of `path` under /api/; undefined when no endpoint has that path. */
  get(path: string, query: URLSearchParams): JaegerReply | undefined;
  /** `POST /api/transform`: an OTLP JSON trace request in, Jaeger's trace model out. */
  transform(body: Uint8Array): JaegerReply;
  /** The error answer for `path` in the shape its API family uses (v1 envelope or v3). */
  error(path: string, status: number, message: string): JaegerReply;
}

export interface JaegerReply {
  status: number;
  body: unknown;
}

/** Paths answered to POST rather than GET. */
export const JAEGER_POST_PATHS: ReadonlySet<string> = new Set(['/api/transform']);

function normalisePath(pathname: string): string {
  return pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
}

/** Jaeger's API over the read layer. Handlers never throw: failures become error replies. */
export function jaegerApi(store: MonitoringStore, now: () => number = Date.now): JaegerApi {
  const queries = new TraceQueries(store.db);
  const rates = new SpanRateQueries(store.db);
  const traces = (ids: readonly string[]): JaegerTrace[] => ids.map((id) => toJaegerTrace(id, store.getTrace(id)));
  const error = (path: string, status: number, message: string): JaegerReply => ({
    status,
    body: path.startsWith('/api/v3/') ? v3Error(status, message) : jaegerError(status, message),
  });

  const metrics = (kind: MetricKind, q: URLSearchParams): Reply => {
    const query = parseMetricsQuery(kind, q, now());
    const { fromNs, toNs } = sampleRange(query);
    const samples = rates.samples({ services: query.services, kinds: query.kinds, fromNs, toNs, maxRows: MAX_SPANS });
    return ok(computeMetrics(kind, query, samples));
  };

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
      if (!service) return error(path, 400, 'parameter service is required');
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
      if (trace.spans.length === 0) return error(path, 404, 'trace not found');
      return ok(jaegerResponse([trace]));
    }
    if (path === '/api/dependencies') {
      const end = optional(q, parseMillis, 'endTs') ?? nowNs();
      const lookbackMs = optional(q, parsePositiveInt, 'lookback');
      const lookback = lookbackMs !== undefined ? BigInt(lookbackMs) * 1_000_000n : DAY_NS;
      const deps = queries.dependencies(end - lookback, end);
      return ok(jaegerResponse(deps, deps.length));
    }
    m = /^\/api\/metrics\/(latencies|calls|errors)$/.exec(path);
    if (m) return metrics(m[1] as MetricKind, q);
    if (path === '/api/metrics/minstep') return ok(jaegerResponse(MIN_STEP_MS));
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
      if (spans.length === 0) return error(path, 404, 'trace not found');
      return ok(toV3Traces(spans));
    }
    return undefined;
  };

  const guarded = (path: string, run: () => Reply | undefined): Reply | undefined => {
    try {
      return run();
    } catch (err) {
      const status = err instanceof ParamError || err instanceof URIError ? 400 : err instanceof SpanSampleLimitError ? 422 : 500;
      return error(path, status, err instanceof Error ? err.message : String(err));
    }
  };

  return {
    get: (rawPath, q) => {
      const path = normalisePath(rawPath);
      return guarded(path, () => (path.startsWith('/api/v3/') ? v3(path, q) : v1(path, q)));
    },
    transform: (body) => guarded('/api/transform', () => transformOtlp(body))!,
    error,
  };
}

/** Jaeger's /api/transform: OTLP JSON (as jaeger-ui's trace upload sends it) -> `{data: [traces]}`. */
function transformOtlp(body: Uint8Array): Reply {
  let decoded: ReturnType<typeof decodeTraces>;
  try {
    decoded = decodeTraces(body, 'json');
  } catch (err) {
    if (err instanceof OtlpDecodeError) throw new ParamError('body', `${err.message}; send an OTLP JSON trace export ({"resourceSpans": [...]})`);
    throw err;
  }
  const byTrace = new Map<string, SpanRecord[]>();
  for (const span of decoded.spans) {
    const list = byTrace.get(span.traceId);
    if (list) list.push(recordFromSpanData(span));
    else byTrace.set(span.traceId, [recordFromSpanData(span)]);
  }
  const data = [...byTrace].map(([id, spans]) => toJaegerTrace(id, spans.sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0))));
  const response = jaegerResponse(data);
  if (decoded.rejected > 0) response.errors = decoded.errors.map((msg) => ({ code: 400, msg }));
  return ok(response);
}

export interface JaegerRoutesOptions {
  /** Checks the `authorization` header; default: no token. */
  checkToken?: TokenCheck;
  /** Largest /api/transform body. Default 16 MiB. */
  maxBodyBytes?: number;
}

function isJaegerPath(path: string): boolean {
  return normalisePath(path).startsWith('/api/');
}

/**
 * The API as a Hono app answering every request under /api/: a wrong method is 405, an unknown
 * path 404, a missing token 401, all in Jaeger's error shape (jaeger-ui prints anything else verbatim).
 */
export function jaegerApp(store: MonitoringStore, options: JaegerRoutesOptions = {}): Hono<NodeEnv> {
  const api = jaegerApi(store);
  const checkToken = options.checkToken ?? ((): boolean => true);
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const reply = (r: JaegerReply, headers?: Record<string, string>): Response => jsonReply(r.body, r.status, headers);
  return new Hono<NodeEnv>().all('/api/*', async (c) => {
    const path = normalisePath(c.req.path);
    if (!path.startsWith('/api/')) return c.notFound();
    if (!checkToken(c.req.header('authorization'))) {
      return reply(api.error(path, 401, 'missing or wrong bearer token (Authorization: Bearer <token>)'), { 'www-authenticate': 'Bearer' });
    }
    const method = c.req.method;
    if (JAEGER_POST_PATHS.has(path)) {
      if (method !== 'POST') return reply(api.error(path, 405, `use POST for ${path}`), { allow: 'POST' });
      try {
        // The node request itself: the same limits (and gzip) as OTLP bodies.
        const { body } = await readBody(c.env.incoming, maxBodyBytes);
        return reply(api.transform(body));
      } catch (err) {
        return reply(api.error(path, err instanceof BodyError ? err.status : 400, (err as Error).message));
      }
    }
    if (!isRead(method)) return reply(api.error(path, 405, `use GET for ${path}`), { allow: 'GET, HEAD' });
    const url = new URL(c.req.url);
    return reply(api.get(path, url.searchParams) ?? api.error(path, 404, `no such endpoint: ${path}`));
  });
}

/**
 * Node http adapter of `jaegerApp`: answers every request under /api/ and returns true; returns
 * false for anything else.
 */
export function jaegerRoutes(store: MonitoringStore, options: JaegerRoutesOptions = {}): JaegerHandler {
  return nodeRoutes(jaegerApp(store, options), isJaegerPath);
}
