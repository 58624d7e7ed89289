/**
 * `agentloupe collector`: an OTLP/HTTP receiver (opentelemetry-proto docs/specification.md) that
 * writes what any agent process sends into the local SQLite schema, through the same span-to-row
 * mapping the in-process processor uses, and passes it on unchanged to upstream endpoints.
 *
 * Endpoints on one port: POST /v1/traces, /v1/metrics, /v1/logs (application/x-protobuf or
 * application/json, optionally gzip) answered on node's request and response, in front of one
 * Hono app that serves GET /metrics (Prometheus), /healthz, /readyz, /api/* (the Jaeger-compatible
 * query API), the web UI (/, /ui/...) and a google.rpc.Status 404 for anything else.
 */
import { trace } from '@opentelemetry/api';
import { Hono } from 'hono';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HealthMonitor } from '../health/health-monitor.js';
import { healthApp } from '../health/http.js';
import { isRead, listen, nodeListener, pathOf, type NodeEnv } from '../http/node.js';
import { prometheusText } from '../http/prometheus.js';
import { jsonReply } from '../http/reply.js';
import { warnOnce } from '../log.js';
import { KeyedHistograms } from '../metrics/keyed-histograms.js';
import { SpanMetrics } from '../metrics/span-metrics.js';
import { defaultDbPath, openDatabase, type SqliteDatabase } from '../store/database.js';
import type { CostFunction } from '../spans/mapping.js';
import { MonitoringStore } from '../store/reader.js';
import { WriteQueue, type WriteQueueStats } from '../store/write-queue.js';
import { loadSpanWaits, SpanOwnerLookup } from '../store/span-owners.js';
import { PriceTable } from '../telemetry/pricing.js';
import type { Pricing } from '../telemetry/pricing-port.js';
import { Admission, type AdmissionStats } from './admission.js';
import { BodyError, ClientAborted, drainPolitely, readBody } from './body.js';
import { CollectorMetrics } from './collector-metrics.js';
import { Forwarder, type ForwarderOptions, type ForwarderStats } from './forwarder.js';
import { jaegerApp } from './jaeger/index.js';
import { ExportPipeline, type SignalStats } from './export-pipeline.js';
import { DEFAULT_GRPC_PORT } from './grpc/port.js';
import type { GrpcReceiver } from './grpc/receiver.js';
import { encodeExportResponse, type DecodeLimits, type OtlpContentType, type OtlpSignal } from './otlp/index.js';
import { tokenCheck } from './token.js';
import { encodeRpcStatus, rpcStatus } from './rpc-status.js';
import { SpanOpsBuilder } from './span-ops.js';
import { mountUi } from '../ui/app.js';
import { collectorUiApp } from '../ui/server.js';

export const DEFAULT_COLLECTOR_HOST = '127.0.0.1';
export const DEFAULT_COLLECTOR_PORT = 4318;
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
export const TOKEN_ENV_VAR = 'AGENTLOUPE_COLLECTOR_TOKEN';
const METER_NAME = 'agentloupe.collector';

export interface CollectorOptions {
  /** Default 127.0.0.1: only this machine can send. */
  host?: string;
  /** Default 4318 (the OTLP/HTTP port); 0 picks a free one. */
  port?: number;
  /**
   * OTLP/gRPC port on the same host. Default: 4317 when `port` is 4318 (or left out), otherwise a
   * free one; `false` turns gRPC off. 0 picks a free one.
   */
  grpcPort?: number | false;
  /** Database file. Default `AGENTLOUPE_DB` or `.agentloupe/monitoring.db`. */
  db?: string;
  /** Bearer token every request except /healthz and /readyz must carry. */
  token?: string;
  /** Upstream OTLP/HTTP base URLs; each request is re-sent to `<url>/v1/<signal>`. */
  forward?: readonly string[];
  forwardOptions?: ForwarderOptions;
  /** Largest request body or gRPC message, on the wire and decompressed. Default 16 MiB. */
  maxBodyBytes?: number;
  /**
   * Write ops held for SQLite; past it requests get 503. Default 25 000 (about 80 requests of
   * 100 model calls): what waits for the writer is memory the cap must cover.
   */
  maxQueueSize?: number;
  /** Memory cap: requests get 503 + Retry-After before the process's RSS passes it. Default 256 MiB. */
  maxMemoryBytes?: number;
  /** Most ops per SQLite transaction. Default 4096. */
  maxBatchSize?: number;
  /** Seconds the 503 / UNAVAILABLE answers ask senders to wait. Default 2. */
  retryAfterSeconds?: number;
  /** Prices model calls that carry no cost. Default `PriceTable.fromEnv()`. */
  pricing?: Pricing;
  decodeLimits?: Partial<DecodeLimits>;
  /**
   * @internal Not for users: when OTLP/HTTP answers 200. `committed` (default) once the request's
   * rows are in SQLite; `queued` once they are queued in memory, the behaviour before durable
   * acknowledgement, kept only so `npm run bench -- collector` can measure both in one run.
   */
  ack?: 'queued' | 'committed';
}

export type { SignalStats } from './export-pipeline.js';
export { DEFAULT_GRPC_PORT } from './grpc/port.js';

export interface CollectorStats {
  traces: SignalStats;
  metrics: SignalStats;
  logs: SignalStats;
  /** Requests answered 4xx for bad input (400, 401, 404, 405, 413, 415). */
  badRequests: number;
  /** Memory admission control: bytes in flight, resident memory, requests it refused. */
  admission: AdmissionStats;
  /** Requests whose client disconnected before sending the whole body (not answered, not errors). */
  aborted: number;
  /** Requests refused with 503 because the write queue was full. */
  refused: number;
  ingest: WriteQueueStats;
  forward: ForwarderStats[];
}

export interface RunningCollector {
  /** `http://host:port`. */
  readonly url: string;
  readonly port: number;
  /** The OTLP/gRPC endpoint, `http://host:grpcPort`; undefined when gRPC is off. */
  readonly grpcUrl: string | undefined;
  readonly grpcPort: number | undefined;
  readonly host: string;
  readonly dbPath: string;
  /** Resolves when everything received so far is in SQLite. */
  flush(): Promise<void>;
  stats(): CollectorStats;
  /** Stops listening, writes everything queued, tries the forward queues briefly, closes the database. */
  close(): Promise<void>;
}

const SIGNAL_PATHS: Readonly<Record<string, OtlpSignal>> = { '/v1/traces': 'traces', '/v1/metrics': 'metrics', '/v1/logs': 'logs' };

function contentTypeOf(req: IncomingMessage): OtlpContentType | undefined {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  return undefined;
}

const MIME: Record<OtlpContentType, string> = { protobuf: 'application/x-protobuf', json: 'application/json' };

/** Starts the collector; resolves once it listens. */
export async function startCollector(options: CollectorOptions = {}): Promise<RunningCollector> {
  const host = options.host ?? DEFAULT_COLLECTOR_HOST;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const retryAfter = String(options.retryAfterSeconds ?? 2);
  const dbPath = options.db ?? defaultDbPath();
  const token = options.token ?? (process.env[TOKEN_ENV_VAR] || undefined);
  const expectedToken = tokenCheck(token);
  const forwarders = (options.forward ?? []).map((url) => new Forwarder(url, options.forwardOptions));
  const pricing = options.pricing ?? PriceTable.fromEnv();
  const price: CostFunction = (usage, model, engineId) => pricing.cost(usage, { model, engineId });

  // Created and migrated here; rows are written by the write queue's own thread, so commits and
  // checkpoints never hold up the HTTP loop. This connection only reads (span owners, health).
  const db: SqliteDatabase = openDatabase(dbPath, { busyTimeoutMs: 1000 });
  // Requests are handed to the writer within a millisecond: several arriving together go as one message.
  const queue = new WriteQueue({
    path: dbPath,
    maxQueueSize: options.maxQueueSize ?? 25_000,
    maxBatchSize: 4096,
    flushIntervalMs: 1,
    maxTransactionOps: options.maxBatchSize ?? 4096,
  });
  const spanOps = new SpanOpsBuilder({ lookup: new SpanOwnerLookup(db), price, waiting: loadSpanWaits(db, 100_000) });
  // Reads for the Jaeger API on their own read-only connection.
  const reader = MonitoringStore.open(dbPath, { readonly: true });

  // The span histograms are aggregated by the collector itself and read as a producer: the SDK
  // hashes the attribute set of every recorded value (keyed-histograms.ts).
  const histograms = new KeyedHistograms({ name: METER_NAME });
  const prometheus = new PrometheusExporter({ preventServerStart: true, metricProducers: [histograms] });
  const meterProvider = new MeterProvider({ readers: [prometheus] });
  const meter = meterProvider.getMeter(METER_NAME);
  const spanMetrics = new SpanMetrics(meter, price, histograms);
  const ingestMetrics = new CollectorMetrics(meter, {
    queueDepth: () => queue.depth,
    forwardQueueDepth: () => forwarders.reduce((n, f) => n + f.stats().queued, 0),
  });
  const health = new HealthMonitor({ meterProvider, tracer: trace.getTracerProvider().getTracer('agentloupe.collector') });
  health.register({
    name: 'ingest-queue',
    intervalMs: 5000,
    check: () => {
      const s = queue.stats();
      const fill = s.queued / s.capacity;
      if (fill >= 0.9) return { status: 'unhealthy', message: `write queue ${Math.round(fill * 100)}% full`, metadata: { queued: s.queued } };
      if (fill >= 0.5) return { status: 'degraded', message: `write queue ${Math.round(fill * 100)}% full`, metadata: { queued: s.queued } };
      return { status: 'healthy', metadata: { queued: s.queued, written: s.written, failed: s.failed + s.dropped } };
    },
  });
  health.register({
    name: 'sqlite',
    intervalMs: 10_000,
    check: () => {
      db.prepare('SELECT 1').get();
      const s = queue.stats();
      return s.lastError ? { status: 'degraded', message: `last write error: ${s.lastError}` } : { status: 'healthy' };
    },
  });

  const admission = new Admission(options.maxMemoryBytes);
  const pipeline = new ExportPipeline({ queue, spanOps, spanMetrics, ingestMetrics, forwarders, price, decodeLimits: options.decodeLimits });
  const stats = pipeline.stats;
  let badRequests = 0;
  let aborted = 0;

  const fail = (res: ServerResponse, signal: OtlpSignal | 'other', status: number, message: string, ct: OtlpContentType = 'json', extra: Record<string, string> = {}): void => {
    if (status < 500) badRequests++;
    ingestMetrics.request(signal, status);
    const body = encodeRpcStatus(status, message, ct);
    res.writeHead(status, { 'content-type': MIME[ct], 'content-length': Buffer.byteLength(body), ...extra });
    res.end(body);
  };

  const handleExport = async (signal: OtlpSignal, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    stats[signal].requests++;
    const ct = contentTypeOf(req);
    if (req.method !== 'POST') {
      req.resume();
      return fail(res, signal, 405, `use POST for /v1/${signal}`, ct, { allow: 'POST' });
    }
    if (!expectedToken(req.headers.authorization)) {
      req.resume();
      return fail(res, signal, 401, 'missing or wrong bearer token (Authorization: Bearer <token>, see --token / AGENTLOUPE_COLLECTOR_TOKEN)', ct, { 'www-authenticate': 'Bearer' });
    }
    if (ct === undefined) {
      req.resume();
      return fail(res, signal, 415, `Content-Type must be application/x-protobuf or application/json, not ${req.headers['content-type'] ?? 'none'}`);
    }
    if (!pipeline.hasRoom()) {
      req.resume();
      const refusal = pipeline.refuseEarly(signal);
      return fail(res, signal, 503, refusal.message, ct, { 'retry-after': retryAfter });
    }
    const declared = Math.min(Math.max(0, Number(req.headers['content-length']) || 0), maxBodyBytes);
    const refusal = admission.admit(declared);
    if (refusal !== undefined) {
      pipeline.refuseEarly(signal);
      fail(res, signal, 503, refusal, ct, { 'retry-after': retryAfter });
      drainPolitely(req);
      return;
    }
    try {
      await receive(signal, req, res, ct);
    } finally {
      admission.release(declared);
    }
  };

  const receive = async (signal: OtlpSignal, req: IncomingMessage, res: ServerResponse, ct: OtlpContentType): Promise<void> => {
    let raw: Buffer;
    let body: Buffer;
    let encoding: string | undefined;
    try {
      ({ raw, body, encoding } = await readBody(req, maxBodyBytes));
    } catch (err) {
      if (err instanceof ClientAborted) {
        // Not an error of ours and nobody to answer: counted, not logged as a failure.
        aborted++;
        ingestMetrics.dropped(signal, 'aborted', 1);
        return;
      }
      if (err instanceof BodyError) {
        ingestMetrics.dropped(signal, err.status === 413 ? 'too_large' : 'bad_request', 1);
        // The answer first, then the rest of the body is read and discarded, so a client still
        // sending reads a 413 instead of a broken pipe.
        fail(res, signal, err.status, err.message, ct);
        drainPolitely(req);
        return;
      }
      throw err;
    }
    const outcome = pipeline.export(signal, body, ct, {
      raw,
      contentType: req.headers['content-type'] ?? MIME[ct],
      contentEncoding: encoding ? req.headers['content-encoding'] : undefined,
    });
    if (outcome.kind === 'invalid') return fail(res, signal, 400, outcome.message, ct);
    if (outcome.kind === 'overloaded') return fail(res, signal, 503, outcome.message, ct, { 'retry-after': retryAfter });
    // 200 only once the rows are committed: an acknowledged request survives a kill -9.
    if (options.ack !== 'queued') await outcome.committed;
    const response = encodeExportResponse(signal, outcome.rejected, outcome.message, ct);
    ingestMetrics.request(signal, 200);
    res.writeHead(200, { 'content-type': MIME[ct], 'content-length': Buffer.byteLength(response) });
    res.end(response);
  };

  const exportRoute = (signal: OtlpSignal, req: IncomingMessage, res: ServerResponse): void => {
    handleExport(signal, req, res).catch((err: unknown) => {
      warnOnce(`collector-500:${(err as Error).message}`, `collector: request failed: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent) fail(res, signal, 500, 'internal error');
      else res.destroy();
    });
  };

  // Everything but OTLP ingest: one Hono app. Its own errors are google.rpc.Status JSON, counted
  // as the OTLP ones are; /api/* answers in Jaeger's shape and the UI in its own.
  const refuse = (status: number, message: string, headers: Record<string, string> = {}): Response => {
    if (status < 500) badRequests++;
    ingestMetrics.request('other', status);
    return jsonReply(rpcStatus(status, message), status, headers);
  };
  const metricsText = prometheusText(prometheus);
  const app = new Hono<NodeEnv>();
  app.route('/', healthApp(health));
  app.route('/', jaegerApp(reader, { checkToken: expectedToken, maxBodyBytes }));
  app.all('/metrics', (c) => {
    if (!expectedToken(c.req.header('authorization'))) return refuse(401, 'missing or wrong bearer token', { 'www-authenticate': 'Bearer' });
    if (!isRead(c.req.method)) return refuse(405, 'use GET for /metrics', { allow: 'GET' });
    return metricsText();
  });
  mountUi(app, collectorUiApp({ store: reader, host, token, liveHealth: health, priceOf: pricing instanceof PriceTable ? (model, engineId) => pricing.lookup(model, engineId) : undefined }));
  app.notFound((c) => refuse(404, `no such endpoint: ${c.env.incoming.method} ${c.env.incoming.url}. OTLP goes to POST /v1/traces, /v1/metrics or /v1/logs`));
  app.onError((err) => {
    warnOnce('collector-route', `collector: request failed: ${err.message}`);
    return refuse(500, 'internal error');
  });
  const routed = nodeListener(app);

  const server: Server = createServer((req, res) => {
    // OTLP ingest stays in front of the router, on node's request and response: it streams the
    // body under a byte limit and answers 413/503 before draining the rest (body.ts), which a
    // route answering with a Response cannot do and the adapter's own body clean-up would
    // duplicate. Measured (`npm run bench -- routing`: 22 KB protobuf bodies, 8 senders, loopback,
    // load average 5 on 2 cores), the same route answering with a Response through Hono served
    // 0.80x the requests/s of the raw path (2 018 vs 2 519/s; 1 042 vs 1 300/s in a second run);
    // routed by Hono but handed node's req/res, 0.95-1.02x: routing without using the router.
    const signal = SIGNAL_PATHS[pathOf(req.url)];
    if (signal !== undefined) exportRoute(signal, req, res);
    else routed(req, res);
  });
  // Slow or stuck senders must not hold sockets forever.
  server.requestTimeout = 60_000;
  server.headersTimeout = 30_000;

  const httpPort = options.port ?? DEFAULT_COLLECTOR_PORT;
  const grpcPort = options.grpcPort ?? (httpPort === DEFAULT_COLLECTOR_PORT ? DEFAULT_GRPC_PORT : 0);
  let grpcReceiver: GrpcReceiver | undefined;
  try {
    await listen(server, httpPort, host);
    if (grpcPort !== false) {
      // Loaded only when gRPC is on: @grpc/grpc-js costs memory a collector with --grpc-port 0 should not pay.
      const { startGrpcReceiver } = await import('./grpc/receiver.js');
      grpcReceiver = await startGrpcReceiver({
        host,
        port: grpcPort,
        pipeline,
        metrics: ingestMetrics,
        checkToken: expectedToken,
        maxMessageBytes: maxBodyBytes,
        retryAfterMs: Number(retryAfter) * 1000,
        admission,
      }).catch((err: unknown) => {
        throw new Error(`cannot listen for OTLP/gRPC on ${host}:${grpcPort}: ${(err as Error).message} (use --grpc-port to pick another port, 0 to turn gRPC off)`, { cause: err });
      });
    }
  } catch (err) {
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    await health.shutdown();
    await meterProvider.shutdown();
    reader.close();
    admission.close();
    await queue.close();
    db.close();
    throw err;
  }
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closed: Promise<void> | undefined;

  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    grpcUrl: grpcReceiver ? `http://${urlHost}:${grpcReceiver.port}` : undefined,
    grpcPort: grpcReceiver?.port,
    host,
    dbPath,
    flush: () => queue.flush(),
    stats: () => ({
      traces: { ...stats.traces },
      metrics: { ...stats.metrics },
      logs: { ...stats.logs },
      badRequests,
      aborted,
      admission: admission.stats(),
      refused: pipeline.refused,
      ingest: queue.stats(),
      forward: forwarders.map((f) => f.stats()),
    }),
    close: () => {
      closed ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
          // Requests in flight get a moment to finish; then every socket goes.
          setTimeout(() => server.closeAllConnections(), 2000).unref();
        });
        await grpcReceiver?.close();
        admission.close();
        await queue.close();
        await Promise.all(forwarders.map((f) => f.close()));
        await health.shutdown();
        await meterProvider.shutdown().catch(() => undefined);
        reader.close();
        if (db.open) db.close();
      })();
      return closed;
    },
  };
}
